"""Amazon ECR (``ACCOUNT.dkr.ecr.REGION.amazonaws.com``).

- Basic challenge: ECR takes ``AWS:<password>`` on every request, the password being a
  token from ``aws ecr get-login-password`` (or ``docker-credential-ecr-login``); the
  challenge is ``Basic realm="https://ACCOUNT.dkr.ecr.REGION.amazonaws.com/",service="ecr.amazonaws.com"``
  (the header's exact wording is *not confirmed* here with the search tool; the Basic
  scheme is: open-policy-agent/opa#6580 shows ``Authorization: Basic`` sent to ECR).
- The password is valid for 12 hours (aws/containers-roadmap#1447, #936), then ECR
  answers 403 ``DENIED`` "Your authorization token has expired. Reauthenticate and try
  again." (gitpod-io/gitpod#1900, bazel-contrib/rules_img#715). Here
  :meth:`Ecr.login_password` issues passwords with a test-sized ``ttl``. A password ECR
  never issued answers 401 with the challenge here (*not confirmed*).
- No ``Docker-Content-Digest`` on manifest GETs (aws/containers-roadmap#1931,
  distribution/distribution#3792, google/containerregistry#10); HEAD keeps it
  (ChangemakerStudios/Docker.Registry.DotNet#34: "HEAD request … did return the
  Docker-Content-Digest header but not with a GET").
- Repositories are not created on push: any request for a repository that was never
  created answers 404 ``NAME_UNKNOWN`` "The repository with name 'NAME' does not exist in
  the registry with id 'ACCOUNT'" (plexsystems/sinker#55, actions/starter-workflows#2647).
  :meth:`Ecr.create_repository` stands in for ``aws ecr create-repository``.
"""

from __future__ import annotations

import secrets
import threading
import time
from collections.abc import Sequence
from typing import Any

from .behaviours import basic, strip_header
from .proxy import Exchange, Personality, Rule
from .tokens import BasicAuth
from .wire import Response, registry_error

REGISTRY_ID = "123456789012"
EXPIRED = "Your authorization token has expired. Reauthenticate and try again."
USER = "AWS"


class Ecr(Personality):
    """``login_password(ttl)`` → a fresh password; ``create_repository(name)``."""

    name = "ecr"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.repositories: set[str] = set(self.options.get("repositories", ()))
        self._passwords: dict[str, float] = {}
        self._lock = threading.Lock()
        realm = f"https://{REGISTRY_ID}.dkr.ecr.us-east-1.amazonaws.com/"
        self.auth = BasicAuth(realm, "ecr.amazonaws.com", self._verify)

    def build_rules(self) -> Sequence[Rule]:
        return [
            *basic(self.auth),
            Rule("repository must be created first", self._repository_exists, path="^/v2/."),
            strip_header("Docker-Content-Digest", ("GET",)),
        ]

    def login_password(self, ttl: float = 12 * 3600) -> str:
        password = secrets.token_urlsafe(24)
        with self._lock:
            self._passwords[password] = time.time() + ttl
        return password

    def create_repository(self, name: str) -> None:
        with self._lock:
            self.repositories.add(name)

    def repository_created(self, repo: str) -> None:
        self.create_repository(repo)

    def _verify(self, exchange: Exchange, user: str, password: str) -> Response | None:
        with self._lock:
            expires = self._passwords.get(password)
        if user != USER or expires is None:
            return self.auth.unauthorized()
        return registry_error(403, "DENIED", EXPIRED) if expires < time.time() else None

    def _repository_exists(self, exchange: Exchange) -> Response | None:
        name = exchange.request.route.name
        with self._lock:
            known = name is None or name in self.repositories
        if known:
            return None
        message = f"The repository with name '{name}' does not exist in the registry with id "
        message += f"'{REGISTRY_ID}'"
        return registry_error(404, "NAME_UNKNOWN", message)
