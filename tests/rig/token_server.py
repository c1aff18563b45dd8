"""A Docker-Hub-like token service for docker-registry `auth: token`, run in a thread.

Anonymous callers get `pull` only; the configured user gets what it asks for. Every
request is recorded so tests can count how many tokens a client fetched.
"""

from __future__ import annotations

import base64
import binascii
import json
import threading
import time
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import jwt

from .certs import SigningCert, make_signing_cert
from .ports import HOST

ANONYMOUS_ACTIONS = frozenset({"pull"})
USER_ACTIONS = frozenset({"pull", "push", "delete", "*"})


@dataclass(frozen=True)
class TokenRequest:
    """One call to /token as the server saw it."""

    account: str | None
    service: str
    scopes: tuple[str, ...]
    status: int
    access: tuple[dict[str, Any], ...] = ()


class AuthError(Exception):
    """Credentials were sent but do not match: answer 401 like Docker Hub does."""


def parse_basic(header: str | None) -> tuple[str, str] | None:
    """Decode an `Authorization: Basic` header; None for anonymous callers."""
    if not header or not header.lower().startswith("basic "):
        return None
    try:
        raw = base64.b64decode(header[6:].strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError) as exc:
        raise AuthError("malformed basic credentials") from exc
    user, sep, password = raw.partition(":")
    if not sep:
        raise AuthError("malformed basic credentials")
    return user, password


def grant(scope: str, allowed: frozenset[str]) -> dict[str, Any] | None:
    """Turn `type:name:actions` into a claim entry restricted to the allowed actions."""
    kind, _, rest = scope.partition(":")
    name, _, actions = rest.rpartition(":")
    if not kind or not name:
        return None
    granted = [a for a in actions.split(",") if a in allowed]
    return {"type": kind, "name": name, "actions": granted}


@dataclass
class TokenServer:
    """Threaded HTTP token service; `realm` goes into the registry's auth config."""

    users: dict[str, str]
    service: str = "imgsync-test-registry"
    issuer: str = "imgsync-test-issuer"
    expires_in: int = 300
    #: Repositories anonymous callers get no access to (Docker Hub's private repositories).
    private: set[str] = field(default_factory=set)
    cert: SigningCert = field(default_factory=make_signing_cert)
    port: int = 0
    _log: list[TokenRequest] = field(default_factory=list, init=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False)
    _httpd: ThreadingHTTPServer | None = field(default=None, init=False)
    _thread: threading.Thread | None = field(default=None, init=False)

    @property
    def realm(self) -> str:
        """URL the registry announces in its Bearer challenge."""
        return f"http://{HOST}:{self.port}/token"

    def start(self) -> TokenServer:
        """Bind (keeping the port across restarts) and serve in a daemon thread."""
        self._httpd = ThreadingHTTPServer((HOST, self.port), _handler_for(self))
        self._httpd.daemon_threads = True
        self.port = int(self._httpd.server_address[1])
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()
        return self

    def _serve(self) -> None:
        """Serve with a short poll interval so `stop()` returns quickly."""
        assert self._httpd is not None
        self._httpd.serve_forever(poll_interval=0.05)

    def stop(self) -> None:
        """Stop serving and release the socket."""
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> TokenServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def record(self, entry: TokenRequest) -> None:
        """Append one served request (called from handler threads)."""
        with self._lock:
            self._log.append(entry)

    def requests(self, since: int = 0) -> list[TokenRequest]:
        """Every /token request served after `since` (a value from `mark()`)."""
        with self._lock:
            return list(self._log[since:])

    def mark(self) -> int:
        """Position in the request log, for counting only later requests."""
        with self._lock:
            return len(self._log)

    def count(self, since: int = 0, status: int | None = 200) -> int:
        """How many tokens were issued (status 200) or requests with `status` seen."""
        return sum(1 for r in self.requests(since) if status is None or r.status == status)

    def authenticate(self, header: str | None) -> str | None:
        """Return the account for valid credentials, None for anonymous, raise if wrong."""
        creds = parse_basic(header)
        if creds is None:
            return None
        user, password = creds
        if self.users.get(user) != password:
            raise AuthError("invalid username/password")
        return user

    def _allowed(self, account: str | None, scope: str) -> frozenset[str]:
        if account is not None:
            return USER_ACTIONS
        name = scope.partition(":")[2].rpartition(":")[0]
        return frozenset() if name in self.private else ANONYMOUS_ACTIONS

    def issue(self, account: str | None, scopes: list[str]) -> tuple[str, list[dict[str, Any]]]:
        """Sign an RS256 JWT whose `access` claim holds only what the caller may do."""
        access = [g for g in (grant(s, self._allowed(account, s)) for s in scopes) if g is not None]
        now = int(time.time())
        claims = {
            "iss": self.issuer,
            "aud": self.service,
            "sub": account or "",
            "iat": now,
            "nbf": now - 10,
            "exp": now + self.expires_in,
            "jti": uuid.uuid4().hex,
            "access": access,
        }
        headers = {"x5c": self.cert.x5c, "typ": "JWT"}
        signing_key = self.cert.key or self.cert.key_pem
        token = jwt.encode(claims, signing_key, algorithm="RS256", headers=headers)
        return token, access


def _handler_for(server: TokenServer) -> type[BaseHTTPRequestHandler]:
    """Bind a request-handler class to this server instance."""

    class Handler(_TokenHandler):
        token_server = server

    return Handler


class _TokenHandler(BaseHTTPRequestHandler):
    """Serves GET /token; everything else is 404."""

    token_server: TokenServer
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        """Keep test output quiet; requests are recorded in the server instead."""

    def do_GET(self) -> None:
        """Issue a token or refuse wrong credentials with 401."""
        url = urlsplit(self.path)
        if url.path != "/token":
            self._send_json(404, {"errors": [{"code": "NOT_FOUND", "message": "no such path"}]})
            return
        query = parse_qs(url.query)
        service = query.get("service", [""])[0]
        scopes = query.get("scope", [])
        self._serve_token(service, scopes)

    def _serve_token(self, service: str, scopes: list[str]) -> None:
        """Authenticate, sign and answer; record the outcome either way."""
        srv = self.token_server
        header = self.headers.get("Authorization")
        try:
            account = srv.authenticate(header)
        except AuthError as exc:
            srv.record(TokenRequest(_claimed_user(header), service, tuple(scopes), 401))
            body = {"errors": [{"code": "UNAUTHORIZED", "message": str(exc)}]}
            self._send_json(401, body, {"WWW-Authenticate": 'Basic realm="imgsync-test"'})
            return
        token, access = srv.issue(account, scopes)
        srv.record(TokenRequest(account, service, tuple(scopes), 200, tuple(access)))
        self._send_json(200, _token_body(token, srv.expires_in))

    def _send_json(self, status: int, body: object, headers: dict[str, str] | None = None) -> None:
        """Write a JSON response with an exact Content-Length (keep-alive safe)."""
        data = json.dumps(body).encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(data)


def _claimed_user(header: str | None) -> str | None:
    """The username a refused caller claimed, for the request record."""
    try:
        creds = parse_basic(header)
    except AuthError:
        return None
    return creds[0] if creds else None


def _token_body(token: str, expires_in: int) -> dict[str, Any]:
    """Response shape of Docker Hub's token endpoint."""
    issued = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    return {"token": token, "access_token": token, "expires_in": expires_in, "issued_at": issued}
