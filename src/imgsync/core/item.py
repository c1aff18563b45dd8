"""One validated copy, and the plain-JSON form in which it crosses the broker.

Why the options live on the item: embedded mode and Celery workers run the same
:func:`imgsync.core.pipeline.sync_item`, and a worker knows only what the task
message says. So a platform subset and the immutable flag travel with the item,
as plain JSON keys that are present only when set; a message without them (from
an older producer) still means "every platform, compare digests".
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from imgsync.core.platforms import Platform, parse_platform, platform_list
from imgsync.core.reference import ImageReference
from imgsync.core.refparse import parse_reference
from imgsync.errors import InvalidReference


@dataclass(frozen=True, slots=True)
class SyncItem:
    """One validated copy: the destination always has a tag and never a digest.

    ``platforms`` is ``None`` for every platform (``skopeo copy --all``), else the
    subset the destination index must hold. ``immutable`` means: once the
    destination has the tag, leave it alone without asking the source.
    ``signatures``: also copy the signatures and attestations attached to the digest.
    """

    source: ImageReference
    destination: ImageReference
    platforms: tuple[Platform, ...] | None = None
    immutable: bool = False
    signatures: bool = False

    def __str__(self) -> str:
        return f"{self.source} -> {self.destination}"

    def first_reads(self) -> tuple[ImageReference, ...]:
        """The references the pipeline's first step reads: what a warm-up may prepare.

        An immutable item starts at its destination alone; its source is asked only if
        the destination tag is missing, so a warm-up must not touch it.
        """
        return (self.destination,) if self.immutable else (self.source, self.destination)

    def describe(self) -> str:
        """``src -> dst`` plus the options, as ``validate`` prints the plan."""
        extra = [f"platforms {platform_list(self.platforms)}"] if self.platforms else []
        extra += ["immutable"] if self.immutable else []
        extra += ["signatures"] if self.signatures else []
        return f"{self}  [{'; '.join(extra)}]" if extra else str(self)

    def to_dict(self) -> dict[str, Any]:
        """The form that crosses the broker and lands in reports."""
        data: dict[str, Any] = {"source": str(self.source), "destination": str(self.destination)}
        if self.platforms is not None:
            data["platforms"] = [str(platform) for platform in self.platforms]
        if self.immutable:
            data["immutable"] = True
        if self.signatures:
            data["signatures"] = True
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> SyncItem:
        """Re-parse what :meth:`to_dict` wrote; never trust a message blindly."""
        source = parse_reference(_field(data, "source"))
        destination = parse_reference(_field(data, "destination"), default_tag=None)
        if destination.tag is None or destination.digest is not None:
            raise InvalidReference(str(destination), "a destination needs a tag and no digest")
        immutable, signatures = _flag(data, "immutable"), _flag(data, "signatures")
        return cls(source, destination, _platforms(data.get("platforms")), immutable, signatures)


def _flag(data: Mapping[str, Any], key: str) -> bool:
    value = data.get(key, False)
    if not isinstance(value, bool):
        raise InvalidReference(repr(value), f"{key} must be true or false")
    return value


def _field(data: Mapping[str, Any], key: str) -> str:
    value = data.get(key)
    if not isinstance(value, str):
        raise InvalidReference(repr(value), f"{key} must be a string")
    return value


def _platforms(value: object) -> tuple[Platform, ...] | None:
    if value is None:
        return None
    if not isinstance(value, list) or not value or not all(isinstance(v, str) for v in value):
        raise InvalidReference(repr(value), "platforms must be a non-empty list of strings")
    try:
        return tuple(parse_platform(text) for text in value)
    except ValueError as exc:
        raise InvalidReference(repr(value), str(exc)) from None
