"""JFrog Artifactory (virtual Docker repositories).

- A tag that does not exist answers 403, not 404, when the virtual repository has a
  member the caller may not read: "Artifactory will return a 403 for non-existent tags
  if you are using virtual repositories" (google/go-containerregistry#1691, first
  reported 2017). The body, from sigstore/cosign#2973: ``{"errors":[{"code":"UNAUTHORIZED",
  "message":"The client does not have permission for manifest: Download request for
  repo:path '…/list.manifest.json' is forbidden for user: '…'.","detail":{"manifest":NAME}}]}``.
  Applied to manifest reads by tag (a missing *digest* stays 404 — *not confirmed*).
"""

from __future__ import annotations

from collections.abc import Sequence

from .behaviours import READS
from .proxy import Exchange, Personality, Rule
from .wire import Response, registry_error

VIRTUAL = "docker-virtual"


class Artifactory(Personality):
    name = "artifactory"

    def build_rules(self) -> Sequence[Rule]:
        return [
            Rule("missing tag: 403", on_response=_forbidden_tag, methods=READS, kind="manifests")
        ]


def _forbidden_tag(exchange: Exchange, response: Response) -> Response:
    route = exchange.request.route
    if response.status != 404 or route.by_digest:
        return response
    path = f"{VIRTUAL}-cache:{route.name}/{route.ref}/list.manifest.json"
    message = (
        f"The client does not have permission for manifest: Download request for repo:path "
        f"'{path}' is forbidden for user: 'anonymous'."
    )
    return registry_error(403, "UNAUTHORIZED", message, detail={"manifest": route.name})
