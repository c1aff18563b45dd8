"""Run a sync file's prune rules against the destination registries (after the copies).

Pruning runs once every item of the run has finished, in both modes (embedded:
the producer; Celery: the chord body), so a tag the run has just written is
seen as kept. The decisions themselves are pure (:mod:`imgsync.core.prune`);
this module lists, HEADs and deletes. A dry run lists what would go and deletes
nothing; a real run deletes only what the same listing yields.

How a tag is deleted follows the target's delete style (:mod:`imgsync.core.delete_style`,
resolved from the destination's profile at plan time): by tag first (OCI 1.1), falling
back to a guarded digest delete on a registry that refuses tag deletes (learnt once per
host and run); tag then manifest (GAR); or not at all, with the registry's own API named
(Docker Hub, GHCR).
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from imgsync.core.delete_style import digest_after_tag, falls_back_to_digest, tries_tag_delete
from imgsync.core.plan import PruneTarget
from imgsync.core.platforms import Manifest
from imgsync.core.prune import (
    candidates,
    decide,
    profile_refusal,
    protected,
    refusal,
    tag_refused,
    tag_result,
    without_live_records,
)
from imgsync.core.reference import ImageReference
from imgsync.core.result import ErrorInfo, Status, SyncResult
from imgsync.errors import NotFound, RegistryError

log = logging.getLogger(__name__)


class PruneRegistry(Protocol):
    def list_tags(self, repository: ImageReference) -> list[str]: ...

    def head_digest(self, ref: ImageReference) -> str | None: ...

    def get_manifest(self, ref: ImageReference) -> Manifest | None: ...

    def delete_manifest(self, repository: ImageReference, digest: str) -> bool: ...

    def delete_tag(self, repository: ImageReference, tag: str) -> bool: ...


@dataclass
class _Pruning:
    """One repository's prune: what the listing showed and what must survive it."""

    target: PruneTarget
    registry: PruneRegistry
    dry_run: bool
    shielded: set[str]
    sharers: dict[str, list[str]]
    #: Listed tags per digest still standing (a GAR manifest goes when it reaches 0).
    standing: Counter[str] = field(default_factory=Counter)
    #: Hosts that refused a tag delete in this run: later tags go by digest at once.
    refusing: set[str] = field(default_factory=set)


def prune_all(
    targets: Sequence[PruneTarget], registry: PruneRegistry, *, dry_run: bool
) -> list[SyncResult]:
    """Every target's results, in plan order."""
    refusing: set[str] = set()
    return [
        result for target in targets for result in prune_target(target, registry, dry_run, refusing)
    ]


def prune_target(
    target: PruneTarget,
    registry: PruneRegistry,
    dry_run: bool,
    refusing: set[str] | None = None,
) -> list[SyncResult]:
    """Delete (or list) the tags of one repository that the plan no longer writes."""
    if not target.keep:
        return [refusal(target, "the selection yields no tags; refusing to delete every tag")]
    try:
        listed = _listed(registry, target.repository)
        drop = candidates(target, listed)
        if not drop or _refused_by_profile(target, drop[0], dry_run):
            return [r for t in drop if (r := profile_refusal(target, t, dry_run)) is not None]
        digests = {tag: registry.head_digest(target.repository.with_tag(tag)) for tag in listed}
        kept = sorted(_kept_digests(target, digests))
        drop = without_live_records(drop, digests, kept)
        shielded = protected(kept, _manifests(registry, target.repository, kept))
    except RegistryError as exc:
        return [refusal(target, str(exc), exc.category)]
    run = _Pruning(target, registry, dry_run, shielded, _sharers(target, digests))
    run.standing.update(d for d in digests.values() if d)
    run.refusing = refusing if refusing is not None else set()
    found = (_prune_tag(run, tag, digests[tag]) for tag in drop)
    return [result for result in found if result is not None]


def _refused_by_profile(target: PruneTarget, tag: str, dry_run: bool) -> bool:
    return profile_refusal(target, tag, dry_run) is not None


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


def _prune_tag(run: _Pruning, tag: str, digest: str | None) -> SyncResult | None:
    """Delete one dropped tag as the target's style says; None when the tag is already gone."""
    if digest is None:
        return None  # gone since the listing
    if run.dry_run:
        return _would_prune(run, tag, digest)
    style, host = run.target.deletes, run.target.repository.registry
    if tries_tag_delete(style) and host not in run.refusing:
        try:
            if run.registry.delete_tag(run.target.repository, tag):
                return _tag_deleted(run, tag, digest)
        except RegistryError as exc:
            return _failed(run.target, tag, digest, exc)
        if not falls_back_to_digest(style):
            return tag_refused(run.target, tag, digest)
        log.info("%s deletes no tags; deleting by digest from now on", host)
        run.refusing.add(host)
    return _digest_deleted(run, tag, digest)


def _would_prune(run: _Pruning, tag: str, digest: str) -> SyncResult:
    """A dry run: a tag delete needs no guard where the style always deletes by tag."""
    refused = None if digest_after_tag(run.target.deletes) else _guard(run, tag, digest)
    return refused or tag_result(run.target, tag, digest, Status.WOULD_PRUNE)


def _guard(run: _Pruning, tag: str, digest: str) -> SyncResult | None:
    return decide(run.target, tag, digest, run.shielded, run.sharers)


def _tag_deleted(run: _Pruning, tag: str, digest: str) -> SyncResult:
    """The tag is gone; where the style says so (GAR) its manifest goes with its last tag."""
    run.standing[digest] -= 1
    last = not run.standing[digest] and digest not in run.shielded
    if last and digest_after_tag(run.target.deletes):
        _delete_untagged(run, digest)
    log.info("pruned %s:%s (tag; %s)", run.target.repository.name, tag, digest)
    return tag_result(run.target, tag, digest, Status.PRUNED)


def _delete_untagged(run: _Pruning, digest: str) -> None:
    """The tag was the point; a manifest left behind is logged, not a failed prune."""
    try:
        run.registry.delete_manifest(run.target.repository, digest)
    except RegistryError as exc:
        log.warning("%s@%s stays untagged: %s", run.target.repository.name, digest, exc)


def _digest_deleted(run: _Pruning, tag: str, digest: str) -> SyncResult:
    """Delete by digest, unless that would take a kept tag (or index entry) with it."""
    refused = _guard(run, tag, digest)
    if refused is not None:
        return refused
    try:
        run.registry.delete_manifest(run.target.repository, digest)
    except RegistryError as exc:
        return _failed(run.target, tag, digest, exc)
    log.info("pruned %s:%s (%s)", run.target.repository.name, tag, digest)
    return tag_result(run.target, tag, digest, Status.PRUNED)


def _failed(target: PruneTarget, tag: str, digest: str, exc: RegistryError) -> SyncResult:
    return tag_result(target, tag, digest, Status.FAILED, ErrorInfo(exc.category, str(exc)))
