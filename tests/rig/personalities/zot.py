"""zot (project-zot/zot), as a destination.

- zot stores OCI: Docker media types are accepted only when the configuration
  enables them (zotregistry.dev, "articles/docker": Docker manifests need the
  ``compat: ["docker2s2"]`` setting of the HTTP section). A push of a Docker
  manifest list or v2s2 manifest to a zot without it is refused, and so is an OCI
  index whose children are Docker manifests (the children are pushed first and
  refused). The answer here is 415 ``MANIFEST_INVALID``; *not confirmed*: the exact
  status and code (zot's route handler checks the ``Content-Type`` against the
  storage's supported media types).
- zot predicts the digest a converted manifest will have because comparing the
  source's digest with a converted copy made its own sync re-copy forever
  (project-zot/zot ``pkg/extensions/sync/README_digest_prediction.md``): the
  problem imgsync's record tags solve (``imgsync.core.manifest_format``).
"""

from __future__ import annotations

from collections.abc import Sequence

from .formats import DOCKER_LIST, DOCKER_MANIFEST, manifest_invalid, media_types, refuses_manifests
from .proxy import Personality, Rule

REFUSAL = "unsupported manifest media type (Docker types need compat docker2s2)"


class Zot(Personality):
    """Options: ``docker_compat`` (accept Docker media types, as zot's ``compat`` setting)."""

    name = "zot"

    def build_rules(self) -> Sequence[Rule]:
        if self.options.get("docker_compat"):
            return []
        refused = media_types(DOCKER_LIST, DOCKER_MANIFEST)
        return [
            refuses_manifests("Docker media types refused", refused, manifest_invalid(415, REFUSAL))
        ]
