"""A sync file run on real Celery workers: subset, immutable and prune items travel as plain JSON.

The same ``sync_item`` runs in the workers, so this checks only what distributed
mode adds: the options survive the task message, and the chord body prunes after
every task. The workers get the file's ``registries:`` through ``IMGSYNC_CONFIG``.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.celery_rig import Cluster, fresh_redis_db, unique_name
from tests.cli_run import base_env
from tests.rig.authfile import write_auths
from tests.rig.inspect import get_manifest, registry_request
from tests.rig.redis_server import RedisServer
from tests.rig.registry import Registry

pytestmark = [pytest.mark.celery, pytest.mark.registry]
SeedImage = Callable[..., str]


@pytest.fixture
def cluster(
    tmp_path: Path,
    redis_server: RedisServer,
    anon_registry: Registry,
    basic_registry: Registry,
) -> Iterator[tuple[Cluster, Path]]:
    """Two workers; destination credentials come only from the sync file's registries section."""
    assert basic_registry.credentials is not None
    auth = write_auths(
        tmp_path / "dst-auth.json", {basic_registry.host: basic_registry.credentials}
    )
    registries = {
        anon_registry.host: {"insecure": True},
        basic_registry.host: {"insecure": True, "authfile": str(auth)},
    }
    config = tmp_path / "sync.yaml"
    config.write_text(json.dumps({"registries": registries, "images": ["a=r.example.com/a"]}))
    (tmp_path / "home").mkdir()
    with fresh_redis_db(redis_server) as url:
        env = base_env(
            tmp_path / "home",
            IMGSYNC_BROKER_URL=url,
            IMGSYNC_QUEUE=unique_name("cfg"),
            IMGSYNC_CONFIG=str(config),
        )
        running = Cluster(tmp_path, env)
        try:
            running.start_workers(unique_name("c1"), unique_name("c2"))
            yield running, config
        finally:
            running.stop()


def test_subset_immutable_and_prune_run_on_workers(
    cluster: tuple[Cluster, Path],
    anon_registry: Registry,
    basic_registry: Registry,
    seed_image: SeedImage,
    unique_repo: str,
) -> None:
    workers, config = cluster
    src, dst = f"{anon_registry.host}/{unique_repo}", f"{basic_registry.host}/{unique_repo}"
    seed_image(anon_registry, unique_repo, "1.0", version="a")
    seed_image(anon_registry, unique_repo, "2.0.0", version="b")
    seed_image(basic_registry, unique_repo, "stale", version="c")
    registries = json.loads(config.read_text())["registries"]
    document = {
        "registries": registries,
        "images": [
            {"source": f"{src}:1.0", "destinations": dst, "platforms": ["linux/arm64"]},
            {
                "source": src,
                "tags": {"list": ["2.0.0"], "immutable": r"^\d+\.\d+\.\d+$"},
                "destinations": dst,
                "prune": True,
            },
        ],
    }
    config.write_text(json.dumps(document))

    first = workers.sync(["--config", str(config)])
    assert first.returncode == 0, first.output + workers.logs()
    assert first.report is not None and first.report["mode"] == "celery"
    by_destination = {r["destination"]: r["status"] for r in first.report["results"]}
    assert by_destination == {
        f"{dst}:1.0": "synced",
        f"{dst}:2.0.0": "synced",
        f"{dst}:stale": "pruned",
    }
    index = get_manifest(basic_registry, unique_repo, "1.0")
    assert [m["platform"]["architecture"] for m in index["manifests"]] == ["arm64"]
    tags = registry_request(basic_registry, "GET", unique_repo, "tags/list", accept="*/*").json()
    assert sorted(tags["tags"]) == ["1.0", "2.0.0"]

    mark = anon_registry.mark()
    second = workers.sync(["--config", str(config)])
    assert second.returncode == 0, second.output
    assert second.report is not None
    assert {r["status"] for r in second.report["results"]} == {"skipped"}
    assert not [r for r in anon_registry.requests(mark) if "/2.0.0" in r.path]
