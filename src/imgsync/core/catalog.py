"""Expand the sync file's ``repositories:`` entries into one rule per selected repository.

Pure except for the injected ``list_repositories`` (the registry's catalog in
production, a dict in tests). It runs before :func:`imgsync.core.plan.expand`, so
each repository then gets the entry's tag filters, platforms, prune setting and
destination template exactly as a ``source:`` entry would.

Why a catalog problem stops the whole run: without the full list, a plan could
leave repositories behind unnoticed, and pruning could act on half a picture.
A registry without a catalog (Docker Hub, GHCR), an empty selection and a
selection over the entry's ``max`` are mistakes in the file (ConfigError, exit 2);
a catalog that could not be read (network, credentials) is a PlanError with the
registry error's category. Either way nothing is copied or pruned.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace

from imgsync.core.plan import ImageRule, Where
from imgsync.core.reference import ImageReference
from imgsync.core.repo_selection import MAX_LIMIT, RepositorySelection
from imgsync.errors import ConfigError, NoCatalog, PlanError, RegistryError

CatalogLister = Callable[[str], list[str]]


def expand_catalogs(
    rules: Sequence[ImageRule], list_repositories: CatalogLister
) -> list[ImageRule]:
    """Every rule, a ``repositories:`` rule replaced by one rule per repository it selects.

    Each registry's catalog is read once, however many entries select from it.
    """
    catalogs: dict[str, list[str]] = {}
    return [expanded for rule in rules for expanded in _expanded(rule, list_repositories, catalogs)]


def _expanded(
    rule: ImageRule, list_repositories: CatalogLister, catalogs: dict[str, list[str]]
) -> list[ImageRule]:
    selection = rule.repositories
    if selection is None:
        return [rule]
    catalog = _catalog(rule, selection, list_repositories, catalogs)
    names = selection.select(catalog)
    _check_count(rule, selection, names, len(catalog))
    return [_for_repository(rule, selection.registry, name) for name in names]


def _catalog(
    rule: ImageRule,
    selection: RepositorySelection,
    list_repositories: CatalogLister,
    catalogs: dict[str, list[str]],
) -> list[str]:
    host = selection.registry
    if host not in catalogs:
        try:
            catalogs[host] = list_repositories(host)
        except NoCatalog as exc:
            raise ConfigError(f"{_at(rule)}: {exc}") from None
        except RegistryError as exc:
            message = f"{_at(rule)}: cannot read the repository catalog of {host}: {exc}"
            raise PlanError(message, category=exc.category) from exc
    return catalogs[host]


def _check_count(
    rule: ImageRule, selection: RepositorySelection, names: list[str], listed: int
) -> None:
    """Nothing selected or more than ``max``: both are refused, naming what to change."""
    if not names:
        raise ConfigError(
            f"{_at(rule)}: selects no repository: the catalog of {selection.registry} lists "
            f"{listed}, none under {str(selection)!r} that include/exclude let through"
        )
    if len(names) > selection.maximum:
        raise ConfigError(
            f"{_at(rule)}: selects {len(names)} repositories under {str(selection)!r}, "
            f"more than max {selection.maximum}: raise {rule.where.field}.repositories.max "
            f"(at most {MAX_LIMIT}) or narrow prefix, include or exclude"
        )


def _for_repository(rule: ImageRule, registry: str, name: str) -> ImageRule:
    """A ``source:`` rule; its own place (``images[2] (team/api)``) keeps clashes apart."""
    where = Where(rule.where.file, rule.where.line, f"{rule.where.field} ({name})")
    return replace(rule, where=where, source=ImageReference(registry, name), repositories=None)


def _at(rule: ImageRule) -> str:
    return f"{rule.where}.repositories"
