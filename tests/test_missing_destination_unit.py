"""Destinations that must exist first, the pure parts: which registry answered, what is
missing, the words; a token's ``access`` claim; the pipeline's push-check hook (fakes)."""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass, field

import pytest

from imgsync.adapters.push_check import granted_actions, token_claims
from imgsync.adapters.skopeo_stderr import with_hint
from imgsync.core.item import SyncItem
from imgsync.core.missing_destination import (
    missing_destination,
    missing_part,
    push_hint,
    recognised,
)
from imgsync.core.pipeline import sync_item
from imgsync.core.reference import ImageReference
from imgsync.core.registry_profile import ECR, HARBOR, PROFILES
from imgsync.core.result import Category, Status, SyncResult
from imgsync.errors import DestinationMissing
from tests.fakes import FakeCopier, FakeRegistry, digest_of

A, B = digest_of("a"), digest_of("b")
SRC = ImageReference("src.example", "lib/app", "v1")
DST = ImageReference("registry.cn-hangzhou.aliyuncs.com", "myns/app", "v1")


@pytest.mark.parametrize(
    ("host", "service", "message", "profile"),
    [
        ("registry.cn-hangzhou.aliyuncs.com", "", "", "acr-personal"),
        ("crpi-abc.cn-hangzhou.personal.cr.aliyuncs.com", "", "", "acr-personal"),
        ("ccr.ccs.tencentyun.com", "", "", "tcr-personal"),
        ("swr.cn-north-4.myhuaweicloud.com", "", "", "swr"),
        ("123456789012.dkr.ecr.us-east-1.amazonaws.com", "", "", "ecr"),
        ("mirror.example:5000", "registry.aliyuncs.com:cn-hangzhou:26842", "", "acr-personal"),
        ("harbor.example", "harbor-registry", "", "harbor"),
        ("swr-proxy.example", "dockyard", "", "swr"),
        (
            "h:1",
            "",
            "The repository with name 'a' does not exist in the registry with id '1'",
            "ecr",
        ),
        ("h:1", "", "unauthorized to access repository: p/a, action: push", "harbor"),
        ("ghcr.io", "ghcr.io", "denied", "generic"),  # nothing must exist there
        ("h:1", "registry.docker.io", "requested access to the resource is denied", "generic"),
    ],
)
def test_the_registry_is_recognised_by_host_token_service_or_wording(
    host: str, service: str, message: str, profile: str
) -> None:
    assert recognised(host, service, message).name == profile


def test_every_profile_that_names_a_part_says_how_to_create_it() -> None:
    must = {p.name: p.must_exist for p in PROFILES.values() if p.must_exist}
    assert must == {
        "acr-personal": "namespace",
        "tcr-personal": "namespace",
        "swr": "organization",
        "harbor": "project",
        "ecr": "repository",
    }
    for name in must:
        assert "'top" in push_hint(PROFILES[name], "top/app")
    assert missing_destination("h:1", "top/app", "user 'u'") is None  # nothing to name


def test_the_missing_part_is_the_first_component_or_the_whole_ecr_repository() -> None:
    assert missing_part(HARBOR, "proj/team/app") == "proj"
    assert missing_part(ECR, "team/app") == "team/app"


def test_the_message_names_registry_part_account_evidence_and_the_step() -> None:
    words = missing_destination(DST.registry, "myns/app", "user 'u'")
    assert words is not None
    text = words.message("HTTP 401 DENIED")
    assert text.startswith(f"{DST.registry}/myns/app: the namespace 'myns' does not exist on")
    assert "(Aliyun ACR Personal Edition), or user 'u' may not push to it (HTTP 401 DENIED)" in text
    assert "Create Namespace" in text


def test_a_path_too_deep_is_named_as_too_deep_not_as_missing() -> None:
    words = missing_destination(DST.registry, "myns/lib/app", "user 'u'")
    assert words is not None
    text = words.message("denied")
    assert "allows namespace/repository only" in text and "does not exist" not in text


def test_skopeo_refusing_a_layer_upload_on_an_acr_host_gets_the_namespace_hint() -> None:
    text = (
        f"initiating layer upload to /v2/myns/app/blobs/uploads/ in {DST.registry}: denied: "
        "requested access to the resource is denied"
    )
    assert "on Aliyun ACR Personal Edition the namespace 'myns' must exist" in with_hint(text)
    generic = with_hint(text.replace(DST.registry, "h:1"))
    assert "check that the account may push there" in generic


def _jwt(claims: object) -> str:
    def part(value: object) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")

    return f"{part({'alg': 'RS256'})}.{part(claims)}.c2lnbmF0dXJl"


def test_a_tokens_access_claim_is_read_per_repository() -> None:
    access = [
        {"type": "repository", "name": "ns/app", "actions": ["pull"]},
        {"type": "repository", "name": "ns/other", "actions": ["pull", "push"]},
    ]
    claims = token_claims(_jwt({"aud": "svc", "access": access}))
    assert claims is not None and claims["aud"] == "svc"
    assert granted_actions(claims, "ns/app") == frozenset({"pull"})
    assert granted_actions(claims, "ns/other") == frozenset({"pull", "push"})
    assert granted_actions(claims, "ns/none") == frozenset()
    assert granted_actions({"aud": "svc"}, "ns/app") is None  # no claim: nothing is known


@pytest.mark.parametrize("token", ["opaque-token", "a.b", "a.!!!.c", _jwt([1, 2])])
def test_an_opaque_or_broken_token_tells_nothing(token: str) -> None:
    assert token_claims(token) is None


@dataclass
class FakePushCheck:
    """Refuses every destination in ``missing``; logs what it was asked."""

    missing: set[str] = field(default_factory=set)
    asked: list[str] = field(default_factory=list)

    def check_push(self, destination: ImageReference) -> None:
        self.asked.append(str(destination))
        if destination.name in self.missing:
            raise DestinationMissing(f"{destination.name}: the namespace 'myns' does not exist")


def _sync(
    source: str, destination: str | None, check: FakePushCheck, dry_run: bool = False
) -> tuple[SyncResult, FakeCopier]:
    registry = FakeRegistry({str(SRC): source, **({str(DST): destination} if destination else {})})
    copier = FakeCopier(registry)
    item = SyncItem(SRC, DST)
    result = sync_item(item, registry=registry, copier=copier, push_check=check, dry_run=dry_run)
    return result, copier


@pytest.mark.parametrize("dry_run", [False, True])
def test_a_missing_destination_fails_not_found_before_any_copy(dry_run: bool) -> None:
    check = FakePushCheck({DST.name})
    result, copier = _sync(A, None, check, dry_run)
    assert result.status is Status.FAILED and result.error is not None
    assert result.error.category is Category.NOT_FOUND
    assert "does not exist" in result.error.message
    assert copier.calls == [] and check.asked == [str(DST)]


def test_the_push_check_is_asked_only_when_a_copy_is_needed() -> None:
    check = FakePushCheck()
    skipped, _ = _sync(A, A, check)
    assert skipped.status is Status.SKIPPED and check.asked == []
    synced, copier = _sync(A, B, check)
    assert synced.status is Status.SYNCED and check.asked == [str(DST)] and len(copier.calls) == 1
    would, _ = _sync(A, B, check, dry_run=True)
    assert would.status is Status.WOULD_SYNC and len(check.asked) == 2
