"""Aliyun ACR Personal Edition (``registry.REGION.aliyuncs.com``,
``crpi-ID.REGION.personal.cr.aliyuncs.com``).

- Bearer tokens from ``https://dockerauth.REGION.aliyuncs.com/auth``, service
  ``registry.aliyuncs.com:REGION:26842``: the challenge
  ``Bearer realm="https://dockerauth.cn-hangzhou.aliyuncs.com/auth",service="registry.aliyuncs.com:cn-hangzhou:26842"``
  is quoted in public clients' code and scripts (found with the search tool; e.g. the
  token URL ``dockerauth.cn-hangzhou.aliyuncs.com/auth?scope=repository:…:pull&service=
  registry.aliyuncs.com:cn-hangzhou:26842``). Here the realm is ``/auth`` on the personality.
- A repository is ``namespace/repository``, one level below the namespace, and the
  namespace must exist before a push; repositories are created on push
  (alibabacloud.com/help/en/acr, "Terms" and "Manage namespaces"; imdingtalk/image-mirror#1408:
  "TARGET_NAMESPACE … 需要在阿里云先创建好这个命名空间" — the namespace has to be created in the
  console first). :meth:`Acr.create_namespace` stands in for the console; seeding a
  repository creates its namespace.
- Such a push is refused with what clients print as ``denied: requested access to the
  resource is denied`` (docker/cli#4833 after a successful ``docker login`` to ACR;
  imdingtalk/image-mirror#1408, where image-syncer's blob check into a
  ``crpi-….personal.cr.aliyuncs.com`` namespace got "requested access to the resource is
  denied"). The token service grants no push on such a name, and the registry answers
  401 with ``error="insufficient_scope"`` and code ``DENIED``: distribution's client maps
  that challenge to exactly this message. *Not confirmed*: the HTTP status (401 or 403)
  and whether the token request itself is refused; neither issue shows the raw exchange.
  That a three-level path is refused the same way is reported in issue 14's notes
  (skopeo: "initiating layer upload … denied") and not confirmed from a public source.
- Pulls: any name may be asked for; a missing repository answers the upstream's 404
  ``NAME_UNKNOWN`` (the code a public note reports for ``tags/list`` of a missing ACR
  repository; *not confirmed* for manifests). Anonymous callers pull, as from a public
  repository (``crpi-`` instances allow no anonymous pulls; not modelled).
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any

from .behaviours import bearer
from .proxy import Exchange, Personality, Rule
from .tokens import Access, BearerAuth, Scope
from .wire import Response, registry_error

SERVICE = "registry.aliyuncs.com:cn-hangzhou:26842"
DENIED = "requested access to the resource is denied"


class Acr(Personality):
    """Options: ``namespaces`` (existing ones). Push needs an account (``accounts``)."""

    name = "acr"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.namespaces: set[str] = set(self.options.get("namespaces", ()))
        self._lock = threading.Lock()
        self.auth = BearerAuth("/auth", SERVICE, self._grant, _denied)

    def build_rules(self) -> Sequence[Rule]:
        return [*bearer(self.auth)]

    def create_namespace(self, name: str) -> None:
        with self._lock:
            self.namespaces.add(name)

    def repository_created(self, repo: str) -> None:
        self.create_namespace(repo.partition("/")[0])

    def accepts_push(self, name: str) -> bool:
        """``namespace/repository`` exactly, in a namespace that exists."""
        namespace, slash, repository = name.partition("/")
        with self._lock:
            known = namespace in self.namespaces
        return bool(slash) and "/" not in repository and known

    def _grant(self, _: Personality, account: str | None, scopes: list[Scope]) -> Access:
        return {s.name: self._actions(account, s) for s in scopes}

    def _actions(self, account: str | None, scope: Scope) -> frozenset[str]:
        pushable = account is not None and self.accepts_push(scope.name)
        return scope.actions & ({"pull", "push"} if pushable else {"pull"})


def _denied(exchange: Exchange, name: str, action: str) -> Response:
    auth = exchange.personality.auth  # type: ignore[attr-defined]
    assert isinstance(auth, BearerAuth)
    scope = f"repository:{name}:{'pull' if action == 'pull' else 'pull,push'}"
    challenge = auth.challenge(exchange, scope, "insufficient_scope")
    return registry_error(401, "DENIED", DENIED, {"WWW-Authenticate": challenge})
