"""A skip takes no lock: through a real worker, Redis never sees a lock key for it.

The destination lock (with its heartbeat thread) is there to keep two copies of one tag
apart; a mapping already in sync copies nothing. Redis' keyspace notifications report
every write to an ``imgsync:lock:*`` key, so the test sees each lock taken, however short.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from tests.celery_rig import fresh_redis_db
from tests.reliability_rig import running_cluster
from tests.rig.authfile import write_auths
from tests.rig.oci import seed
from tests.rig.redis_server import RedisServer
from tests.rig.registry import Registry

pytestmark = [pytest.mark.registry, pytest.mark.celery]

N = 3


@contextlib.contextmanager
def lock_writes(url: str) -> Iterator[redis.client.PubSub]:
    """A subscription to every write of a lock key in the database of ``url``."""
    client = redis.Redis.from_url(url, socket_timeout=10)
    db = client.connection_pool.connection_kwargs.get("db", 0)
    previous = client.config_get("notify-keyspace-events")["notify-keyspace-events"]
    client.config_set("notify-keyspace-events", "K$g")  # strings and generic (del, expire)
    watch = client.pubsub()
    watch.psubscribe(f"__keyspace@{db}__:imgsync:lock:*")
    try:
        yield watch
    finally:
        watch.close()
        client.config_set("notify-keyspace-events", previous)
        client.close()


def drained(watch: redis.client.PubSub) -> list[tuple[str, str]]:
    """(key, event) of every lock write seen so far."""
    seen = []
    while (message := watch.get_message(timeout=0.5)) is not None:
        if message["type"] == "pmessage":
            channel, event = message["channel"].decode(), message["data"].decode()
            seen.append((channel.partition(":")[2], event))
    return seen


def test_a_skip_run_takes_no_lock_while_a_copy_run_takes_it(
    anon_registry: Registry, redis_server: RedisServer, tmp_path: Path, unique_repo: str
) -> None:
    seed(anon_registry, f"{unique_repo}/src", "v1", tmp_path=tmp_path)
    host = anon_registry.host
    mappings = [f"{host}/{unique_repo}/src:v1={host}/{unique_repo}/dst:t{i}" for i in range(N)]
    auth = write_auths(tmp_path / "auth.json", {})
    with (
        fresh_redis_db(redis_server) as url,
        lock_writes(url) as watch,
        running_cluster(tmp_path / "c", broker=url, auth=auth, insecure=[host]) as cluster,
    ):
        copy = cluster.sync(mappings)
        assert copy.returncode == 0, copy.output + cluster.logs(tail=3000)
        copy_locks = drained(watch)
        skip = cluster.sync(mappings)
        assert skip.returncode == 0, skip.output
        skip_locks = drained(watch)
    assert copy.report is not None and skip.report is not None
    assert [r["status"] for r in copy.report["results"]] == ["synced"] * N
    assert [r["status"] for r in skip.report["results"]] == ["skipped"] * N
    taken = {key for key, event in copy_locks if event == "set"}
    assert {f"imgsync:lock:{m.partition('=')[2]}" for m in mappings} <= taken, copy_locks
    assert skip_locks == []
