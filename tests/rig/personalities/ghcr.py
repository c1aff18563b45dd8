"""GitHub Container Registry (``ghcr.io``).

- Anonymous tokens for public images: ``GET /token?scope=repository:OWNER/NAME:pull``
  without credentials answers a token, as the Docker Hub-style flow does; the challenge
  is ``Bearer realm="https://ghcr.io/token",service="ghcr.io"``. Packages listed in
  ``private`` need an account.
- A package that does not exist (or that the caller may not read) answers 403
  ``DENIED`` "requested access to the resource is denied", not 404: the body is quoted in
  bytecodealliance/wasm-pkg-tools#37 ("a missing package results in an auth error … an
  annoying implementation quirk of ghcr.io"); ``HEAD …/manifests/latest`` → ``denied``
  in ricoberger/echoserver#13 and getwud/wud#478. *Not confirmed:* whether GHCR refuses
  at the token endpoint or on the registry request; this personality issues the token
  and refuses the request.
- No repository catalog: GHCR does not implement ``GET /v2/_catalog``
  (oras-project/oras-go#621, "Github Container Registry doesn't seem to support listing
  repositories through the /v2/_catalog API"; GitHub's own answer for its earlier Docker
  registry, "we don't support the _catalog endpoint", microsoft/vscode-docker#1525,
  which saw "404 page not found"). *Not confirmed:* GHCR's exact status and body; this
  personality answers 404 ``NOT_FOUND`` "404 page not found" after the token check.
- An OCI index requested without the OCI index type in ``Accept`` answers 404
  ``MANIFEST_UNKNOWN`` "OCI index found, but accept header does not support OCI
  indexes" — distribution's own check (registry/handlers/manifests.go), reported
  against GHCR-hosted images in NotGlop/docker-drag#41 and openshift/oc-mirror#677.
  Applied here explicitly so it does not depend on the upstream's version.
- No deletes through the registry API: ``DELETE …/manifests/<tag or digest>`` answers 405
  ``UNSUPPORTED`` (containers/skopeo#1880); packages are deleted through the GitHub
  packages API (``DELETE /user|orgs/{org}/packages/container/{name}/versions/{id}``),
  which this personality does not stand in for.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from .behaviours import accept_must_cover, answer, bearer
from .proxy import Exchange, Personality, Rule
from .tokens import Access, BearerAuth, Scope
from .wire import Response, registry_error

DENIED = "requested access to the resource is denied"


class Ghcr(Personality):
    """Options: ``private`` (packages anonymous callers may not pull)."""

    name = "ghcr"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.private: set[str] = set(self.options.get("private", ()))
        self.auth = BearerAuth("/token", "ghcr.io", self._grant, _denied)

    def build_rules(self) -> Sequence[Rule]:
        return [
            *bearer(self.auth),
            answer("no catalog: 404", _no_catalog, path="^/v2/_catalog"),
            accept_must_cover(),
            answer("manifest DELETE: 405 UNSUPPORTED", _unsupported, methods=("DELETE",)),
        ]

    def _grant(self, _: Personality, account: str | None, scopes: list[Scope]) -> Access:
        return {s.name: self._actions(account, s) for s in scopes}

    def _actions(self, account: str | None, scope: Scope) -> frozenset[str]:
        if account is not None:
            return scope.actions & {"pull", "push", "delete"}
        if scope.name in self.private or not self.upstream_has(scope.name):
            return frozenset()
        return scope.actions & {"pull"}


def _denied(exchange: Exchange, name: str, action: str) -> Response:
    return registry_error(403, "DENIED", DENIED)


def _unsupported(exchange: Exchange) -> Response:
    return registry_error(405, "UNSUPPORTED", "The operation is unsupported.")


def _no_catalog(_: Exchange) -> Response:
    return registry_error(404, "NOT_FOUND", "404 page not found")
