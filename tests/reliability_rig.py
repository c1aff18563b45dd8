"""Small helpers the reliability tests share: report checks, auth files, cluster settings."""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from tests.celery_rig import Cluster, unique_name
from tests.cli_run import base_env
from tests.rig.authfile import write_auths
from tests.rig.registry import Registry


def celery_limits(soft: int, hard: int, visibility: int) -> dict[str, str]:
    """Task time limits and visibility timeout (seconds) for a test cluster; a busy lock is
    tried again every second."""
    return {
        "IMGSYNC_TASK_SOFT_TIME_LIMIT": str(soft),
        "IMGSYNC_TASK_TIME_LIMIT": str(hard),
        "IMGSYNC_VISIBILITY_TIMEOUT": str(visibility),
        "IMGSYNC_LOCK_RETRY_DELAY": "1",
    }


#: Short Celery limits for tests: copies here take seconds, so a lost task comes back fast.
FAST_CELERY = celery_limits(soft=20, hard=25, visibility=30)


def expect_pairs(mappings: Iterable[str]) -> list[tuple[str, str]]:
    """``(source, destination)`` of fully spelled-out ``src=dst`` mappings, in order."""
    return [(m.split("=", 1)[0], m.split("=", 1)[1]) for m in mappings]


def assert_exactly_once(report: Mapping[str, Any], mappings: Sequence[str]) -> None:
    """Every mapping once, in input order, and a summary that adds up to the results."""
    pairs = [(r["source"], r["destination"]) for r in report["results"]]
    assert pairs == expect_pairs(mappings), pairs
    assert sum(report["summary"].values()) == len(mappings), report["summary"]


def proxy_authfile(path: Path, registry: Registry, *proxies: Any) -> Path:
    """An auth file with ``registry``'s credentials under its own host and each proxy's."""
    assert registry.credentials is not None
    hosts = [registry.host, *(proxy.host for proxy in proxies)]
    return write_auths(path, dict.fromkeys(hosts, registry.credentials))


def celery_env(
    home: Path,
    *,
    broker: str,
    queue: str,
    auth: Path,
    insecure: Iterable[str],
    **settings: str,
) -> dict[str, str]:
    """What the workers and producers of one test cluster share (Redis is broker and backend)."""
    home.mkdir(parents=True, exist_ok=True)
    return base_env(
        home,
        IMGSYNC_BROKER_URL=broker,
        IMGSYNC_QUEUE=queue,
        REGISTRY_AUTH_FILE=str(auth),
        IMGSYNC_INSECURE_REGISTRIES=",".join(insecure),
        **{**FAST_CELERY, **settings},
    )


@contextlib.contextmanager
def running_cluster(
    workdir: Path,
    *,
    broker: str,
    auth: Path,
    insecure: Iterable[str],
    workers: int = 1,
    concurrency: int = 2,
    settings: Mapping[str, str] | None = None,
) -> Iterator[Cluster]:
    """A cluster on its own queue with ``workers`` ready workers; everything stopped after."""
    workdir.mkdir(parents=True, exist_ok=True)
    queue = unique_name("q")
    env = celery_env(
        workdir / "home",
        broker=broker,
        queue=queue,
        auth=auth,
        insecure=insecure,
        **dict(settings or {}),
    )
    cluster = Cluster(workdir, env)
    try:
        names = [unique_name(f"w{i}") for i in range(workers)]
        cluster.start_workers(*names, concurrency=concurrency)
        yield cluster
    finally:
        cluster.stop()
