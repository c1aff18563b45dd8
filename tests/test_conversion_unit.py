"""Fast unit tests of manifest-format conversion: the policy, the record tag, the check, the path.

In-memory fakes only (tests/fakes.py): a converting copier writes a Docker list made
from the source's OCI index, with new digests, as ``skopeo copy --format v2s2`` does.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from typing import Any

import pytest

from imgsync.core.conversion_check import contents, differences
from imgsync.core.converting import sync_converting
from imgsync.core.item import SyncItem
from imgsync.core.manifest_format import (
    DOCKER_LIST,
    DOCKER_MANIFEST,
    OCI_INDEX,
    OCI_MANIFEST,
    Format,
    Shape,
    WritePolicy,
    is_record_tag,
    record_tag,
    shape_of,
)
from imgsync.core.pipeline import sync_item
from imgsync.core.platforms import Manifest, Platform
from imgsync.core.reference import ImageReference
from imgsync.core.refparse import parse_reference
from imgsync.core.result import Category, Status
from imgsync.errors import UnsupportedManifest
from tests.fakes import FakeRegistry, digest_of, pinned

SWR = WritePolicy(Format.AUTO, (Shape.OCI_INDEX, Shape.MIXED_INDEX), Format.DOCKER, "swr.example")
SOURCE = parse_reference("src.example/app:v1")
DEST = parse_reference("dst.example/org/app:v1")


def manifest(media_type: str, document: dict[str, Any]) -> Manifest:
    return Manifest(media_type, json.dumps({"mediaType": media_type, **document}).encode())


def image(media_type: str, config: str, *layers: str) -> Manifest:
    return manifest(
        media_type, {"config": {"digest": config}, "layers": [{"digest": d} for d in layers]}
    )


def index(media_type: str, children: list[tuple[str, Manifest]]) -> Manifest:
    entries = [
        {"digest": m.digest, "mediaType": m.media_type, "platform": _platform(p)}
        for p, m in children
    ]
    return manifest(media_type, {"manifests": entries})


def _platform(text: str) -> dict[str, str]:
    os_name, arch = text.split("/")
    return {"os": os_name, "architecture": arch}


def serve_source(registry: FakeRegistry, version: str = "1") -> Manifest:
    """A two-platform OCI index at ``SOURCE``, children by digest."""
    children = [
        (p, image(OCI_MANIFEST, digest_of(f"cfg-{p}-{version}"), digest_of(f"l-{p}-{version}")))
        for p in ("linux/amd64", "linux/arm64")
    ]
    for _, child in children:
        registry.serve(pinned(SOURCE, child.digest), child)
    top = index(OCI_INDEX, children)
    registry.serve(SOURCE, top)
    return top


@dataclass
class ConvertingCopier:
    """Writes the source converted to Docker types (new digests, same config and layers)."""

    registry: FakeRegistry
    drop_platform: bool = False
    calls: list[tuple[str, Format | None]] = field(default_factory=list)

    def copy(
        self, source: ImageReference, destination: ImageReference, convert_to: Format | None = None
    ) -> str | None:
        self.calls.append((str(source), convert_to))
        top = self.registry.manifests[str(source)]
        if convert_to is None:
            self.registry.serve(destination, top)
            return top.digest
        children = [self._converted(destination, e) for e in top.document["manifests"]]
        kept = children[:-1] if self.drop_platform else children
        self.registry.serve(destination, index(DOCKER_LIST, kept))
        return None

    def _converted(
        self, destination: ImageReference, entry: dict[str, Any]
    ) -> tuple[str, Manifest]:
        child = self.registry.manifests[str(pinned(SOURCE, entry["digest"]))].document
        layers = [layer["digest"] for layer in child["layers"]]
        written = image(DOCKER_MANIFEST, child["config"]["digest"], *layers)
        self.registry.serve(pinned(destination, written.digest), written)
        platform = entry["platform"]
        return f"{platform['os']}/{platform['architecture']}", written

    def pulls(self, source: ImageReference) -> int:
        return 0

    def check_push(self, destination: ImageReference) -> None:
        self.calls.append((f"check {destination}", None))


def item(policy: WritePolicy = SWR) -> SyncItem:
    return SyncItem(SOURCE, DEST, writes=policy)


# ---------------------------------------------------------------------- the policy


@pytest.mark.parametrize(
    ("policy", "shape", "expected"),
    [
        (SWR, Shape.OCI_INDEX, Format.DOCKER),
        (SWR, Shape.MIXED_INDEX, Format.DOCKER),
        (SWR, Shape.DOCKER_LIST, Format.KEEP),
        (SWR, Shape.OCI_MANIFEST, Format.KEEP),
        (WritePolicy(Format.DOCKER), Shape.OCI_INDEX, Format.DOCKER),
        (WritePolicy(Format.DOCKER), Shape.DOCKER_LIST, Format.KEEP),
        (WritePolicy(Format.OCI), Shape.DOCKER_MANIFEST, Format.OCI),
        (WritePolicy(Format.OCI), Shape.OCI_INDEX, Format.KEEP),
        (WritePolicy(Format.OCI), Shape.MIXED_INDEX, Format.KEEP),
        (WritePolicy(Format.AUTO), Shape.OCI_INDEX, Format.KEEP),
        (WritePolicy(Format.KEEP, (Shape.MIXED_INDEX,)), Shape.OCI_INDEX, Format.KEEP),
    ],
)
def test_the_policy_decides_keep_or_the_format_to_convert_to(
    policy: WritePolicy, shape: Shape, expected: Format
) -> None:
    assert policy.target(shape) is expected


def test_keep_on_a_refused_shape_raises_naming_registry_shape_and_setting() -> None:
    policy = WritePolicy(Format.KEEP, SWR.refuses, Format.DOCKER, "swr.example (Huawei SWR)")
    with pytest.raises(UnsupportedManifest) as raised:
        policy.target(Shape.OCI_INDEX)
    assert raised.value.category is Category.UNSUPPORTED
    message = str(raised.value)
    assert "swr.example (Huawei SWR)" in message and "OCI image indexes" in message
    assert "registries: {swr.example: {manifest_format: docker}}" in message


@pytest.mark.parametrize(
    ("media_type", "children", "shape"),
    [
        (OCI_INDEX, [OCI_MANIFEST], Shape.OCI_INDEX),
        (OCI_INDEX, [OCI_MANIFEST, DOCKER_MANIFEST], Shape.MIXED_INDEX),
        (DOCKER_LIST, [DOCKER_MANIFEST], Shape.DOCKER_LIST),
        (DOCKER_MANIFEST, [], Shape.DOCKER_MANIFEST),
        (OCI_MANIFEST, [], Shape.OCI_MANIFEST),
    ],
)
def test_shapes_come_from_the_media_type_and_an_indexs_children(
    media_type: str, children: list[str], shape: Shape
) -> None:
    assert shape_of(media_type, children) is shape


def test_may_convert_only_where_some_source_would_be_converted() -> None:
    assert SWR.may_convert and WritePolicy(Format.OCI).may_convert
    assert not WritePolicy(Format.AUTO).may_convert
    assert not WritePolicy(Format.KEEP, SWR.refuses).may_convert


# ---------------------------------------------------------------------- the record tag


def test_the_record_tag_differs_by_source_tag_and_setting_and_is_recognised() -> None:
    a, b = digest_of("a"), digest_of("b")
    tag = record_tag(DEST, a, SWR)
    assert is_record_tag(tag) and len(tag) <= 128 and a.partition(":")[2] in tag
    assert record_tag(DEST, b, SWR) != tag
    assert record_tag(DEST.with_tag("v2"), a, SWR) != tag
    assert record_tag(DEST, a, WritePolicy(Format.DOCKER)) != tag
    assert not is_record_tag("v1") and not is_record_tag("imgsync.1.2")


# ---------------------------------------------------------------------- the check


def test_a_faithful_conversion_has_no_differences_and_a_lost_platform_or_layer_shows() -> None:
    same = {"linux/amd64": ("c1", ("l1",)), "linux/arm64": ("c2", ("l2",))}
    assert differences(same, dict(same), configs_kept=True) == []
    lost = {"linux/amd64": ("c1", ("l1",))}
    assert "platforms linux/amd64 written" in differences(same, lost, configs_kept=True)[0]
    other_layer = {**same, "linux/arm64": ("c2", ("lX",))}
    assert "layers lX written" in differences(same, other_layer, configs_kept=False)[0]


def test_configs_are_compared_only_where_the_conversion_keeps_them() -> None:
    source = {"linux/amd64": ("c1", ("l1",))}
    recoded = {"linux/amd64": ("cX", ("l1",))}
    assert differences(source, recoded, configs_kept=False) == []
    assert "config cX written" in differences(source, recoded, configs_kept=True)[0]


def test_contents_skip_attestations_and_read_single_manifests() -> None:
    single = image(OCI_MANIFEST, "c", "l")
    assert contents(single, lambda _: single) == {"": ("c", ("l",))}


# ---------------------------------------------------------------------- the path


def test_a_refused_index_is_converted_verified_and_recorded() -> None:
    registry = FakeRegistry()
    top = serve_source(registry)
    copier = ConvertingCopier(registry)
    outcome = sync_converting(item(), registry, copier, dry_run=False)
    assert (outcome.status, outcome.converted, outcome.source_digest) == (
        Status.SYNCED,
        True,
        top.digest,
    )
    assert copier.calls == [
        (f"check {DEST}", None),
        (str(pinned(SOURCE, top.digest)), Format.DOCKER),
    ]
    record = DEST.with_tag(record_tag(DEST, top.digest, SWR))
    assert registry.manifests[str(record)].digest == outcome.destination_digest != top.digest


def test_the_next_run_skips_by_the_record_with_heads_only_and_no_write() -> None:
    registry = FakeRegistry()
    serve_source(registry)
    copier = ConvertingCopier(registry)
    sync_converting(item(), registry, copier, dry_run=False)
    registry.requests.clear()
    outcome = sync_converting(item(), registry, copier, dry_run=False)
    assert (outcome.status, outcome.converted) == (Status.SKIPPED, True)
    assert {verb for verb, _ in registry.requests} == {"HEAD"}
    assert len(copier.calls) == 2  # the check and the copy, both of the first run


def test_a_changed_source_or_a_repushed_destination_is_copied_again() -> None:
    registry = FakeRegistry()
    serve_source(registry)
    copier = ConvertingCopier(registry)
    sync_converting(item(), registry, copier, dry_run=False)
    serve_source(registry, version="2")
    assert sync_converting(item(), registry, copier, dry_run=False).status is Status.SYNCED
    registry.serve(DEST, image(DOCKER_MANIFEST, "someone", "else"))
    assert sync_converting(item(), registry, copier, dry_run=False).status is Status.SYNCED
    assert len(copier.calls) == 6


def test_a_conversion_that_lost_a_platform_fails_and_leaves_no_record() -> None:
    registry = FakeRegistry()
    top = serve_source(registry)
    outcome = sync_converting(
        item(), registry, ConvertingCopier(registry, drop_platform=True), dry_run=False
    )
    assert outcome.status is Status.FAILED and outcome.error is not None
    assert outcome.error.category is Category.DIGEST_MISMATCH
    assert str(DEST.with_tag(record_tag(DEST, top.digest, SWR))) not in registry.manifests


def test_an_accepted_shape_is_copied_keeping_its_digest() -> None:
    registry = FakeRegistry()
    top = serve_source(registry)
    quay = WritePolicy(Format.AUTO, (Shape.MIXED_INDEX,), Format.DOCKER)
    copier = ConvertingCopier(registry)
    outcome = sync_converting(item(quay), registry, copier, dry_run=False)
    assert (outcome.status, outcome.destination_digest, outcome.converted) == (
        Status.SYNCED,
        top.digest,
        False,
    )
    assert copier.calls[1:] == [(str(pinned(SOURCE, top.digest)), None)]


def test_a_dry_run_says_would_sync_converted_and_writes_nothing() -> None:
    registry = FakeRegistry()
    serve_source(registry)
    copier = ConvertingCopier(registry)
    outcome = sync_converting(item(), registry, copier, dry_run=True)
    assert (outcome.status, outcome.converted) == (Status.WOULD_SYNC, True)
    assert copier.calls == [(f"check {DEST}", None)] and registry.verbs("PUT") == []


def test_a_platform_subset_that_would_need_converting_fails_unsupported_before_copying() -> None:
    registry = FakeRegistry()
    serve_source(registry)
    copier = ConvertingCopier(registry)
    subset = replace(item(), platforms=(Platform("linux", "amd64"),))
    result = sync_item(subset, registry=registry, copier=copier)
    assert result.status is Status.FAILED and result.error is not None
    assert (
        result.error.category is Category.UNSUPPORTED and "platform subset" in result.error.message
    )
    assert copier.calls == [] and registry.verbs("PUT") == []
