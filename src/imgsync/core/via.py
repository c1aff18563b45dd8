"""One source, several destinations: the source is read once, the others copy a mirror.

Docker Hub counts every manifest GET as a pull, so a source mirrored to N places used
to cost N copies' pulls. At the start of a run (:func:`share_sources`), every plain
item (every platform, digests kept) whose source another plain item of the run also
copies gets ``via``: the first such item's destination, the *primary*. A secondary
item whose destination is stale then copies ``via@digest``, which no one meters:

- the via already serves the source digest: copy from it (no source read);
- it does not: bring it up to date first, under the via's *hold* (the lock the primary
  item runs under), so that the primary and every secondary take turns and whoever
  comes second finds the digest there; then copy from it;
- the run records what it wrote: the via's own item, finding its destination written by
  the run as a via, reports it synced without writing it again, and a secondary copies
  ``via@digest`` even when another run has moved the via's tag since (each destination
  is written at most once per run, however runs that share a tag interleave);
- an immutable via holding another digest is left alone (the primary would leave it),
  and a via that cannot be written falls back to the source: the old cost, not a failure.

Skips are unchanged (HEADs of source and destination only). Pulls are reported where
they are spent: on the item that read the source; a copy from a via reports the via's.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from contextlib import AbstractContextManager
from dataclasses import replace
from typing import Protocol

from imgsync.core.item import SyncItem
from imgsync.core.reference import ImageReference
from imgsync.errors import ImgsyncError, QuotaExhausted

log = logging.getLogger(__name__)


class DestinationHold(Protocol):
    """The run's lock on a destination (its own item runs under it) and its record of the
    digest it wrote there: another item of the run may write a destination first, as a via."""

    def hold(self, destination: ImageReference) -> AbstractContextManager[None]: ...

    def written(self, destination: ImageReference) -> str | None: ...

    def record(self, destination: ImageReference, digest: str) -> None: ...


class ViaCopier(Protocol):
    """What filling a via needs: the pipeline's metered copier and the runner's holds."""

    def copy(self, source: ImageReference, destination: ImageReference) -> str | None: ...

    def pulls(self, source: ImageReference) -> int: ...

    def check_push(self, destination: ImageReference) -> None: ...

    def holding(self, destination: ImageReference) -> AbstractContextManager[None]: ...

    def written(self, destination: ImageReference) -> str | None: ...

    def record(self, destination: ImageReference, digest: str) -> None: ...


class ViaReader(Protocol):
    def head_digest(self, ref: ImageReference) -> str | None: ...


def share_sources(items: Iterable[SyncItem]) -> tuple[SyncItem, ...]:
    """``items`` with ``via`` set on every plain item that shares its source with an
    earlier plain item (same source text, same options); the earliest is the via, and
    ``shared``."""
    first: dict[tuple[str, bool, bool], ImageReference] = {}
    given = [_with_via(item, first) for item in items]
    vias = {item.via for item in given if item.via is not None}
    return tuple(replace(item, shared=True) if item.destination in vias else item for item in given)


def _with_via(item: SyncItem, first: dict[tuple[str, bool, bool], ImageReference]) -> SyncItem:
    if item.platforms is not None or item.writes is not None:
        return item
    key = (str(item.source), item.immutable, item.signatures)
    primary = first.setdefault(key, item.destination)
    return item if primary == item.destination else replace(item, via=primary)


def read_from(
    item: SyncItem, digest: str, registry: ViaReader, copier: ViaCopier, *, dry_run: bool
) -> tuple[ImageReference, int]:
    """Where the stale ``item`` copies ``digest`` from, and the pulls spent to get it there.

    The source itself unless the item has a via; a dry run writes nothing and counts the
    source's pulls on the item that would read it (the primary).
    """
    source = item.source.with_digest(digest)
    if item.via is None:
        return source, 0
    via = item.via.with_digest(digest)
    found = registry.head_digest(item.via)
    if found == digest or copier.written(item.via) == digest:  # by digest, even if retagged
        return via, 0
    if item.immutable and found is not None:  # the primary leaves it as it is
        return source, 0
    if dry_run:
        return via, 0
    try:
        with copier.holding(item.via):
            filled, pulls = _fill(item.via, source, registry, copier)
    except QuotaExhausted:
        raise
    except ImgsyncError as exc:  # the via cannot be written: read the source as before
        log.warning("could not bring %s up to date (%s): copying from the source", item.via, exc)
        return source, 0
    return (via, pulls) if filled else (source, pulls)


def _fill(
    via: ImageReference, source: ImageReference, registry: ViaReader, copier: ViaCopier
) -> tuple[bool, int]:
    """Under the via's hold: whether the via now serves ``source``'s digest, and the pulls
    spent on it (0 when the primary, or another item, had just written it)."""
    digest = str(source.digest)
    if copier.written(via) == digest or registry.head_digest(via) == digest:
        return True, 0
    copier.check_push(via)
    pulls = copier.pulls(source)
    copier.copy(source, via)
    written = registry.head_digest(via)
    if written != digest:
        log.warning("%s has %s after the copy, expected %s", via, written, digest)
        return False, pulls
    copier.record(via, digest)
    return True, pulls
