"""``HTTP_PROXY``, ``HTTPS_PROXY`` and ``NO_PROXY``: imgsync's registry calls and skopeo's
copies go through the proxy the environment names, and around it for hosts ``NO_PROXY`` lists.

A real forwarding proxy (:class:`~tests.rig.forward_proxy.ForwardProxy`) records every
request with its target and ``User-Agent``, so each test can tell imgsync's own calls
(``imgsync/…``) from skopeo's (``skopeo/…``).

Why the registries are addressed by names only the proxy resolves: Go's
``ProxyFromEnvironment`` (skopeo) never proxies ``localhost`` or a loopback IP, whatever
the environment says, so a copy from ``127.0.0.1:PORT`` proves nothing about proxies.
requests does proxy loopback addresses (only ``NO_PROXY`` stops it), which the
``NO_PROXY`` tests below use. A registry named by
:func:`~tests.rig.forward_proxy.name_only_the_proxy_knows` can be reached through the
proxy and in no other way, and a client that goes around the proxy fails without a DNS
query.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from imgsync.adapters.credentials import Credential, CredentialStore
from imgsync.adapters.registry import RegistryClient
from imgsync.adapters.skopeo import SkopeoCopier
from imgsync.core.refparse import parse_reference
from imgsync.errors import CopyError, ImgsyncError
from tests.cli_run import base_env, run_imgsync
from tests.rig.authfile import write_auths
from tests.rig.forward_proxy import ForwardProxy, Passed, name_only_the_proxy_knows
from tests.rig.inspect import head_digest
from tests.rig.registry import Registry

pytestmark = pytest.mark.registry
SeedImage = Callable[..., str]
SOURCE = name_only_the_proxy_knows("source")
DESTINATION = name_only_the_proxy_knows("destination")
PROXY_VARIABLES = ("HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY")
SPELLINGS = pytest.mark.parametrize("spelling", [str.upper, str.lower], ids=["upper", "lower"])


@pytest.fixture
def proxy() -> Iterator[ForwardProxy]:
    with ForwardProxy(local_names=(SOURCE, DESTINATION)) as started:
        yield started


@dataclass
class Seeded:
    """A test's proxy, a registry holding ``repo:1.0`` (``digest``), and this process's env."""

    proxy: ForwardProxy
    registry: Registry
    repo: str
    digest: str
    monkeypatch: pytest.MonkeyPatch

    def use_proxy(self, no_proxy: str = "", spelling: Callable[[str], str] = str.upper) -> None:
        use_proxy(self.monkeypatch, self.proxy.url, no_proxy, spelling)

    def log(self) -> list[Passed]:
        return self.proxy.log()


@pytest.fixture
def seeded(
    proxy: ForwardProxy, seed_image: SeedImage, unique_repo: str, monkeypatch: pytest.MonkeyPatch
) -> Callable[[Registry], Seeded]:
    """Factory: seed ``unique_repo:1.0`` into a registry *before* the proxy is in the env."""

    def _seed(registry: Registry) -> Seeded:
        digest = seed_image(registry, unique_repo, "1.0")
        return Seeded(proxy, registry, unique_repo, digest, monkeypatch)

    return _seed


def proxy_variables(url: str, no_proxy: str, spelling: Callable[[str], str]) -> dict[str, str]:
    """The three variables, spelt ``HTTP_PROXY`` or ``http_proxy``; ``NO_PROXY`` may be empty."""
    values = (url, url, no_proxy)
    return {spelling(name): value for name, value in zip(PROXY_VARIABLES, values, strict=True)}


def use_proxy(
    monkeypatch: pytest.MonkeyPatch,
    url: str,
    no_proxy: str = "",
    spelling: Callable[[str], str] = str.upper,
) -> None:
    """This process's environment names the proxy, in one spelling only."""
    for name in PROXY_VARIABLES:
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)
    for name, value in proxy_variables(url, no_proxy, spelling).items():
        monkeypatch.setenv(name, value)


def calls(log: list[Passed], agent: str, method: str, target: str, path: str) -> list[Passed]:
    """The forwarded requests of one client (by ``User-Agent`` prefix) to one host."""
    return [
        p
        for p in log
        if p.user_agent.startswith(agent)
        and (p.method, p.target, p.kind) == (method, target, "forward")
        and path in p.path
    ]


def read_digest(host: str, name: str, credential: Credential | None = None) -> str | None:
    """imgsync's digest read of ``host/name`` (a plain-http registry), no retries."""
    client = RegistryClient(host, credential=credential, insecure=True, retries=0)
    try:
        return client.head_digest(parse_reference(f"{host}/{name}"))
    finally:
        client.close()


def copy_between_names(registry: Registry, repo: str) -> tuple[str, str, str | None]:
    """skopeo copies ``repo`` from ``registry`` to itself, addressed as SOURCE and DESTINATION.

    Returns both ``host:port`` names and the digest written.
    """
    source, destination = f"{SOURCE}:{registry.port}", f"{DESTINATION}:{registry.port}"
    copier = SkopeoCopier(CredentialStore(), insecure=(source, destination), retry_times=0)
    written = copier.copy(
        parse_reference(f"{source}/{repo}:1.0"),
        parse_reference(f"{destination}/mirror/{repo}:1.0"),
    )
    return source, destination, written


def token_host(registry: Registry) -> str:
    """``127.0.0.1:PORT`` of the token service the registry's Bearer challenge names."""
    assert registry.token_server is not None
    return f"127.0.0.1:{registry.token_server.port}"


def proxied_env(tmp_path: Path, proxy: ForwardProxy, hosts: dict[str, Registry]) -> dict[str, str]:
    """A command's environment: the proxy in upper case only, credentials for ``hosts``."""
    creds = {host: registry.credentials for host, registry in hosts.items()}
    auth = write_auths(tmp_path / "auth.json", {h: c for h, c in creds.items() if c})
    env = base_env(
        tmp_path, REGISTRY_AUTH_FILE=str(auth), IMGSYNC_INSECURE_REGISTRIES=",".join(hosts)
    )
    for name in PROXY_VARIABLES:
        env.pop(name.lower(), None)  # an empty lower-case one would hide it from requests
    return {**env, **proxy_variables(proxy.url, "", str.upper)}


# ------------------------------------------------------------------ the whole command


def test_a_sync_sends_registry_calls_token_fetches_and_the_copy_through_the_proxy(
    tmp_path: Path,
    seeded: Callable[[Registry], Seeded],
    token_registry: Registry,
    basic_registry: Registry,
) -> None:
    run = seeded(token_registry)
    source, destination = f"{SOURCE}:{token_registry.port}", f"{DESTINATION}:{basic_registry.port}"
    env = proxied_env(tmp_path, run.proxy, {source: token_registry, destination: basic_registry})
    mapping = f"{source}/{run.repo}:1.0={destination}/mirror/{run.repo}"

    ran = run_imgsync(["sync", mapping], env, report=tmp_path / "report.json")

    assert ran.returncode == 0, ran.output
    assert ran.result_for(run.repo)["status"] == "synced"
    assert head_digest(basic_registry, f"mirror/{run.repo}", "1.0") == run.digest
    log = run.log()
    assert calls(log, "imgsync/", "HEAD", source, "/manifests/")
    assert calls(log, "imgsync/", "HEAD", destination, "/manifests/")
    assert calls(log, "imgsync/", "GET", token_host(token_registry), "/token")
    assert calls(log, "skopeo/", "GET", source, "/manifests/")
    assert calls(log, "skopeo/", "PUT", destination, "/manifests/")


# ------------------------------------------------------------- imgsync's own requests


@SPELLINGS
def test_digest_reads_and_token_fetches_use_the_proxy_in_either_spelling(
    spelling: Callable[[str], str], seeded: Callable[[Registry], Seeded], token_registry: Registry
) -> None:
    run = seeded(token_registry)
    run.use_proxy(spelling=spelling)
    source = f"{SOURCE}:{token_registry.port}"
    credential = Credential(*token_registry.credentials or ("", ""))

    assert read_digest(source, f"{run.repo}:1.0", credential) == run.digest
    assert calls(run.log(), "imgsync/", "HEAD", source, "/manifests/")
    assert calls(run.log(), "imgsync/", "GET", token_host(token_registry), "/token")


@pytest.mark.parametrize(
    ("no_proxy", "proxied"),
    [
        ("", True),  # requests proxies loopback addresses too, unless told otherwise
        ("127.0.0.1", False),
        ("127.0.0.0/8", False),
        ("localhost, 127.0.0.1", False),
    ],
)
def test_no_proxy_decides_whether_a_registry_is_asked_directly(
    no_proxy: str, proxied: bool, seeded: Callable[[Registry], Seeded], anon_registry: Registry
) -> None:
    run = seeded(anon_registry)
    run.use_proxy(no_proxy)

    assert read_digest(anon_registry.host, f"{run.repo}:1.0") == run.digest
    through = calls(run.log(), "imgsync/", "HEAD", anon_registry.host, "/manifests/")
    assert bool(through) is proxied, run.log()


def test_a_host_in_no_proxy_is_not_sent_to_the_proxy_even_when_only_the_proxy_knows_it(
    proxy: ForwardProxy, anon_registry: Registry, monkeypatch: pytest.MonkeyPatch
) -> None:
    use_proxy(monkeypatch, proxy.url, no_proxy=SOURCE)
    source = f"{SOURCE}:{anon_registry.port}"
    # urllib3 refuses the over-long label with LocationParseError (a ValueError)
    with pytest.raises((ImgsyncError, ValueError)):
        read_digest(source, "any/repo:1.0")

    assert proxy.to(source) == []


# ------------------------------------------------------------------ skopeo's copies


@SPELLINGS
def test_skopeo_gets_the_proxy_variables_and_copies_through_the_proxy(
    spelling: Callable[[str], str], seeded: Callable[[Registry], Seeded], anon_registry: Registry
) -> None:
    run = seeded(anon_registry)
    run.use_proxy(spelling=spelling)

    source, destination, written = copy_between_names(anon_registry, run.repo)

    assert written == run.digest
    assert calls(run.log(), "skopeo/", "GET", source, "/manifests/")
    assert calls(run.log(), "skopeo/", "PUT", destination, "/manifests/")


@SPELLINGS
def test_skopeo_goes_around_the_proxy_for_a_host_in_no_proxy(
    spelling: Callable[[str], str], seeded: Callable[[Registry], Seeded], anon_registry: Registry
) -> None:
    run = seeded(anon_registry)
    run.use_proxy(no_proxy=DESTINATION, spelling=spelling)

    with pytest.raises(CopyError, match="no such host"):
        copy_between_names(anon_registry, run.repo)

    port = anon_registry.port
    assert calls(run.log(), "skopeo/", "GET", f"{SOURCE}:{port}", "/manifests/")
    assert run.proxy.to(f"{DESTINATION}:{port}") == []
