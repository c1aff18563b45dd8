"""Registries that do not answer ``HEAD`` on manifests (GET works).

- :class:`Legacy` — GitHub Enterprise Server's package registry (and the old
  ``docker.pkg.github.com``): manifest ``HEAD`` → 405 Method Not Allowed with a short
  JSON body (containerd/containerd#5860, whose dump shows ``405`` with
  ``content-length: 52``, and containerd#3291). The body's text is *not confirmed*.
- :class:`LegacyForbidden` — ``registry.centos.org``: manifest ``HEAD`` → 403
  (containerd/containerd PR#6684, "the registry does not support HEAD queries for
  manifests … it returns StatusForbidden (403)").
"""

from __future__ import annotations

from collections.abc import Sequence

from .behaviours import head_refused
from .proxy import Personality, Rule

NOT_ALLOWED = b'{"errors":[{"code":"UNSUPPORTED","message":"405"}]}'


class Legacy(Personality):
    name = "legacy"

    def build_rules(self) -> Sequence[Rule]:
        return [head_refused(405, NOT_ALLOWED)]


class LegacyForbidden(Personality):
    name = "legacy_forbidden"

    def build_rules(self) -> Sequence[Rule]:
        return [head_refused(403)]
