"""Which repositories of a registry one ``repositories:`` entry of the sync file selects.

Why a selection and not a list: mirroring a whole namespace (``team/…``) by name
means editing the file for every new repository; regsync (``type: registry``),
dregsy and gcrane read the registry's catalog instead. The selection is applied
to the catalog's names in this order:

1. ``prefix``: whole path components — ``team`` selects ``team/api`` and
   ``team/ops/db``, never ``teamwork/x`` (empty: every repository);
2. ``include``: keep names any of the patterns matches (``re.search`` on the
   full path, as tag regexes do: anchor with ``^…$``); none given keeps all;
3. ``exclude``: drop names any of these patterns matches.

``maximum`` bounds the result: a catalog of thousands of repositories must not
turn into thousands of copies because a prefix was mistyped.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

DEFAULT_MAX = 200
MAX_LIMIT = 10_000


@dataclass(frozen=True, slots=True)
class RepositorySelection:
    """A registry host, a path prefix (no slashes at its ends), filters and the bound."""

    registry: str
    prefix: str = ""
    include: tuple[re.Pattern[str], ...] = ()
    exclude: tuple[re.Pattern[str], ...] = ()
    maximum: int = DEFAULT_MAX

    def __post_init__(self) -> None:
        object.__setattr__(self, "prefix", self.prefix.strip("/"))

    def __str__(self) -> str:
        return f"{self.registry}/{self.prefix}/" if self.prefix else f"{self.registry}/"

    def under_prefix(self, name: str) -> bool:
        return not self.prefix or name == self.prefix or name.startswith(f"{self.prefix}/")

    def selects(self, name: str) -> bool:
        """Under the prefix, matched by an include (if any), by no exclude."""
        if not self.under_prefix(name):
            return False
        if self.include and not any(pattern.search(name) for pattern in self.include):
            return False
        return not any(pattern.search(name) for pattern in self.exclude)

    def select(self, catalog: Iterable[str]) -> list[str]:
        """The selected names, sorted and once each (catalogs may repeat across pages)."""
        return sorted({name for name in catalog if self.selects(name)})
