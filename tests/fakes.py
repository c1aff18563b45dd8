"""In-memory stand-ins for the pipeline's ports: registry, copier, pull estimator, clock.

The pure pipeline (``core/pipeline.py``, ``core/subset.py``) is typed against small
Protocols; these fakes implement them with dictionaries and record every request,
so a unit test can say both what a mapping ended as and what it asked for (an
immutable item's source must never be asked). No binaries, no network, no sleeps.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from enum import Enum
from typing import Any

from imgsync.core.platforms import Manifest
from imgsync.core.reference import ImageReference

OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"


def digest_of(text: str) -> str:
    """A well-formed sha256 digest named after ``text``, so failures read well."""
    return "sha256:" + hashlib.sha256(text.encode()).hexdigest()


def pinned(ref: ImageReference, digest: str) -> ImageReference:
    """``ref`` by digest alone, as the pipeline copies it."""
    return replace(ref, tag=None, digest=digest)


class Lands(Enum):
    """What a copy or a PUT leaves at the destination, besides another digest or manifest."""

    AS_SENT = "what was sent"
    NOTHING = "nothing"


@dataclass
class FakeRegistry:
    """Tags and manifests by reference text; every request is logged as ``(verb, ref)``.

    Implements both ``DigestReader`` (the plain path) and ``ManifestStore`` (the
    platform subset). ``put_lands`` is what a PUT leaves behind: what was sent, nothing,
    or another manifest (a registry that loses or rewrites the index). ``fail_with`` is
    raised by every request (a registry that refuses us).
    """

    digests: dict[str, str] = field(default_factory=dict)
    manifests: dict[str, Manifest] = field(default_factory=dict)
    requests: list[tuple[str, str]] = field(default_factory=list)
    put_lands: Lands | Manifest = Lands.AS_SENT
    fail_with: Exception | None = None

    def head_digest(self, ref: ImageReference) -> str | None:
        self._log("HEAD", ref)
        manifest = self.manifests.get(str(ref))
        return manifest.digest if manifest is not None else self.digests.get(str(ref))

    def head_digests(self, refs: Sequence[ImageReference]) -> list[str | None]:
        return [self.head_digest(ref) for ref in refs]

    def get_manifest(self, ref: ImageReference) -> Manifest | None:
        self._log("GET", ref)
        return self.manifests.get(str(ref))

    def put_manifest(self, ref: ImageReference, manifest: Manifest) -> str:
        self._log("PUT", ref)
        stored = manifest if self.put_lands is Lands.AS_SENT else self.put_lands
        if isinstance(stored, Manifest):
            self.manifests[str(ref)] = stored
        return manifest.digest

    def serve(self, ref: ImageReference, manifest: Manifest) -> None:
        """Serve ``manifest`` at ``ref``'s tag and by its digest, as a registry does."""
        self.manifests[str(ref)] = manifest
        self.manifests[str(pinned(ref, manifest.digest))] = manifest

    def asked_about(self, ref: ImageReference) -> list[tuple[str, str]]:
        """Every request that touched ``ref``'s repository, by tag or by digest."""
        return [(verb, text) for verb, text in self.requests if _same_repository(text, ref)]

    def verbs(self, verb: str) -> list[str]:
        return [text for seen, text in self.requests if seen == verb]

    def _log(self, verb: str, ref: ImageReference) -> None:
        self.requests.append((verb, str(ref)))
        if self.fail_with is not None:
            raise self.fail_with


def _same_repository(text: str, ref: ImageReference) -> bool:
    return text == ref.name or text.startswith((f"{ref.name}:", f"{ref.name}@"))


@dataclass
class DigestOnlyRegistry:
    """A ``DigestReader`` that cannot read whole manifests (no platform subsets)."""

    digests: dict[str, str] = field(default_factory=dict)

    def head_digest(self, ref: ImageReference) -> str | None:
        return self.digests.get(str(ref))

    def head_digests(self, refs: Sequence[ImageReference]) -> list[str | None]:
        return [self.head_digest(ref) for ref in refs]


@dataclass
class FakeCopier:
    """Records each ``(source, destination)``; a copy writes into ``registry`` and its log.

    ``lands`` says what the destination then serves: the source digest (a faithful
    copy), nothing, or another digest (a copy that went wrong). ``raises`` is raised
    instead of copying (a quota guard, skopeo, a time limit).
    """

    registry: FakeRegistry | None = None
    lands: Lands | str = Lands.AS_SENT
    raises: BaseException | None = None
    calls: list[tuple[str, str]] = field(default_factory=list)

    def copy(
        self, source: ImageReference, destination: ImageReference, convert_to: object = None
    ) -> str | None:
        self.calls.append((str(source), str(destination)))
        if self.raises is not None:
            raise self.raises
        if self.registry is not None:
            self.registry.requests.append(("COPY", str(destination)))
        if self.registry is not None and self.lands is not Lands.NOTHING:
            written = source.digest if self.lands is Lands.AS_SENT else self.lands
            self.registry.digests[str(destination)] = str(written)
        return None


@dataclass
class FakeEstimator:
    """A metered registry: every copy of a source costs ``cost`` pulls."""

    cost: int
    asked: list[str] = field(default_factory=list)

    def pulls(self, source: ImageReference) -> int:
        self.asked.append(str(source))
        return self.cost


@dataclass
class FakeClock:
    """Returns ``times`` one after the other: a duration is then exact."""

    times: list[float]

    def __call__(self) -> float:
        return self.times.pop(0)


Entry = tuple[str, str, str | None] | dict[str, Any]


def index(entries: Iterable[Entry], **annotations: str) -> Manifest:
    """An OCI index with one descriptor per ``(platform, manifest name, refers_to)``.

    ``refers_to`` names the manifest an attestation entry (``unknown/unknown``) describes;
    a dict is taken as the descriptor itself (for odd entries registries do serve).
    """
    document: dict[str, Any] = {"schemaVersion": 2, "mediaType": OCI_INDEX}
    document["manifests"] = [e if isinstance(e, dict) else _descriptor(*e) for e in entries]
    if annotations:
        document["annotations"] = annotations
    return Manifest(OCI_INDEX, json.dumps(document, sort_keys=True).encode())


def _descriptor(platform: str, name: str, refers_to: str | None) -> dict[str, Any]:
    os_name, architecture, *variant = platform.split("/")
    described = {"os": os_name, "architecture": architecture}
    described.update({"variant": variant[0]} if variant else {})
    entry: dict[str, Any] = {"mediaType": OCI_MANIFEST, "digest": digest_of(name), "size": 1}
    entry["platform"] = described
    if refers_to is not None:
        entry["annotations"] = {"vnd.docker.reference.digest": digest_of(refers_to)}
    return entry


def single_manifest(name: str) -> Manifest:
    """A single-platform image manifest (not an index)."""
    document = {"schemaVersion": 2, "mediaType": OCI_MANIFEST, "layers": [], "name": name}
    return Manifest(OCI_MANIFEST, json.dumps(document, sort_keys=True).encode())
