"""Distributed skip path: one worker's pool type against embedded mode, side by side.

``python -m bench.pools [--n 400 2000] [--reps 3] [--concurrency 8] [--out DIR]``

The rig (latency proxies, token-auth source, htpasswd destination, Redis) holds N distinct
two-platform images at the source and the same at the destination, so every run is the
skip path N times. Modes, interleaved per repetition: embedded ``imgsync sync -c C
--check-concurrency C``, and one ``imgsync worker --concurrency C`` per pool type. The
table gives the median of the repetitions: wall time, CPU of the whole process tree per
image (producer and worker processes; worker start-up not counted, as in the main bench)
and the peak RSS of any one process.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import statistics
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from tests.rig.redis_server import RedisServer

from bench import markdown, pools_report
from bench.celery_cluster import stop_node
from bench.code_state import code_state
from bench.competitors import Embedded, imgsync_argv, report_counts
from bench.measure import Ran, cpu_seconds, loadavg, run_measured, status_kb, tree
from bench.model import Case
from bench.rig import Latency, Rig
from bench.seed import SeedJob, seed_many

Progress = Callable[[str], None]
DEST_PREFIX = "pools-mirror"
READY_TIMEOUT = 60.0
RUN_TIMEOUT = 1800.0
POOLS = ("prefork", "threads")
#: The Ns a full ``python -m bench`` run measures (the issue's targets name both).
FULL_NS = (400, 2000)


@dataclass(frozen=True)
class Settings:
    """How many in-sync images (each N in turn), repetitions, checks or slots."""

    ns: tuple[int, ...] = (400,)
    reps: int = 3
    concurrency: int = 8
    pools: tuple[str, ...] = POOLS

    @property
    def modes(self) -> list[str]:
        """Embedded mode first, then each pool: the order every repetition runs them in."""
        return ["embedded", *self.pools]


@dataclass
class Node:
    """One ``imgsync worker`` with its pool, on a private queue; started before the run."""

    pool: str
    concurrency: int
    env: dict[str, str]
    workdir: Path
    proc: subprocess.Popen[bytes] | None = None

    @property
    def log(self) -> Path:
        return self.workdir / "worker.log"

    def start(self) -> Node:
        self.workdir.mkdir(parents=True, exist_ok=True)
        argv = [*self.command(), "--concurrency", str(self.concurrency),
                "--hostname", f"{self.env['IMGSYNC_QUEUE']}@%h", "--loglevel", "INFO"]  # fmt: skip
        with self.log.open("wb") as out:
            self.proc = subprocess.Popen(argv, env=self.env, stdin=subprocess.DEVNULL,
                                         stdout=out, stderr=subprocess.STDOUT,
                                         start_new_session=True)  # fmt: skip
        self._wait_ready()
        return self

    def command(self) -> list[str]:
        """``imgsync worker`` (prefork, as users run it); another pool through Celery's own CLI.

        ``imgsync worker`` is ``celery -A imgsync.workers worker --pool=prefork`` with the
        settings' queue; the same app with ``--pool threads`` measures the alternative.
        """
        if self.pool == "prefork":
            return [sys.executable, "-m", "imgsync", "worker"]
        return [sys.executable, "-m", "celery", "-A", "imgsync.workers", "worker",
                "--pool", self.pool, "--queues", self.env["IMGSYNC_QUEUE"]]  # fmt: skip

    def _wait_ready(self) -> None:
        assert self.proc is not None
        deadline = time.monotonic() + READY_TIMEOUT
        while " ready." not in self.log.read_text(errors="replace"):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"{self.pool} worker not ready:\n{self.log.read_text()[-1500:]}")
            time.sleep(0.1)

    def pids(self) -> list[int]:
        assert self.proc is not None
        return tree(self.proc.pid)

    def cpu_s(self) -> float:
        return cpu_seconds(self.pids())

    def peak_rss_kb(self) -> list[int]:
        return [kb for pid in self.pids() if (kb := status_kb(pid)) is not None]

    def stop(self) -> None:
        if self.proc is not None:
            stop_node(self.proc)


def seed(rig: Rig, n: int) -> tuple[str, ...]:
    """N distinct images at the source and the same ones at the destination: all in sync."""
    assert rig.source is not None and rig.dest is not None
    repos = tuple(f"pools/img-{i:05d}" for i in range(n))
    ca = str(rig.bundle)
    seed_many(rig.source, (SeedJob(r, r, "1") for r in repos), verify=ca)
    seed_many(rig.dest, (SeedJob(f"{DEST_PREFIX}/{r}", r, "1") for r in repos), verify=ca)
    return repos


def make_case(rig: Rig, repos: tuple[str, ...], name: str, rep: int) -> Case:
    workdir = rig.workdir / "pools" / f"{name}-{len(repos)}-{rep}"
    workdir.mkdir(parents=True)
    return Case("pools", len(repos), rig.src_host, rig.dst_host, repos, DEST_PREFIX, workdir,
                rig.env())  # fmt: skip


@dataclass
class Row:
    """One run of one mode."""

    mode: str
    rep: int
    n: int
    wall_s: float
    producer_cpu_s: float
    worker_cpu_s: float
    producer_rss_kb: int | None
    worker_rss_kb: list[int] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)
    error: str = ""

    @property
    def ok(self) -> bool:
        return not self.error and self.counts == {"skipped": self.n}

    @property
    def cpu_ms_per_image(self) -> float:
        return (self.producer_cpu_s + self.worker_cpu_s) / self.n * 1000

    @property
    def worker_ms_per_image(self) -> float:
        return self.worker_cpu_s / self.n * 1000

    @property
    def peak_rss_kb(self) -> int:
        return max([self.producer_rss_kb or 0, *self.worker_rss_kb])


def _row(mode: str, rep: int, case: Case, ran: Ran, report: Path, workers: float,
         rss: list[int]) -> Row:  # fmt: skip
    counts = report_counts(report) or {}
    error = "" if ran.returncode == 0 else ran.stderr.strip()[-400:] or f"exit {ran.returncode}"
    return Row(mode, rep, case.n, ran.wall_s, ran.cpu_user_s + ran.cpu_sys_s, workers,
               ran.self_maxrss_kb, rss, counts, error)  # fmt: skip


def run_embedded(case: Case, rep: int, concurrency: int) -> Row:
    tool = Embedded(concurrency)
    workdir = case.workdir / tool.name
    argv, report = imgsync_argv(case, workdir, tool.flags())
    ran = run_measured(argv, case.env, workdir, timeout=RUN_TIMEOUT, probe=True)
    return _row("embedded", rep, case, ran, report, 0.0, [])


def run_pool(case: Case, rep: int, pool: str, concurrency: int, broker: str) -> Row:
    """One worker of ``pool`` type on a fresh queue; the producer sends every mapping to it."""
    env = {
        **case.env,
        "IMGSYNC_BROKER_URL": broker,
        "IMGSYNC_QUEUE": f"pools-{uuid.uuid4().hex[:8]}",
    }
    workdir = case.workdir / pool
    node = Node(pool, concurrency, env, workdir / "worker").start()
    try:
        argv, report = imgsync_argv(case, workdir, [])
        before = node.cpu_s()
        ran = run_measured(argv, env, workdir, timeout=RUN_TIMEOUT, probe=True)
        workers, rss = node.cpu_s() - before, node.peak_rss_kb()
    finally:
        node.stop()
    return _row(pool, rep, case, ran, report, workers, rss)


def measure(settings: Settings, latency: Latency, progress: Progress = print) -> dict[str, Any]:
    """Seed the largest N once; then at each N every mode once per repetition, interleaved."""
    rows: list[Row] = []
    started, at = loadavg(), _now()
    with Rig(latency=latency) as rig, RedisServer() as redis:
        repos = seed(rig, max(settings.ns))
        progress(f"pools: seeded {max(settings.ns)} in-sync images")
        for n in settings.ns:
            rows += _runs_at(rig, repos[:n], settings, redis.url, progress)
    return {
        "settings": asdict(settings),
        "latency": asdict(latency),
        "started_at": at,
        "code": code_state(),
        "loadavg": {"start": started, "end": loadavg()},
        "rows": [{**asdict(r), "ok": r.ok, "cpu_ms_per_image": r.cpu_ms_per_image} for r in rows],
        "medians": [m for n in settings.ns for m in medians(rows, settings.modes, n)],
    }


def _runs_at(
    rig: Rig, repos: tuple[str, ...], settings: Settings, broker: str, progress: Progress
) -> list[Row]:
    """Every mode once per repetition at this N, in the same order each time."""
    rows = []
    for rep in range(settings.reps):
        for mode in settings.modes:
            case = make_case(rig, repos, mode, rep)
            row = (run_embedded(case, rep, settings.concurrency) if mode == "embedded"
                   else run_pool(case, rep, mode, settings.concurrency, broker))  # fmt: skip
            rows.append(row)
            progress(_line(row))
    return rows


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


def medians(rows: list[Row], modes: list[str], n: int) -> list[dict[str, Any]]:
    """Per mode at N: the median wall, CPU per image (all and workers'), and peak RSS."""
    out = []
    for mode in modes:
        mine = [r for r in rows if r.mode == mode and r.n == n]
        out.append({
            "mode": mode,
            "n": n,
            "ok": all(r.ok for r in mine),
            "wall_s": statistics.median(r.wall_s for r in mine),
            "cpu_ms_per_image": statistics.median(r.cpu_ms_per_image for r in mine),
            "worker_ms_per_image": statistics.median(r.worker_ms_per_image for r in mine),
            "peak_rss_kb": statistics.median(r.peak_rss_kb for r in mine),
        })  # fmt: skip
    return out


def table(data: dict[str, Any]) -> str:
    """Markdown: per N, one line per mode, speed relative to embedded mode."""
    c, reps = data["settings"]["concurrency"], data["settings"]["reps"]
    header = ["N", "mode", "wall s", "speed vs embedded", "CPU ms/image (all)",
              "CPU ms/image (workers)", "peak RSS MB", "ok"]  # fmt: skip
    rows = []
    for n in data["settings"]["ns"]:
        meds = [m for m in data["medians"] if m["n"] == n]
        base = next(m for m in meds if m["mode"] == "embedded")
        rows += [pools_report.cells(m, base, c) for m in meds]
    lines = [f"In-sync two-platform images, median of {reps}", "", *markdown.table(header, rows)]
    return "\n".join(lines) + "\n"


def _line(row: Row) -> str:
    status = "ok" if row.ok else f"FAILED {row.counts} {row.error[:200]}"
    return (f"  rep {row.rep} {row.mode:9s} {row.wall_s:6.2f} s, {row.cpu_ms_per_image:.2f} ms "
            f"CPU/image ({row.worker_ms_per_image:.2f} workers), peak "
            f"{row.peak_rss_kb / 1024:.0f} MB, {status}")  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.pools", description=__doc__)
    parser.add_argument("--n", type=int, nargs="+", default=list(Settings.ns))
    parser.add_argument("--reps", type=int, default=Settings.reps)
    parser.add_argument("--concurrency", type=int, default=Settings.concurrency)
    parser.add_argument("--pools", nargs="+", choices=POOLS, default=list(POOLS))
    parser.add_argument("--out", type=Path, default=Path("bench-pools"))
    args = parser.parse_args(argv)
    settings = Settings(tuple(args.n), args.reps, args.concurrency, tuple(args.pools))
    data = measure(settings, Latency())
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "pools.json").write_text(json.dumps(data, indent=2))
    (args.out / "pools.md").write_text(table(data))
    print(table(data))
    return 0 if all(m["ok"] for m in data["medians"]) else 1


if __name__ == "__main__":
    sys.exit(main())
