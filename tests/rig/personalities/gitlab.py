"""GitLab container registry (``registry.gitlab.com``).

- No referrers API: ``GET /v2/NAME/referrers/DIGEST`` → 404 (oras-project/oras-go#1396,
  "Referrers API is not implemented", a curl transcript against registry.gitlab.com).
- A ``sha256-<hex>`` reference — the referrers *tag schema*'s tag — resolves to the
  manifest ``sha256:<hex>``, i.e. to the subject itself, instead of being looked up as a
  tag (same issue: "If a registry resolves the reference <alg>-<hex> to the manifest
  <alg>:<hex> … GitLab's container registry behaves exactly this way"). Applied to
  manifest reads; what GitLab does with a *push* to such a tag is *not confirmed*.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from .behaviours import READS, no_referrers_api
from .proxy import Exchange, Personality, Rule
from .wire import Response

_DIGEST_TAG = re.compile(r"^(?P<alg>sha256)-(?P<hex>[0-9a-f]{64})$")


class GitLab(Personality):
    name = "gitlab"

    def build_rules(self) -> Sequence[Rule]:
        return [
            no_referrers_api(),
            Rule(
                "sha256-<hex> resolves to the digest",
                _digest_tag_as_digest,
                methods=READS,
                kind="manifests",
            ),
        ]


def _digest_tag_as_digest(exchange: Exchange) -> Response | None:
    route = exchange.request.route
    found = _DIGEST_TAG.match(route.ref)
    if found is not None:
        exchange.forward_target = f"/v2/{route.name}/manifests/{found['alg']}:{found['hex']}"
    return None
