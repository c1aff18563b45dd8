"""Deterministic OCI image layouts built in pure Python, and pushing them with skopeo.

Same arguments give the same digests (fixed mtimes, gzip mtime=0, sorted JSON), so a test
can predict a digest and a new `version` always changes it.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import re
import tarfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .authfile import write_auths
from .registry import Registry
from .skopeo import skopeo_copy

Platform = tuple[str, str, str | None]
DEFAULT_PLATFORMS: tuple[Platform, ...] = (
    ("linux", "amd64", None),
    ("linux", "arm64", None),
    ("linux", "arm", "v7"),
)
SeedImage = Callable[..., str]
"""Type of the `seed_image` fixture: (registry, repo, tag, version=..., platforms=...) -> digest."""
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_LAYER_GZIP = "application/vnd.oci.image.layer.v1.tar+gzip"
REF_NAME = "org.opencontainers.image.ref.name"
FIXED_MTIME = 1_700_000_000
CREATED = "2023-11-14T22:13:20Z"


@dataclass(frozen=True)
class Descriptor:
    """An OCI content descriptor for a blob written into the layout."""

    media_type: str
    digest: str
    size: int

    def as_json(self, **extra: Any) -> dict[str, Any]:
        """Descriptor JSON, with optional platform/annotations fields."""
        return {"mediaType": self.media_type, "digest": self.digest, "size": self.size, **extra}


def canonical_json(obj: object) -> bytes:
    """Stable bytes for a JSON document, so digests do not depend on dict order."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":")).encode("utf-8")


def sha256_digest(data: bytes) -> str:
    """`sha256:<hex>` digest of raw bytes."""
    return "sha256:" + hashlib.sha256(data).hexdigest()


def platform_string(platform: Platform) -> str:
    """`os/arch[/variant]`, the form `list_platforms` returns."""
    os_name, arch, variant = platform
    return f"{os_name}/{arch}/{variant}" if variant else f"{os_name}/{arch}"


def write_blob(layout: Path, data: bytes, media_type: str) -> Descriptor:
    """Store a blob under blobs/sha256 and describe it."""
    digest = sha256_digest(data)
    path = layout / "blobs" / "sha256" / digest.split(":", 1)[1]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return Descriptor(media_type, digest, len(data))


def layer_tar(name: str, version: str, platform: Platform) -> bytes:
    """An uncompressed tar with one file naming image, version and platform."""
    content = f"{name} {version} {platform_string(platform)}\n".encode()
    info = tarfile.TarInfo(f"etc/imgsync-{name}")
    info.size, info.mtime, info.mode = len(content), FIXED_MTIME, 0o644
    info.uid = info.gid = 0
    info.uname = info.gname = "root"
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.USTAR_FORMAT) as tar:
        tar.addfile(info, io.BytesIO(content))
    return buf.getvalue()


def image_config(name: str, version: str, platform: Platform, diff_id: str) -> dict[str, Any]:
    """OCI config blob with the platform fields and rootfs diff_ids."""
    os_name, arch, variant = platform
    config: dict[str, Any] = {
        "created": CREATED,
        "architecture": arch,
        "os": os_name,
        "config": {"Labels": {"org.opencontainers.image.version": version, "name": name}},
        "rootfs": {"type": "layers", "diff_ids": [diff_id]},
        "history": [{"created": CREATED, "created_by": "imgsync test rig"}],
    }
    if variant:
        config["variant"] = variant
    return config


def write_image(
    layout: Path,
    name: str,
    version: str,
    platform: Platform,
    *,
    tar: bytes | None = None,
    compresslevel: int = 6,
) -> Descriptor:
    """Write layer, config and manifest for one platform; return the manifest descriptor.

    The layer is :func:`layer_tar`'s unless ``tar`` is given (a big one compresses faster
    at a lower ``compresslevel``).
    """
    tar = layer_tar(name, version, platform) if tar is None else tar
    layer = write_blob(
        layout, gzip.compress(tar, compresslevel=compresslevel, mtime=0), OCI_LAYER_GZIP
    )
    config_json = image_config(name, version, platform, sha256_digest(tar))
    config = write_blob(layout, canonical_json(config_json), OCI_CONFIG)
    manifest = {
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": config.as_json(),
        "layers": [layer.as_json()],
    }
    return write_blob(layout, canonical_json(manifest), OCI_MANIFEST)


def platform_json(platform: Platform) -> dict[str, str]:
    """The `platform` object of an index entry."""
    os_name, arch, variant = platform
    out = {"architecture": arch, "os": os_name}
    if variant:
        out["variant"] = variant
    return out


def write_index(layout: Path, entries: Sequence[tuple[Descriptor, Platform]]) -> Descriptor:
    """Write the multi-platform image index blob."""
    index = {
        "schemaVersion": 2,
        "mediaType": OCI_INDEX,
        "manifests": [d.as_json(platform=platform_json(p)) for d, p in entries],
    }
    return write_blob(layout, canonical_json(index), OCI_INDEX)


def write_layout_root(layout: Path, top: Descriptor, tag: str) -> None:
    """oci-layout marker plus index.json pointing `tag` at the top descriptor."""
    (layout / "oci-layout").write_bytes(canonical_json({"imageLayoutVersion": "1.0.0"}))
    root = {"schemaVersion": 2, "manifests": [top.as_json(annotations={REF_NAME: tag})]}
    (layout / "index.json").write_bytes(canonical_json(root))


def build_layout(
    dest_dir: str | Path,
    *,
    name: str = "demo",
    version: str = "1",
    platforms: Sequence[Platform] = DEFAULT_PLATFORMS,
    single: bool = False,
    tag: str = "latest",
) -> str:
    """Build an OCI layout at dest_dir and return the digest of its top manifest.

    Multi-platform (the default) gives an OCI index; `single=True` with one platform
    gives a plain image manifest. The layout's index.json names it `tag`.
    """
    layout = Path(dest_dir)
    layout.mkdir(parents=True, exist_ok=True)
    if single and len(platforms) != 1:
        raise ValueError("single=True needs exactly one platform")
    entries = [(write_image(layout, name, version, p), p) for p in platforms]
    top = entries[0][0] if single else write_index(layout, entries)
    write_layout_root(layout, top, tag)
    return top.digest


def _slug(text: str) -> str:
    """Filesystem-safe fragment for layout directory names."""
    return re.sub(r"[^A-Za-z0-9._-]+", "_", text)


def push_layout(registry: Registry, layout: Path, repo: str, tag: str, tmp_path: Path) -> None:
    """Copy an OCI layout to the registry with skopeo, credentials via a 0600 auth file."""
    authfile = None
    if registry.credentials:
        authfile = write_auths(
            tmp_path / f"auth-{registry.port}.json", {registry.host: registry.credentials}
        )
    dest = f"docker://{registry.host}/{repo}:{tag}"
    skopeo_copy(f"oci:{layout}:{tag}", dest, dest_authfile=authfile).check()


def push_index(
    registry: Registry,
    layout: Path,
    entries: Sequence[tuple[Descriptor, Platform]],
    ref: tuple[str, str],
    tmp_path: Path,
) -> str:
    """Index the platform images ``entries`` in ``layout`` and push it as ``ref`` (repo, tag).

    Returns the index digest.
    """
    repo, tag = ref
    top = write_index(layout, entries)
    write_layout_root(layout, top, tag)
    push_layout(registry, layout, repo, tag, tmp_path)
    return top.digest


def seed(
    registry: Registry,
    repo: str,
    tag: str,
    *,
    version: str = "1",
    platforms: Sequence[Platform] = DEFAULT_PLATFORMS,
    tmp_path: Path,
    name: str = "demo",
    single: bool = False,
) -> str:
    """Build a test image and push it as REPO:TAG; return its (index) digest."""
    layout = tmp_path / f"layout-{_slug(name)}-{_slug(version)}-{_slug(tag)}-{len(platforms)}"
    layout = layout.with_name(layout.name + ("-single" if single else ""))
    digest = build_layout(
        layout, name=name, version=version, platforms=platforms, single=single, tag=tag
    )
    push_layout(registry, layout, repo, tag, tmp_path)
    return digest
