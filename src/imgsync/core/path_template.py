"""How a destination repository is named from its source when a prefix decides it.

Why named layouts and not a template language: regsync writes each ``target`` as a
Go template (``{{ .Sync.Source }}`` with ``split``/``join``) and image-syncer lists
every pair or puts the source's repository under a default namespace; what mirror
users actually need is one of three shapes, and a one-word setting is easy to
validate, to suggest in an error message and to read in a sync file:

- ``path`` (default): the source path as it is — ``bitnami/redis`` → ``bitnami/redis``;
- ``last``: its last component — ``bitnami/redis`` → ``redis``;
- ``flat:SEP``: its components joined by ``SEP`` — ``flat:_`` → ``bitnami_redis``,
  ``flat:-`` → ``bitnami-redis`` (``flat`` alone means ``flat:_``).

The path is the source's without Docker Hub's ``library/``; the prefix (a registry
host and namespace) comes in front of the result. ``SEP`` must be a separator the
distribution grammar allows inside a path component (``_``, ``__``, ``.`` or a run
of ``-``), so a flattened name is always a valid one-level repository name.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from imgsync.errors import ConfigError

Layout = Literal["path", "last", "flat"]
LAYOUTS: tuple[Layout, ...] = ("path", "last", "flat")
_SEPARATOR = re.compile(r"[._]|__|-+")
_HELP = "write path, last or flat:SEP (SEP one of _ __ . -)"


@dataclass(frozen=True, slots=True)
class PathTemplate:
    """One layout, with the separator ``flat`` joins components with."""

    layout: Layout = "path"
    separator: str = ""

    def __post_init__(self) -> None:
        if self.layout not in LAYOUTS:
            raise ConfigError(f"destination template {self.layout!r} is unknown; {_HELP}")
        if self.layout == "flat" and not _SEPARATOR.fullmatch(self.separator):
            shown = f"flat:{self.separator}"
            raise ConfigError(f"destination template {shown!r}: bad separator; {_HELP}")
        if self.layout != "flat" and self.separator:
            raise ConfigError(f"destination template {self.layout!r} takes no separator")

    def __str__(self) -> str:
        return f"flat:{self.separator}" if self.layout == "flat" else self.layout

    def apply(self, path: str) -> str:
        """The repository path this template makes of the source path ``path``."""
        if self.layout == "last":
            return path.rpartition("/")[2]
        if self.layout == "flat":
            return path.replace("/", self.separator)
        return path


PATH = PathTemplate()
LAST = PathTemplate("last")
FLAT = PathTemplate("flat", "_")


def parse_path_template(text: str) -> PathTemplate:
    """``path`` / ``last`` / ``flat`` / ``flat:SEP``, or ConfigError naming ``text``."""
    layout, colon, separator = text.strip().partition(":")
    if layout not in LAYOUTS:
        raise ConfigError(f"destination template {text!r} is unknown; {_HELP}")
    if layout == "flat":
        return PathTemplate("flat", separator if colon else "_")
    if colon:
        raise ConfigError(f"destination template {text!r}: only flat takes a separator; {_HELP}")
    return PathTemplate(layout)


def optional_template(text: str | None) -> PathTemplate | None:
    """A setting that may be unset (``None`` or blank)."""
    return parse_path_template(text) if text and text.strip() else None
