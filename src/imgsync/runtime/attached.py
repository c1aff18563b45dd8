"""Signatures and attestations travel with the image (``--with-signatures``).

A mirrored image is only as trustworthy as the signatures that come with it, and
those live beside the image, keyed by its digest, in two schemes:

- cosign's tags ``sha256-<hex>.sig``, ``.att``, ``.sbom`` (one manifest each);
- OCI 1.1 referrers: manifests whose ``subject`` is the digest, listed by the
  registry's referrers API, or, where a registry has none (docker-registry 2.8),
  by an index under the fallback tag ``sha256-<hex>``.

Each is HEADed at the source (free on Docker Hub) and skipped silently when
absent or already at the destination with the same digest. Copies keep digests:
single manifests go through the copier; the fallback index is written back
verbatim after its manifests (skopeo 1.9.3 refuses to copy an index of
artifacts without converting it), so its digest is the source's.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from imgsync.adapters.registry_api import ManifestPool
from imgsync.core.item import SyncItem
from imgsync.core.pipeline import Copier, describe_exception
from imgsync.core.reference import ImageReference
from imgsync.core.result import ErrorInfo, Status, SyncResult

COSIGN_SUFFIXES = (".sig", ".att", ".sbom")


def fallback_tag(digest: str) -> str:
    """``sha256:abc…`` → ``sha256-abc…``: the tag both schemes derive from a digest."""
    return digest.replace(":", "-", 1)


def _tagged(ref: ImageReference, tag: str) -> ImageReference:
    return ref.with_tag(tag)


def _pinned(ref: ImageReference, digest: str) -> ImageReference:
    return ref.with_digest(digest)


@dataclass(frozen=True, slots=True)
class AttachedCopier:
    """Copies what is attached to one digest from a source repository to a destination."""

    registry: ManifestPool
    copier: Copier

    def copy_attached(
        self, source: ImageReference, destination: ImageReference, digest: str
    ) -> int:
        """Copy every attached artifact the destination lacks; how many were written."""
        tags = [fallback_tag(digest) + suffix for suffix in COSIGN_SUFFIXES]
        written = sum(self._cosign_tag(source, destination, tag) for tag in tags)
        listed = self.registry.referrers(source, digest)
        if listed is None:
            return written + self._fallback_index(source, destination, fallback_tag(digest))
        return written + sum(self._by_digest(source, destination, d) for d in listed)

    def _cosign_tag(self, source: ImageReference, destination: ImageReference, tag: str) -> int:
        found = self.registry.head_digest(_tagged(source, tag))
        if found is None or self.registry.head_digest(_tagged(destination, tag)) == found:
            return 0
        self.copier.copy(_pinned(source, found), _tagged(destination, tag))
        return 1

    def _by_digest(self, source: ImageReference, destination: ImageReference, digest: str) -> int:
        if self.registry.head_digest(_pinned(destination, digest)) == digest:
            return 0
        self.copier.copy(_pinned(source, digest), _pinned(destination, digest))
        return 1

    def _fallback_index(self, source: ImageReference, destination: ImageReference, tag: str) -> int:
        """The referrers index of a registry without the API: its manifests, then itself."""
        found = self.registry.head_digest(_tagged(source, tag))
        if found is None or self.registry.head_digest(_tagged(destination, tag)) == found:
            return 0
        index = self.registry.get_manifest(_pinned(source, found))
        if index is None:
            return 0
        children = [str(m["digest"]) for m in index.document.get("manifests", [])]
        written = sum(self._by_digest(source, destination, child) for child in children)
        self.registry.put_manifest(_tagged(destination, tag), index)
        return written + 1


def with_attached(
    result: SyncResult, item: SyncItem, attached: AttachedCopier | None
) -> SyncResult:
    """After a synced or up-to-date image, bring its signatures along; a failure fails the item.

    Platform subsets are left out: their destination index has a digest of its
    own, which the source's signatures do not sign.
    """
    done = result.status in (Status.SYNCED, Status.SKIPPED)
    if attached is None or not item.signatures or not done or item.platforms is not None:
        return result
    if result.source_digest is None:
        return result
    try:
        attached.copy_attached(item.source, item.destination, result.source_digest)
    except Exception as exc:  # the image is there, its signatures are not: say so
        error = describe_exception(exc)
        message = f"signatures/attestations not copied: {error.message}"
        return replace(result, status=Status.FAILED, error=ErrorInfo(error.category, message))
    return result
