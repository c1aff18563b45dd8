"""Real ``imgsync worker`` processes on a private queue of the harness's ``redis-server``.

Workers are started before a Celery run and stopped after it, so start-up is not part of
the timed run and idle workers of other variants never steal CPU from the one measured.
Each run gets a fresh queue name, so no message of an earlier run can be picked up.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from bench.measure import children, cpu_seconds, status_kb, tree

READY_TIMEOUT = 60.0
STOP_TIMEOUT = 15.0


@dataclass
class Worker:
    """One ``imgsync worker`` node: its process (group leader) and log."""

    proc: subprocess.Popen[bytes]
    log: Path

    def ready(self) -> bool:
        try:
            return " ready." in self.log.read_text(errors="replace")
        except FileNotFoundError:
            return False

    def peak_rss_kb(self) -> list[int]:
        """``VmHWM`` of the worker's main process and every pool process below it."""
        return [kb for pid in tree(self.proc.pid) if (kb := status_kb(pid)) is not None]

    def pool_size(self) -> int:
        """Pool processes below the node's main process: what ``--concurrency`` really gave."""
        return len(children(self.proc.pid))

    def stop(self) -> None:
        stop_node(self.proc)


def stop_node(proc: subprocess.Popen[bytes]) -> None:
    """Warm shutdown (SIGTERM), then kill the whole process group if it lingers."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(STOP_TIMEOUT)


@dataclass
class Cluster:
    """``workers`` nodes with ``concurrency`` pool processes each, on one fresh queue."""

    broker_url: str
    env: dict[str, str]
    workdir: Path
    workers: int
    concurrency: int = 1
    queue: str = field(default_factory=lambda: f"bench-{uuid.uuid4().hex[:8]}")
    nodes: list[Worker] = field(default_factory=list)

    def client_env(self) -> dict[str, str]:
        """What the producer and the workers share: broker and queue."""
        return {**self.env, "IMGSYNC_BROKER_URL": self.broker_url, "IMGSYNC_QUEUE": self.queue}

    def start(self) -> Cluster:
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.nodes = [self._spawn(i) for i in range(self.workers)]
        self._wait_ready()
        return self

    def _spawn(self, index: int) -> Worker:
        log = self.workdir / f"worker-{index}.log"
        argv = [
            sys.executable, "-m", "imgsync", "worker",
            "--concurrency", str(self.concurrency),
            "--hostname", f"{self.queue}-{index}@%h",
            "--loglevel", "INFO",
        ]  # fmt: skip
        with log.open("wb") as handle:
            proc = subprocess.Popen(
                argv,
                env=self.client_env(),
                stdin=subprocess.DEVNULL,
                stdout=handle,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        return Worker(proc, log)

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + READY_TIMEOUT
        while not all(node.ready() for node in self.nodes):
            dead = [n for n in self.nodes if n.proc.poll() is not None]
            if dead or time.monotonic() > deadline:
                self.stop()
                tail = dead[0].log.read_text(errors="replace")[-1500:] if dead else ""
                raise RuntimeError(f"celery workers did not become ready\n{tail}")
            time.sleep(0.1)

    def peak_rss_kb(self) -> list[int]:
        """Peak RSS of every worker process (main and pool), read before stopping."""
        return [kb for node in self.nodes for kb in node.peak_rss_kb()]

    def cpu_s(self) -> float:
        """User + system CPU seconds of every live worker process (main and pool) so far."""
        return cpu_seconds([pid for node in self.nodes for pid in tree(node.proc.pid)])

    def pool_sizes(self) -> list[int]:
        """Pool processes per node, once every node is ready (prefork forks them first)."""
        return [node.pool_size() for node in self.nodes]

    def stop(self) -> None:
        for node in self.nodes:
            node.stop()

    def __enter__(self) -> Cluster:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
