"""An HTTP proxy in front of a rig registry that meters pulls per account, as Docker Hub does.

Every request must carry Basic credentials of one of the proxy's accounts (else
401 with a Basic challenge, so skopeo and the registry client log in). Each
manifest ``GET`` answered 200 counts as one pull of that account; ``HEAD`` is
free. Every answer carries ``RateLimit-Limit: N;w=21600``,
``RateLimit-Remaining: M;w=21600`` and ``docker-ratelimit-source`` for the
account, and a manifest GET beyond the limit gets Docker Hub's 429
``toomanyrequests``. Requests are forwarded (without the credentials) to an
anonymous upstream registry.
"""

from __future__ import annotations

import base64
import http.client
import threading
from collections.abc import Iterable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from .ports import HOST

WINDOW = 21600
_HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "host", "authorization"}
TOO_MANY = (
    b'{"errors":[{"code":"TOOMANYREQUESTS","message":"You have reached your pull rate limit. '
    b'You may increase the limit by authenticating and upgrading"}]}'
)


class RateLimitProxy:
    """``127.0.0.1:<free port>`` → ``upstream``, with a pull budget of ``limit`` per account."""

    def __init__(self, upstream: str, accounts: dict[str, str], *, limit: int) -> None:
        self.upstream = upstream
        self.accounts = dict(accounts)
        self.limit = limit
        self.pulls = {user: 0 for user in accounts}
        self.rejected = {user: 0 for user in accounts}
        self.lock = threading.Lock()
        self._server = ThreadingHTTPServer((HOST, 0), _handler_for(self))
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def host(self) -> str:
        return f"{HOST}:{self._server.server_address[1]}"

    def start(self) -> RateLimitProxy:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def remaining(self, user: str) -> int:
        with self.lock:
            return self.limit - self.pulls[user]

    def account(self, authorization: str | None) -> str | None:
        """The account whose Basic credentials these are, or None."""
        if not authorization or not authorization.startswith("Basic "):
            return None
        try:
            user, _, password = base64.b64decode(authorization[6:]).decode().partition(":")
        except ValueError:
            return None
        return user if self.accounts.get(user) == password else None

    def take_pull(self, user: str) -> bool:
        """Count one pull; False (nothing counted) when the account has none left."""
        with self.lock:
            if self.pulls[user] >= self.limit:
                self.rejected[user] += 1
                return False
            self.pulls[user] += 1
            return True

    def headers(self, user: str) -> dict[str, str]:
        return {
            "RateLimit-Limit": f"{self.limit};w={WINDOW}",
            "RateLimit-Remaining": f"{self.remaining(user)};w={WINDOW}",
            "docker-ratelimit-source": user,
        }


def _joined(headers: Iterable[tuple[str, str]]) -> dict[str, str]:
    """Repeated request headers (skopeo sends one ``Accept`` per type) joined with commas."""
    found: dict[str, str] = {}
    for key, value in headers:
        if key.lower() not in _HOP_BY_HOP:
            found[key] = f"{found[key]}, {value}" if key in found else value
    return found


def _handler_for(proxy: RateLimitProxy) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: object) -> None:
            return

        def do_GET(self) -> None:
            self._handle()

        def do_HEAD(self) -> None:
            self._handle()

        def _handle(self) -> None:
            user = proxy.account(self.headers.get("Authorization"))
            if user is None:
                self._send(401, {"WWW-Authenticate": 'Basic realm="ratelimit-proxy"'}, b"")
                return
            pull = self.command == "GET" and "/manifests/" in self.path
            status, headers, body = self._forward()
            if pull and status == 200 and not proxy.take_pull(user):
                status, headers, body = 429, {"Content-Type": "application/json"}, TOO_MANY
            self._send(status, {**headers, **proxy.headers(user)}, body)

        def _forward(self) -> tuple[int, dict[str, str], bytes]:
            connection = http.client.HTTPConnection(proxy.upstream, timeout=30)
            try:
                sent = _joined(self.headers.items())
                connection.request(self.command, self.path, headers=sent)
                response = connection.getresponse()
                body = response.read()
                kept = {k: v for k, v in response.getheaders() if k.lower() not in _HOP_BY_HOP}
                return response.status, kept, body
            finally:
                connection.close()

        def _send(self, status: int, headers: dict[str, str], body: bytes) -> None:
            self.send_response(status)
            for key, value in headers.items():
                if key.lower() != "content-length" or self.command == "HEAD":
                    self.send_header(key, value)
            if self.command != "HEAD":
                self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)

    return Handler
