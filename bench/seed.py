"""Seed N distinct two-platform images fast, straight over HTTP to the registries.

Pushing with skopeo costs about 0.1 s per image here; a full run needs over two thousand
images, so this module pushes blobs and manifests itself, directly to each registry's own
port (no proxy, no latency: seeding is set-up, not measurement). The content is the test
rig's deterministic OCI images (:mod:`tests.rig.oci`): same name and version, same digests.
"""

from __future__ import annotations

import gzip
import threading
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from urllib.parse import urljoin

import requests
from tests.rig.oci import (
    OCI_CONFIG,
    OCI_INDEX,
    OCI_LAYER_GZIP,
    OCI_MANIFEST,
    Platform,
    canonical_json,
    image_config,
    layer_tar,
    platform_json,
    sha256_digest,
)
from tests.rig.registry import Registry

TWO_PLATFORMS: tuple[Platform, ...] = (("linux", "amd64", None), ("linux", "arm64", None))
SEED_THREADS = 8
TIMEOUT = 30.0


@dataclass(frozen=True)
class Blob:
    media_type: str
    data: bytes

    @property
    def digest(self) -> str:
        return sha256_digest(self.data)

    def descriptor(self, **extra: object) -> dict[str, object]:
        return {
            "mediaType": self.media_type,
            "digest": self.digest,
            "size": len(self.data),
            **extra,
        }


@dataclass(frozen=True)
class Image:
    """Everything one multi-platform image consists of, in push order."""

    blobs: tuple[Blob, ...]
    manifests: tuple[Blob, ...]
    index: Blob


def build_image(name: str, version: str, platforms: Sequence[Platform] = TWO_PLATFORMS) -> Image:
    """The rig's image for ``name``/``version``: one layer and config per platform, an index."""
    blobs: list[Blob] = []
    manifests: list[Blob] = []
    entries = []
    for platform in platforms:
        tar = layer_tar(name, version, platform)
        layer = Blob(OCI_LAYER_GZIP, gzip.compress(tar, compresslevel=6, mtime=0))
        config_json = image_config(name, version, platform, sha256_digest(tar))
        config = Blob(OCI_CONFIG, canonical_json(config_json))
        manifest = Blob(
            OCI_MANIFEST,
            canonical_json(
                {
                    "schemaVersion": 2,
                    "mediaType": OCI_MANIFEST,
                    "config": config.descriptor(),
                    "layers": [layer.descriptor()],
                }
            ),
        )
        blobs += [layer, config]
        manifests.append(manifest)
        entries.append(manifest.descriptor(platform=platform_json(platform)))
    index = Blob(
        OCI_INDEX,
        canonical_json({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": entries}),
    )
    return Image(tuple(blobs), tuple(manifests), index)


class Pusher:
    """Pushes images to one registry on its own port; tokens come straight from the rig."""

    def __init__(self, registry: Registry, verify: str | bool = True) -> None:
        self.registry = registry
        self.verify = verify
        self._local = threading.local()

    def _session(self) -> requests.Session:
        session: requests.Session | None = getattr(self._local, "session", None)
        if session is None:
            session = self._local.session = requests.Session()
            session.trust_env = False
            session.verify = self.verify
            if self.registry.credentials and self.registry.kind == "htpasswd":
                session.auth = self.registry.credentials
        return session

    def _headers(self, repo: str) -> dict[str, str]:
        """A push token minted in-process for token registries; Basic is on the session."""
        server = self.registry.token_server
        if server is None:
            return {}
        token, _ = server.issue(self.registry.username, [f"repository:{repo}:pull,push"])
        return {"Authorization": f"Bearer {token}"}

    def push(self, repo: str, tag: str, image: Image) -> str:
        """Push blobs, platform manifests and the index as ``repo:tag``; return its digest."""
        headers = self._headers(repo)
        for blob in image.blobs:
            self._blob(repo, blob, headers)
        for manifest in image.manifests:
            self._manifest(repo, manifest.digest, manifest, headers)
        self._manifest(repo, tag, image.index, headers)
        return image.index.digest

    def retag(self, repo: str, tags: Iterable[str], image: Image) -> int:
        """PUT ``image``'s index under more tags of ``repo`` (pushed there already)."""
        headers = self._headers(repo)
        done = 0
        for tag in tags:
            self._manifest(repo, tag, image.index, headers)
            done += 1
        return done

    def _blob(self, repo: str, blob: Blob, headers: dict[str, str]) -> None:
        base = f"{self.registry.url}/v2/{repo}/blobs/"
        session = self._session()
        started = session.post(base + "uploads/", headers=headers, timeout=TIMEOUT)
        started.raise_for_status()
        location = urljoin(self.registry.url, started.headers["Location"])
        joiner = "&" if "?" in location else "?"
        put_headers = {**headers, "Content-Type": "application/octet-stream"}
        done = session.put(
            f"{location}{joiner}digest={blob.digest}",
            data=blob.data,
            headers=put_headers,
            timeout=TIMEOUT,
        )
        done.raise_for_status()

    def _manifest(self, repo: str, ref: str, blob: Blob, headers: dict[str, str]) -> None:
        url = f"{self.registry.url}/v2/{repo}/manifests/{ref}"
        response = self._session().put(
            url,
            data=blob.data,
            headers={**headers, "Content-Type": blob.media_type},
            timeout=TIMEOUT,
        )
        response.raise_for_status()


@dataclass(frozen=True)
class SeedJob:
    """Push image ``name``/``version`` to ``repo:tag``."""

    repo: str
    name: str
    version: str
    tag: str = "latest"


def seed_many(
    registry: Registry,
    jobs: Iterable[SeedJob],
    *,
    verify: str | bool = True,
    threads: int = SEED_THREADS,
) -> int:
    """Push every job, ``threads`` at a time; return how many were pushed."""
    pusher = Pusher(registry, verify)

    def one(job: SeedJob) -> str:
        return pusher.push(job.repo, job.tag, build_image(job.name, job.version))

    with ThreadPoolExecutor(threads) as pool:
        return sum(1 for _ in pool.map(one, list(jobs)))


def seed_tags(
    registry: Registry,
    layout: dict[str, list[str]],
    image: Image,
    *,
    verify: str | bool = True,
    threads: int = SEED_THREADS,
) -> int:
    """One image under many tags: pushed once per repository, then only its index PUT.

    ``layout`` maps repository to tags; the first tag gets the full push. This seeds ten
    thousand in-sync references in seconds where distinct images would take minutes.
    """
    pusher = Pusher(registry, verify)

    def one(item: tuple[str, list[str]]) -> int:
        repo, tags = item
        pusher.push(repo, tags[0], image)
        return 1 + pusher.retag(repo, tags[1:], image)

    with ThreadPoolExecutor(threads) as pool:
        return sum(pool.map(one, list(layout.items())))
