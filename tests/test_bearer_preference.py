"""A registry that offers Basic and Bearer gets a Bearer answer: scoped, short-lived tokens
rather than the account's password on every request, whichever challenge comes first."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
import requests

from imgsync.adapters.challenge import parse_challenges, pick_challenge
from imgsync.adapters.credentials import Credential
from imgsync.adapters.registry import RegistryClient
from imgsync.core.refparse import parse_reference
from tests.rig.challenge_proxy import BASIC, DoubleChallengeProxy
from tests.rig.ports import HOST
from tests.rig.registry import Registry

SeedImage = Callable[..., str]
TOKEN_REALM = 'realm="https://auth.example/token",service="reg"'


@pytest.mark.parametrize(
    ("header", "picked"),
    [
        (f'Basic realm="r", Bearer {TOKEN_REALM}', "bearer"),
        (f'Bearer {TOKEN_REALM}, Basic realm="r"', "bearer"),
        (f'BASIC realm="r", BEARER {TOKEN_REALM}', "bearer"),
        (f"Negotiate abc==, Bearer {TOKEN_REALM}", "bearer"),
        ('Negotiate abc==, Basic realm="r"', "basic"),
        ('Basic realm="r"', "basic"),
        ("Negotiate abc==", None),
        ("", None),
    ],
)
def test_bearer_is_chosen_over_basic_and_unknown_schemes_are_ignored(
    header: str, picked: str | None
) -> None:
    challenge = pick_challenge(parse_challenges(header))
    assert (challenge.scheme if challenge else None) == picked
    if picked == "bearer":
        assert challenge is not None
        assert challenge.params == {"realm": "https://auth.example/token", "service": "reg"}


@pytest.fixture(params=["basic-first", "bearer-first"])
def gateway(
    request: pytest.FixtureRequest, token_registry: Registry
) -> Iterator[DoubleChallengeProxy]:
    """The token registry behind a proxy whose 401s offer Basic beside Bearer."""
    with DoubleChallengeProxy((HOST, token_registry.port), request.param) as proxy:
        yield proxy


@pytest.mark.registry
def test_the_gateway_really_sends_both_challenges_in_its_order(
    gateway: DoubleChallengeProxy,
) -> None:
    answer = requests.get(f"http://{gateway.host}/v2/", timeout=10)
    offered = answer.raw.headers.getlist("WWW-Authenticate")
    assert answer.status_code == 401
    assert len(offered) == 2
    assert offered == gateway.challenges([h for h in offered if h != BASIC])
    assert offered[0 if gateway.order == "basic-first" else 1] == BASIC


@pytest.mark.registry
@pytest.mark.parametrize("warmed", [False, True], ids=["on-first-401", "after-ping"])
def test_a_registry_offering_basic_and_bearer_is_answered_with_a_token(
    warmed: bool,
    gateway: DoubleChallengeProxy,
    token_registry: Registry,
    seed_image: SeedImage,
    unique_repo: str,
) -> None:
    digest = seed_image(token_registry, unique_repo, "1.0")
    assert token_registry.token_server is not None and token_registry.credentials is not None
    tokens = token_registry.token_server.mark()
    client = RegistryClient(
        gateway.host, credential=Credential(*token_registry.credentials), insecure=True, retries=0
    )
    try:
        if warmed:
            client.ping()  # warm-up learns the challenge from an anonymous GET /v2/
        found = client.head_digest(parse_reference(f"{gateway.host}/{unique_repo}:1.0"))
    finally:
        client.close()

    assert found == digest
    assert token_registry.token_server.count(tokens) >= 1
    asked = gateway.asked()
    assert any(a.status == 401 for a in asked), asked
    assert [(a.scheme, a.status) for a in asked if a.method == "HEAD"][-1] == ("Bearer", 200)
    assert "Basic" not in {a.scheme for a in asked}, asked
