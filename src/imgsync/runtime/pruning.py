"""Run a sync file's prune rules against the destination registries (after the copies).

Pruning runs once every item of the run has finished, in both modes (embedded:
the producer; Celery: the chord body), so a tag the run has just written is
seen as kept. The decisions themselves are pure (:mod:`imgsync.core.prune`);
this module lists, HEADs and deletes. A dry run lists what would go and deletes
nothing; a real run deletes only what the same listing yields.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from typing import Protocol

from imgsync.core.plan import PruneTarget
from imgsync.core.platforms import Manifest
from imgsync.core.prune import candidates, decide, protected, refusal, tag_result
from imgsync.core.reference import ImageReference
from imgsync.core.result import ErrorInfo, Status, SyncResult
from imgsync.errors import NotFound, RegistryError

log = logging.getLogger(__name__)


class PruneRegistry(Protocol):
    def list_tags(self, repository: ImageReference) -> list[str]: ...

    def head_digest(self, ref: ImageReference) -> str | None: ...

    def get_manifest(self, ref: ImageReference) -> Manifest | None: ...

    def delete_manifest(self, repository: ImageReference, digest: str) -> bool: ...


def prune_all(
    targets: Sequence[PruneTarget], registry: PruneRegistry, *, dry_run: bool
) -> list[SyncResult]:
    """Every target's results, in plan order."""
    return [result for target in targets for result in prune_target(target, registry, dry_run)]


def prune_target(target: PruneTarget, registry: PruneRegistry, dry_run: bool) -> list[SyncResult]:
    """Delete (or list) the tags of one repository that the plan no longer writes."""
    if not target.keep:
        return [refusal(target, "the selection yields no tags; refusing to delete every tag")]
    try:
        listed = _listed(registry, target.repository)
        drop = candidates(target, listed)
        if not drop:
            return []
        digests = {tag: registry.head_digest(target.repository.with_tag(tag)) for tag in listed}
        kept = sorted(_kept_digests(target, digests))
        shielded = protected(kept, _manifests(registry, target.repository, kept))
    except RegistryError as exc:
        return [refusal(target, str(exc), exc.category)]
    sharers = _sharers(target, digests)
    found = (_prune_tag(target, t, digests[t], shielded, sharers, registry, dry_run) for t in drop)
    return [result for result in found if result is not None]


def _kept_digests(target: PruneTarget, digests: dict[str, str | None]) -> set[str]:
    return {digest for tag, digest in digests.items() if tag in target.keep and digest}


def _listed(registry: PruneRegistry, repository: ImageReference) -> list[str]:
    try:
        return registry.list_tags(repository)
    except NotFound:
        return []


def _manifests(
    registry: PruneRegistry, repository: ImageReference, digests: Iterable[str]
) -> list[Manifest]:
    found = (registry.get_manifest(repository.with_digest(d)) for d in digests)
    return [manifest for manifest in found if manifest is not None]


def _sharers(target: PruneTarget, digests: dict[str, str | None]) -> dict[str, list[str]]:
    """Kept tags by digest, to name them when a delete is refused."""
    found: dict[str, list[str]] = {}
    for tag, digest in sorted(digests.items()):
        if digest and tag in target.keep:
            found.setdefault(digest, []).append(f"tagged {tag}")
    return found


def _prune_tag(
    target: PruneTarget,
    tag: str,
    digest: str | None,
    shielded: set[str],
    sharers: dict[str, list[str]],
    registry: PruneRegistry,
    dry_run: bool,
) -> SyncResult | None:
    """Delete one dropped tag's manifest unless refused; None when the tag is already gone."""
    if digest is None:
        return None  # gone since the listing
    refused = decide(target, tag, digest, shielded, sharers)
    if refused is not None or dry_run:
        return refused or tag_result(target, tag, digest, Status.WOULD_PRUNE)
    try:
        registry.delete_manifest(target.repository, digest)
    except RegistryError as exc:
        return tag_result(target, tag, digest, Status.FAILED, ErrorInfo(exc.category, str(exc)))
    log.info("pruned %s:%s (%s)", target.repository.name, tag, digest)
    return tag_result(target, tag, digest, Status.PRUNED)
