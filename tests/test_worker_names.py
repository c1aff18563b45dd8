"""Workers on one host: each ``imgsync worker`` names itself apart; ``--hostname`` still wins."""

from __future__ import annotations

import re
import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from imgsync.config.settings import Settings
from imgsync.workers.app import create_app
from imgsync.workers.launch import default_node_name, worker_argv
from tests.celery_rig import WorkerProcess, fresh_redis_db, unique_name, wait_until
from tests.cli_run import IMGSYNC, base_env
from tests.rig.redis_server import RedisServer


def test_the_default_node_name_carries_the_worker_process_id() -> None:
    assert default_node_name(4242) == "imgsync-4242@%h"
    assert default_node_name(1) != default_node_name(2)
    settings = Settings()
    chosen = worker_argv(settings, concurrency=1, loglevel="INFO", hostname="mine@%h")
    assert "--hostname=mine@%h" in chosen


@pytest.fixture
def workers(redis_server: RedisServer, tmp_path: Path) -> Iterator[tuple[str, list[WorkerProcess]]]:
    """The broker URL and the workers a test started on it; all stopped afterwards."""
    started: list[WorkerProcess] = []
    with fresh_redis_db(redis_server) as url:
        yield url, started
        for worker in started:
            worker.terminate()
        for worker in started:
            worker.stop()


READY = re.compile(r"(\S+@\S+) ready\.")


def start_worker(broker: str, workdir: Path, *extra: str) -> WorkerProcess:
    """``imgsync worker`` as users start it: no ``-n`` unless ``extra`` says so."""
    env = base_env(workdir, IMGSYNC_BROKER_URL=broker, IMGSYNC_QUEUE=unique_name("names"))
    log_path = workdir / f"worker-{len(list(workdir.glob('worker-*')))}.log"
    handle = log_path.open("wb")
    proc = subprocess.Popen(
        [*IMGSYNC, "worker", "-c", "1", "--loglevel", "INFO", *extra],
        env=env,
        cwd=workdir,
        stdin=subprocess.DEVNULL,
        stdout=handle,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    return WorkerProcess("", proc, log_path, handle)


def node_name(worker: WorkerProcess) -> str:
    """The name the worker announced in its ``NAME@HOST ready.`` line."""
    found: list[str] = []

    def ready() -> bool:
        assert worker.running(), worker.log()
        found[:] = READY.findall(worker.log())
        return bool(found)

    wait_until(ready, 45, "the worker to be ready", interval=0.1)
    return found[0]


def test_workers_on_one_host_have_names_of_their_own_and_hostname_wins(
    workers: tuple[str, list[WorkerProcess]], tmp_path: Path
) -> None:
    broker, started = workers
    custom = unique_name("custom")
    started += [start_worker(broker, tmp_path), start_worker(broker, tmp_path)]
    names = [node_name(worker) for worker in started]
    # Started once the others are up, its start-up "hello" hears both: two replies under
    # one name is what makes Celery warn about a duplicate nodename.
    started.append(start_worker(broker, tmp_path, "--hostname", f"{custom}@%h"))
    names.append(node_name(started[-1]))
    host = socket.gethostname()
    assert names == [*(f"imgsync-{w.pid}@{host}" for w in started[:2]), f"{custom}@{host}"]
    app = create_app(Settings.build({"broker_url": broker}))
    replies: list[str] = []

    def all_answered() -> bool:
        replies[:] = [name for reply in app.control.ping(timeout=1.0) for name in reply]
        return len(replies) >= len(started)

    wait_until(all_answered, 30, "every worker to answer a ping", interval=0.5)
    assert sorted(replies) == sorted(names)
    for worker in started:
        assert "duplicate" not in worker.log().lower(), worker.log()
