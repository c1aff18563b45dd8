"""What a converted copy must still have in common with its source, decided without I/O.

Why not the digest: converting between Docker v2s2 and OCI rewrites every manifest,
so the destination can never serve the source's digest. What conversion keeps is
what a pull uses: the set of platforms, and per platform the layer blobs, byte for
byte (the same digests). The config blob is kept byte for byte when converting to
Docker v2s2; converting to OCI re-encodes it (containers/image parses the Docker
config and marshals an OCI one: seen here with skopeo 1.9.3, the config digest
changes while the layers do not), so its digest is compared only where it survives.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from imgsync.core.platforms import Manifest

#: A platform's content: its config digest and its layer digests, in order.
Content = tuple[str, tuple[str, ...]]
ManifestLookup = Callable[[str], Manifest]


def contents(top: Manifest, child: ManifestLookup) -> dict[str, Content]:
    """Platform → content of an index (children read with ``child``) or a single manifest."""
    if not top.is_index:
        return {"": _content(top.document)}
    found: dict[str, Content] = {}
    for entry in top.entries():
        key = _platform_key(entry.get("platform"))
        if key != "unknown/unknown":  # attestations are not images; they are not converted
            found[key] = _content(child(str(entry.get("digest"))).document)
    return found


def differences(
    source: Mapping[str, Content], written: Mapping[str, Content], *, configs_kept: bool
) -> list[str]:
    """Why ``written`` is not a faithful conversion of ``source``; empty when it is."""
    if set(source) != set(written):
        return [f"platforms {_listed(written)} written, the source has {_listed(source)}"]
    if not configs_kept:
        source, written = _layers_only(source), _layers_only(written)
    return [
        _difference(key, source[key], written[key])
        for key in sorted(source)
        if source[key] != written[key]
    ]


def _layers_only(found: Mapping[str, Content]) -> dict[str, Content]:
    return {key: ("", layers) for key, (_, layers) in found.items()}


def _difference(platform: str, source: Content, written: Content) -> str:
    where = platform or "the image"
    if source[0] != written[0]:
        return f"{where}: config {written[0]} written, the source has {source[0]}"
    return f"{where}: layers {', '.join(written[1])} written, the source has {', '.join(source[1])}"


def _content(document: Mapping[str, Any]) -> Content:
    config = document.get("config", {})
    layers = document.get("layers", [])
    digests = tuple(str(layer.get("digest")) for layer in layers if isinstance(layer, dict))
    return str(config.get("digest") if isinstance(config, dict) else None), digests


def _platform_key(platform: object) -> str:
    if not isinstance(platform, dict):
        return "unknown/unknown"
    parts = (platform.get("os"), platform.get("architecture"), platform.get("variant"))
    return "/".join(str(part) for part in parts if part)


def _listed(found: Mapping[str, Content]) -> str:
    return ",".join(sorted(key or "(single)" for key in found)) or "none"
