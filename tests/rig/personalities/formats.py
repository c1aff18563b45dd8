"""Manifest types a registry refuses on push: one rule, configured per personality.

Each personality module cites its registry's behaviour; this module only checks a
manifest PUT's ``Content-Type`` (and, for an OCI index, its children's media types)
against what the registry refuses, and answers the refusal without asking the
upstream, so nothing of the refused manifest is stored.
"""

from __future__ import annotations

import json
from collections.abc import Callable

from ..oci import OCI_INDEX
from .proxy import Exchange, Rule
from .wire import Response, registry_error

DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
DOCKER_TYPES = frozenset({DOCKER_LIST, DOCKER_MANIFEST})

#: Media type and body of a pushed manifest → refused?
Refusal = Callable[[str, bytes], bool]


def media_types(*refused: str) -> Refusal:
    """Refuse these top-level media types."""
    return lambda media_type, _: media_type in refused


def index_of_docker_manifests(media_type: str, body: bytes) -> bool:
    """An OCI index listing Docker v2s2 manifests (what Quay refuses)."""
    if media_type != OCI_INDEX:
        return False
    entries = json.loads(body).get("manifests", [])
    return any(entry.get("mediaType") in DOCKER_TYPES for entry in entries)


def refuses_manifests(why: str, refused: Refusal, answer: Callable[[], Response]) -> Rule:
    """A manifest PUT whose type ``refused`` names is answered by ``answer``."""

    def check(exchange: Exchange) -> Response | None:
        media_type = exchange.request.headers.get("content-type").split(";")[0].strip()
        return answer() if refused(media_type, exchange.request.body) else None

    return Rule(why, on_request=check, methods=("PUT",), kind="manifests")


def manifest_invalid(
    status: int = 400, message: str = "manifest invalid"
) -> Callable[[], Response]:
    return lambda: registry_error(status, "MANIFEST_INVALID", message)
