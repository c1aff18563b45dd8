"""The "HTTP stack for registry calls" section of ``docs/benchmarks.md`` (bench.http_stacks)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from bench.markdown import loads, number, table

TITLE = "HTTP stack for registry calls"
CURRENT = "imgsync-http"  #: the stack imgsync's registry calls use today
IMGSYNC_STACKS = frozenset({CURRENT, "imgsync-client"})
LABELS = {
    "requests": "`requests`, tuned as imgsync used it before pycurl (no `trust_env`, "
    "CA parsed once; threads)",
    "requests-default": "`requests.Session()` defaults (`trust_env`, CA file per connection)",
    "imgsync-http": "imgsync's `HttpClient` (pycurl easy handle per thread, threads)",
    "imgsync-client": "imgsync `RegistryClient.head_digest` (on its `HttpClient`, threads)",
    "urllib3": "`urllib3` PoolManager (requests' engine), threads",
    "aiohttp": "`aiohttp` ClientSession (asyncio)",
    "httpx": "`httpx` AsyncClient (asyncio)",
    "pycurl": "`pycurl` CurlMulti (libcurl, one thread)",
    "pycurl-threads": "`pycurl` easy handle per thread (libcurl, threads)",
}


def _row(row: dict[str, Any]) -> list[str]:
    ratio = row.get("vs_requests")
    return [
        LABELS.get(row["stack"], row["stack"]),
        number(row["marginal_cpu_ms"]),
        "–".join(number(v) for v in row.get("marginal_range_ms") or [None]),
        number(row["cpu_ms_at_large"]),
        number(row["wall_s"]),
        f"{row['maxrss_kb'] / 1024:.0f}",
        number(row["import_ms"], 0),
        "—" if ratio is None else f"{ratio:.2f}×",
        "yes" if row["ok"] else "**no**",
    ]


def _skip_then(today: float, base: float | None, row: dict[str, Any]) -> float | None:
    """Today's skip CPU with ``row``'s two HEADs in place of imgsync's (not for imgsync's own)."""
    if base is None or row["stack"] in IMGSYNC_STACKS:
        return None
    return today - 2 * (base - row["marginal_cpu_ms"])


def _skip_lines(skip: dict[str, Any], stacks: Sequence[dict[str, Any]]) -> list[str]:
    """Today's skip path, and what its two HEADs would cost with each stack instead."""
    small, large = skip["ns"]
    today = skip["marginal_cpu_ms"]
    cpu, wall = skip["cpu_s"], skip["wall_s"]
    lines = [
        "",
        f"imgsync's skip path today (embedded `imgsync sync`, defaults, N = {small} vs "
        f"{large} in-sync mappings on the benchmark rig, whole-process user + sys): "
        f"**{today:.2f} ms CPU per unchanged image** ({cpu[str(small)]:.2f} s → "
        f"{cpu[str(large)]:.2f} s CPU; wall {wall[str(large)]:.2f} s at N = {large}; "
        f"median of {len(skip['runs']) // 2}; imgsync {skip.get('code', '?')}); "
        f"{skip['heads_per_image']:.1f} source manifest "
        "HEAD per image and one at the destination. Two HEADs per image with each stack, "
        "and the skip path's cost if its HEADs cost that instead of imgsync's `HttpClient`'s "
        "(today − "
        "2 × the difference). The two measurements run minutes apart on a shared machine, "
        "so shares are rough (the per-repetition range above shows by how much):",
        "",
    ]
    base = next((r["marginal_cpu_ms"] for r in stacks if r["stack"] == CURRENT), None)
    rows = [
        [
            LABELS.get(r["stack"], r["stack"]),
            number(2 * r["marginal_cpu_ms"]),
            f"{2 * r['marginal_cpu_ms'] / today:.0%}" if today > 0 else "—",
            number(_skip_then(today, base, r)),
        ]
        for r in stacks
    ]
    header = ["stack", "2 HEADs, CPU ms", "share of today's skip CPU", "skip CPU ms/image then"]
    return lines + table(header, rows)


def section(data: dict[str, Any] | None) -> list[str]:
    """Markdown lines for the section, or nothing when the scenario did not run."""
    if not data:
        return []
    settings, load = data["settings"], data["loadavg"]
    small, large = settings["ns"]
    header = ["stack", "CPU ms/request (marginal)", "per repetition",
              f"CPU ms/request at N = {large}", f"wall s at N = {large}", "peak RSS MB",
              "import ms", "× requests (CPU)", "all answers right"]  # fmt: skip
    lines = [
        "",
        f"### {TITLE}",
        "",
        f"N manifest HEADs (imgsync's `Accept` list) at {settings['concurrency']} in flight "
        f"against one anonymous `docker-registry` (serving TLS) behind the latency proxy, "
        f"each stack in its own process (`python -m bench --only http-stacks`, "
        f"{data.get('started_at', '?')}). CPU is the "
        f"process's user + sys around the request loop; *marginal* = (CPU at N = {large} − "
        f"CPU at N = {small}) / {large - small}, so start-up, imports and connection set-up "
        f"cancel. Median of {settings['reps']} interleaved repetitions. Load average (1, 5, 15 "
        f"min) at start / end: {loads(load['start'])} / {loads(load['end'])} (2 shared cores: "
        "CPU time counts, wall time is indicative).",
        "",
        *table(header, [_row(r) for r in data["stacks"]]),
    ]
    if data.get("skip_path"):
        lines += _skip_lines(data["skip_path"], data["stacks"])
    return lines
