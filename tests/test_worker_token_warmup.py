"""A worker fetches the tokens of a run's mappings in batches, not one per task.

Through a real ``imgsync worker`` whose one pool process runs every task, N mappings from
N source repositories of the rig's token registry, all already in sync: the token server's
log must show one token request covering every scope (the run's plan, read from Redis,
tells the process which scopes are coming), where one per repository was the cost
before. The skips still find every mapping in sync, and no check meets a 401.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.celery_rig import fresh_redis_db
from tests.rig.oci import seed
from tests.rig.redis_server import RedisServer
from tests.rig.registry import Registry
from tests.test_worker_reuse import one_process_cluster

pytestmark = [pytest.mark.registry, pytest.mark.celery]

N = 6


def in_sync(src: Registry, dst: Registry, repo: str, tmp_path: Path) -> list[str]:
    """N mappings from N source repositories to destinations already holding each image."""
    mappings = []
    for i in range(N):
        digest = seed(src, f"{repo}/src{i}", "v1", tmp_path=tmp_path)
        assert seed(dst, f"{repo}/dst{i}", "v1", tmp_path=tmp_path) == digest
        mappings.append(f"{src.host}/{repo}/src{i}:v1={dst.host}/{repo}/dst{i}:v1")
    return mappings


def test_a_runs_scopes_cost_one_token_request_in_a_worker_process(
    token_registry: Registry,
    anon_registry: Registry,
    redis_server: RedisServer,
    tmp_path: Path,
    unique_repo: str,
) -> None:
    mappings = in_sync(token_registry, anon_registry, unique_repo, tmp_path)
    server = token_registry.token_server
    assert server is not None
    scopes = {f"repository:{unique_repo}/src{i}:pull" for i in range(N)}
    with (
        fresh_redis_db(redis_server) as url,
        one_process_cluster(token_registry, anon_registry, tmp_path, url) as cluster,
    ):
        mark, requests = server.mark(), token_registry.mark()
        ran = cluster.sync(mappings)
    assert ran.returncode == 0 and ran.report is not None, ran.output
    assert [r["status"] for r in ran.report["results"]] == ["skipped"] * N
    issued = [r for r in server.requests(mark) if r.status == 200 and scopes & set(r.scopes)]
    assert len(issued) == 1 and scopes <= set(issued[0].scopes), issued
    heads = [r for r in token_registry.requests(requests) if "/manifests/" in r.path]
    assert heads and all(r.status == 200 for r in heads), heads
