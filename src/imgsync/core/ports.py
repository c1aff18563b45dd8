"""The pipeline's ports: what it needs from a registry reader, a copier and a quota guard.

Small Protocols, so the pure pipeline (:mod:`imgsync.core.pipeline`) is typed against
what it asks for, and adapters, wrappers and the tests' in-memory fakes implement them.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from imgsync.core.manifest_format import Format
from imgsync.core.reference import ImageReference


class DigestReader(Protocol):
    """Reads manifest digests with HEAD requests; ``None`` when the tag does not exist."""

    def head_digest(self, ref: ImageReference) -> str | None: ...

    def head_digests(self, refs: Sequence[ImageReference]) -> list[str | None]:
        """Several at once (in parallel where the reader can), in the order of ``refs``."""
        ...


class Copier(Protocol):
    """Copies every platform of ``source`` to ``destination``: keeping digests, or converted."""

    def copy(
        self,
        source: ImageReference,
        destination: ImageReference,
        convert_to: Format | None = None,
    ) -> str | None: ...


class PushCheck(Protocol):
    """Raises when a destination will refuse a push (a namespace never created, …), read-only."""

    def check_push(self, destination: ImageReference) -> None: ...


class PullEstimator(Protocol):
    """Manifest GETs a copy of ``source`` would make; 0 where the registry meters nothing."""

    def pulls(self, source: ImageReference) -> int: ...
