"""The "10,000-image in-sync list" section of ``docs/benchmarks.md`` and its targets."""

from __future__ import annotations

from typing import Any

from bench.markdown import loads, number, table

TITLE = "Scale: an in-sync list of many images"
TargetRow = tuple[str, str, str, bool | None]


def _mb(kb: int | None) -> str:
    return "—" if not kb else f"{kb / 1024:.0f}"


def peak_kb(run: dict[str, Any]) -> int:
    """The largest ``VmHWM`` of any one process of the run."""
    return max([run["producer_rss_kb"] or 0, *run["worker_rss_kb"]])


def _row(run: dict[str, Any]) -> list[str]:
    workers = run["worker_rss_kb"]
    return [
        run["label"],
        f"{run['n']:,}",
        number(run["wall_s"]),
        number(run["run_phase_s"]),
        number(run["producer_cpu_s"]),
        number(run["worker_cpu_s"]),
        number(run["cpu_ms_per_image"]),
        _mb(run["producer_rss_kb"]),
        f"{_mb(max(workers))} ({len(workers)} processes)" if workers else "—",
        str(run["src_manifest_gets"]),
        str(run["token_requests"]),
        "yes" if run["ok"] else f"**no**: {run['error'][:80]}",
    ]


def section(data: dict[str, Any] | None) -> list[str]:
    """Markdown lines for the section, or nothing when the scenario did not run."""
    if not data:
        return []
    settings, load, lat = data["settings"], data["loadavg"], data["latency"]
    header = ["mode", "N", "wall s", "run phase s", "producer CPU s", "workers CPU s",
              "CPU ms/image (all processes)", "producer peak RSS MB",
              "worker peak RSS MB (largest process)", "src manifest GETs", "token req.",
              "all skipped"]  # fmt: skip
    return [
        "",
        f"### {TITLE}",
        "",
        f"{settings['n']:,} mappings, all in sync: one two-platform image under "
        f"{settings['tags_per_repo']} tags of each of {data['repositories']} repositories, at "
        f"the source (token auth) and the destination (htpasswd), both behind the latency "
        f"proxies ({2 * lat['delay_ms']:g} ms RTT). `imgsync sync` embedded with its defaults, "
        f"and with {settings['workers']} `imgsync worker --concurrency "
        f"{settings['worker_concurrency']}` nodes (started before, stopped after the run; "
        "their CPU is that of every worker process during the run). CPU is user + sys; peak "
        "RSS is `VmHWM` of the producer at exit and of each worker process before it stops "
        f"(`python -m bench --only scale`, {data['started_at']}, imgsync {data['code']}). "
        f"Load average at start / end: {loads(load['start'])} / {loads(load['end'])}.",
        "",
        *table(header, [_row(r) for r in data["runs"]]),
    ]


def targets(data: dict[str, Any] | None) -> list[TargetRow]:
    """Peak RSS of any one process, per mode, against the goal."""
    if not data:
        return []
    goal = data["rss_goal_kb"]
    found: list[TargetRow] = []
    for mode in dict.fromkeys(r["mode"] for r in data["runs"]):
        runs = [r for r in data["runs"] if r["mode"] == mode]
        peak = max(peak_kb(r) for r in runs)
        name = f"scale: {runs[0]['n']:,} in-sync, {runs[0]['label']}: peak RSS of any process"
        cpu = max(r["cpu_ms_per_image"] for r in runs)
        wall = max(r["wall_s"] for r in runs)
        measured = f"{_mb(peak)} MB ({wall:.1f} s, {cpu:.2f} ms CPU/image)"
        found.append((name, f"≤ {goal // 1024} MB", measured, peak <= goal))
    return found
