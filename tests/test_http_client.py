"""The registry HTTP client against a real local HTTPS server with its own CA.

What users behind a corporate TLS proxy rely on: ``REQUESTS_CA_BUNDLE`` is honoured,
servers are still verified, and the bundle is read once, not for every new connection.
"""

from __future__ import annotations

import http.server
import os
import ssl
import threading
from collections.abc import Iterator
from pathlib import Path

import certifi
import pycurl
import pytest

from imgsync.adapters import http_client
from imgsync.adapters.http_client import HttpClient, failure_kind
from tests.rig.tls import TlsFiles, make_tls_files


class _Ok(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as registries answer

    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def tls(tmp_path: Path) -> TlsFiles:
    return make_tls_files(tmp_path / "tls")


@pytest.fixture
def https_url(tls: TlsFiles) -> Iterator[str]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Ok)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(tls.cert, tls.key)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"https://127.0.0.1:{server.server_address[1]}/v2/"
    server.shutdown()
    server.server_close()


@pytest.fixture(autouse=True)
def fresh_trust() -> Iterator[None]:
    http_client.ca_bundle.cache_clear()
    yield
    http_client.ca_bundle.cache_clear()


def test_ca_bundle_from_the_environment_is_read_once_for_all_connections(
    https_url: str, tls: TlsFiles, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bundle = tmp_path / "bundle.pem"
    bundle.write_bytes(tls.ca.read_bytes())
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(bundle))
    client = HttpClient()
    assert client.request("GET", https_url, headers={}, timeout=5).status_code == 200
    bundle.write_text("not a certificate any more")  # a re-read would now fail
    fresh = HttpClient()  # a new client, so a new handle and connection too
    assert fresh.request("GET", https_url, headers={}, timeout=5).status_code == 200
    assert (client.connections, fresh.connections) == (1, 1)
    client.close()
    fresh.close()


def test_servers_are_still_verified(https_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", certifi.where())  # does not hold the test CA
    client = HttpClient()
    with pytest.raises(pycurl.error) as caught:
        client.request("GET", https_url, headers={}, timeout=5)
    assert failure_kind(caught.value) == "tls"
    client.close()


def test_a_forked_child_gets_its_own_connection_and_the_parent_keeps_its_own(
    https_url: str, tls: TlsFiles, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Celery's prefork pool forks: a handle (and its TLS session) must not be shared."""
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(tls.ca))
    client = HttpClient()
    assert client.request("GET", https_url, headers={}, timeout=5).status_code == 200
    child = os.fork()
    if child == 0:  # pragma: no cover - runs in the child
        answer = client.request("GET", https_url, headers={}, timeout=5)
        os._exit(0 if (answer.status_code, client.connections) == (200, 2) else 1)
    _, status = os.waitpid(child, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    assert client.request("GET", https_url, headers={}, timeout=5).status_code == 200
    assert client.connections == 1  # the parent's kept-alive connection still works
    client.close()
