"""Real ``imgsync worker`` processes for the distributed-mode tests, and what they need.

* :class:`Cluster`: one broker/backend/queue and the environment every worker and
  producer of a test shares; starts workers, runs producers, stops everything.
* :class:`WorkerProcess`: one ``python -m imgsync worker`` in its own process group,
  with helpers to find its pool processes and the skopeo copies below them.
* Process helpers over ``/proc`` (no psutil): children, liveness, skopeo lookups.
* :func:`fresh_redis_db`: an empty database of the session Redis for one test or module.
* :func:`seed_sized`: test images with big, incompressible layers, so throttling bites.
* :func:`redis_texts`: every value in a Redis database as text, message bodies decoded.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import ctypes
import io
import json
import os
import random
import re
import signal
import subprocess
import tarfile
import time
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import redis

from tests.cli_run import IMGSYNC, Ran
from tests.rig.oci import (
    DEFAULT_PLATFORMS,
    FIXED_MTIME,
    Descriptor,
    Platform,
    platform_string,
    push_index,
    write_image,
)
from tests.rig.ports import HOST
from tests.rig.redis_server import RedisServer
from tests.rig.registry import Registry

READY_TIMEOUT = 45.0
STOP_TIMEOUT = 15.0
_PR_SET_PDEATHSIG = 1


def unique_name(prefix: str) -> str:
    """A name no earlier run used (queues, worker node names)."""
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def wait_until(
    predicate: Callable[[], bool], timeout: float, what: str, interval: float = 0.05
) -> None:
    """Poll ``predicate`` until it is true; fail with ``what`` after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {timeout:g}s waiting for {what}")
        time.sleep(interval)


# --------------------------------------------------------------------------- /proc helpers


def _stat_fields(pid: int) -> list[str] | None:
    """Fields of /proc/PID/stat after the command name (state is [0], ppid is [1])."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return text.rpartition(")")[2].split()


def alive(pid: int) -> bool:
    """True while ``pid`` exists and is not a zombie waiting to be reaped."""
    fields = _stat_fields(pid)
    return fields is not None and fields[0] not in ("Z", "X")


def all_pids() -> list[int]:
    return [int(p.name) for p in Path("/proc").iterdir() if p.name.isdigit()]


def children(pid: int) -> list[int]:
    """Live direct children of ``pid``."""
    found = []
    for child in all_pids():
        fields = _stat_fields(child)
        if fields is not None and fields[1] == str(pid) and fields[0] not in ("Z", "X"):
            found.append(child)
    return sorted(found)


def descendants(pid: int) -> list[int]:
    """Every live process below ``pid``."""
    found: list[int] = []
    frontier = [pid]
    while frontier:
        below = [c for p in frontier for c in children(p)]
        found += below
        frontier = below
    return found


def comm(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/comm").read_text().strip()
    except OSError:
        return ""


def cmdline(pid: int) -> str:
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return ""
    return raw.replace(b"\0", b" ").decode(errors="replace").strip()


def skopeo_processes(containing: str = "") -> list[int]:
    """Live skopeo processes anywhere on the machine whose command line has ``containing``."""
    return [
        pid
        for pid in all_pids()
        if comm(pid) == "skopeo" and alive(pid) and containing in cmdline(pid)
    ]


def process_group(pid: int) -> int | None:
    fields = _stat_fields(pid)
    return int(fields[2]) if fields is not None else None


def kill_group_leftovers(pgid: int) -> list[int]:
    """SIGKILL live members of a group whose leader is gone (orphaned pool processes).

    While any member lives, Linux does not hand the group's id out again, so every
    process found with this group id is one of ours.
    """
    found = [pid for pid in all_pids() if process_group(pid) == pgid and alive(pid)]
    for pid in found:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    return found


def _die_with_parent() -> None:
    """preexec_fn: the kernel SIGKILLs the worker if pytest itself dies abruptly."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)


# --------------------------------------------------------------------------- workers


@dataclass
class WorkerProcess:
    """One ``imgsync worker`` subprocess, leader of its own process group."""

    name: str
    proc: subprocess.Popen[bytes]
    log_path: Path
    _log: IO[bytes]
    _stopped: bool = False

    @property
    def pid(self) -> int:
        return self.proc.pid

    @property
    def node(self) -> str:
        """The node name prefix the worker reports in results (``NAME@host``)."""
        return f"{self.name}@"

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def running(self) -> bool:
        return self.proc.poll() is None

    def wait_ready(self, timeout: float = READY_TIMEOUT) -> None:
        """Until Celery logs ``NAME@host ready.``; fail fast with the log if it died."""

        def ready() -> bool:
            if not self.running():
                raise RuntimeError(f"worker {self.name} exited early:\n{self.log()[-3000:]}")
            return any(self.node in line and "ready." in line for line in self.log().splitlines())

        wait_until(ready, timeout, f"worker {self.name} to be ready", interval=0.1)

    def pool_pids(self) -> list[int]:
        """The prefork pool processes (direct children of the worker's main process)."""
        return [pid for pid in children(self.pid) if comm(pid) != "skopeo"]

    def skopeo_pids(self, containing: str = "") -> dict[int, int]:
        """``{skopeo pid: pool pid}`` for the copies this worker runs right now.

        Only copies whose command line holds ``containing`` (say, a test's repository).
        """
        return {
            child: pool
            for pool in self.pool_pids()
            for child in children(pool)
            if comm(child) == "skopeo" and containing in cmdline(child)
        }

    def kill(self) -> list[int]:
        """SIGKILL the main process and every pool process at once; return their pids."""
        victims = [self.pid, *self.pool_pids()]
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.pid, signal.SIGKILL)
        for pid in victims:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        self.proc.wait(timeout=STOP_TIMEOUT)
        return victims

    def terminate(self) -> None:
        """Ask for a warm shutdown (no wait)."""
        if self.running():
            with contextlib.suppress(ProcessLookupError):
                self.proc.send_signal(signal.SIGTERM)

    def stop(self, timeout: float = STOP_TIMEOUT) -> None:
        """SIGTERM, then SIGKILL the whole group; always reap and close the log."""
        if self._stopped:
            return
        self._stopped = True
        self.terminate()
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.proc.wait(timeout=timeout)
        if self.running():  # not reaped yet, so the group id cannot have been reused
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.pid, signal.SIGKILL)
            self.proc.wait(timeout=timeout)
        kill_group_leftovers(self.pid)
        self._log.close()


@dataclass
class Producer:
    """``imgsync sync`` running in the background (for overlapping runs)."""

    proc: subprocess.Popen[str]
    stdout_path: Path
    stderr_path: Path
    report_path: Path

    def wait(self, timeout: float = 90.0) -> Ran:
        """Its exit code, output and report; TimeoutError (with its output) if it hangs."""
        try:
            self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            output = self.stdout_path.read_text(errors="replace")[-2000:]
            output += self.stderr_path.read_text(errors="replace")[-2000:]
            raise TimeoutError(f"producer still running after {timeout:g}s:\n{output}") from None
        report = json.loads(self.report_path.read_text()) if self.report_path.exists() else None
        stdout = self.stdout_path.read_text(errors="replace")
        stderr = self.stderr_path.read_text(errors="replace")
        return Ran(self.proc.returncode, stdout, stderr, report)

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


@dataclass
class Cluster:
    """Workers and producers sharing one broker, result backend and queue."""

    workdir: Path
    env: dict[str, str]
    workers: list[WorkerProcess] = field(default_factory=list)
    producers: list[Producer] = field(default_factory=list)
    _counter: int = 0

    @property
    def queue(self) -> str:
        return self.env["IMGSYNC_QUEUE"]

    @property
    def backend_url(self) -> str:
        return self.env.get("IMGSYNC_RESULT_BACKEND") or self.env["IMGSYNC_BROKER_URL"]

    def spawn_worker(
        self, name: str | None = None, *, concurrency: int = 2, **extra_env: str
    ) -> WorkerProcess:
        """Start a worker without waiting for it to be ready."""
        name = name or unique_name("w")
        log_path = self.workdir / f"worker-{name}.log"
        handle = log_path.open("wb")
        argv = [*IMGSYNC, "worker", "-c", str(concurrency), "-n", f"{name}@%h"]
        proc = subprocess.Popen(
            [*argv, "--loglevel", "INFO"],
            env={**self.env, **extra_env},
            cwd=self.workdir,
            stdin=subprocess.DEVNULL,
            stdout=handle,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=_die_with_parent,
        )
        worker = WorkerProcess(name, proc, log_path, handle)
        self.workers.append(worker)
        return worker

    def start_workers(self, *names: str, concurrency: int = 2) -> list[WorkerProcess]:
        """Start several workers in parallel and wait until each one is ready."""
        started = [self.spawn_worker(n, concurrency=concurrency) for n in names]
        for worker in started:
            worker.wait_ready()
        return started

    def start_producer(self, args: Sequence[str], **extra_env: str) -> Producer:
        """``imgsync sync ARGS --report FILE`` in the background."""
        self._counter += 1
        base = self.workdir / f"producer-{self._counter}"
        report = base.with_suffix(".report.json")
        stdout, stderr = base.with_suffix(".out"), base.with_suffix(".err")
        with stdout.open("w") as out, stderr.open("w") as err:
            proc = subprocess.Popen(
                [*IMGSYNC, "sync", "--report", str(report), *args],
                env={**self.env, **extra_env},
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=err,
                text=True,
            )
        producer = Producer(proc, stdout, stderr, report)
        self.producers.append(producer)
        return producer

    def finish(self, producer: Producer, timeout: float = 90.0) -> Ran:
        """Wait for a producer; if it hangs, fail with its output and the workers' logs."""
        try:
            return producer.wait(timeout)
        except TimeoutError as exc:
            raise AssertionError(f"{exc}\n{self.logs(tail=5000)}") from None

    def sync(self, args: Sequence[str], timeout: float = 90.0, **extra_env: str) -> Ran:
        return self.finish(self.start_producer(args, **extra_env), timeout)

    def redis(self) -> redis.Redis:
        return redis.Redis.from_url(self.backend_url, socket_timeout=10)

    def logs(self, tail: int | None = None) -> str:
        """Every worker's whole log (or its last ``tail`` characters, for messages)."""
        return "\n".join(f"==== {w.name}\n{w.log()[-(tail or 0) :]}" for w in self.workers)

    def stop(self) -> None:
        for producer in self.producers:
            producer.kill()
        for worker in self.workers:
            worker.terminate()
        for worker in self.workers:
            worker.stop()


# --------------------------------------------------------------------------- Redis


_reserved_dbs: set[int] = set()


@contextlib.contextmanager
def fresh_redis_db(server: RedisServer) -> Iterator[str]:
    """The URL of an empty database (1..15) of ``server``; flushed again afterwards."""
    db = _claim_empty_db(server)
    try:
        yield f"redis://{HOST}:{server.port}/{db}"
    finally:
        _reserved_dbs.discard(db)
        with contextlib.suppress(redis.RedisError):
            client = redis.Redis(host=HOST, port=server.port, db=db, socket_timeout=5)
            client.flushdb()
            client.close()


def _claim_empty_db(server: RedisServer) -> int:
    for db in range(1, 16):
        if db in _reserved_dbs:
            continue
        client = redis.Redis(host=HOST, port=server.port, db=db, socket_timeout=5)
        try:
            if client.dbsize() == 0:
                _reserved_dbs.add(db)
                return db
        finally:
            client.close()
    raise RuntimeError("no empty Redis database left (1..15)")


def _raw_values(client: redis.Redis, key: bytes) -> list[bytes]:
    """Every stored byte string of ``key``: strings, hashes (fields too), lists, sets, zsets.

    Celery and kombu use no other types; an unknown type fails loudly rather than be skipped.
    """
    kind = _text(client.type(key))
    reads: dict[str, Callable[[], Any]] = {
        "string": lambda: [client.get(key)],
        "hash": lambda: [part for pair in client.hgetall(key).items() for part in pair],
        "list": lambda: client.lrange(key, 0, -1),
        "set": lambda: client.smembers(key),
        "zset": lambda: client.zrange(key, 0, -1),
    }
    found = reads[kind]() if kind != "none" else []  # "none": deleted since the SCAN
    return [v if isinstance(v, bytes) else str(v).encode() for v in found if v is not None]


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


def decoded_texts(raw: bytes, depth: int = 0) -> Iterator[str]:
    """``raw`` as text, plus every base64 or JSON-embedded text inside it (message bodies)."""
    text = raw.decode("utf-8", errors="replace")
    yield text
    if depth > 4:
        return
    with contextlib.suppress(ValueError):
        yield from _json_texts(json.loads(text), depth)
    if len(raw) >= 8:
        with contextlib.suppress(binascii.Error, ValueError):
            yield from decoded_texts(base64.b64decode(raw, validate=True), depth + 1)


def _json_texts(value: Any, depth: int) -> Iterator[str]:
    if isinstance(value, str):
        yield from decoded_texts(value.encode(), depth + 1)
    elif isinstance(value, dict):
        for key, item in value.items():
            yield str(key)
            yield from _json_texts(item, depth)
    elif isinstance(value, list):
        for item in value:
            yield from _json_texts(item, depth)


def redis_texts(client: redis.Redis) -> Iterator[tuple[str, str]]:
    """``(key, text)`` for every key of every type in the client's database."""
    for key in client.scan_iter(count=500):
        name = key.decode(errors="replace")
        yield name, name
        with contextlib.suppress(redis.ResponseError):
            for raw in _raw_values(client, key):
                for text in decoded_texts(raw):
                    yield name, text


def secrets_in_redis(client: redis.Redis, secrets: Sequence[str]) -> list[tuple[str, str]]:
    """``(key, secret)`` for every secret found anywhere in the database."""
    return sorted({(key, s) for key, text in redis_texts(client) for s in secrets if s in text})


def kombu_messages(client: redis.Redis, queue: str) -> list[dict[str, Any]]:
    """Messages waiting in a kombu queue (a Redis list), bodies decoded."""
    found = []
    for raw in client.lrange(queue, 0, -1):
        message = json.loads(raw)
        message["decoded_body"] = json.loads(base64.b64decode(message["body"]))
        found.append(message)
    return found


# --------------------------------------------------------------------------- images


def incompressible(seed: str, size: int) -> bytes:
    """``size`` random-looking bytes, the same for the same seed."""
    return random.Random(seed).randbytes(size)


def _big_layer(name: str, version: str, platform: Platform, size: int) -> bytes:
    """A tar holding one file of ``size`` incompressible bytes."""
    content = incompressible(f"{name}/{version}/{platform_string(platform)}", size)
    info = tarfile.TarInfo(f"opt/imgsync-{name}.bin")
    info.size, info.mtime, info.mode = len(content), FIXED_MTIME, 0o644
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.USTAR_FORMAT) as tar:
        tar.addfile(info, io.BytesIO(content))
    return buf.getvalue()


def _write_big_image(
    layout: Path, name: str, version: str, platform: Platform, size: int
) -> Descriptor:
    tar = _big_layer(name, version, platform, size)
    return write_image(layout, name, version, platform, tar=tar, compresslevel=1)


def seed_sized(
    registry: Registry,
    repo: str,
    tag: str,
    *,
    tmp_path: Path,
    layer_size: int,
    name: str | None = None,
    version: str = "1",
    platforms: Sequence[Platform] = DEFAULT_PLATFORMS[:2],
) -> str:
    """Push a multi-platform image whose layers hold ``layer_size`` bytes; return its digest.

    The bytes depend on ``name`` (default: the repository), so no other test's image
    shares a blob with it: skopeo's blob-info cache would otherwise mount the blob
    from another repository instead of reading it through a throttling proxy.
    """
    name = name or repo
    layout = tmp_path / f"big-{re.sub(r'[^A-Za-z0-9._-]+', '_', name)}-{version}-{tag}-{layer_size}"
    layout.mkdir(parents=True, exist_ok=True)
    entries = [(_write_big_image(layout, name, version, p, layer_size), p) for p in platforms]
    return push_index(registry, layout, entries, (repo, tag), tmp_path)


# --------------------------------------------------------------------------- reports


def pairs(report: Mapping[str, Any]) -> list[tuple[str, str]]:
    """``(source, destination)`` of every result, in report order."""
    return [(r["source"], r["destination"]) for r in report["results"]]


def statuses(report: Mapping[str, Any]) -> list[str]:
    return [r["status"] for r in report["results"]]


def delete_amqp_queue(broker_url: str, queue: str) -> None:
    """Remove a test's queue, and the exchange Celery named after it, from a shared RabbitMQ."""
    from kombu import Connection

    with contextlib.suppress(Exception), Connection(broker_url, connect_timeout=5) as conn:
        channel = conn.default_channel
        channel.queue_delete(queue)
        channel.exchange_delete(queue)
