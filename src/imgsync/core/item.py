"""One validated copy, and the plain-JSON form in which it crosses the broker.

Why the options live on the item: embedded mode and Celery workers run the same
:func:`imgsync.core.pipeline.sync_item`, and a worker knows only what the task
message says. So a platform subset and the immutable flag travel with the item,
as plain JSON keys that are present only when set; a message without them (from
an older producer) still means "every platform, compare digests". A worker reads
the message with :func:`imgsync.core.codec.decode`, which parses both references
again: a message is never trusted blindly.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

from imgsync.core.codec import FromText
from imgsync.core.manifest_format import WritePolicy
from imgsync.core.platforms import Platform, parse_platform, platform_list
from imgsync.core.reference import ImageReference
from imgsync.core.refparse import parse_reference
from imgsync.errors import InvalidReference


def parse_destination(text: str) -> ImageReference:
    """A destination as a message writes it: fully qualified, with a tag."""
    return _checked_destination(parse_reference(text, default_tag=None))


def _checked_destination(destination: ImageReference) -> ImageReference:
    if destination.tag is None or destination.digest is not None:
        raise InvalidReference(str(destination), "a destination needs a tag and no digest")
    return destination


@dataclass(frozen=True, slots=True)
class SyncItem:
    """One validated copy: the destination always has a tag and never a digest.

    ``platforms`` is ``None`` for every platform (``skopeo copy --all``), else the
    subset the destination index must hold. ``immutable`` means: once the
    destination has the tag, leave it alone without asking the source.
    ``signatures``: also copy the signatures and attestations attached to the digest.
    ``writes``: the destination's manifest-format policy when it may convert or its
    profile refuses a shape (:mod:`imgsync.core.manifest_format`); ``None`` keeps
    digests as always.
    ``via``: another destination of the same source in this run, which this copy reads
    from once it holds the source digest (:mod:`imgsync.core.via`): the source is read
    once however many destinations it has; ``shared`` marks the item whose destination
    is the others' via (found in sync, it asks whether this run wrote it).
    """

    source: Annotated[ImageReference, FromText(parse_reference)]
    destination: Annotated[ImageReference, FromText(parse_destination)]
    platforms: tuple[Annotated[Platform, FromText(parse_platform)], ...] | None = None
    immutable: bool = False
    signatures: bool = False
    writes: WritePolicy | None = None
    via: Annotated[ImageReference, FromText(parse_destination)] | None = None
    shared: bool = False

    def __post_init__(self) -> None:
        _checked_destination(self.destination)
        if self.via is not None:
            _checked_destination(self.via)
        if self.platforms is not None and not self.platforms:
            raise ValueError("platforms must be left out or list at least one platform")

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
        extra += [f"manifest format {self.writes.key}"] if self.writes else []
        extra += [f"via {self.via}"] if self.via else []
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
        if self.writes is not None:
            data["writes"] = self.writes.to_dict()
        if self.via is not None:
            data["via"] = str(self.via)
        if self.shared:
            data["shared"] = True
        return data
