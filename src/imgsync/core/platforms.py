"""Platforms and image indexes: choosing a subset of an index, and recognising our own subsets.

skopeo 1.9.3 cannot copy a platform subset, so imgsync writes the subset index
itself (see :mod:`imgsync.core.subset`). This module is the pure half: which
descriptors of a source index a platform list selects, the index that holds only
them, and the annotations that let a later run recognise, from the destination
index alone, which source index and platforms it was built from.

Matching follows containerd's normalisation for the variants everyone omits:
``linux/arm64`` matches ``arm64`` with no variant or ``v8``, ``linux/arm``
matches ``arm`` with no variant or ``v7``; otherwise os, architecture and variant
must be equal. Attestation manifests (BuildKit's ``unknown/unknown`` entries) go
along with the platform manifest they describe.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from imgsync.errors import NotFound, UnexpectedResponse

INDEX_TYPES = frozenset(
    {
        "application/vnd.oci.image.index.v1+json",
        "application/vnd.docker.distribution.manifest.list.v2+json",
    }
)
SOURCE_ANNOTATION = "io.imgsync.source-digest"
PLATFORMS_ANNOTATION = "io.imgsync.platforms"
_REFERENCE_ANNOTATION = "vnd.docker.reference.digest"
_DEFAULT_VARIANTS = {"arm64": "v8", "arm": "v7"}
_PART = re.compile(r"[a-z0-9_.-]+")


@dataclass(frozen=True, slots=True, order=True)
class Platform:
    """``os/architecture[/variant]``, as ``docker pull --platform`` writes it."""

    os: str
    architecture: str
    variant: str | None = None

    def __str__(self) -> str:
        parts = (self.os, self.architecture, self.variant)
        return "/".join(part for part in parts if part)

    def matches(self, entry: Mapping[str, Any]) -> bool:
        """Whether an index entry's ``platform`` object is this platform."""
        if entry.get("os") != self.os or entry.get("architecture") != self.architecture:
            return False
        default = _DEFAULT_VARIANTS.get(self.architecture)
        wanted, found = self.variant or default, entry.get("variant") or default
        return wanted == found


def parse_platform(text: str) -> Platform:
    """Parse ``linux/amd64`` or ``linux/arm/v7``; raise ValueError with the reason."""
    parts = text.strip().split("/")
    if not 2 <= len(parts) <= 3 or not all(_PART.fullmatch(part) for part in parts):
        raise ValueError(f"platform {text!r} must be os/architecture[/variant] in lowercase")
    return Platform(parts[0], parts[1], parts[2] if len(parts) == 3 else None)


def platform_list(platforms: Iterable[Platform]) -> str:
    """The canonical, order-independent spelling of a platform set."""
    return ",".join(sorted({str(platform) for platform in platforms}))


@dataclass(frozen=True, slots=True)
class Manifest:
    """A manifest or index exactly as a registry serves it: the bytes are what the digest hashes."""

    media_type: str
    body: bytes

    @property
    def digest(self) -> str:
        return "sha256:" + hashlib.sha256(self.body).hexdigest()

    @property
    def is_index(self) -> bool:
        return self.media_type in INDEX_TYPES or "manifests" in self.document

    @property
    def document(self) -> dict[str, Any]:
        try:
            data = json.loads(self.body)
        except ValueError:
            data = None
        if not isinstance(data, dict):
            raise UnexpectedResponse("manifest is not a JSON object")
        return data

    def entries(self) -> list[dict[str, Any]]:
        """The index's descriptors (empty for a single manifest)."""
        found = self.document.get("manifests", [])
        return [entry for entry in found if isinstance(entry, dict)]

    def annotation(self, key: str) -> str | None:
        value = self.document.get("annotations", {}).get(key)
        return value if isinstance(value, str) else None


def choose(index: Manifest, platforms: Sequence[Platform]) -> list[dict[str, Any]]:
    """The source index's descriptors for ``platforms`` (and their attestations), in index order.

    A source that is not an index, or lacks a requested platform, is NotFound:
    what was asked for does not exist upstream, and retrying will not change that.
    """
    if not index.is_index:
        raise NotFound("the source is a single-platform image; a platform list needs an index")
    entries = index.entries()
    missing = [str(p) for p in platforms if not any(_is(entry, p) for entry in entries)]
    if missing:
        present = platform_list(_entry_platforms(entries))
        raise NotFound(f"source has no {', '.join(missing)} (it has {present})")
    chosen = {entry["digest"] for entry in entries if any(_is(entry, p) for p in platforms)}
    return [entry for entry in entries if _wanted(entry, chosen)]


def _is(entry: Mapping[str, Any], platform: Platform) -> bool:
    described = entry.get("platform")
    return isinstance(described, dict) and platform.matches(described)


def _wanted(entry: Mapping[str, Any], chosen: set[str]) -> bool:
    refers_to = entry.get("annotations", {}).get(_REFERENCE_ANNOTATION)
    return entry.get("digest") in chosen or refers_to in chosen


def _entry_platforms(entries: Iterable[Mapping[str, Any]]) -> list[Platform]:
    found = []
    for entry in entries:
        described = entry.get("platform", {})
        if described.get("os") and described.get("os") != "unknown":
            os_name, arch = described["os"], described.get("architecture", "")
            found.append(Platform(os_name, arch, described.get("variant")))
    return found


def subset_index(
    source: Manifest, entries: Sequence[Mapping[str, Any]], platforms: Sequence[Platform]
) -> Manifest:
    """The source index with only ``entries``, annotated with where it came from."""
    document = dict(source.document)
    document["manifests"] = list(entries)
    annotations = dict(document.get("annotations", {}))
    annotations[SOURCE_ANNOTATION] = source.digest
    annotations[PLATFORMS_ANNOTATION] = platform_list(platforms)
    document["annotations"] = annotations
    body = json.dumps(document, separators=(",", ":"), sort_keys=True).encode()
    return Manifest(source.media_type, body)


def built_from(destination: Manifest, source_digest: str, platforms: Sequence[Platform]) -> bool:
    """True when ``destination`` is our subset of exactly this source index and platform set."""
    return destination.annotation(SOURCE_ANNOTATION) == source_digest and destination.annotation(
        PLATFORMS_ANNOTATION
    ) == platform_list(platforms)


def same_content(destination: Manifest, entries: Sequence[Mapping[str, Any]]) -> bool:
    """Whether the destination index lists exactly these manifest digests (order aside)."""
    if not destination.is_index:
        return False
    have = sorted(str(entry.get("digest")) for entry in destination.entries())
    return have == sorted(str(entry.get("digest")) for entry in entries)
