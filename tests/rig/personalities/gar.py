"""Google Artifact Registry / Container Registry (``REGION-docker.pkg.dev``, ``gcr.io``).

- A token that lacks the scope a request needs answers 403, not 401 with a new
  challenge: "instead of giving a 401 with the new scope needed, they go directly to
  403" (regclient/regclient#149, "GCR doesn't return a challenge when auth token has
  insufficient scope"). The body is Artifact Registry's ``DENIED`` "Permission
  \\"artifactregistry.repositories.downloadArtifacts\\" denied on resource
  \\"projects/P/locations/L/repositories/R\\" (or it may not exist)"
  (terraform-google-modules/terraform-google-kubernetes-engine#1779); pushes name
  ``uploadArtifacts`` (GoogleCloudPlatform/cymbal-superstore#4).
- Multi-scope token requests cause trouble: "me including multiple scopes in the auth
  request is very likely causing issues with GCR" (regclient#149, Google's answer);
  containerd/containerd#4379 "GCR authentication error with multiple scopes". How GCR
  fails is *not confirmed*; this token service grants the first repository scope of a
  request only, so a client that batches scopes gets 403 for the others.
- No token at all: 401 ``Bearer realm="https://REGION-docker.pkg.dev/v2/token",service="REGION-docker.pkg.dev"``
  (realm path as in google-github-actions/auth#206 and GoogleContainerTools/skaffold#6743).
  Accounts are ``oauth2accesstoken`` / ``_json_key`` with an access token as password;
  anonymous callers pull only repositories listed in ``public``.
- Deletes: ``DELETE /v2/NAME/manifests/TAG`` deletes the tag alone (OCI distribution 1.1;
  ``gcloud artifacts docker tags delete``), and a digest that still has a tag is refused
  with 400 ``GOOGLE_MANIFEST_DANGLING_TAG`` "Manifest is still referenced by tag: TAG":
  "delete the tag first" (genuinetools/reg#136). Tag deletes are emulated over the
  upstream by :class:`~.behaviours.TagDeletes`. The exact message is *not confirmed*.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from .behaviours import TagDeletes, bearer
from .proxy import Exchange, Personality, Rule
from .tokens import Access, BearerAuth, Scope
from .wire import Response, registry_error

PERMISSION = {"pull": "downloadArtifacts", "push": "uploadArtifacts", "delete": "deleteArtifacts"}


class Gar(Personality):
    """Options: ``public`` (repositories anonymous callers may pull)."""

    name = "gar"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.public: set[str] = set(self.options.get("public", ()))
        self.tag_deletes = TagDeletes()
        self.auth = BearerAuth(
            "/v2/token", "us-docker.pkg.dev", self._grant_first, _permission_denied
        )

    def build_rules(self) -> Sequence[Rule]:
        return [
            *bearer(self.auth),
            Rule(
                "a tagged digest is not deleted",
                on_request=self._dangling_tag,
                methods=("DELETE",),
                kind="manifests",
            ),
            *self.tag_deletes.rules(),
        ]

    def _dangling_tag(self, exchange: Exchange) -> Response | None:
        route = exchange.request.route
        if not route.by_digest:
            return None
        tags = self.tag_deletes.visible_tags(exchange)
        if isinstance(tags, Response):
            return None
        for tag in tags:
            answer = self.upstream_get(f"/v2/{route.name}/manifests/{tag}")
            if answer.headers.get("docker-content-digest") == route.ref:
                message = f"Manifest is still referenced by tag: {tag}"
                return registry_error(400, "GOOGLE_MANIFEST_DANGLING_TAG", message)
        return None

    def _grant_first(self, _: Personality, account: str | None, scopes: list[Scope]) -> Access:
        """One repository scope per token request: the first; the rest get nothing."""
        if not scopes:
            return {}
        first = scopes[0]
        if account is not None:
            return {first.name: first.actions & {"pull", "push", "delete"}}
        return {first.name: first.actions & {"pull"} if first.name in self.public else frozenset()}


def _permission_denied(exchange: Exchange, name: str, action: str) -> Response:
    project, _, rest = name.partition("/")
    repository = rest.partition("/")[0] or project
    resource = f"projects/{project}/locations/us/repositories/{repository}"
    permission = f"artifactregistry.repositories.{PERMISSION.get(action, action)}"
    return registry_error(
        403,
        "DENIED",
        f'Permission "{permission}" denied on resource "{resource}" (or it may not exist)',
    )
