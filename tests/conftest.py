"""Shared fixtures: real registries (anonymous, htpasswd, token), Redis, seeded images."""

from __future__ import annotations

import functools
import itertools
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.cli_run import Rig, registry_env
from tests.rig.authfile import write_auths
from tests.rig.binaries import need_binary
from tests.rig.names import repo_slug
from tests.rig.oci import SeedImage, seed
from tests.rig.redis_server import RedisServer
from tests.rig.registry import AUTH_KINDS, AuthKind, Registry

REGISTRY_FIXTURES = {
    "anonymous": "anon_registry",
    "htpasswd": "basic_registry",
    "token": "token_registry",
}
_repo_counter = itertools.count(1)
_session_servers: list[Registry | RedisServer] = []


def _registry(kind: AuthKind, factory: pytest.TempPathFactory) -> Iterator[Registry]:
    """Start one registry of `kind` for the whole session and always stop it."""
    need_binary("docker-registry")
    registry = Registry(kind, workdir=factory.mktemp(f"registry-{kind}"))
    registry.start()
    _session_servers.append(registry)
    try:
        yield registry
    finally:
        _session_servers.remove(registry)
        registry.stop()


@pytest.fixture(scope="session")
def anon_registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Registry]:
    """docker-registry without auth."""
    yield from _registry("anonymous", tmp_path_factory)


@pytest.fixture(scope="session")
def basic_registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Registry]:
    """docker-registry with htpasswd (bcrypt) Basic auth."""
    yield from _registry("htpasswd", tmp_path_factory)


@pytest.fixture(scope="session")
def token_registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Registry]:
    """docker-registry with Bearer token auth; `.token_server` counts tokens issued."""
    yield from _registry("token", tmp_path_factory)


@pytest.fixture(params=AUTH_KINDS)
def each_registry(request: pytest.FixtureRequest) -> Registry:
    """Parametrized over the three session registries, for tests that must hold for all."""
    registry: Registry = request.getfixturevalue(REGISTRY_FIXTURES[request.param])
    return registry


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    """A private redis-server; tests may stop/start it (it is restarted if left down)."""
    need_binary("redis-server")
    server = RedisServer(workdir=tmp_path_factory.mktemp("redis"))
    server.start()
    _session_servers.append(server)
    try:
        yield server
    finally:
        _session_servers.remove(server)
        server.stop()


@pytest.fixture
def seed_image(tmp_path: Path) -> SeedImage:
    """Factory: push a deterministic multi-platform test image, return its digest."""
    need_binary("skopeo")
    return functools.partial(seed, tmp_path=tmp_path)


@pytest.fixture
def make_authfile(tmp_path: Path) -> Callable[..., Path]:
    """Factory: a 0600 auth.json holding the credentials of the given registries."""

    def _make(*registries: Registry) -> Path:
        creds = {r.host: r.credentials for r in registries if r.credentials}
        return write_auths(tmp_path / "auth.json", creds)

    return _make


@pytest.fixture
def unique_repo(request: pytest.FixtureRequest) -> str:
    """A repository name no other test uses, so session registries can be shared."""
    return f"t/{repo_slug(request.node.name)}-{next(_repo_counter)}"


@pytest.fixture
def rig(
    tmp_path: Path,
    anon_registry: Registry,
    basic_registry: Registry,
    token_registry: Registry,
    seed_image: SeedImage,
    unique_repo: str,
) -> Rig:
    """The three registries, a repository, a seeder and an environment knowing them, as one."""
    registries = (anon_registry, basic_registry, token_registry)
    env = registry_env(tmp_path, *registries)
    return Rig(tmp_path, *registries, unique_repo, seed_image, env)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Tests that use a real registry get the `registry` marker automatically."""
    registry_fixtures = {*REGISTRY_FIXTURES.values(), "each_registry", "seed_image", "rig"}
    for item in items:
        if registry_fixtures & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.registry)


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_teardown() -> None:
    """Restart session servers a test left stopped, so later tests find them up."""
    for server in list(_session_servers):
        if not server.running:
            server.start()


from tests.rig.slow_proxy import SlowProxy  # noqa: E402  (kept with the fixture that uses it)


@pytest.fixture
def slow_proxy() -> Iterator[Callable[..., SlowProxy]]:
    """Factory: a throttling TCP proxy in front of a registry (``.host`` replaces its host)."""
    started: list[SlowProxy] = []

    def _start(
        registry: Registry, *, delay_s: float = 0.0, rate_bps: float | None = None
    ) -> SlowProxy:
        proxy = SlowProxy.in_front_of(registry.host, delay_s=delay_s, rate_bps=rate_bps)
        started.append(proxy.start())
        return proxy

    yield _start
    for proxy in started:
        proxy.stop()
