"""Expand the sync file's image rules into items: images × selected tags × destinations.

Pure except for the injected ``list_tags``: the caller decides how tags are read
(the registry client in production, a dict in tests). Every item is built from a
``src:tag=dst`` text with :func:`imgsync.core.mapping.parse_item`, so the file and
the seed's mapping strings follow exactly the same rules (Docker Hub namespaces,
destination prefixes, pushability), and problems are reported at the file's line.

What a prune rule keeps is decided here, over the *whole* plan: a destination
repository keeps every tag that any item of the run writes to it, so two rules
filling one repository never prune each other's tags.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from typing import Annotated, Any

from imgsync.core.codec import FromText
from imgsync.core.delete_style import DeleteStyle, parse_delete_style
from imgsync.core.destination_rules import DestinationRules
from imgsync.core.item import SyncItem
from imgsync.core.mapping import parse_item
from imgsync.core.path_template import PathTemplate
from imgsync.core.platforms import Platform
from imgsync.core.reference import ImageReference
from imgsync.core.refparse import parse_reference
from imgsync.core.repo_selection import RepositorySelection
from imgsync.core.tagselect import TagSelector
from imgsync.errors import ConfigError, PlanError, RegistryError

TagLister = Callable[[ImageReference], list[str]]


@dataclass(frozen=True, slots=True)
class Where:
    """A place in the sync file, for error messages: ``sync.yaml:12: images[3].destinations[1]``."""

    file: str
    line: int
    field: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.field}"


@dataclass(frozen=True, slots=True)
class ImageRule:
    """One ``images:`` entry, validated; either a structured rule or a seed mapping string.

    A ``repositories`` rule selects its sources from a catalog: :mod:`imgsync.core.catalog`
    turns it into ``source`` rules before :func:`expand` sees it.
    """

    where: Where
    source: ImageReference | None = None
    mapping: str | None = None
    selector: TagSelector = field(default_factory=lambda: TagSelector(names=("latest",)))
    destinations: tuple[tuple[str, Where], ...] = ()
    platforms: tuple[Platform, ...] | None = None
    prune: bool = False
    dest_prefix: str | None = None
    dest_template: PathTemplate | None = None
    dest_rules: DestinationRules = field(default_factory=DestinationRules)
    repositories: RepositorySelection | None = None


def parse_repository(text: str) -> ImageReference:
    """A repository as a prune target writes it: fully qualified, no tag."""
    return parse_reference(text, default_tag=None, hub_namespace=None)


@dataclass(frozen=True, slots=True)
class PruneTarget:
    """A destination repository to prune: every tag not in ``keep`` goes."""

    repository: Annotated[ImageReference, FromText(parse_repository)]
    keep: frozenset[str]
    source: str
    #: How the destination registry deletes, from its profile at plan time (workers read no file).
    deletes: DeleteStyle = DeleteStyle.TAG_THEN_DIGEST

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON, for the Celery chord body that prunes after the copies."""
        return {
            "repository": self.repository.name,
            "keep": sorted(self.keep),
            "source": self.source,
            "deletes": str(self.deletes),
        }


@dataclass(frozen=True, slots=True)
class PruneOrder:
    """The chord body's ``prune`` argument: what to prune once every copy is done."""

    targets: tuple[PruneTarget, ...]
    dry_run: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {"targets": [target.to_dict() for target in self.targets], "dry_run": self.dry_run}


@dataclass(frozen=True, slots=True)
class Plan:
    """What a run does: items in file order, then the repositories to prune."""

    items: tuple[SyncItem, ...]
    prune: tuple[PruneTarget, ...] = ()


def expand(
    rules: Sequence[ImageRule],
    *,
    list_tags: TagLister,
    dockerhub_user: str | None = None,
    dest_prefix: str | None = None,
    dest_rules: DestinationRules | None = None,
    extra: Sequence[SyncItem] = (),
) -> Plan:
    """Expand every rule, then check that no two items write the same destination.

    ``dest_prefix`` (from the command line or environment) serves rules whose
    file gives none; ``dest_rules`` name and check destinations (each rule's own
    template first); ``extra`` are the command line's own mapping items. Every
    rule's destinations are checked before any tag list is read.
    """
    rules = [_completed(rule, dest_prefix, dest_rules or DestinationRules()) for rule in rules]
    for rule in rules:
        _probe_destinations(rule, dockerhub_user)
    placed = [(rule, _expand_rule(rule, list_tags, dockerhub_user)) for rule in rules]
    _check_unique(placed, extra)
    expanded = [(rule, [item for item, _ in found]) for rule, found in placed]
    items = tuple(item for _, found in expanded for item in found) + tuple(extra)
    return Plan(items, _prune_targets(expanded, items, dockerhub_user))


def _completed(rule: ImageRule, prefix: str | None, dest_rules: DestinationRules) -> ImageRule:
    """The rule with the run's prefix (unless it has one) and rules for its own template."""
    return replace(
        rule,
        dest_prefix=rule.dest_prefix or prefix,
        dest_rules=replace(dest_rules, own=rule.dest_template),
    )


def _probe_destinations(rule: ImageRule, hub_user: str | None) -> None:
    """A rule's destinations do not depend on the tag: check them before listing any."""
    if rule.source is not None and rule.selector.needs_listing:
        for text, where in _texts(rule, "latest"):
            _item(text, where, hub_user, rule)


def _expand_rule(
    rule: ImageRule, list_tags: TagLister, hub_user: str | None
) -> list[tuple[SyncItem, Where]]:
    """The rule's items, each with the place in the file that wrote its destination."""
    if rule.mapping is not None:
        return [(_item(rule.mapping, rule.where, hub_user, rule), rule.where)]
    return [
        (_with_options(_item(text, where, hub_user, rule), rule, tag), where)
        for tag in _tags(rule, list_tags)
        for text, where in _texts(rule, tag)
    ]


def _tags(rule: ImageRule, list_tags: TagLister) -> list[str | None]:
    """The selected tags; ``[None]`` for a source pinned by digest."""
    assert rule.source is not None
    if rule.source.digest is not None:
        return [None]
    if not rule.selector.needs_listing:
        return list(rule.selector.select())
    try:
        available = list_tags(rule.source)
    except RegistryError as exc:
        message = f"{rule.where}: cannot list the tags of {rule.source.name}: {exc}"
        raise PlanError(message, category=exc.category) from exc
    return list(rule.selector.select(available))


def _texts(rule: ImageRule, tag: str | None) -> list[tuple[str, Where]]:
    """``src:tag=dst`` per destination, or the bare source when the prefix decides."""
    assert rule.source is not None
    source = str(rule.source if tag is None else rule.source.with_tag(tag))
    if not rule.destinations:
        return [(source, rule.where)]
    return [(f"{source}={destination}", where) for destination, where in rule.destinations]


def _item(text: str, where: Where, hub_user: str | None, rule: ImageRule) -> SyncItem:
    try:
        return parse_item(
            text, dockerhub_user=hub_user, dest_prefix=rule.dest_prefix, dest_rules=rule.dest_rules
        )
    except ValueError as exc:
        raise ConfigError(f"{where}: {exc}") from None


def _with_options(item: SyncItem, rule: ImageRule, tag: str | None) -> SyncItem:
    immutable = tag is not None and rule.selector.is_immutable(tag)
    return replace(item, platforms=rule.platforms, immutable=immutable)


def _check_unique(
    placed: Iterable[tuple[ImageRule, list[tuple[SyncItem, Where]]]], extra: Sequence[SyncItem]
) -> None:
    first: dict[str, Where] = {}
    for _, found in placed:
        for item, where in found:
            _claim(first, str(item.destination), where)
    for position, item in enumerate(extra, start=1):
        _claim(first, str(item.destination), Where("command line", 0, f"mapping item {position}"))


def _claim(first: dict[str, Where], destination: str, where: Where) -> None:
    earlier = first.setdefault(destination, where)
    if earlier is not where:
        raise ConfigError(
            f"{where}: writes {destination}, which {earlier.field} "
            f"(line {earlier.line}) writes too; every destination may be written once"
        )


def _prune_targets(
    expanded: Iterable[tuple[ImageRule, list[SyncItem]]],
    items: Sequence[SyncItem],
    hub_user: str | None,
) -> tuple[PruneTarget, ...]:
    """One target per destination repository some pruning rule writes (or would write)."""
    keep: dict[str, set[str]] = {}
    for item in items:
        keep.setdefault(item.destination.name, set()).add(str(item.destination.tag))
    targets: dict[str, PruneTarget] = {}
    for rule, rule_items in expanded:
        for repository in _pruned_repositories(rule, rule_items, hub_user) if rule.prune else ():
            name = repository.name
            source = rule.source.name if rule.source else str(rule.mapping)
            kept, deletes = frozenset(keep.get(name, ())), _delete_style(rule, repository)
            targets.setdefault(name, PruneTarget(repository, kept, source, deletes))
    return tuple(targets.values())


def _delete_style(rule: ImageRule, repository: ImageReference) -> DeleteStyle:
    """The destination profile's ``deletes``, resolved now: the prune may run on a worker."""
    return parse_delete_style(rule.dest_rules.profiles.for_host(repository.registry).deletes)


def _pruned_repositories(
    rule: ImageRule, items: list[SyncItem], hub_user: str | None
) -> list[ImageReference]:
    """The rule's destination repositories, even when its selection came out empty.

    An empty selection still names its repositories (found through a probe tag),
    so that the pruner can refuse, visibly, to empty them.
    """
    if not items and rule.source is not None:
        texts = _texts(rule, "latest")
        items = [_item(text, where, hub_user, rule) for text, where in texts]
    found = {item.destination.name: replace(item.destination, tag=None) for item in items}
    return list(found.values())
