"""Which manifest format a destination is written in, and how a converted copy is recognised.

Why: ``skopeo copy --all --preserve-digests`` writes the source's bytes, so the
destination serves the source's digest and the compare is one HEAD per side. Some
registries refuse some shapes (Huawei SWR: OCI indexes; Quay: an OCI index whose
children are Docker manifests; zot: Docker media types), and then the only way to
mirror is to convert (``skopeo copy --all --format v2s2|oci``), which changes every
manifest digest. The config and layer blobs stay byte for byte the same.

The setting (``registries: {HOST: {manifest_format: …}}``, else the profile's):

- ``auto`` (the default): keep digests; convert only a shape the registry's profile
  says it refuses, to the profile's ``converts_to`` format.
- ``keep``: never convert; a shape the profile refuses fails ``unsupported`` before
  anything is read or written, naming the registry, the shape and this setting.
- ``docker`` / ``oci``: write that format; a source already in it is copied as is.

Knowing what a converted destination was made from (the design). A converted
destination can never serve the source digest, and a Docker manifest list carries
no annotations, so the subset path's trick (an annotation on our own index) does not
carry over; the per-platform config digests survive conversion but reading them
costs a GET per platform on the source, which Docker Hub meters. So the copy leaves a
*record tag* next to the destination tag: ``imgsync.<source digest hex>.<h>``, where
``h`` hashes the destination tag and the setting, pointing at the very manifest the
conversion wrote. The next run HEADs the source tag (free), then the destination tag
and the record tag: when both serve the same digest, the destination is the
conversion of exactly this source under exactly this setting → skipped, with HEADs
only, no source GET and no write. A changed source has another digest, so its record
is missing → copied; a destination tag someone re-pushed no longer matches its record
→ copied. Any registry that accepted the converted manifest accepts it under a second
tag, so the record needs nothing the destination might refuse. Prune keeps a record
whose digest a kept tag serves and deletes stale ones like any tag.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from imgsync.core.reference import ImageReference
from imgsync.errors import UnsupportedManifest

DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
RECORD_PREFIX = "imgsync."


class Format(StrEnum):
    """The ``manifest_format`` setting's values."""

    AUTO = "auto"
    KEEP = "keep"
    DOCKER = "docker"
    OCI = "oci"

    @property
    def skopeo_name(self) -> str:
        """``skopeo copy --format`` spells Docker v2 schema 2 ``v2s2``."""
        return "v2s2" if self is Format.DOCKER else str(self)


class Shape(StrEnum):
    """What a destination may refuse: the top-level type, and the mixed OCI index."""

    DOCKER_LIST = "docker-list"
    DOCKER_MANIFEST = "docker-manifest"
    OCI_INDEX = "oci-index"
    OCI_MANIFEST = "oci-manifest"
    MIXED_INDEX = "oci-index-of-docker"

    @property
    def family(self) -> Format:
        docker = (Shape.DOCKER_LIST, Shape.DOCKER_MANIFEST)
        return Format.DOCKER if self in docker else Format.OCI

    @property
    def words(self) -> str:
        return _WORDS[self]


_WORDS = {
    Shape.DOCKER_LIST: "Docker manifest lists",
    Shape.DOCKER_MANIFEST: "Docker v2s2 manifests",
    Shape.OCI_INDEX: "OCI image indexes",
    Shape.OCI_MANIFEST: "OCI image manifests",
    Shape.MIXED_INDEX: "OCI indexes of Docker manifests",
}
_BY_TYPE = {
    DOCKER_LIST: Shape.DOCKER_LIST,
    DOCKER_MANIFEST: Shape.DOCKER_MANIFEST,
    OCI_INDEX: Shape.OCI_INDEX,
    OCI_MANIFEST: Shape.OCI_MANIFEST,
}


def shape_of(media_type: str, children: Iterable[str] = ()) -> Shape:
    """The shape of a manifest of ``media_type`` whose index lists ``children`` types."""
    shape = _BY_TYPE.get(media_type, Shape.OCI_MANIFEST)
    if shape is Shape.OCI_INDEX and any(
        child in (DOCKER_MANIFEST, DOCKER_LIST) for child in children
    ):
        return Shape.MIXED_INDEX
    return shape


def shape_of_document(media_type: str, document: dict[str, Any]) -> Shape:
    """:func:`shape_of` for a parsed manifest (an index's ``manifests`` give the children)."""
    entries = document.get("manifests", [])
    children = (str(e.get("mediaType", "")) for e in entries if isinstance(e, dict))
    return shape_of(media_type or str(document.get("mediaType", "")), children)


@dataclass(frozen=True, slots=True)
class WritePolicy:
    """A destination's setting, resolved at plan time so a worker needs no sync file."""

    format: Format = Format.AUTO
    refuses: tuple[Shape, ...] = ()
    converts_to: Format = Format.KEEP
    registry: str = ""  # the host and profile, as messages name it

    def __post_init__(self) -> None:
        if self.converts_to is Format.AUTO:
            raise ValueError("converts_to must be keep, docker or oci")

    @property
    def may_convert(self) -> bool:
        """Whether any source could be converted (else the plain keep-digests path serves)."""
        automatic = (
            self.format is Format.AUTO and self.refuses and self.converts_to is not Format.KEEP
        )
        return self.format in (Format.DOCKER, Format.OCI) or bool(automatic)

    @property
    def key(self) -> str:
        """What the record tag's hash covers: another setting must not pass for this one."""
        return (
            f"{self.format}>{self.converts_to}" if self.format is Format.AUTO else str(self.format)
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": str(self.format),
            "refuses": [str(shape) for shape in self.refuses],
            "converts_to": str(self.converts_to),
            "registry": self.registry,
        }

    def target(self, shape: Shape) -> Format:
        """``keep`` or the format to convert ``shape`` to; UnsupportedManifest when refused."""
        if self.format in (Format.DOCKER, Format.OCI):
            return Format.KEEP if shape.family is self.format else self.format
        if shape not in self.refuses:
            return Format.KEEP
        if self.format is Format.AUTO and self.converts_to is not Format.KEEP:
            return self.converts_to
        raise UnsupportedManifest(self.refusal(shape))

    def refusal(self, shape: Shape) -> str:
        """The message for a refused shape: registry, shape, and the setting that mirrors it."""
        fit = self.converts_to if self.converts_to is not Format.KEEP else _other(shape.family)
        return (
            f"{self.registry or 'the destination'} does not accept {shape.words} ({shape}) "
            f"and manifest_format is {self.format}: set "
            f"registries: {{{_host(self.registry)}: {{manifest_format: {fit}}}}} in the sync file "
            "to convert (digests change)"
        )


def _other(family: Format) -> Format:
    return Format.OCI if family is Format.DOCKER else Format.DOCKER


def _host(registry: str) -> str:
    return registry.split(" ", maxsplit=1)[0] or "HOST"


def record_tag(destination: ImageReference, source_digest: str, policy: WritePolicy) -> str:
    """The record tag naming the source digest a converted ``destination`` tag was made from."""
    hashed = hashlib.sha256(f"{destination.tag}\n{policy.key}".encode()).hexdigest()[:8]
    return f"{RECORD_PREFIX}{source_digest.partition(':')[2]}.{hashed}"


def is_record_tag(tag: str) -> bool:
    """Whether ``tag`` is one of our record tags (prune and listings treat them apart)."""
    parts = tag.split(".")
    return len(parts) == 3 and tag.startswith(RECORD_PREFIX) and len(parts[1]) == 64
