"""The "HTTP stack for registry calls" section of ``docs/benchmarks.md`` (bench.http_stacks)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

TITLE = "HTTP stack for registry calls"
LABELS = {
    "requests": "`requests` (imgsync's session today: EnvironmentOnceSession + "
    "PreloadedTrustAdapter, threads)",
    "imgsync-client": "imgsync `RegistryClient.head_digest` (on `requests`, threads)",
    "urllib3": "`urllib3` PoolManager (requests' engine), threads",
    "aiohttp": "`aiohttp` ClientSession (asyncio)",
    "httpx": "`httpx` AsyncClient (asyncio)",
    "pycurl": "`pycurl` CurlMulti (libcurl, one thread)",
    "pycurl-threads": "`pycurl` easy handle per thread (libcurl, threads)",
}


def _f(value: float | None, digits: int = 2) -> str:
    return "—" if value is None else f"{value:.{digits}f}"


def _row(row: dict[str, Any]) -> list[str]:
    ratio = row.get("vs_requests")
    return [
        LABELS.get(row["stack"], row["stack"]),
        _f(row["marginal_cpu_ms"]),
        _f(row["cpu_ms_at_large"]),
        _f(row["wall_s"]),
        f"{row['maxrss_kb'] / 1024:.0f}",
        _f(row["import_ms"], 0),
        "—" if ratio is None else f"{ratio:.2f}×",
        "yes" if row["ok"] else "**no**",
    ]


def _table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    return lines + ["| " + " | ".join(cells) + " |" for cells in rows]


def _skip_lines(skip: dict[str, Any], stacks: Sequence[dict[str, Any]]) -> list[str]:
    small, large = skip["ns"]
    marginal = skip["marginal_cpu_ms"]
    per = {r["stack"]: r["marginal_cpu_ms"] for r in stacks}
    lines = [
        "",
        f"imgsync's skip path today (embedded `imgsync sync`, defaults, N = {small} vs "
        f"{large} in-sync mappings, whole-process user + sys): **{marginal:.2f} ms CPU per "
        f"unchanged image** ({skip['cpu_s'][str(small)]:.2f} s → "
        f"{skip['cpu_s'][str(large)]:.2f} s CPU; wall {skip['wall_s'][str(large)]:.2f} s at "
        f"N = {large}); {skip['heads_per_image']:.1f} source manifest HEAD(s) per image, "
        "plus one at the destination.",
    ]
    if "requests" in per and marginal > 0:
        http = 2 * per["requests"]
        lines.append(
            f"Two HEADs with bare `requests` are {http:.2f} ms of that ({http / marginal:.0%}); "
            + "; ".join(
                f"with {name} they would be {2 * cost:.2f} ms"
                for name, cost in per.items()
                if name not in ("requests", "imgsync-client")
            )
            + "."
        )
    return lines


def section(data: dict[str, Any] | None) -> list[str]:
    """Markdown lines for the section, or nothing when the scenario did not run."""
    if not data:
        return []
    settings, load = data["settings"], data["loadavg"]
    small, large = settings["ns"]
    header = ["stack", "CPU ms/request (marginal)", f"CPU ms/request at N = {large}",
              f"wall s at N = {large}", "peak RSS MB", "import ms", "× requests (CPU)",
              "all answers right"]  # fmt: skip
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
        f"cancel. Median of {settings['reps']} interleaved repetitions. Load average at start "
        f"/ end: {load['start']} / {load['end']} (2 shared cores: CPU time counts, wall "
        "time is indicative).",
        "",
        *_table(header, [_row(r) for r in data["stacks"]]),
    ]
    if data.get("skip_path"):
        lines += _skip_lines(data["skip_path"], data["stacks"])
    return lines
