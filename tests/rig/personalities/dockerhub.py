"""Docker Hub (``registry-1.docker.io``), as its documentation and users report it.

- Token service with ``service``/``scope``: the 401 challenge is
  ``Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:NAME:pull"``
  and the token answer is ``{"token", "access_token", "expires_in", "issued_at"}``
  (docker/hub-feedback#2094, docker-archive/docker-registry#1071). The realm lives on
  this personality's own port (``/token``), not on a second host as auth.docker.io does.
- A repository that does not exist (or is private to someone else) is not a 404: the
  token service grants nothing and the registry answers 401 with
  ``error="insufficient_scope"`` and the ``UNAUTHORIZED`` body with a ``detail`` entry
  (distribution/distribution#1291, jupyterhub/binderhub#1664 "Docker Hub now returns 401
  for missing repos"). In the account's own namespace a missing repository is a plain
  404, as #1291 describes for ``dmp42/bar``.
- Pull metering: each manifest ``GET`` is one pull, ``HEAD`` is free; both carry
  ``ratelimit-limit: N;w=21600``, ``ratelimit-remaining: M;w=21600`` and
  ``docker-ratelimit-source``; a spent budget answers manifest GETs with 429
  ``TOOMANYREQUESTS`` "You have reached your pull rate limit…", while HEAD still
  answers 200 with remaining 0 (docs.docker.com/docker-hub/usage/pulls, "Version
  checks"/HEAD not counted; a HEAD with ``ratelimit-remaining: 0;w=21600`` and 200 in
  gist.github.com/jeversol/369009aaad4cd2cd8e2610fa68d4c4be). Accounts in
  ``unmetered`` (paid plans) get no headers (same docs). ``blank_limit=True`` sends
  ``ratelimit-limit: ;w=21600`` with an empty count, a shape reported in
  docker/hub-feedback#2081 — *not confirmed here* with the search tool.
- No repository catalog: ``GET /v2/_catalog`` answers 401 with a challenge for
  ``scope="registry:catalog:*"``; a token for that scope is issued, and the request
  with it answers 401 again with ``error="insufficient_scope"`` (docker/hub-feedback#2094,
  with and without credentials), the body ``UNAUTHORIZED`` "authentication required" with
  ``detail: [{"Type": "registry", "Class": "", "Name": "catalog", "Action": "*"}]``
  (genuinetools/reg#71, #86: "you can't list on docker hub").
- Blob GETs answer 307 to a CDN host (``production.cloudflare.docker.com``); here
  :class:`~.cdn.CdnStandIn`, which refuses requests that carry ``Authorization``.
  Which answer Cloudflare gives a request with credentials is *not confirmed*; the
  stand-in answers as S3 does (see :mod:`.cdn`).
- Deletes: the registry API deletes only untagged manifests; "If a manifest is still
  referenced, the registry returns ``403 Forbidden``" (docs.docker.com registry API
  ``DeleteImageManifest``, docker/docs#24078), and a tag DELETE answers 405
  ``UNSUPPORTED`` "The operation is unsupported." (docker/hub-feedback#1759: "delete the
  tag from the Hub API ``DELETE hub.docker.com/v2/repositories/{repo}/tags/{tag}``").
  The 500 a delete may answer while it finishes in the background is not modelled.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any, Self

from .behaviours import READS, all_tags, bearer
from .cdn import CdnStandIn
from .proxy import Exchange, Personality, Rule
from .tokens import Access, BearerAuth, Scope
from .wire import Response, registry_error

WINDOW = 21600
SERVICE = "registry.docker.io"
TOO_MANY = (
    "You have reached your pull rate limit. You may increase the limit by authenticating "
    "and upgrading: https://www.docker.com/increase-rate-limit"
)


class DockerHub(Personality):
    """Options: ``limit`` (pulls per identity, default 100), ``unmetered`` (accounts),
    ``private`` (repositories only their namespace's account may pull), ``blank_limit``."""

    name = "dockerhub"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.limit = int(self.options.get("limit", 100))
        self.unmetered: set[str] = set(self.options.get("unmetered", ()))
        self.private: set[str] = set(self.options.get("private", ()))
        self.pulls: dict[str, int] = {}
        self._meter_lock = threading.Lock()
        self.cdn = CdnStandIn(self.upstream, self.workdir)
        self.auth = BearerAuth("/token", SERVICE, self._grant, _insufficient_scope)

    def build_rules(self) -> Sequence[Rule]:
        return [
            Rule("no catalog: 401 insufficient_scope", _no_catalog, path="^/v2/_catalog"),
            *bearer(self.auth),
            Rule("pull rate limit", self._spend, self._meter, methods=READS, kind="manifests"),
            Rule("blob GET → 307 to the CDN", self._redirect_blob, methods=("GET",), kind="blobs"),
            Rule("only untagged manifests are deleted", self._untagged_only, methods=("DELETE",)),
        ]

    def _untagged_only(self, exchange: Exchange) -> Response | None:
        route = exchange.request.route
        if route.kind != "manifests":
            return None
        if not route.by_digest:
            return registry_error(405, "UNSUPPORTED", "The operation is unsupported.")
        tags = all_tags(exchange)
        tags = [] if isinstance(tags, Response) else tags
        for tag in tags:
            found = self.upstream_get(f"/v2/{route.name}/manifests/{tag}")
            if found.headers.get("docker-content-digest") == route.ref:
                return registry_error(403, "DENIED", "manifest is referenced by a tag")
        return None

    def start(self) -> Self:
        self.cdn.start()
        super().start()
        return self

    def stop(self) -> None:
        super().stop()
        self.cdn.stop()

    def remaining(self, identity: str) -> int:
        with self._meter_lock:
            return self.limit - self.pulls.get(identity, 0)

    # ------------------------------------------------------------------ token service

    def _grant(self, _: Personality, account: str | None, scopes: list[Scope]) -> Access:
        return {s.name: self._actions(account, s) for s in scopes}

    def _actions(self, account: str | None, scope: Scope) -> frozenset[str]:
        if account is not None and scope.name.split("/")[0] == account:
            return scope.actions & {"pull", "push", "delete"}
        if scope.name in self.private or not self.upstream_has(scope.name):
            return frozenset()
        return scope.actions & {"pull"}

    # ------------------------------------------------------------------ metering

    def _spend(self, exchange: Exchange) -> Response | None:
        identity = exchange.account or "anonymous"
        if exchange.request.method != "GET" or identity in self.unmetered:
            return None
        with self._meter_lock:
            spent = self.pulls.get(identity, 0)
            if spent >= self.limit:
                return registry_error(
                    429, "TOOMANYREQUESTS", TOO_MANY, self._headers(identity, spent)
                )
            self.pulls[identity] = spent + 1
        return None

    def _meter(self, exchange: Exchange, response: Response) -> Response:
        identity = exchange.account or "anonymous"
        if identity in self.unmetered:
            return response
        with self._meter_lock:
            if exchange.request.method == "GET" and response.status != 200:
                self.pulls[identity] -= 1  # only a served manifest is a pull
            for key, value in self._headers(identity, self.pulls.get(identity, 0)).items():
                response.headers.set(key, value)
        return response

    def _headers(self, identity: str, spent: int) -> dict[str, str]:
        limit = "" if self.options.get("blank_limit") else str(self.limit)
        return {
            "ratelimit-limit": f"{limit};w={WINDOW}",
            "ratelimit-remaining": f"{max(self.limit - spent, 0)};w={WINDOW}",
            "docker-ratelimit-source": identity if identity != "anonymous" else "127.0.0.1",
        }

    # ------------------------------------------------------------------ blobs

    def _redirect_blob(self, exchange: Exchange) -> Response | None:
        route = exchange.request.route
        if not route.by_digest or route.name is None:
            return None  # upload sessions stay on the registry
        return Response.of(307, {"Location": self.cdn.signed_url(route.name, route.ref)})


def _insufficient_scope(exchange: Exchange, name: str, action: str) -> Response:
    auth = exchange.personality.auth  # type: ignore[attr-defined]
    assert isinstance(auth, BearerAuth)
    challenge = auth.challenge(exchange, auth.scope_for(exchange), "insufficient_scope")
    detail = [{"Type": "repository", "Class": "", "Name": name, "Action": action}]
    return registry_error(
        401,
        "UNAUTHORIZED",
        "authentication required",
        {"WWW-Authenticate": challenge},
        detail=detail,
    )


CATALOG_SCOPE = "registry:catalog:*"


def _no_catalog(exchange: Exchange) -> Response:
    """The catalog challenge, and ``insufficient_scope`` to whatever token comes back."""
    auth = exchange.personality.auth  # type: ignore[attr-defined]
    assert isinstance(auth, BearerAuth)
    has_token = exchange.request.headers.get("authorization").startswith("Bearer ")
    error = "insufficient_scope" if has_token else ""
    challenge = auth.challenge(exchange, CATALOG_SCOPE, error)
    detail = [{"Type": "registry", "Class": "", "Name": "catalog", "Action": "*"}]
    return registry_error(
        401,
        "UNAUTHORIZED",
        "authentication required",
        {"WWW-Authenticate": challenge},
        detail=detail,
    )
