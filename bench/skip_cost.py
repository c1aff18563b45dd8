"""imgsync's skip path today: whole-process CPU per unchanged image (embedded ``sync``).

The yardstick for :mod:`bench.http_stacks`: an unchanged image costs imgsync two manifest
HEADs (source and destination) plus everything around them (planning, auth, report).
``imgsync sync`` runs with its defaults on the benchmark rig (token-auth source,
htpasswd destination, TLS, 15 ms one way) at a small and a large N of in-sync mappings;
the difference of the two, over the difference of N, is the cost of one more unchanged
image with start-up cancelled. Seeding reuses :class:`bench.scenarios.World`.
"""

from __future__ import annotations

import statistics
import subprocess
from collections.abc import Callable
from typing import Any

from bench.competitors import Embedded
from bench.rig import REPO_ROOT, Latency, Rig
from bench.runner import run_one
from bench.scenarios import Meter, Scenario, World

Progress = Callable[[str], None]


def measure(
    ns: tuple[int, int], reps: int, latency: Latency, progress: Progress = print
) -> dict[str, Any]:
    """Runs at both Ns, ``reps`` times, interleaved; medians and the marginal cost."""
    small, large = ns
    scenario = Scenario("a", "in-sync", "imgsync skip path", ns)
    embedded = Embedded(None)
    runs: list[dict[str, Any]] = []
    with Rig(latency=latency) as rig:
        world = World(rig, max_n=large, changed_n=0, progress=progress)
        world.seed()
        meter = Meter(rig)
        for rep in range(reps):
            for n in ns:
                m = run_one(world, meter, scenario, n, rep, embedded)
                runs.append({
                    "n": n, "rep": rep, "ok": m.ok, "error": m.error, "cpu_s": m.tool_cpu_s,
                    "wall_s": m.wall_s, "src_manifest_heads": m.src_manifest_heads,
                    "token_requests": m.token_requests, "rss_kb": m.imgsync_rss_kb,
                })  # fmt: skip
                progress(f"  skip path N={n:<5d} rep {rep + 1}: {m.tool_cpu_s or 0:.2f} s CPU, "
                         f"{m.wall_s:.2f} s wall, {'ok' if m.ok else m.error[:200]}")  # fmt: skip
    return _summary(runs, small, large) | {"code": _code_state()}


def _code_state() -> str:
    """Which imgsync ran: the commit, and whether ``src/`` had uncommitted changes."""

    def git(*args: str) -> str:
        out = subprocess.run(["git", *args], cwd=REPO_ROOT, capture_output=True, text=True)
        return out.stdout.strip()

    dirty = " + uncommitted changes" if git("status", "--porcelain", "--", "src") else ""
    return git("rev-parse", "--short", "HEAD") + dirty


def _summary(runs: list[dict[str, Any]], small: int, large: int) -> dict[str, Any]:
    def median(key: str, n: int) -> float:
        return float(statistics.median(r[key] or 0.0 for r in runs if r["n"] == n))

    cpu_small, cpu_large = median("cpu_s", small), median("cpu_s", large)
    return {
        "ns": [small, large],
        "ok": all(r["ok"] for r in runs),
        "cpu_s": {str(small): cpu_small, str(large): cpu_large},
        "wall_s": {str(small): median("wall_s", small), str(large): median("wall_s", large)},
        "marginal_cpu_ms": (cpu_large - cpu_small) / (large - small) * 1000,
        "heads_per_image": median("src_manifest_heads", large) / large,
        "runs": runs,
    }
