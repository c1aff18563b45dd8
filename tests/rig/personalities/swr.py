"""Huawei Cloud SWR (SoftWare Repository for Container, ``swr.REGION.myhuaweicloud.com``).

- Bearer tokens: the challenge is ``Bearer realm="https://swr.cn-north-4.myhuaweicloud.com/swr/auth/v2/registry/auth/",service="dockyard"``
  and the login user is ``REGION@ACCESS_KEY`` with a login key as password (the log quoted
  in 404name/image-upload-portal's README, found with the search tool; Huawei's "Obtaining
  a Long-Term Login Command", support.huaweicloud.com usermanual-swr swr_01_1000, for the
  ``docker login -u REGION@AK -p LOGIN_KEY swr.REGION.myhuaweicloud.com`` form). Here the
  realm is ``/swr/auth/v2/registry/auth/`` on the personality.
- An image belongs to an organization (its first path component; the rest of the name may
  contain ``/``: support.huaweicloud.com swr_faq_2006), and the organization must exist
  before a push ("Organization Management", swr_03_0018; an account has only a few,
  swr_03_0007). :meth:`Swr.create_organization` stands in for the console or
  ``POST /v2/manage/namespaces``; seeding a repository creates its organization.
- A push the account may not make is refused with 401 and code ``DENIED`` "you do not have
  the permission" (the wording of a refused pull in kweaver-ai/kweaver-core#55). *Not
  confirmed*: that a push into a missing organization gets exactly this answer, and that
  the token service grants ``pull`` (without ``push``) rather than refusing the token.
- OCI image indexes are refused on push ("Invalid image, fail to parse 'manifest.json'",
  AliyunContainerService/image-syncer#161, where image-syncer's OCI-index copies into SWR
  failed so); Docker manifest lists and v2s2 manifests are accepted. *Not confirmed*: the
  HTTP status and code (400 ``MANIFEST_INVALID`` here), and whether single OCI image
  manifests are refused too (accepted here).
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any

from ..oci import OCI_INDEX
from .behaviours import bearer
from .formats import manifest_invalid, media_types, refuses_manifests
from .proxy import Exchange, Personality, Rule
from .tokens import Access, BearerAuth, Scope
from .wire import Response, registry_error

REALM = "/swr/auth/v2/registry/auth/"
SERVICE = "dockyard"
NO_PERMISSION = "you do not have the permission"
INVALID = "Invalid image, fail to parse 'manifest.json'"


class Swr(Personality):
    """Options: ``organizations`` (existing ones). Push needs an account (``accounts``)."""

    name = "swr"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.organizations: set[str] = set(self.options.get("organizations", ()))
        self._lock = threading.Lock()
        self.auth = BearerAuth(REALM, SERVICE, self._grant, _no_permission)

    def build_rules(self) -> Sequence[Rule]:
        return [
            *bearer(self.auth),
            refuses_manifests(
                "OCI indexes refused", media_types(OCI_INDEX), manifest_invalid(400, INVALID)
            ),
        ]

    def create_organization(self, name: str) -> None:
        with self._lock:
            self.organizations.add(name)

    def repository_created(self, repo: str) -> None:
        self.create_organization(repo.partition("/")[0])

    def accepts_push(self, name: str) -> bool:
        """An organization that exists, then a name."""
        organization, slash, _ = name.partition("/")
        with self._lock:
            return bool(slash) and organization in self.organizations

    def _grant(self, _: Personality, account: str | None, scopes: list[Scope]) -> Access:
        return {s.name: self._actions(account, s) for s in scopes}

    def _actions(self, account: str | None, scope: Scope) -> frozenset[str]:
        pushable = account is not None and self.accepts_push(scope.name)
        return scope.actions & ({"pull", "push"} if pushable else {"pull"})


def _no_permission(exchange: Exchange, name: str, action: str) -> Response:
    auth = exchange.personality.auth  # type: ignore[attr-defined]
    assert isinstance(auth, BearerAuth)
    challenge = auth.challenge(exchange, auth.scope_for(exchange), "insufficient_scope")
    return registry_error(401, "DENIED", NO_PERMISSION, {"WWW-Authenticate": challenge})
