"""Delete styles: the built-in profiles' values, the sync file's override, the value crossing
the broker with the prune target, and what each style sends (an in-memory registry)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from imgsync.config.syncload import load_sync_file
from imgsync.core.codec import decode, encode
from imgsync.core.delete_style import DeleteStyle, parse_delete_style
from imgsync.core.plan import PruneOrder, PruneTarget, expand
from imgsync.core.platforms import Manifest
from imgsync.core.reference import ImageReference
from imgsync.core.registry_profile import PROFILES, built_in_profile
from imgsync.errors import ConfigError, UnexpectedResponse
from imgsync.runtime.pruning import prune_all

REPO = ImageReference("r.example.com", "m/app")
KEPT, OLD, OTHER = ("sha256:" + c * 64 for c in "abc")


@pytest.mark.parametrize(
    ("host", "style"),
    [
        ("ghcr.io", DeleteStyle.PACKAGES_API),
        ("docker.io", DeleteStyle.UNTAGGED_ONLY),
        ("us-docker.pkg.dev", DeleteStyle.TAG_BEFORE_DIGEST),
        ("quay.io", DeleteStyle.TAG_THEN_DIGEST),
        ("localhost:5000", DeleteStyle.TAG_THEN_DIGEST),
    ],
)
def test_built_in_profiles_name_their_delete_style(host: str, style: DeleteStyle) -> None:
    assert parse_delete_style(built_in_profile(host).deletes) is style


def test_every_profile_has_a_known_style() -> None:
    assert {parse_delete_style(p.deletes) for p in PROFILES.values()} <= set(DeleteStyle)


def write(tmp_path: Path, registry: dict[str, object]) -> Path:
    path = tmp_path / "sync.yaml"
    document = {
        "registries": {"mirror.example.com": registry},
        "images": [
            {
                "source": "a.example.com/app:1",
                "destinations": "mirror.example.com/app",
                "prune": True,
            }
        ],
    }
    path.write_text(json.dumps(document))
    return path


def test_the_sync_file_overrides_the_style_and_the_plan_carries_it(tmp_path: Path) -> None:
    loaded = load_sync_file(write(tmp_path, {"profile": "ghcr", "deletes": "digest"}))
    plan = expand(loaded.rules, list_tags=lambda _: [], dest_rules=loaded.entry_rules(None))
    assert [t.deletes for t in plan.prune] == [DeleteStyle.DIGEST]
    alone = load_sync_file(write(tmp_path, {"deletes": "packages-api"}))  # no profile named
    plan = expand(alone.rules, list_tags=lambda _: [], dest_rules=alone.entry_rules(None))
    assert [t.deletes for t in plan.prune] == [DeleteStyle.PACKAGES_API]
    by_profile = load_sync_file(write(tmp_path, {"profile": "gar"}))
    plan = expand(by_profile.rules, list_tags=lambda _: [], dest_rules=by_profile.entry_rules(None))
    assert [t.deletes for t in plan.prune] == [DeleteStyle.TAG_BEFORE_DIGEST]


def test_an_unknown_style_in_the_sync_file_names_the_known_ones(tmp_path: Path) -> None:
    with pytest.raises(
        ConfigError,
        match=r"mirror\.example\.com\.deletes: unknown delete style 'tag' \(known: tag-then",
    ):
        load_sync_file(write(tmp_path, {"deletes": "tag"}))


def test_the_style_crosses_the_broker_and_old_messages_read_as_the_default() -> None:
    target = PruneTarget(REPO, frozenset({"1"}), "src", DeleteStyle.TAG_BEFORE_DIGEST)
    order = PruneOrder((target,))
    assert decode(PruneOrder, json.loads(json.dumps(encode(order)))) == order
    old = {"targets": [{"repository": REPO.name, "keep": ["1"], "source": "src"}], "dry_run": False}
    assert decode(PruneOrder, old).targets[0].deletes is DeleteStyle.TAG_THEN_DIGEST


@dataclass
class Registry:
    """Tags → digests; ``tag_deletes``: whether a tag DELETE works; every DELETE logged."""

    tags: dict[str, str]
    tag_deletes: bool = True
    sent: list[str] = field(default_factory=list)

    def list_tags(self, repository: ImageReference) -> list[str]:
        return sorted(self.tags)

    def head_digest(self, ref: ImageReference) -> str | None:
        return self.tags.get(str(ref.tag))

    def get_manifest(self, ref: ImageReference) -> Manifest | None:
        return None

    def delete_manifest(self, repository: ImageReference, digest: str) -> bool:
        self.sent.append(digest)
        if any(d == digest for d in self.tags.values()) and not self.tag_deletes:
            self.tags = {t: d for t, d in self.tags.items() if d != digest}
        elif any(d == digest for d in self.tags.values()):
            raise UnexpectedResponse("400 GOOGLE_MANIFEST_DANGLING_TAG")
        return True

    def delete_tag(self, repository: ImageReference, tag: str) -> bool:
        self.sent.append(tag)
        if not self.tag_deletes:
            return False
        self.tags.pop(tag)
        return True


def prune(style: DeleteStyle, registry: Registry, dry_run: bool = False) -> list[tuple[str, str]]:
    target = PruneTarget(REPO, frozenset({"keep"}), "src", style)
    return [
        (r.destination.rpartition(":")[2], str(r.status))
        for r in prune_all([target], registry, dry_run=dry_run)
    ]


def test_tag_then_digest_deletes_the_tag_alone_where_it_can() -> None:
    registry = Registry({"keep": KEPT, "old": KEPT, "older": OLD})
    assert prune(DeleteStyle.TAG_THEN_DIGEST, registry) == [("old", "pruned"), ("older", "pruned")]
    assert registry.sent == ["old", "older"]  # a tag sharing a kept digest goes too
    assert registry.tags == {"keep": KEPT}


def test_tag_then_digest_learns_once_that_tags_are_refused_and_guards_the_digest() -> None:
    registry = Registry(
        {"keep": KEPT, "old": KEPT, "older": OLD, "z": OTHER},
        tag_deletes=False,
    )
    results = prune(DeleteStyle.TAG_THEN_DIGEST, registry)
    assert results == [("old", "failed"), ("older", "pruned"), ("z", "pruned")]
    assert registry.sent == ["old", OLD, OTHER]  # one tag attempt per host and run
    assert registry.tags == {"keep": KEPT, "old": KEPT}


def test_tag_before_digest_deletes_the_manifest_with_its_last_tag() -> None:
    registry = Registry({"keep": KEPT, "a": OLD, "b": OLD, "c": KEPT})
    assert prune(DeleteStyle.TAG_BEFORE_DIGEST, registry) == [
        ("a", "pruned"),
        ("b", "pruned"),
        ("c", "pruned"),
    ]
    assert registry.sent == ["a", "b", OLD, "c"]  # the kept digest stays


def test_a_refused_tag_delete_fails_where_the_style_deletes_by_tag_only() -> None:
    registry = Registry({"keep": KEPT, "old": OLD}, tag_deletes=False)
    assert prune(DeleteStyle.TAG_BEFORE_DIGEST, registry) == [("old", "failed")]
    assert registry.sent == ["old"]


def test_digest_style_never_sends_a_tag_delete() -> None:
    registry = Registry({"keep": KEPT, "old": OLD}, tag_deletes=False)
    assert prune(DeleteStyle.DIGEST, registry) == [("old", "pruned")]
    assert registry.sent == [OLD]


@pytest.mark.parametrize("style", [DeleteStyle.UNTAGGED_ONLY, DeleteStyle.PACKAGES_API])
@pytest.mark.parametrize(("dry_run", "status"), [(False, "failed"), (True, "would_prune")])
def test_registries_without_tag_deletes_send_nothing(
    style: DeleteStyle, dry_run: bool, status: str
) -> None:
    registry = Registry({"keep": KEPT, "old": OLD})
    target = PruneTarget(REPO, frozenset({"keep"}), "src", style)
    [result] = prune_all([target], registry, dry_run=dry_run)
    assert (str(result.status), registry.sent) == (status, [])
    assert result.error is not None and result.error.category == "unsupported"
    assert result.error.message.startswith("will fail: " if dry_run else "not deleted: ")
