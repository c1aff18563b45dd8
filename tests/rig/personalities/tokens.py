"""Bearer and Basic authentication as registries do it, for personalities to configure.

Tokens are opaque random strings mapped to a :class:`Grant` (clients must treat tokens
as opaque anyway), so each personality decides per scope what it grants and how it
refuses a token that lacks one — Docker Hub with 401 ``insufficient_scope``, GCR/GAR
with 403, Harbor with its own 401 message. The flow is the distribution token spec:
``GET /v2/`` → 401 ``WWW-Authenticate: Bearer realm,service[,scope]`` →
``GET realm?service=…&scope=repository:NAME:ACTIONS`` (Basic credentials or none) →
``{"token", "access_token", "expires_in", "issued_at"}`` → ``Authorization: Bearer``.
"""

from __future__ import annotations

import base64
import json
import secrets
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from ..token_server import AuthError, parse_basic
from .wire import Response, json_response, registry_error

if TYPE_CHECKING:
    from .proxy import Exchange, Personality

Access = dict[str, frozenset[str]]


@dataclass(frozen=True)
class Scope:
    """``repository:NAME:ACTIONS`` from a token request."""

    name: str
    actions: frozenset[str]

    @classmethod
    def parse(cls, text: str) -> Scope | None:
        kind, _, rest = text.partition(":")
        name, _, actions = rest.rpartition(":")
        if kind != "repository" or not name:
            return None
        return cls(name, frozenset(a for a in actions.split(",") if a))


@dataclass(frozen=True)
class Grant:
    account: str | None
    access: Mapping[str, frozenset[str]]
    expires: float

    def allows(self, name: str, action: str) -> bool:
        granted = self.access.get(name, frozenset())
        return action in granted or "*" in granted


@dataclass(frozen=True)
class TokenCall:
    """One token request: who asked, for which service and scopes, and what it got."""

    account: str | None
    service: str
    scopes: tuple[str, ...]
    status: int
    granted: tuple[str, ...] = ()


@dataclass
class TokenStore:
    _grants: dict[str, Grant] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def issue(self, grant: Grant, audience: str = "") -> str:
        """A JWT-shaped token with the ``aud`` and ``access`` claims distribution's token
        server writes (docs/spec/auth/jwt.md; the rig's token_server signs the same claims);
        the signature part is random: the personality looks tokens up, never verifies them."""
        claims = {
            "aud": audience,
            "exp": int(grant.expires),
            "access": [
                {"type": "repository", "name": name, "actions": sorted(actions)}
                for name, actions in grant.access.items()
            ],
        }
        token = f"{_b64({'typ': 'JWT', 'alg': 'none'})}.{_b64(claims)}.{secrets.token_urlsafe(24)}"
        with self._lock:
            self._grants[token] = grant
        return token

    def find(self, token: str) -> Grant | None:
        with self._lock:
            grant = self._grants.get(token)
        return grant if grant is not None and grant.expires > time.time() else None


def _b64(value: object) -> str:
    return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")


def action_for(method: str) -> str:
    """The scope action a request needs, as distribution maps methods."""
    if method in ("GET", "HEAD"):
        return "pull"
    return "delete" if method == "DELETE" else "push"


def requested_scopes(values: list[str]) -> list[Scope]:
    """Every ``scope`` parameter; some clients put several in one, space-separated."""
    found = (Scope.parse(part) for value in values for part in value.split())
    return [scope for scope in found if scope is not None]


GrantPolicy = Callable[["Personality", str | None, list[Scope]], Access | Response]
Refusal = Callable[["Exchange", str, str], Response]


@dataclass(frozen=True)
class BearerAuth:
    """A token service at ``realm_path`` on the personality, and the check on ``/v2/``."""

    realm_path: str
    service: str
    policy: GrantPolicy
    refuse: Refusal
    expires_in: int = 300

    def challenge(self, exchange: Exchange, scope: str = "", error: str = "") -> str:
        parts = [
            f'realm="{exchange.personality.url}{self.realm_path}"',
            f'service="{self.service}"',
        ]
        parts += [f'scope="{scope}"'] if scope else []
        parts += [f'error="{error}"'] if error else []
        return "Bearer " + ",".join(parts)

    def scope_for(self, exchange: Exchange) -> str:
        name = exchange.request.route.name
        if name is None:
            return ""
        action = action_for(exchange.request.method)
        return f"repository:{name}:{'pull' if action == 'pull' else 'pull,push'}"

    def unauthorized(self, exchange: Exchange) -> Response:
        header = {"WWW-Authenticate": self.challenge(exchange, self.scope_for(exchange))}
        return registry_error(401, "UNAUTHORIZED", "authentication required", header)

    def check(self, exchange: Exchange) -> Response | None:
        """Let a request through when its token grants what it needs."""
        _, _, token = exchange.request.headers.get("authorization").partition("Bearer ")
        grant = exchange.personality.tokens.find(token.strip()) if token else None
        if grant is None:
            return self.unauthorized(exchange)
        exchange.account = grant.account
        name, action = exchange.request.route.name, action_for(exchange.request.method)
        if name is None or grant.allows(name, action):
            return None
        return self.refuse(exchange, name, action)

    def serve_token(self, exchange: Exchange) -> Response:
        """The realm: authenticate, ask the policy, sign nothing (tokens are opaque)."""
        personality, query = exchange.personality, exchange.request.query
        service, raw = query.get("service", [""])[0], query.get("scope", [])
        try:
            account = personality.authenticate(exchange.request.headers.get("authorization"))
        except AuthError as exc:
            personality.stats.record(TokenCall(None, service, tuple(raw), 401))
            return registry_error(401, "UNAUTHORIZED", str(exc))
        exchange.account = account
        access = self.policy(personality, account, requested_scopes(raw))
        if isinstance(access, Response):
            personality.stats.record(TokenCall(account, service, tuple(raw), access.status))
            return access
        return self._token(exchange, account, access, (service, tuple(raw)))

    def _token(
        self,
        exchange: Exchange,
        account: str | None,
        access: Access,
        asked: tuple[str, tuple[str, ...]],
    ) -> Response:
        grant = Grant(account, access, time.time() + self.expires_in)
        token = exchange.personality.tokens.issue(grant, asked[0])
        granted = tuple(f"{name}:{','.join(sorted(a))}" for name, a in access.items() if a)
        exchange.personality.stats.record(TokenCall(account, asked[0], asked[1], 200, granted))
        issued = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        body = {
            "token": token,
            "access_token": token,
            "expires_in": self.expires_in,
            "issued_at": issued,
        }
        return json_response(200, body)


@dataclass(frozen=True)
class BasicAuth:
    """``WWW-Authenticate: Basic``; ``verify`` may refuse credentials that parse (ECR expiry)."""

    realm: str
    service: str
    verify: Callable[[Exchange, str, str], Response | None]

    def unauthorized(self, message: str = "Not Authorized") -> Response:
        challenge = f'Basic realm="{self.realm}",service="{self.service}"'
        return registry_error(401, "UNAUTHORIZED", message, {"WWW-Authenticate": challenge})

    def check(self, exchange: Exchange) -> Response | None:
        try:
            creds = parse_basic(exchange.request.headers.get("authorization") or None)
        except AuthError:
            creds = None
        if creds is None:
            return self.unauthorized()
        exchange.account = creds[0]
        return self.verify(exchange, *creds)
