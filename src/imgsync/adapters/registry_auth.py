"""Registry authentication: ``WWW-Authenticate`` challenges, bearer tokens, Basic credentials.

Kept apart from the HTTP client so the token logic can be read (and reasoned
about for thread safety) on its own. The client owns the transport and the
retries; this module only decides which ``Authorization`` header to send and
fetches tokens through a callable the client hands in.

Secrets never leave this module except inside an ``Authorization`` header:
error messages name the registry, the user and the scope, never a password
or a token.
"""

from __future__ import annotations

import base64
import json
import logging
import threading
import time
from collections.abc import Callable, Collection, Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING
from urllib.parse import urlencode, urlsplit

from imgsync.adapters.challenge import Challenge, challenge_of
from imgsync.adapters.http_response import HttpResponse
from imgsync.adapters.ratelimit import HttpRequest
from imgsync.errors import AuthError, UnexpectedResponse

if TYPE_CHECKING:
    from imgsync.adapters.credentials import Credential

log = logging.getLogger(__name__)

DEFAULT_EXPIRES_IN = 60.0
"""Token lifetime when the token service does not say (Docker token spec)."""

TokenFetch = Callable[[HttpRequest], HttpResponse]
"""The client's retrying send, for requests to the token service."""

TokenKey = tuple[str, str, str]
"""``(realm, service, scope)``: a token is only valid for exactly this triple."""


def basic_authorization(credential: Credential) -> str:
    """The ``Authorization`` value for HTTP Basic."""
    raw = f"{credential.username}:{credential.secret}".encode()
    return "Basic " + base64.b64encode(raw).decode("ascii")


class TokenCache:
    """Bearer tokens per ``(realm, service, scope)``, dropped shortly before they expire.

    One lock per key makes concurrent requests for the same scope wait for the
    single token fetch in flight instead of each asking the token service.
    """

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._tokens: dict[TokenKey, tuple[str, float]] = {}
        self._locks: dict[TokenKey, threading.Lock] = {}
        self._guard = threading.Lock()

    def get(self, key: TokenKey) -> str | None:
        """The cached token, unless it is about to expire."""
        with self._guard:
            token, fresh_until = self._tokens.get(key, ("", 0.0))
        return token if token and self._clock() < fresh_until else None

    def put(self, key: TokenKey, token: str, expires_in: float) -> None:
        """Keep ``token`` until a margin (≤ 30 s, ≤ a fifth of its life) before expiry."""
        fresh_until = self._clock() + expires_in - min(30.0, expires_in / 5)
        with self._guard:
            self._tokens[key] = (token, fresh_until)

    def discard(self, key: TokenKey, token: str) -> None:
        """Forget ``token`` if it is still the cached one (another thread may have renewed it)."""
        with self._guard:
            if token and self._tokens.get(key, ("", 0.0))[0] == token:
                del self._tokens[key]

    def discard_tokens(self, tokens: Collection[str]) -> None:
        """Forget every cached entry holding one of ``tokens``."""
        with self._guard:
            for key in [k for k, (token, _) in self._tokens.items() if token in tokens]:
                del self._tokens[key]

    def get_or_fetch(self, key: TokenKey, fetch: Callable[[], tuple[str, float]]) -> str:
        """The cached token, or the one ``fetch`` returns (fetched once for all waiters)."""
        with self._guard:
            lock = self._locks.setdefault(key, threading.Lock())
        with lock:
            token = self.get(key)
            if token is None:
                token, expires_in = fetch()
                self.put(key, token, expires_in)
            return token


def parse_token_response(
    response: HttpResponse, who: str, scope: str, *, now: Callable[[], float] = time.time
) -> tuple[str, float]:
    """``(token, seconds it stays valid)`` from a token service answer, or its error.

    The life counts from ``issued_at`` when the answer has one (distribution's client
    does the same), so a token that waited in a cache upstream is not kept too long.
    """
    if response.status_code in (401, 403):
        raise AuthError(
            f"token service {urlsplit(response.url).netloc} refused {who} for {scope}: "
            "check the credentials configured for this registry",
            url=response.url,
            status=response.status_code,
        )
    if response.status_code != 200:
        raise UnexpectedResponse(
            f"token service answered HTTP {response.status_code} for {scope}",
            url=response.url,
            status=response.status_code,
        )
    body = json_object(response, "token service")
    token = body.get("token") or body.get("access_token")
    if not isinstance(token, str):
        raise UnexpectedResponse("token service sent no token", url=response.url, status=200)
    return token, token_life(body, now())


def token_life(body: Mapping[str, object], now: float) -> float:
    """Seconds left of a token: ``expires_in`` (default 60 s) from ``issued_at`` (or now).

    An ``issued_at`` in the future (a clock ahead of ours) counts as now.
    """
    issued = _issued_at(body.get("issued_at"))
    age = max(0.0, now - issued) if issued is not None else 0.0
    return max(0.0, _expires_in(body.get("expires_in")) - age)


def _expires_in(value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
        return DEFAULT_EXPIRES_IN
    return float(value)


def _issued_at(value: object) -> float | None:
    """``issued_at`` (RFC 3339, often with nanoseconds) as a POSIX time; None if absent or bad.

    Go's zero time (``0001-01-01T00:00:00Z``, what an unset field marshals to) is absent.
    """
    if not isinstance(value, str):
        return None
    try:
        stamp = datetime.fromisoformat(value)
    except ValueError:
        return None
    return stamp.timestamp() if stamp.tzinfo is not None and stamp.year > 1 else None


def json_object(response: HttpResponse, what: str) -> dict[str, object]:
    """The body as a JSON object; HTML error pages and the like become UnexpectedResponse."""
    try:
        body = json.loads(response.content)
    except ValueError:
        body = None
    if not isinstance(body, dict):
        kind = response.headers.get("Content-Type", "no content type")
        raise UnexpectedResponse(
            f"{what} sent a non-JSON body ({kind})", url=response.url, status=response.status_code
        )
    return body


def _bearer_token(headers: Mapping[str, str]) -> str:
    """The token of a ``Bearer`` ``Authorization`` header, or ``""``."""
    value = headers.get("Authorization", "")
    return value.removeprefix("Bearer ") if value.startswith("Bearer ") else ""


class Authenticator:
    """Decides the ``Authorization`` header for each request to one registry.

    Before any 401 it sends nothing; once the registry has challenged, it
    answers pre-emptively (cached bearer token or Basic), which saves one
    round trip per request.
    """

    def __init__(
        self,
        fetch: TokenFetch,
        credential: Credential | None,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._fetch = fetch
        self._credential = credential
        self._tokens = TokenCache(clock)
        self._bearer: Challenge | None = None
        self._basic = False
        self._guard = threading.Lock()
        self._batched: set[str] = set()  # tokens fetched for several scopes at once
        self._after_403: set[str] = set()  # tokens fetched because a 403 asked for a fresh one

    @property
    def who(self) -> str:
        """``user 'name'`` or ``anonymous``, for messages (never the secret)."""
        return f"user {self._credential.username!r}" if self._credential else "anonymous"

    def learn(self, response: HttpResponse) -> None:
        """Remember how the registry challenged an anonymous ping, before any real request.

        Threads that start together then all answer up front, instead of each meeting
        its own 401. A challenge imgsync cannot answer is left for a real request to report.
        """
        challenge = challenge_of(response) if response.status_code == 401 else None
        if challenge is not None and challenge.scheme == "bearer":
            self._key(challenge, "", response.url)  # a bad realm raises AuthError here
            self._bearer = challenge
        elif challenge is not None and self._credential is not None:
            self._basic = True

    def prefetch(self, scopes: Sequence[str]) -> None:
        """One token for all of ``scopes`` (the token spec allows ``scope`` repeated), cached
        under each: 200 repositories then cost a handful of token requests, not 200.

        A scope the token service left out of the grant (private, or not there) is met by
        the registry's 401; the client then asks for that scope alone, as without prefetch.
        """
        if self._bearer is None or not scopes:
            return
        keys = [self._key(self._bearer, scope, "") for scope in scopes]
        token, expires_in = self._request_token(keys[0][0], keys[0][1], tuple(scopes))
        if len(keys) > 1:
            with self._guard:
                self._batched.add(token)
        for key in keys:
            self._tokens.put(key, token, expires_in)

    def refresh(self, scope: str, sent: Mapping[str, str]) -> dict[str, str] | None:
        """After a 403 to ``sent``: a fresh token for ``scope`` alone, once per token.

        GCR/GAR answer 403 (not 401) to a token lacking a scope, and grant only one
        repository scope per token request, so a batched token fails for all but one.
        ``None`` when there is nothing to refresh (no bearer token, or already fresh).
        """
        token = _bearer_token(sent)
        with self._guard:
            if self._bearer is None or not token or token in self._after_403:
                return None
        key = self._key(self._bearer, scope, "")
        self._tokens.discard(key, token)
        headers = self._token_headers(key)
        with self._guard:
            self._after_403.add(_bearer_token(headers))
        return headers

    def forget(self, scope: str, sent: Mapping[str, str]) -> None:
        """Drop the cached token ``sent`` carried for ``scope``: the next request fetches one
        (the push check's token may predate a namespace created since)."""
        if self._bearer is not None:
            self._tokens.discard(self._key(self._bearer, scope, ""), _bearer_token(sent))

    def was_batched(self, sent: Mapping[str, str]) -> bool:
        """Whether ``sent`` carried a token fetched for several scopes at once."""
        with self._guard:
            return _bearer_token(sent) in self._batched

    def forget_batches(self) -> None:
        """Drop every multi-scope token: this registry honours one scope per token only."""
        with self._guard:
            batched, self._batched = set(self._batched), set()
        self._tokens.discard_tokens(batched)

    def headers(self, scope: str) -> dict[str, str]:
        """Headers to send up front, based on how this registry challenged last time."""
        if self._bearer is not None:
            return self._token_headers(self._key(self._bearer, scope, ""))
        if self._basic and self._credential is not None:
            return {"Authorization": basic_authorization(self._credential)}
        return {}

    def respond(
        self, response: HttpResponse, scope: str, sent: Mapping[str, str]
    ) -> dict[str, str]:
        """Headers answering the 401 ``response`` to a request that carried ``sent``."""
        challenge = challenge_of(response)
        if challenge is None:
            raise AuthError(
                "registry sent 401 without a usable challenge", url=response.url, status=401
            )
        if challenge.scheme == "basic":
            return self._basic_headers(response.url)
        key = self._key(challenge, scope, response.url)
        self._tokens.discard(key, _bearer_token(sent))
        self._bearer = challenge
        return self._token_headers(key)

    def _basic_headers(self, url: str) -> dict[str, str]:
        if self._credential is None:
            raise AuthError(
                "registry requires credentials and none are configured", url=url, status=401
            )
        self._basic = True
        return {"Authorization": basic_authorization(self._credential)}

    def _key(self, challenge: Challenge, scope: str, url: str) -> TokenKey:
        realm = challenge.params.get("realm", "")
        if not realm.startswith(("https://", "http://")):
            raise AuthError(
                f"bearer challenge without a usable realm: {realm!r}", url=url, status=401
            )
        return realm, challenge.params.get("service", ""), scope

    def _token_headers(self, key: TokenKey) -> dict[str, str]:
        realm, service, scope = key
        token = self._tokens.get_or_fetch(
            key, lambda: self._request_token(realm, service, (scope,))
        )
        return {"Authorization": f"Bearer {token}"}

    def _request_token(
        self, realm: str, service: str, scopes: tuple[str, ...]
    ) -> tuple[str, float]:
        what = scopes[0] if len(scopes) == 1 else f"{len(scopes)} scopes ({scopes[0]}, …)"
        log.debug("requesting token for %s as %s from %s", what, self.who, realm)
        request = self._token_request(realm, service, scopes)
        return parse_token_response(self._fetch(request), self.who, what)

    def _token_request(self, realm: str, service: str, scopes: tuple[str, ...]) -> HttpRequest:
        """A GET with Basic credentials (or none); an identity token goes by OAuth2 instead."""
        credential = self._credential
        if credential is not None and credential.identity_token:
            return oauth_token_request(realm, service, scopes, credential.secret)
        query: dict[str, str | tuple[str, ...]] = {"scope": scopes}
        if service:
            query["service"] = service
        headers = {"Authorization": basic_authorization(credential)} if credential else {}
        return HttpRequest("GET", realm, headers, query)


def oauth_token_request(
    realm: str, service: str, scopes: Sequence[str], refresh_token: str
) -> HttpRequest:
    """Exchange an identity token as docker does: a form POST with ``grant_type=refresh_token``
    (distribution ``registry/client/auth/session.go``, ``fetchTokenWithOAuth``)."""
    form = {
        "grant_type": "refresh_token",
        "refresh_token": refresh_token,
        "service": service,
        "scope": " ".join(scopes),
        "client_id": "imgsync",
    }
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    return HttpRequest("POST", realm, headers, data=urlencode(form).encode("ascii"))
