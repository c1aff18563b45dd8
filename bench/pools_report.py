"""The "distributed skip path" section of ``docs/benchmarks.md`` and its targets (bench.pools)."""

from __future__ import annotations

from typing import Any

from bench.markdown import loads, table

TITLE = "Distributed skip path: one worker against embedded mode"
#: The pool users run (``imgsync worker``); the others are measured beside it.
JUDGED = "prefork"
SPEED_GOAL, CPU_GOAL = 0.9, 2.0
TargetRow = tuple[str, str, str, bool | None]


#: How each mode is named in the tables (``c``: checks or pool slots).
LABELS = {
    "embedded": "embedded `sync -c {c} --check-concurrency {c}`",
    "prefork": "1 worker × {c} prefork processes",
    "threads": "1 worker × {c} threads",
}


def speed(mode: dict[str, Any], base: dict[str, Any]) -> float:
    """How much faster ``mode`` ran than embedded mode (``base``) at the same N."""
    return float(base["wall_s"]) / float(mode["wall_s"])


def _at(data: dict[str, Any], n: int) -> dict[str, dict[str, Any]]:
    return {m["mode"]: m for m in data["medians"] if m["n"] == n}


def cells(m: dict[str, Any], base: dict[str, Any], c: int) -> list[str]:
    """One mode's median at one N, as table cells (here and in ``python -m bench.pools``)."""
    return [str(m["n"]), LABELS[m["mode"]].format(c=c), f"{m['wall_s']:.2f}",
            f"{speed(m, base):.2f}×", f"{m['cpu_ms_per_image']:.2f}",
            f"{m['worker_ms_per_image']:.2f}", f"{m['peak_rss_kb'] / 1024:.0f}",
            "yes" if m["ok"] else "NO"]  # fmt: skip


def section(data: dict[str, Any] | None) -> list[str]:
    """Markdown lines for the section, or nothing when it did not run."""
    if not data:
        return []
    settings, load = data["settings"], data["loadavg"]
    c = settings["concurrency"]
    rows = [
        cells(m, _at(data, n)["embedded"], c) for n in settings["ns"] for m in _at(data, n).values()
    ]
    header = ["N", "mode", "wall s", "speed vs embedded", "CPU ms/image (all)",
              "CPU ms/image (workers)", "peak RSS MB", "all skipped"]  # fmt: skip
    return [
        "",
        f"### {TITLE}",
        "",
        f"N distinct two-platform images, already in sync (token-auth source, htpasswd "
        f"destination, both behind the latency proxies); per repetition embedded mode and "
        f"one worker per pool type on a fresh queue, interleaved, median of {settings['reps']} "
        f"(`python -m bench --only pools`, {data['started_at']}, imgsync {data['code']}). "
        "CPU is the whole process tree per image: the producer plus, for a worker, its main "
        "and pool processes (worker start-up not counted). Load average at start / end: "
        f"{loads(load['start'])} / {loads(load['end'])}.",
        "",
        *table(header, rows),
    ]


def targets(data: dict[str, Any] | None) -> list[TargetRow]:
    """Per N: the worker's speed against embedded mode, and its CPU per image."""
    if not data:
        return []
    c = data["settings"]["concurrency"]
    found: list[TargetRow] = []
    for n in data["settings"]["ns"]:
        modes = _at(data, n)
        if JUDGED in modes:
            found += _targets_at(n, c, modes[JUDGED], modes["embedded"])
    return found


def _targets_at(n: int, c: int, pool: dict[str, Any], base: dict[str, Any]) -> list[TargetRow]:
    faster = speed(pool, base)
    worker, embedded = pool["worker_ms_per_image"], base["cpu_ms_per_image"]
    cpu = worker / embedded if embedded else None
    return [
        (f"distributed skip N={n}: 1 worker × {c} vs embedded -c {c}", f"≥ {SPEED_GOAL}×",
         f"{faster:.2f}× ({pool['wall_s']:.2f} s vs {base['wall_s']:.2f} s)",
         faster >= SPEED_GOAL and pool["ok"]),
        (f"distributed skip N={n}: worker CPU per unchanged image vs embedded's",
         f"≤ {CPU_GOAL:g}×",
         f"{worker:.2f} ms vs {embedded:.2f} ms = "
         + ("—" if cpu is None else f"{cpu:.1f}×"),
         None if cpu is None else cpu <= CPU_GOAL),
    ]  # fmt: skip
