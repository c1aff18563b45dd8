"""A private `redis-server` on a free loopback port that tests can stop and restart."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
import time
from pathlib import Path
from typing import IO

import redis

from .ports import HOST, free_port, wait_for_port
from .proc import require_binary, spawn, stop_process


class RedisServer:
    """redis-server without persistence; `start()` after `stop()` reuses the same port."""

    def __init__(self, workdir: Path | None = None, port: int | None = None) -> None:
        self.port = port or free_port()
        self.url = f"redis://{HOST}:{self.port}/0"
        self._own_dir = workdir is None
        self.workdir = Path(tempfile.mkdtemp(prefix="rig-redis-")) if workdir is None else workdir
        self.log_path = self.workdir / "redis.log"
        self._proc: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None

    def __repr__(self) -> str:
        return f"RedisServer(url={self.url!r})"

    @property
    def running(self) -> bool:
        """True while the server process is alive."""
        return self._proc is not None and self._proc.poll() is None

    def _args(self) -> list[str]:
        """Command line: loopback only, no RDB/AOF files, own dir."""
        return [
            require_binary("redis-server"),
            "--port", str(self.port),
            "--bind", HOST,
            "--save", "",
            "--appendonly", "no",
            "--dir", str(self.workdir),
            "--daemonize", "no",
        ]  # fmt: skip

    def start(self, timeout: float = 10.0) -> RedisServer:
        """Launch (or relaunch after stop) and wait until it answers PING."""
        self.workdir.mkdir(parents=True, exist_ok=True)
        self._log = self.log_path.open("ab")
        self._proc = spawn(self._args(), self.workdir, self._log, self._log)
        wait_for_port(self.port, timeout)
        self._wait_ping(timeout)
        return self

    def _wait_ping(self, timeout: float) -> None:
        """The port opens slightly before Redis is ready for commands."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                with self.client() as client:
                    client.ping()
                return
            except redis.exceptions.ConnectionError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.02)

    def stop(self) -> None:
        """Terminate (then kill) the server; data is lost, as in a crash without disk."""
        stop_process(self._proc)
        self._proc = None
        if self._log is not None:
            self._log.close()
            self._log = None

    def cleanup(self) -> None:
        """Stop and remove the work dir if this object created it."""
        self.stop()
        if self._own_dir:
            shutil.rmtree(self.workdir, ignore_errors=True)

    def client(self) -> redis.Redis:
        """A new client for this server (caller closes it)."""
        return redis.Redis.from_url(self.url, socket_timeout=5)

    def __enter__(self) -> RedisServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.cleanup()
