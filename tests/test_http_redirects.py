"""Redirects of imgsync's own registry calls: followed, and credentials never cross hosts.

Registries answer some requests with a redirect (a manifest served from a mirror, a token
realm that moved). A client that forwards ``Authorization`` to the other host hands the
registry's credentials to whoever serves it, which is why browsers, requests and libcurl
drop it there. These tests run imgsync's ``RegistryClient`` against two real local HTTP
servers: ``127.0.0.1`` (the registry, Basic auth) and ``localhost`` (another host).
"""

from __future__ import annotations

import base64
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from imgsync.adapters.credentials import Credential
from imgsync.adapters.registry import RegistryClient
from imgsync.core.reference import ImageReference

DIGEST = "sha256:" + "ab" * 32
USER, PASSWORD = "mirror-bot", "s3cret-pass"
BASIC = "Basic " + base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()


@dataclass
class Seen:
    """What one server was asked: (method, path, Authorization or None)."""

    requests: list[tuple[str, str, str | None]] = field(default_factory=list)


def _handler(seen: Seen, answer: dict[str, tuple[int, dict[str, str]]]) -> type:
    class Handler(BaseHTTPRequestHandler):
        def _reply(self) -> None:
            seen.requests.append((self.command, self.path, self.headers.get("Authorization")))
            status, headers = answer.get(self.path, (404, {}))
            if self.path.startswith("/v2/") and status != 404 and not self._authorised():
                status, headers = 401, {"WWW-Authenticate": 'Basic realm="test"'}
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def _authorised(self) -> bool:
            return "auth" not in answer or self.headers.get("Authorization") == BASIC

        do_HEAD = do_GET = _reply

        def log_message(self, format: str, *args: object) -> None:
            pass

    return Handler


@dataclass
class Server:
    seen: Seen
    answer: dict[str, tuple[int, dict[str, str]]]
    port: int


@pytest.fixture
def servers() -> Iterator[tuple[Server, Server]]:
    started: list[ThreadingHTTPServer] = []
    made = []
    for host in ("127.0.0.1", "localhost"):
        seen, answer = Seen(), {}
        httpd = ThreadingHTTPServer((host, 0), _handler(seen, answer))
        threading.Thread(target=httpd.serve_forever, daemon=True).start()
        started.append(httpd)
        made.append(Server(seen, answer, httpd.server_address[1]))
    yield made[0], made[1]
    for httpd in started:
        httpd.shutdown()
        httpd.server_close()


def _client(registry: Server) -> RegistryClient:
    return RegistryClient(
        f"127.0.0.1:{registry.port}",
        insecure=True,
        credential=Credential(USER, PASSWORD),
        retries=0,
    )


def _ref(registry: Server) -> ImageReference:
    return ImageReference(f"127.0.0.1:{registry.port}", "team/app", tag="1.0")


MANIFEST = "/v2/team/app/manifests/1.0"
FOUND = (200, {"Docker-Content-Digest": DIGEST, "Content-Type": "application/json"})


def test_a_redirect_to_another_host_is_followed_without_the_credentials(
    servers: tuple[Server, Server],
) -> None:
    registry, other = servers
    registry.answer.update(
        {"auth": (0, {}), MANIFEST: (307, {"Location": f"http://localhost:{other.port}/m"})}
    )
    other.answer["/m"] = FOUND

    assert _client(registry).head_digest(_ref(registry)) == DIGEST
    assert other.seen.requests == [("HEAD", "/m", None)]
    assert (("HEAD", MANIFEST, BASIC)) in registry.seen.requests


def test_a_redirect_on_the_same_host_keeps_the_credentials(
    servers: tuple[Server, Server],
) -> None:
    registry, _ = servers
    registry.answer.update(
        {"auth": (0, {}), MANIFEST: (302, {"Location": "/v2/team/app/manifests/moved"})}
    )
    registry.answer["/v2/team/app/manifests/moved"] = FOUND

    assert _client(registry).head_digest(_ref(registry)) == DIGEST
    assert registry.seen.requests[-1] == ("HEAD", "/v2/team/app/manifests/moved", BASIC)


def test_a_redirect_loop_ends_in_an_error_naming_the_registry(
    servers: tuple[Server, Server],
) -> None:
    registry, _ = servers
    registry.answer[MANIFEST] = (302, {"Location": MANIFEST})

    with pytest.raises(Exception, match=f"127.0.0.1:{registry.port}") as caught:
        _client(registry).head_digest(_ref(registry))
    assert PASSWORD not in str(caught.value)
    assert 2 < len(registry.seen.requests) <= 40
