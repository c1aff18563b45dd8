"""A worker's copy reads the destination again once it holds the repository lock.

Real Redis (the lock), real docker-registry (what was pushed, from its access log) and
real skopeo: a copy whose destination already serves the source's digest pushes nothing.
"""

from __future__ import annotations

from collections.abc import Callable

import redis

from imgsync.adapters.credentials import CredentialStore
from imgsync.adapters.registry_pool import RegistryPool
from imgsync.adapters.skopeo import SkopeoCopier
from imgsync.core.reference import ImageReference
from imgsync.workers.execution import RepositorySerialCopier
from tests.rig.redis_server import RedisServer
from tests.rig.registry import Registry

SeedImage = Callable[..., str]


def test_a_copy_finding_the_digest_already_there_pushes_nothing(
    anon_registry: Registry, seed_image: SeedImage, unique_repo: str, redis_server: RedisServer
) -> None:
    host = anon_registry.host
    digest = seed_image(anon_registry, unique_repo, "v1")
    assert seed_image(anon_registry, f"{unique_repo}-there", "v1") == digest
    source = ImageReference(host, unique_repo, digest=digest)
    client = redis.Redis.from_url(redis_server.url)
    with RegistryPool(CredentialStore(), insecure=[host]) as pool:
        skopeo = SkopeoCopier(CredentialStore(), insecure=[host], retry_times=0, timeout=120)
        copier = RepositorySerialCopier(skopeo, client, "test-owner", 60, 10, pool)
        since = anon_registry.mark()
        copier.copy(source, ImageReference(host, f"{unique_repo}-there", "v1"))
        assert anon_registry.count("PUT", "/manifests/", since=since) == 0
        copier.copy(source, ImageReference(host, f"{unique_repo}-new", "v1"))
        assert anon_registry.count("PUT", "/manifests/", since=since) > 0
        assert pool.head_digest(ImageReference(host, f"{unique_repo}-new", "v1")) == digest
    client.close()
