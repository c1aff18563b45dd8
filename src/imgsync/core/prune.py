"""Which destination tags a prune deletes, decided without I/O.

Why so careful: many registries delete only by *digest* (docker-registry 2.8 refuses tag
deletes; OCI 1.1 tag deletes are optional), and deleting a digest removes every tag on
it. So a tag the plan does not keep is deleted by digest only when its digest is
neither the digest of a kept tag nor a manifest inside a kept index; otherwise the
prune of that tag fails, visibly, instead of taking a kept tag down with it. A tag
delete needs no such guard. An empty selection never prunes: a typo in a regex must
not empty a repository.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from imgsync.core.delete_style import unsupported
from imgsync.core.manifest_format import is_record_tag
from imgsync.core.plan import PruneTarget
from imgsync.core.platforms import Manifest
from imgsync.core.result import Category, ErrorInfo, Status, SyncResult

UNSUPPORTED = Category.UNSUPPORTED


def candidates(target: PruneTarget, listed: Iterable[str]) -> list[str]:
    """Tags the repository has and the plan does not write, sorted."""
    return sorted(set(listed) - target.keep)


def without_live_records(
    drop: Iterable[str], digests: Mapping[str, str | None], kept: Iterable[str]
) -> list[str]:
    """Record tags of converted copies whose digest a kept tag serves stay: the next run
    skips by them (:mod:`imgsync.core.manifest_format`); stale ones go like any tag."""
    live = set(kept)
    return [tag for tag in drop if not (is_record_tag(tag) and digests.get(tag) in live)]


def protected(kept: Iterable[str | None], kept_manifests: Iterable[Manifest]) -> set[str]:
    """Digests a delete must not touch: kept tags' own, and the manifests their indexes list."""
    digests = {digest for digest in kept if digest}
    for manifest in kept_manifests:
        digests.update(str(entry.get("digest")) for entry in manifest.entries())
    return digests


def tag_result(
    target: PruneTarget,
    tag: str,
    digest: str | None,
    status: Status,
    error: ErrorInfo | None = None,
) -> SyncResult:
    """One pruned (or refused) tag as a report line."""
    return SyncResult(
        source=target.source,
        destination=f"{target.repository.name}:{tag}",
        status=status,
        destination_digest=digest,
        error=error,
    )


def refusal(target: PruneTarget, message: str, category: Category = Category.OTHER) -> SyncResult:
    """The whole repository's prune did not happen (empty selection, listing failed)."""
    return SyncResult(
        source=target.source,
        destination=target.repository.name,
        status=Status.FAILED,
        error=ErrorInfo(category, f"prune not done: {message}"),
    )


def profile_refusal(target: PruneTarget, tag: str, dry_run: bool) -> SyncResult | None:
    """The destination's profile says this tag cannot be deleted: a dry run marks its
    ``would_prune`` "will fail", a real run fails ``unsupported``; None when it can go."""
    why = unsupported(target.deletes, target.repository.repository, tag)
    if why is None:
        return None
    if dry_run:
        return tag_result(
            target, tag, None, Status.WOULD_PRUNE, ErrorInfo(UNSUPPORTED, f"will fail: {why}")
        )
    return tag_result(
        target, tag, None, Status.FAILED, ErrorInfo(UNSUPPORTED, f"not deleted: {why}")
    )


def tag_refused(target: PruneTarget, tag: str, digest: str) -> SyncResult:
    """A registry whose profile deletes by tag refused the tag delete: nothing was deleted."""
    message = (
        f"not deleted: the registry refused DELETE of the tag (its profile says "
        f"deletes: {target.deletes}); set registries: {{HOST: {{deletes: digest}}}} "
        "if it deletes by digest only"
    )
    return tag_result(target, tag, digest, Status.FAILED, ErrorInfo(UNSUPPORTED, message))


def decide(
    target: PruneTarget,
    tag: str,
    digest: str,
    shielded: set[str],
    sharers: Mapping[str, list[str]],
) -> SyncResult | None:
    """A failed result when deleting ``digest`` would hit something kept; None when it may go."""
    if digest not in shielded:
        return None
    kept = ", ".join(sharers.get(digest, [])) or "an index the plan keeps"
    message = (
        f"not deleted: its manifest {digest} is also {kept}, and this registry deletes "
        "by digest (every tag on it would go)"
    )
    return tag_result(target, tag, digest, Status.FAILED, ErrorInfo(Category.UNSUPPORTED, message))
