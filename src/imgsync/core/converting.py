"""The pipeline's path for a destination whose manifest-format policy may convert.

The design (why a record tag, why HEADs suffice) is in
:mod:`imgsync.core.manifest_format`. The steps:

1. HEAD the source tag and the destination tag. Equal → skipped (nothing needed
   converting last time either).
2. HEAD the record tag for this source digest. It serves the destination tag's
   digest → skipped, ``converted``: HEADs only, no source GET, no write.
3. Otherwise check that the destination takes a push (a namespace, project … that
   must exist: :mod:`imgsync.core.missing_destination`), then GET the source manifest
   (the one read a conversion adds on the source) to learn its shape; the policy says
   keep, convert, or refuse (``unsupported``, before anything is written). Keep → the
   plain copy and digest check.
4. Convert with skopeo, then verify what conversion preserves (platforms, configs,
   layers: :mod:`imgsync.core.conversion_check`) and write the record tag.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from imgsync.core.conversion_check import contents, differences
from imgsync.core.item import SyncItem
from imgsync.core.manifest_format import Format, WritePolicy, record_tag, shape_of_document
from imgsync.core.platforms import Manifest
from imgsync.core.ports import Copier, DigestReader, PullEstimator, PushCheck
from imgsync.core.reference import ImageReference
from imgsync.core.result import Category, ErrorInfo, Status, StepResult
from imgsync.core.subset import ManifestStore
from imgsync.errors import NotFound, UnexpectedResponse


class ConvertingCopier(Copier, PullEstimator, PushCheck, Protocol):
    """The copier as the pipeline hands it over: the copy, its pull cost, the push check."""


@runtime_checkable
class ManifestReader(DigestReader, ManifestStore, Protocol):
    """HEADs, whole manifests and a PUT: what a converted copy reads and writes."""


@dataclass(frozen=True, slots=True)
class Converted:
    """A converting item's parts, passed down the steps as one."""

    item: SyncItem
    policy: WritePolicy
    registry: ManifestReader
    source_digest: str

    @property
    def record(self) -> ImageReference:
        tag = record_tag(self.item.destination, self.source_digest, self.policy)
        return self.item.destination.with_tag(tag)

    @property
    def pinned(self) -> ImageReference:
        return self.item.source.with_digest(self.source_digest)


def sync_converting(
    item: SyncItem, registry: object, copier: ConvertingCopier, dry_run: bool
) -> StepResult:
    """Bring a destination up to date under its policy; see the module docstring."""
    if not isinstance(registry, ManifestReader) or item.writes is None:
        raise UnexpectedResponse("this registry adapter cannot read manifests (conversion)")
    source_digest, written = registry.head_digests((item.source, item.destination))
    if source_digest is None:
        raise NotFound(f"source {item.source} does not exist (manifest unknown)")
    if written == source_digest:
        return StepResult(Status.SKIPPED, source_digest, written)
    step = Converted(item, item.writes, registry, source_digest)
    if written is not None and registry.head_digest(step.record) == written:
        return StepResult(Status.SKIPPED, source_digest, written, converted=True)
    return _copy(step, written, copier, dry_run)


def _copy(
    step: Converted, written: str | None, copier: ConvertingCopier, dry_run: bool
) -> StepResult:
    copier.check_push(step.item.destination)  # a namespace never created: before any pull
    source = _read(step.registry, step.pinned)
    target = step.policy.target(shape_of_document(source.media_type, source.document))
    converting = target is not Format.KEEP
    pulls = copier.pulls(step.pinned)
    if dry_run:
        return StepResult(
            Status.WOULD_SYNC, step.source_digest, written, pulls=pulls, converted=converting
        )
    copier.copy(step.pinned, step.item.destination, target if converting else None)
    if not converting:
        return _kept(step, pulls)
    spent = pulls + (1 + len(source.entries()) if pulls else 0)
    return _verified(step, source, target, spent)


def _kept(step: Converted, pulls: int) -> StepResult:
    written = step.registry.head_digest(step.item.destination)
    if written == step.source_digest:
        return StepResult(Status.SYNCED, step.source_digest, written, pulls=pulls)
    message = (
        f"destination has {written or 'nothing'} after the copy, expected {step.source_digest}"
    )
    error = ErrorInfo(Category.DIGEST_MISMATCH, message)
    return StepResult(Status.FAILED, step.source_digest, written, error, pulls=pulls)


def _verified(step: Converted, source: Manifest, target: Format, pulls: int) -> StepResult:
    """Compare what conversion keeps; only a faithful copy gets its record tag."""
    written = _read(step.registry, step.item.destination)
    wrong = differences(
        contents(source, _children(step.registry, step.item.source)),
        contents(written, _children(step.registry, step.item.destination)),
        configs_kept=target is Format.DOCKER,
    )
    if wrong:
        error = ErrorInfo(Category.DIGEST_MISMATCH, "converted copy differs: " + "; ".join(wrong))
        return StepResult(Status.FAILED, step.source_digest, written.digest, error, pulls, True)
    step.registry.put_manifest(step.record, written)
    return StepResult(
        Status.SYNCED, step.source_digest, written.digest, pulls=pulls, converted=True
    )


def _children(registry: ManifestReader, ref: ImageReference) -> _ChildReader:
    return _ChildReader(registry, ref)


@dataclass(frozen=True, slots=True)
class _ChildReader:
    registry: ManifestReader
    ref: ImageReference

    def __call__(self, digest: str) -> Manifest:
        return _read(self.registry, self.ref.with_digest(digest))


def _read(registry: ManifestReader, ref: ImageReference) -> Manifest:
    found = registry.get_manifest(ref)
    if found is None:
        raise NotFound(f"{ref} vanished while being read")
    return found
