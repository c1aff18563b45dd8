"""Sync a platform subset: copy the chosen platform manifests, then write our own index.

skopeo 1.9.3 copies one manifest or a whole index, never part of one. So for a
subset each chosen platform manifest is copied *by digest* (``dst@sha256:…``,
which skopeo and registries accept, and which leaves no stray tag behind), and
then an index holding only those descriptors is PUT to the destination tag.

That index can never have the source index's digest, so change detection differs
from the plain path. The destination index records (annotations) the source index
digest and platform list it was built from:

1. HEAD the source tag (free on Docker Hub) and GET the destination index (the
   destination, not the source). Same source digest and platforms recorded → skipped.
2. Otherwise GET the source index (one pull on Docker Hub; the only way to learn
   the per-platform digests) and compare the chosen platforms' digests with the
   destination's. Equal (only an excluded platform changed upstream) → skipped,
   without rewriting the destination (its digest stays put for whoever pinned it).
3. Otherwise copy and PUT, then verify with a HEAD.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from imgsync.core.item import SyncItem
from imgsync.core.manifest_format import Format, shape_of_document
from imgsync.core.platforms import Manifest, built_from, choose, same_content, subset_index
from imgsync.core.reference import ImageReference
from imgsync.core.result import Category, ErrorInfo, Status, StepResult
from imgsync.errors import NotFound, UnexpectedResponse, UnsupportedManifest


class DigestCopier(Protocol):
    def copy(self, source: ImageReference, destination: ImageReference) -> str | None: ...


@runtime_checkable
class ManifestStore(Protocol):
    """What a subset needs beyond digests: read and write whole manifests."""

    def head_digest(self, ref: ImageReference) -> str | None: ...

    def get_manifest(self, ref: ImageReference) -> Manifest | None: ...

    def put_manifest(self, ref: ImageReference, manifest: Manifest) -> str: ...


def sync_subset(
    item: SyncItem, registry: object, copier: DigestCopier, dry_run: bool
) -> StepResult:
    """Bring ``item.destination`` to the source's chosen platforms; see the module docstring."""
    if not isinstance(registry, ManifestStore):
        raise UnexpectedResponse("this registry adapter cannot read manifests (platform subset)")
    platforms = item.platforms or ()
    source_digest = registry.head_digest(item.source)
    if source_digest is None:
        raise NotFound(f"source {item.source} does not exist (manifest unknown)")
    current = registry.get_manifest(item.destination)
    if current is not None and built_from(current, source_digest, platforms):
        return StepResult(Status.SKIPPED, source_digest, current.digest)
    source = _source_index(item, registry, source_digest)
    _refuse_conversion(item, source)
    entries = choose(source, platforms)
    if current is not None and same_content(current, entries):
        return StepResult(Status.SKIPPED, source_digest, current.digest)
    if dry_run:
        return StepResult(Status.WOULD_SYNC, source_digest, current.digest if current else None)
    for entry in entries:
        digest = str(entry["digest"])
        copier.copy(_pinned(item.source, digest), _pinned(item.destination, digest))
    return _write(item, registry, subset_index(source, entries, platforms), source_digest)


def _refuse_conversion(item: SyncItem, source: Manifest) -> None:
    """Platforms are copied by digest, which a conversion would change: say so, up front."""
    if item.writes is None:
        return
    target = item.writes.target(shape_of_document(source.media_type, source.document))
    if target is not Format.KEEP:
        raise UnsupportedManifest(
            f"{item.writes.registry} takes this index only converted to {target}, and a platform "
            "subset cannot be converted (its platforms are copied by digest): mirror all "
            "platforms there, or a subset into a registry that accepts the source's format"
        )


def _pinned(ref: ImageReference, digest: str) -> ImageReference:
    return ref.with_digest(digest)


def _source_index(item: SyncItem, registry: ManifestStore, digest: str) -> Manifest:
    found = registry.get_manifest(_pinned(item.source, digest))
    if found is None:
        raise NotFound(f"source {item.source} vanished while being read ({digest})")
    return found


def _write(
    item: SyncItem, registry: ManifestStore, index: Manifest, source_digest: str
) -> StepResult:
    """PUT the subset index; it only counts when a HEAD then serves exactly its digest."""
    registry.put_manifest(item.destination, index)
    written = registry.head_digest(item.destination)
    if written == index.digest:
        return StepResult(Status.SYNCED, source_digest, written)
    message = f"destination has {written or 'nothing'} after the push, expected {index.digest}"
    return StepResult(
        Status.FAILED, source_digest, written, ErrorInfo(Category.DIGEST_MISMATCH, message)
    )
