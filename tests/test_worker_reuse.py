"""What a worker process keeps between tasks: its registry tokens, until they expire.

Through a real ``imgsync worker`` whose one pool process runs every task, with the
source behind the rig's token server (whose log records every token it issued) and
the destinations already up to date, so only imgsync's own checks ask for tokens (no
skopeo copy runs). Tokens live in the worker process's memory only, never in Redis.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import AbstractContextManager
from pathlib import Path

import pytest

from tests.celery_rig import Cluster, fresh_redis_db
from tests.cli_run import Ran
from tests.reliability_rig import running_cluster
from tests.rig.authfile import write_auths
from tests.rig.oci import seed
from tests.rig.redis_server import RedisServer
from tests.rig.registry import Registry
from tests.rig.token_server import TokenServer

pytestmark = [pytest.mark.registry, pytest.mark.celery]

N = 6
#: Short enough to wait out, long enough for one run of N checks to fit in it.
SHORT_LIFE_S = 4


@pytest.fixture
def short_lived(tmp_path: Path) -> Iterator[Registry]:
    """A token registry of its own whose tokens expire after SHORT_LIFE_S seconds."""
    with Registry("token", workdir=tmp_path / "short-lived") as registry:
        assert registry.token_server is not None
        registry.token_server.expires_in = SHORT_LIFE_S
        yield registry


def tokens(server: TokenServer | None, scope: str, since: int) -> int:
    """Tokens issued for ``scope`` (alone or in a batch) since ``since``."""
    assert server is not None
    return sum(1 for r in server.requests(since) if scope in r.scopes and r.status == 200)


def in_sync_mappings(src: Registry, dst: Registry, repo: str, tmp_path: Path) -> list[str]:
    """N mappings of one source image to N destinations that already hold it."""
    digest = seed(src, f"{repo}/src", "v1", tmp_path=tmp_path)
    for i in range(N):
        assert seed(dst, f"{repo}/dst{i}", "v1", tmp_path=tmp_path) == digest
    return [f"{src.host}/{repo}/src:v1={dst.host}/{repo}/dst{i}:v1" for i in range(N)]


def one_process_cluster(
    src: Registry, dst: Registry, tmp_path: Path, url: str
) -> AbstractContextManager[Cluster]:
    """One worker with one pool process: every task runs in the same process."""
    assert src.username is not None and src.password is not None
    auth = write_auths(tmp_path / "auth.json", {src.host: (src.username, src.password)})
    insecure = [src.host, dst.host]
    return running_cluster(tmp_path / "c", broker=url, auth=auth, insecure=insecure, concurrency=1)


def skipped_all(ran: Ran) -> None:
    assert ran.returncode == 0, ran.output
    assert ran.report is not None
    assert [r["status"] for r in ran.report["results"]] == ["skipped"] * N


def test_n_tasks_in_one_worker_process_fetch_one_token_per_scope(
    token_registry: Registry,
    anon_registry: Registry,
    redis_server: RedisServer,
    tmp_path: Path,
    unique_repo: str,
) -> None:
    mappings = in_sync_mappings(token_registry, anon_registry, unique_repo, tmp_path)
    scope = f"repository:{unique_repo}/src:pull"
    with (
        fresh_redis_db(redis_server) as url,
        one_process_cluster(token_registry, anon_registry, tmp_path, url) as cluster,
    ):
        mark = token_registry.token_server.mark()  # type: ignore[union-attr]
        skipped_all(cluster.sync(mappings))
    assert tokens(token_registry.token_server, scope, mark) == 1


def test_a_token_past_its_expiry_is_fetched_again_once(
    short_lived: Registry,
    anon_registry: Registry,
    redis_server: RedisServer,
    tmp_path: Path,
    unique_repo: str,
) -> None:
    mappings = in_sync_mappings(short_lived, anon_registry, unique_repo, tmp_path)
    scope, server = f"repository:{unique_repo}/src:pull", short_lived.token_server
    with (
        fresh_redis_db(redis_server) as url,
        one_process_cluster(short_lived, anon_registry, tmp_path, url) as cluster,
    ):
        first = server.mark()  # type: ignore[union-attr]
        skipped_all(cluster.sync(mappings))
        assert tokens(server, scope, first) == 1
        time.sleep(SHORT_LIFE_S + 1)  # past its expiry (the registry would allow 60 s more)
        second, requests = server.mark(), short_lived.mark()  # type: ignore[union-attr]
        skipped_all(cluster.sync(mappings))
        assert tokens(server, scope, second) == 1
    refused = [r for r in short_lived.requests(requests) if r.status == 401]
    assert refused == []  # renewed before use, not after the registry refused it
