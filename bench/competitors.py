"""The tools being compared, each run as users would run it, as a subprocess.

1. ``loop``: the original workflow's approach, a sequential bash loop: ``skopeo inspect``
   the source and the destination, compare the digests, ``skopeo copy --all`` if they differ.
2. ``skopeo-sync``: ``skopeo sync --all --preserve-digests`` with a YAML source list.
3. ``embedded-*``: ``imgsync sync`` in-process at several concurrencies.
4. ``celery-w*``: ``imgsync sync --broker`` with 1, 2 or 4 ``imgsync worker`` nodes of one
   pool process each (``--celery-concurrency`` more), and ``celery-wWxC`` rows with several
   (``1 × 8``, ``2 × 4``): the pool size each node really ran is checked and recorded.
"""

from __future__ import annotations

import json
import sys
from abc import ABC, abstractmethod
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from bench.celery_cluster import Cluster
from bench.measure import Ran, run_measured
from bench.model import TAG, Case

BENCH_DIR = Path(__file__).resolve().parent
LOOP_SCRIPT = BENCH_DIR / "original_loop.sh"
RUN_TIMEOUT = 3600.0
IMGSYNC = [sys.executable, "-m", "bench.rss_launch"]


@dataclass
class ToolRun:
    """What a competitor reports back: the process, per-status counts, success."""

    ran: Ran
    counts: dict[str, int]
    ok: bool
    worker_rss_kb: list[int] = field(default_factory=list)
    #: Pool processes each worker node ran (celery only), as counted while it ran.
    pool_sizes: list[int] = field(default_factory=list)
    #: CPU seconds the worker processes spent during the run (celery only).
    worker_cpu_s: float | None = None


class Competitor(ABC):
    """One tool (with its settings) in the comparison."""

    name: str
    label: str
    family: str
    #: Concurrency used for the lower bound ``2 × RTT × N / concurrency``.
    check_concurrency: int = 1

    @abstractmethod
    def run(self, case: Case) -> ToolRun:
        """Sync ``case`` once; the caller times nothing else."""


class OriginalLoop(Competitor):
    """``bench/original_loop.sh``: inspect, inspect, compare, copy; one mapping at a time."""

    name, label, family = "loop", "original bash loop", "loop"

    def run(self, case: Case) -> ToolRun:
        mappings = case.write_mappings()
        ran = run_measured(
            ["bash", str(LOOP_SCRIPT), str(mappings)],
            case.env,
            case.workdir / self.name,
            timeout=RUN_TIMEOUT,
        )
        counts = Counter(line.split(" ", 1)[0] for line in ran.stdout.splitlines() if line)
        ok = ran.returncode == 0 and counts.get("failed", 0) == 0
        return ToolRun(ran, dict(counts), ok)


def skopeo_sync_yaml(case: Case) -> dict[str, object]:
    """``skopeo sync --src yaml`` input: the source registry and each repository's tag."""
    images = {repo: [TAG] for repo in case.src_repos}
    return {case.src_host: {"images": images}}


def sync_destination(case: Case) -> str:
    """``skopeo sync`` (without ``--scoped``) writes ``DEST/<last path component>:tag``.

    So the destination argument carries the sources' parent path, which gives every tool
    the same destinations: ``DST/<prefix>/<source repository>:tag``.
    """
    parents = {repo.rpartition("/")[0] for repo in case.src_repos}
    if len(parents) != 1:
        raise ValueError("skopeo sync needs all sources under one parent path")
    parent = parents.pop()
    return "/".join(p for p in (case.dst_host, case.dest_prefix, parent) if p)


class SkopeoSync(Competitor):
    """``skopeo sync --all --preserve-digests``: copies every listed image, every time."""

    name, label, family = "skopeo-sync", "skopeo sync", "skopeo-sync"

    def run(self, case: Case) -> ToolRun:
        source = case.workdir / "skopeo-sync.yml"
        source.write_text(yaml.safe_dump(skopeo_sync_yaml(case)))
        authfile = case.env["REGISTRY_AUTH_FILE"]
        argv = [
            "skopeo", "sync", "--all", "--preserve-digests",
            "--src", "yaml", "--dest", "docker",
            "--src-authfile", authfile, "--dest-authfile", authfile,
            str(source), sync_destination(case),
        ]  # fmt: skip
        ran = run_measured(argv, case.env, case.workdir / self.name, timeout=RUN_TIMEOUT)
        ok = ran.returncode == 0
        return ToolRun(ran, {"copied": case.n} if ok else {"failed": case.n}, ok)


def report_counts(path: Path) -> dict[str, int] | None:
    """The ``summary`` of an imgsync JSON report, or None when none was written."""
    try:
        summary: dict[str, int] = json.loads(path.read_text())["summary"]
    except (FileNotFoundError, ValueError, KeyError):
        return None
    return {k: v for k, v in summary.items() if v}


def imgsync_argv(case: Case, workdir: Path, extra: list[str]) -> tuple[list[str], Path]:
    report = workdir / "report.json"
    report.unlink(missing_ok=True)
    argv = [*IMGSYNC, "sync", "--file", str(case.write_mappings()), "-q", "--report", str(report)]
    return [*argv, *extra], report


class Embedded(Competitor):
    """``imgsync sync`` in-process; ``None`` means the defaults (8 copies, 32 checks)."""

    family = "embedded"

    def __init__(self, concurrency: int | None) -> None:
        self.concurrency = concurrency
        self.name = f"embedded-c{concurrency}" if concurrency else "embedded-default"
        self.label = (
            f"imgsync embedded, -c {concurrency} --check-concurrency {concurrency}"
            if concurrency
            else "imgsync embedded, defaults (-c 8, 32 checks)"
        )
        self.check_concurrency = concurrency or 32

    def flags(self) -> list[str]:
        if self.concurrency is None:
            return []
        return ["-c", str(self.concurrency), "--check-concurrency", str(self.concurrency)]

    def run(self, case: Case) -> ToolRun:
        workdir = case.workdir / self.name
        argv, report = imgsync_argv(case, workdir, self.flags())
        ran = run_measured(argv, case.env, workdir, timeout=RUN_TIMEOUT, probe=True)
        counts = report_counts(report)
        return ToolRun(ran, counts or {}, ran.returncode == 0 and counts is not None)


class Celery(Competitor):
    """``imgsync sync --broker``; ``workers`` nodes of ``concurrency`` processes each."""

    family = "celery"

    def __init__(self, workers: int, broker_url: str, concurrency: int = 1) -> None:
        self.workers, self.broker_url, self.concurrency = workers, broker_url, concurrency
        self.name = celery_name(workers, concurrency)
        plural = "process" if concurrency == 1 else "processes"
        self.label = f"imgsync Celery, {workers} worker(s) × {concurrency} {plural}"
        self.check_concurrency = workers * concurrency

    def run(self, case: Case) -> ToolRun:
        workdir = case.workdir / self.name
        cluster = Cluster(
            self.broker_url, case.env, workdir / "workers", self.workers, self.concurrency
        )
        with cluster:
            pools = cluster.pool_sizes()
            if pools != [self.concurrency] * self.workers:
                raise RuntimeError(f"{self.label}: the workers ran pools of {pools} processes")
            argv, report = imgsync_argv(case, workdir, [])
            env = cluster.client_env()
            cpu_before = cluster.cpu_s()
            ran = run_measured(argv, env, workdir, timeout=RUN_TIMEOUT, probe=True)
            cpu = cluster.cpu_s() - cpu_before
            rss = cluster.peak_rss_kb()
        counts = report_counts(report)
        ok = ran.returncode == 0 and counts is not None
        return ToolRun(ran, counts or {}, ok, rss, pools, worker_cpu_s=cpu)


def celery_name(workers: int, concurrency: int) -> str:
    """``celery-w2`` for one process per worker (as earlier results), else ``celery-w2x4``."""
    return f"celery-w{workers}" if concurrency == 1 else f"celery-w{workers}x{concurrency}"


#: (workers, processes per worker) rows that always run, besides the 1/2/4-worker ones.
MULTI_PROCESS_ROWS = ((1, 2), (4, 2), (1, 8), (2, 4))


def all_competitors(broker_url: str, celery_concurrency: int = 1) -> list[Competitor]:
    """Every competitor, in the order the tables show them."""
    return [
        OriginalLoop(),
        SkopeoSync(),
        Embedded(1),
        Embedded(8),
        Embedded(32),
        Embedded(None),
        *celery_rows(broker_url, celery_concurrency),
    ]


def celery_rows(broker_url: str, celery_concurrency: int) -> list[Competitor]:
    """1, 2 and 4 workers of ``celery_concurrency`` processes, then the multi-process rows."""
    shapes = [(w, celery_concurrency) for w in (1, 2, 4)] + list(MULTI_PROCESS_ROWS)
    return [Celery(w, broker_url, c) for w, c in dict.fromkeys(shapes)]
