"""Warm-up before a run's checks, and source + destination digests read together.

Against the real docker-registry processes of the test rig: the token service's log
shows how many token requests were made and with which scopes, the registry's access
log shows every 401 a check met.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest

from imgsync.adapters.credentials import Credential, CredentialStore
from imgsync.adapters.registry_pool import TOKEN_BATCH, RegistryPool
from imgsync.core.reference import ImageReference
from imgsync.errors import AuthError
from tests.rig.ports import free_port
from tests.rig.registry import Registry

SeedImage = Callable[..., str]


def pool_for(*registries: Registry, anonymous: bool = False) -> RegistryPool:
    store = CredentialStore(
        {
            r.host: Credential(r.username, r.password)
            for r in registries
            if r.username and r.password and not anonymous
        }
    )
    return RegistryPool(store, insecure=[r.host for r in registries])


def test_warm_up_fetches_tokens_in_batches_and_checks_then_need_none(
    token_registry: Registry, seed_image: SeedImage, unique_repo: str
) -> None:
    pushed = seed_image(token_registry, unique_repo, "v1")
    tokens = token_registry.token_server
    assert tokens is not None
    host = token_registry.host
    refs = [ImageReference(host, unique_repo, "v1")]
    refs += [ImageReference(host, f"{unique_repo}-absent-{i}", "v1") for i in range(44)]
    since, registry_since = tokens.mark(), token_registry.mark()
    with pool_for(token_registry) as pool:
        pool.warm_up([*refs, refs[0]])  # a repository named twice is asked for once
        batched = tokens.requests(since)
        digests = [pool.head_digest(ref) for ref in refs]
    assert digests == [pushed] + [None] * 44
    assert len(batched) == 3  # 45 scopes in batches of 20
    assert max(len(r.scopes) for r in batched) == TOKEN_BATCH
    assert sorted(s for r in batched for s in r.scopes) == sorted(
        f"repository:{r.repository}:pull" for r in refs
    )
    assert tokens.requests(since)[3:] == []  # no token per repository afterwards
    assert token_registry.count("HEAD", "/manifests/", since=registry_since, status=401) == 0


def test_warm_up_learns_basic_auth_so_no_check_meets_a_401(
    basic_registry: Registry, seed_image: SeedImage, unique_repo: str
) -> None:
    pushed = seed_image(basic_registry, unique_repo, "v1")
    ref = ImageReference(basic_registry.host, unique_repo, "v1")
    since = basic_registry.mark()
    with pool_for(basic_registry) as pool:
        pool.warm_up([ref])
        assert pool.head_digest(ref) == pushed
    assert basic_registry.count("GET", "/v2/", since=since, status=401) == 1
    assert basic_registry.count("HEAD", "/manifests/", since=since, status=401) == 0
    assert basic_registry.count("HEAD", "/manifests/", since=since, status=200) == 1


def test_a_scope_left_out_of_a_batched_grant_is_asked_for_alone(
    token_registry: Registry, seed_image: SeedImage, unique_repo: str
) -> None:
    tokens = token_registry.token_server
    assert tokens is not None
    public, private = f"{unique_repo}-public", f"{unique_repo}-private"
    pushed = seed_image(token_registry, public, "v1")
    seed_image(token_registry, private, "v1")
    tokens.private.add(private)
    refs = [ImageReference(token_registry.host, name, "v1") for name in (public, private)]
    since = tokens.mark()
    try:
        with pool_for(token_registry, anonymous=True) as pool:
            pool.warm_up(refs)
            assert pool.head_digest(refs[0]) == pushed
            with pytest.raises(AuthError, match="insufficient_scope"):
                pool.head_digest(refs[1])
    finally:
        tokens.private.discard(private)
    asked = [r.scopes for r in tokens.requests(since)]
    assert asked[0] == tuple(sorted(f"repository:{name}:pull" for name in (public, private)))
    assert asked[1:] == [(f"repository:{private}:pull",)]


def test_warm_up_of_an_unreachable_registry_is_quick_and_leaves_the_error_to_the_check() -> None:
    ref = ImageReference(f"127.0.0.1:{free_port()}", "nobody/here", "v1")
    with RegistryPool(CredentialStore(), insecure=[ref.registry], retries=0) as pool:
        started = time.monotonic()
        pool.warm_up([ref])
        assert time.monotonic() - started < 2.0
        with pytest.raises(Exception, match="cannot reach"):
            pool.head_digest(ref)


def test_head_digests_reads_source_and_destination_together(
    basic_registry: Registry,
    anon_registry: Registry,
    seed_image: SeedImage,
    unique_repo: str,
) -> None:
    source = seed_image(anon_registry, unique_repo, "v1")
    refs = (
        ImageReference(anon_registry.host, unique_repo, "v1"),
        ImageReference(basic_registry.host, unique_repo, "absent"),
    )
    with pool_for(anon_registry, basic_registry) as pool:
        assert pool.head_digests(refs) == [source, None]
    anonymous = pool_for(anon_registry, basic_registry, anonymous=True)
    with anonymous as pool, pytest.raises(AuthError):  # the destination's error reaches us
        pool.head_digests(refs)
