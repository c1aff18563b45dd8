"""Which HTTP stack should make imgsync's registry calls? CPU per manifest HEAD, measured.

Issue 15: the skip path is CPU-bound, and one manifest HEAD costs the client several times
more CPU with ``requests`` than with leaner stacks. This scenario decides by measurement,
side by side in one run: a real ``docker-registry`` (anonymous, serving TLS itself like the
benchmark's other registries) behind the latency proxy (:mod:`bench.latency_proxy`, 15 ms
one way, handshakes as in :func:`bench.rig.start_proxy`), and every available stack of
:mod:`bench.http_clients` issuing N HEADs with imgsync's ``Accept`` list at 32 in flight,
each in its own process, at a small and a large N, repetitions interleaved. The figure that
counts on a shared 2-core machine is the *marginal* CPU per request (difference of the two
Ns: start-up, imports and connection set-up cancel); wall time and peak RSS come from the
large N. :mod:`bench.skip_cost` adds imgsync's own skip path for comparison.
"""

from __future__ import annotations

import datetime as dt
import importlib.util
import json
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from tests.rig.registry import Registry
from tests.rig.tls import make_tls_files

from bench import skip_cost
from bench.http_clients import STACKS
from bench.measure import loadavg
from bench.rig import REPO_ROOT, BenchRegistry, Latency, start_proxy
from bench.seed import SeedJob, build_image, seed_many

TARGET_REPOS = 32
RUN_TIMEOUT_S = 600.0
Progress = Callable[[str], None]


@dataclass(frozen=True)
class Settings:
    """How much to measure; ``quick`` is for the smoke test."""

    ns: tuple[int, int] = (300, 3000)
    reps: int = 3
    concurrency: int = 32
    skip_ns: tuple[int, int] = (100, 1000)
    skip_reps: int = 3
    latency: Latency = field(default_factory=Latency)

    @classmethod
    def quick(cls) -> Settings:
        return cls(ns=(20, 60), reps=1, skip_ns=(3, 6), skip_reps=1)


def available(stack: str) -> bool:
    """Is the stack's package installed (the ``bench`` extra brings the optional ones)?"""
    return importlib.util.find_spec(STACKS[stack][0][0]) is not None


def measure(settings: Settings, progress: Progress = print) -> dict[str, Any]:
    """Every stack, then imgsync's skip path; the dict the report renders."""
    started, at = loadavg(), dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    with tempfile.TemporaryDirectory(prefix="imgsync-http-stacks-") as tmp:
        runs = _stack_runs(settings, Path(tmp), progress)
        skip = skip_cost.measure(settings.skip_ns, settings.skip_reps, settings.latency, progress)
    return {
        "started_at": at,
        "settings": asdict(settings),
        "loadavg": {"start": started, "end": loadavg()},
        "stacks": summarize(runs, settings.ns),
        "runs": runs,
        "skip_path": skip,
    }


def _stack_runs(settings: Settings, workdir: Path, progress: Progress) -> list[dict[str, Any]]:
    """Registry and proxy up, targets seeded, then every (rep, N, stack) once."""
    stacks = [s for s in STACKS if available(s)]
    tls = make_tls_files(workdir / "tls")
    with BenchRegistry("anonymous", workdir / "registry", tls) as registry:
        proxy = start_proxy(registry.host, settings.latency, None, workdir / "conn.log")
        try:
            targets = _seed(registry, f"https://{proxy.host}", workdir / "targets.json", tls.ca)
            runs = []
            for rep in range(settings.reps):
                for n in settings.ns:
                    for stack in _rotated(stacks, rep):
                        run = _run_stack(stack, n, settings.concurrency, targets, str(tls.ca))
                        progress(f"  http-stacks {stack:15s} N={n:<5d} rep {rep + 1}: "
                                 f"{run['cpu_s'] * 1000 / n:.2f} ms CPU/request, "
                                 f"{run['wall_s']:.2f} s, {run['ok']}/{n} ok")  # fmt: skip
                        runs.append(run | {"rep": rep})
        finally:
            proxy.stop()
    return runs


def _rotated(stacks: Sequence[str], rep: int) -> list[str]:
    shift = rep % len(stacks) if stacks else 0
    return [*stacks[shift:], *stacks[:shift]]


def _seed(registry: Registry, base: str, path: Path, ca: Path) -> Path:
    """Push TARGET_REPOS images; write their manifest URLs (via the proxy) and digests."""
    jobs = [SeedJob(f"stacks/img-{i:03d}", f"img-{i:03d}", "1") for i in range(TARGET_REPOS)]
    seed_many(registry, jobs, verify=str(ca))
    targets = [
        (f"{base}/v2/{job.repo}/manifests/latest", build_image(job.name, job.version).index.digest)
        for job in jobs
    ]
    path.write_text(json.dumps(targets))
    return path


def _run_stack(stack: str, n: int, concurrency: int, targets: Path, ca: str) -> dict[str, Any]:
    argv = [
        sys.executable, "-m", "bench.http_clients", "--stack", stack, "--n", str(n),
        "--concurrency", str(concurrency), "--targets", str(targets), "--ca", ca,
    ]  # fmt: skip
    env = {"PATH": "/usr/bin:/bin", "HOME": str(targets.parent), "REQUESTS_CA_BUNDLE": ca,
           "SSL_CERT_FILE": ca, "PYTHONPATH": str(REPO_ROOT)}  # fmt: skip
    proc = subprocess.run(argv, cwd=REPO_ROOT, env=env, capture_output=True, text=True,
                          timeout=RUN_TIMEOUT_S, check=False)  # fmt: skip
    if proc.returncode != 0:
        return {"stack": stack, "n": n, "ok": 0, "cpu_s": 0.0, "wall_s": 0.0,
                "import_s": 0.0, "maxrss_kb": 0, "error": proc.stderr[-600:]}  # fmt: skip
    result: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    return result


def summarize(runs: Sequence[dict[str, Any]], ns: tuple[int, int]) -> list[dict[str, Any]]:
    """One row per stack: marginal CPU per request, wall and RSS at the large N, × requests."""
    small, large = ns
    rows = []
    for stack in dict.fromkeys(r["stack"] for r in runs):
        mine = [r for r in runs if r["stack"] == stack]
        at_small = [r for r in mine if r["n"] == small]
        at_large = [r for r in mine if r["n"] == large]
        cpu_small = statistics.median(r["cpu_s"] for r in at_small)
        cpu_large = statistics.median(r["cpu_s"] for r in at_large)
        per_rep = _per_rep_marginals(mine, small, large)
        rows.append({
            "stack": stack,
            "ok": all(r["ok"] == r["n"] for r in mine),
            "marginal_cpu_ms": (cpu_large - cpu_small) / (large - small) * 1000,
            "marginal_range_ms": [min(per_rep), max(per_rep)] if per_rep else None,
            "cpu_ms_at_large": cpu_large / large * 1000,
            "wall_s": statistics.median(r["wall_s"] for r in at_large),
            "maxrss_kb": max(r["maxrss_kb"] for r in at_large),
            "import_ms": statistics.median(r["import_s"] for r in mine) * 1000,
        })  # fmt: skip
    base = next((r["marginal_cpu_ms"] for r in rows if r["stack"] == "requests"), None)
    for row in rows:
        row["vs_requests"] = row["marginal_cpu_ms"] / base if base else None
    return rows


def _per_rep_marginals(runs: Sequence[dict[str, Any]], small: int, large: int) -> list[float]:
    """The marginal cost within each repetition: how much the machine's noise moves it."""
    cpu = {(r["rep"], r["n"]): r["cpu_s"] for r in runs}
    reps = sorted({r["rep"] for r in runs})
    pairs = [(cpu.get((rep, small)), cpu.get((rep, large))) for rep in reps]
    return [(b - a) / (large - small) * 1000 for a, b in pairs if a is not None and b is not None]
