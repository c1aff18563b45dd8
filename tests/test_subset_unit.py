"""Every branch of a platform subset (``core/subset.py``) on in-memory fakes.

A subset's destination index can never carry the source index's digest, so its
change detection is its own: the annotations it was built from, then the chosen
platforms' digests, then copy each manifest by digest, PUT the index and verify.
Each step here is run through ``sync_item``, the one entry point every mode uses.
"""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from imgsync.core.item import SyncItem
from imgsync.core.pipeline import sync_item
from imgsync.core.platforms import (
    PLATFORMS_ANNOTATION,
    SOURCE_ANNOTATION,
    Manifest,
    Platform,
    choose,
    parse_platform,
    subset_index,
)
from imgsync.core.reference import ImageReference
from imgsync.core.result import Category, Status, SyncResult
from imgsync.core.subset import sync_subset
from imgsync.errors import QuotaExhausted, UnexpectedResponse
from tests.fakes import (
    OCI_INDEX,
    DigestOnlyRegistry,
    Entry,
    FakeCopier,
    FakeRegistry,
    Lands,
    digest_of,
    index,
    pinned,
    single_manifest,
)

SRC = ImageReference("src.example", "team/app", "1")
DST = ImageReference("dst.example", "mirror/app", "1")
CHOSEN = (parse_platform("linux/amd64"), parse_platform("linux/arm64"))
AMD64_ONLY = CHOSEN[:1]


def source_index(amd64: str = "amd64-v1", s390x: str = "s390x-v1") -> Manifest:
    """Four platforms' worth of index: two chosen, an attestation of amd64, one excluded."""
    return index(
        [
            ("linux/amd64", amd64, None),
            ("unknown/unknown", f"attestation-{amd64}", amd64),
            ("linux/arm64", "arm64-v1", None),
            ("linux/s390x", s390x, None),
        ]
    )


def built(source: Manifest, platforms: Sequence[Platform] = CHOSEN) -> Manifest:
    """The destination index imgsync writes for ``source`` and ``platforms``."""
    return subset_index(source, choose(source, platforms), platforms)


V1 = source_index()
V1_OTHER_EXCLUDED = source_index(s390x="s390x-v2")  # only an excluded platform changed
V2 = source_index(amd64="amd64-v2")  # a chosen platform changed


def registry(
    source: Manifest | None,
    destination: Manifest | None,
    put_lands: Lands | Manifest = Lands.AS_SENT,
) -> FakeRegistry:
    """A fake serving ``source`` at SRC's tag and ``destination`` at DST's (``None``: absent)."""
    fake = FakeRegistry(put_lands=put_lands)
    if source is not None:
        fake.serve(SRC, source)
    if destination is not None:
        fake.serve(DST, destination)
    return fake


def sync(
    fake: FakeRegistry | DigestOnlyRegistry,
    copier: FakeCopier | None = None,
    *,
    dry_run: bool = False,
    immutable: bool = False,
    platforms: Sequence[Platform] = CHOSEN,
) -> SyncResult:
    """One subset item through the pipeline; the copier writes into ``fake`` if it can."""
    writes_to = fake if isinstance(fake, FakeRegistry) else None
    copier = copier or FakeCopier(writes_to)
    item = SyncItem(SRC, DST, platforms=tuple(platforms), immutable=immutable)
    return sync_item(item, registry=fake, copier=copier, dry_run=dry_run)


def copied_digests(copier: FakeCopier) -> list[str]:
    """The digests copied, after checking each copy went by digest with no tag."""
    found = []
    for source, destination in copier.calls:
        digest = source.rpartition("@")[2]
        assert (source, destination) == (str(pinned(SRC, digest)), str(pinned(DST, digest)))
        found.append(digest)
    return found


def test_a_destination_built_from_this_source_and_these_platforms_is_skipped_unread() -> None:
    fake, copier = registry(V1, built(V1)), FakeCopier()
    result = sync(fake, copier)

    assert (result.status, result.source_digest) == (Status.SKIPPED, V1.digest)
    assert result.destination_digest == built(V1).digest
    assert fake.requests == [("HEAD", str(SRC)), ("GET", str(DST))]
    assert copier.calls == []


def test_when_only_an_excluded_platform_changed_the_destination_is_left_alone() -> None:
    fake, copier = registry(V1_OTHER_EXCLUDED, built(V1)), FakeCopier()
    result = sync(fake, copier)

    assert (result.status, result.source_digest) == (Status.SKIPPED, V1_OTHER_EXCLUDED.digest)
    assert result.destination_digest == built(V1).digest
    assert ("GET", str(pinned(SRC, V1_OTHER_EXCLUDED.digest))) in fake.requests
    assert fake.verbs("PUT") == [] and copier.calls == []


@pytest.mark.parametrize(
    "destination",
    [built(V1), None, built(V1, AMD64_ONLY), single_manifest("old")],
    ids=["chosen-platform-changed", "absent", "platform-list-changed", "single-manifest"],
)
def test_a_changed_subset_is_copied_by_digest_then_indexed_then_verified(
    destination: Manifest | None,
) -> None:
    source = V2 if destination == built(V1) else V1
    fake = registry(source, destination)
    copier = FakeCopier(fake)
    result = sync(fake, copier)

    assert result.status is Status.SYNCED, result.error
    assert (result.source_digest, result.destination_digest) == (
        source.digest,
        built(source).digest,
    )
    assert copied_digests(copier) == [str(e["digest"]) for e in choose(source, CHOSEN)]
    assert fake.manifests[str(DST)] == built(source)
    assert fake.requests[-2:] == [("PUT", str(DST)), ("HEAD", str(DST))]


def test_the_manifests_are_copied_before_the_index_that_lists_them_is_put() -> None:
    fake = registry(V1, None)
    sync(fake)

    verbs = [verb for verb, _ in fake.requests]
    assert verbs.index("PUT") > max(i for i, verb in enumerate(verbs) if verb == "COPY")


@pytest.mark.parametrize(
    ("before", "lands", "found"),
    [
        (None, Lands.NOTHING, None),
        (built(V1, AMD64_ONLY), Lands.NOTHING, built(V1, AMD64_ONLY).digest),
        (None, built(V2), built(V2).digest),
    ],
    ids=["lost", "old-index-stays", "rewritten"],
)
def test_an_index_the_destination_does_not_serve_after_the_put_fails_verify(
    before: Manifest | None, lands: Lands | Manifest, found: str | None
) -> None:
    result = sync(registry(V1, before, put_lands=lands))

    assert (result.status, result.source_digest) == (Status.FAILED, V1.digest)
    assert result.destination_digest == found
    assert result.error is not None and result.error.category == Category.DIGEST_MISMATCH
    expected = f"destination has {found or 'nothing'} after the push, expected {built(V1).digest}"
    assert result.error.message == expected


def test_a_missing_source_fails_as_not_found_before_reading_the_destination() -> None:
    fake, copier = registry(None, built(V1)), FakeCopier()
    result = sync(fake, copier)

    assert result.status is Status.FAILED
    assert result.error is not None and result.error.category == Category.NOT_FOUND
    assert result.error.message == f"source {SRC} does not exist (manifest unknown)"
    assert fake.requests == [("HEAD", str(SRC))]
    assert copier.calls == []


@pytest.mark.parametrize(
    ("fake", "fragment"),
    [
        (FakeRegistry({str(SRC): V1.digest}), "vanished while being read"),
        (registry(single_manifest("one"), None), "single-platform image"),
        (registry(index([("linux/amd64", "amd64-v1", None)]), None), "has no linux/arm64"),
    ],
    ids=["index-vanished", "not-an-index", "platform-missing"],
)
def test_a_source_without_what_was_asked_for_fails_as_not_found(
    fake: FakeRegistry, fragment: str
) -> None:
    result = sync(fake)

    assert result.status is Status.FAILED
    assert result.error is not None and result.error.category == Category.NOT_FOUND
    assert fragment in result.error.message
    assert fake.verbs("PUT") == []


def test_a_registry_that_cannot_read_manifests_fails_as_unsupported() -> None:
    reader = DigestOnlyRegistry({str(SRC): V1.digest})
    result = sync(reader)

    assert result.status is Status.FAILED
    assert result.error is not None and result.error.category == Category.UNSUPPORTED
    assert result.error.message == "this registry adapter cannot read manifests (platform subset)"
    with pytest.raises(UnexpectedResponse):
        sync_subset(SyncItem(SRC, DST, platforms=CHOSEN), reader, FakeCopier(), False)


def test_a_spent_quota_defers_the_subset_and_puts_no_index() -> None:
    fake = registry(V2, built(V1))
    result = sync(fake, FakeCopier(fake, raises=QuotaExhausted("spent")))

    assert (result.status, result.source_digest, result.destination_digest) == (
        Status.DEFERRED,
        None,
        None,
    )
    assert result.error is not None
    assert (result.error.category, result.error.message) == (Category.RATE_LIMITED, "spent")
    assert fake.verbs("PUT") == []


def test_an_unexpected_copier_error_fails_the_subset_as_other() -> None:
    fake = registry(V2, built(V1))
    result = sync(fake, FakeCopier(fake, raises=RuntimeError("boom")))

    assert result.status is Status.FAILED
    assert result.error is not None and result.error.category == Category.OTHER
    assert fake.verbs("PUT") == []


@pytest.mark.parametrize(
    ("destination", "found"), [(built(V1), built(V1).digest), (None, None)], ids=["stale", "absent"]
)
def test_a_dry_run_says_would_sync_and_writes_nothing(
    destination: Manifest | None, found: str | None
) -> None:
    fake, copier = registry(V2, destination), FakeCopier()
    result = sync(fake, copier, dry_run=True)

    assert (result.status, result.source_digest) == (Status.WOULD_SYNC, V2.digest)
    assert result.destination_digest == found
    assert fake.verbs("PUT") == [] and copier.calls == []


def test_an_immutable_subset_present_at_the_destination_never_asks_the_source() -> None:
    fake, copier = registry(V2, built(V1)), FakeCopier()
    result = sync(fake, copier, immutable=True)

    assert (result.status, result.source_digest) == (Status.SKIPPED, None)
    assert result.destination_digest == built(V1).digest
    assert fake.asked_about(SRC) == [] and copier.calls == []


def test_an_immutable_subset_absent_at_the_destination_is_built() -> None:
    fake = registry(V1, None)
    result = sync(fake, immutable=True)

    assert (result.status, result.destination_digest) == (Status.SYNCED, built(V1).digest)


def test_the_attestation_of_a_chosen_platform_goes_along() -> None:
    fake = registry(V1, None)
    copier = FakeCopier(fake)
    sync(fake, copier, platforms=AMD64_ONLY)

    assert copied_digests(copier) == [digest_of("amd64-v1"), digest_of("attestation-amd64-v1")]


def test_the_index_put_keeps_the_source_annotations_and_records_where_it_came_from() -> None:
    source = index(V1.entries(), **{"org.opencontainers.image.created": "2024-01-01"})
    fake = registry(source, None)
    sync(fake)

    written = fake.manifests[str(DST)]
    assert written.media_type == OCI_INDEX
    assert written.document["annotations"] == {
        "org.opencontainers.image.created": "2024-01-01",
        SOURCE_ANNOTATION: source.digest,
        PLATFORMS_ANNOTATION: "linux/amd64,linux/arm64",
    }
    names = ["amd64-v1", "attestation-amd64-v1", "arm64-v1"]
    assert [e["digest"] for e in written.entries()] == [digest_of(n) for n in names]


@pytest.mark.parametrize(
    ("wanted", "chosen"),
    [
        ("linux/arm64", ["arm64-v8"]),  # no variant asked: arm64 means v8
        ("linux/arm64/v8", ["arm64-v8"]),
        ("linux/arm", ["arm-v7"]),  # arm means v7, never v6
        ("linux/arm/v6", ["arm-v6"]),
        ("linux/amd64", ["amd64"]),
    ],
)
def test_a_platform_without_a_variant_means_the_variant_everyone_omits(
    wanted: str, chosen: list[str]
) -> None:
    source = index(
        [
            ("linux/amd64", "amd64", None),
            ("linux/arm64/v8", "arm64-v8", None),
            ("linux/arm/v6", "arm-v6", None),
            ("linux/arm/v7", "arm-v7", None),
        ]
    )
    fake = registry(source, None)
    copier = FakeCopier(fake)
    sync(fake, copier, platforms=[parse_platform(wanted)])

    assert copied_digests(copier) == [digest_of(name) for name in chosen]


def test_an_entry_without_a_variant_matches_the_default_variant() -> None:
    fake = registry(index([("linux/arm64", "arm64", None), ("linux/arm", "arm", None)]), None)
    copier = FakeCopier(fake)
    platforms = [parse_platform("linux/arm64/v8"), parse_platform("linux/arm/v7")]
    sync(fake, copier, platforms=platforms)

    assert copied_digests(copier) == [digest_of("arm64"), digest_of("arm")]


ODD_ENTRIES: list[Entry] = [
    ("linux/amd64", "amd64", None),
    ("unknown/unknown", "attestation", "amd64"),
    ("linux/arm/v7", "arm", None),
    {"mediaType": "x", "digest": digest_of("no-platform"), "size": 1},
    {"mediaType": "x", "digest": digest_of("os-only"), "size": 1, "platform": {"os": "windows"}},
]


@pytest.mark.parametrize(
    ("source", "platforms", "message"),
    [
        (
            single_manifest("one"),
            "linux/amd64",
            "the source is a single-platform image; a platform list needs an index",
        ),
        (
            index(ODD_ENTRIES),
            "linux/arm64,linux/s390x,linux/amd64",
            "source has no linux/arm64, linux/s390x (it has linux/amd64,linux/arm/v7,windows)",
        ),
    ],
    ids=["not-an-index", "platforms-missing"],
)
def test_a_missing_platform_is_named_beside_the_platforms_the_source_has(
    source: Manifest, platforms: str, message: str
) -> None:
    chosen = [parse_platform(text) for text in platforms.split(",")]
    result = sync(registry(source, None), platforms=chosen)

    assert result.error is not None
    assert (result.error.category, result.error.message) == (Category.NOT_FOUND, message)


def test_an_index_with_no_manifests_list_has_no_entries_and_is_replaced() -> None:
    empty = Manifest(OCI_INDEX, b'{"schemaVersion": 2}')
    assert empty.entries() == []

    result = sync(registry(V1, empty))
    assert (result.status, result.destination_digest) == (Status.SYNCED, built(V1).digest)


def test_an_annotation_that_is_not_a_string_reads_as_absent() -> None:
    odd = Manifest(OCI_INDEX, b'{"manifests": [], "annotations": {"k": 1, "s": "v"}}')

    assert (odd.annotation("k"), odd.annotation("s"), odd.annotation("none")) == (None, "v", None)


@pytest.mark.parametrize(
    ("text", "platform"),
    [
        ("linux/amd64", Platform("linux", "amd64")),
        (" linux/arm/v7 ", Platform("linux", "arm", "v7")),
        ("windows/amd64", Platform("windows", "amd64")),
    ],
)
def test_a_platform_is_os_architecture_and_an_optional_variant(
    text: str, platform: Platform
) -> None:
    assert parse_platform(text) == platform


@pytest.mark.parametrize(
    "text",
    ["linux", "linux/arm/v7/x", "Linux/amd64", "linux//amd64", "linux/amd64/", "linux amd64"],
)
def test_anything_else_is_not_a_platform(text: str) -> None:
    message = f"platform {text!r} must be os/architecture[/variant] in lowercase"
    with pytest.raises(ValueError) as raised:
        parse_platform(text)
    assert str(raised.value) == message
