"""Harbor (goharbor).

- Robot accounts are named ``robot$NAME`` (``robot$PROJECT+NAME`` for project robots
  in Harbor ≥ 2.2) and log in with Basic credentials like users
  (goharbor/harbor PR#7111 docs, PR#6823 ``"robot$" + name``; goharbor/harbor#7944 and
  #15757: shells and Compose eat the ``$`` unless it is quoted or written ``$$``).
- The project — the first path component — must exist; Harbor does not create it on
  push ("users has to explicitly create a project first prior to pushing",
  goharbor/harbor#20544; #966, #890, harbor-helm#849). A push (or pull) into a missing
  project gets no access from the token service and the registry answers 401
  ``UNAUTHORIZED`` "unauthorized to access repository: NAME, action: push: unauthorized
  to access repository: NAME, action: push" (the Harbor 2.x wording in
  goharbor/harbor#21373 and #13988). A name without a project component is refused the
  same way (goharbor/harbor#19814, #2391). :meth:`Harbor.create_project` stands in for
  the project API; seeding a repository creates its project.
- A missing artifact in an existing project is 404 ``NOT_FOUND`` "artifact NAME:TAG not
  found", not ``MANIFEST_UNKNOWN`` (plexsystems/sinker#35).
- Token realm ``/service/token``, service ``harbor-registry`` (goharbor/harbor#1576 log
  ``/service/token?scope=…&service=token-service`` shows the path; the service name is
  Harbor's default). Anonymous callers pull only projects listed in ``public``.
- Robot accounts need the delete permission granted explicitly ("Unable to delete
  artifacts with robot account", goharbor/harbor#15904; #16133): without it a manifest
  DELETE answers 401 ``UNAUTHORIZED`` "unauthorized to access repository: NAME, action:
  delete: …" (the wording in werf/werf#5651). Accounts in the option ``no_delete`` are
  such robots.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any

from .behaviours import READS, bearer, not_found_becomes
from .proxy import Exchange, Personality, Rule
from .tokens import Access, BearerAuth, Scope
from .wire import Response, registry_error


class Harbor(Personality):
    """Options: ``projects`` (existing ones), ``public`` (projects anonymous callers pull)."""

    name = "harbor"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.projects: set[str] = set(self.options.get("projects", ()))
        self.public: set[str] = set(self.options.get("public", ()))
        self._lock = threading.Lock()
        self.auth = BearerAuth(
            "/service/token", "harbor-registry", self._grant, _unauthorized_to_access
        )

    def build_rules(self) -> Sequence[Rule]:
        return [
            *bearer(self.auth),
            not_found_becomes(
                404, "NOT_FOUND", _artifact_not_found, methods=READS, kind="manifests"
            ),
            Rule("robot without delete permission", _no_delete, methods=("DELETE",)),
        ]

    def create_project(self, name: str) -> None:
        with self._lock:
            self.projects.add(name)

    def repository_created(self, repo: str) -> None:
        self.create_project(repo.partition("/")[0])

    def project_of(self, name: str) -> str | None:
        project, slash, _ = name.partition("/")
        with self._lock:
            return project if slash and project in self.projects else None

    def _grant(self, _: Personality, account: str | None, scopes: list[Scope]) -> Access:
        return {s.name: self._actions(account, s) for s in scopes}

    def _actions(self, account: str | None, scope: Scope) -> frozenset[str]:
        project = self.project_of(scope.name)
        if project is None:
            return frozenset()
        if account is not None:
            return scope.actions & {"pull", "push", "delete"}
        return scope.actions & {"pull"} if project in self.public else frozenset()


def _unauthorized_to_access(exchange: Exchange, name: str, action: str) -> Response:
    auth = exchange.personality.auth  # type: ignore[attr-defined]
    assert isinstance(auth, BearerAuth)
    challenge = auth.challenge(exchange, auth.scope_for(exchange), "insufficient_scope")
    once = f"unauthorized to access repository: {name}, action: {action}"
    return registry_error(401, "UNAUTHORIZED", f"{once}: {once}", {"WWW-Authenticate": challenge})


def _artifact_not_found(exchange: Exchange) -> str:
    route = exchange.request.route
    separator = "@" if route.by_digest else ":"
    return f"artifact {route.name}{separator}{route.ref} not found"


def _no_delete(exchange: Exchange) -> Response | None:
    """A DELETE by an account without the delete permission: Harbor's 401 for ``delete``."""
    if exchange.account not in exchange.personality.options.get("no_delete", ()):
        return None
    return _unauthorized_to_access(exchange, str(exchange.request.route.name), "delete")
