"""The first manifest HEAD to a host goes alone; once it has answered, the others overlap.

Threads that queued behind the first HEAD must not then take turns: each would hold the
probe while opening its own connection (a TLS set-up plus a round trip), which serialised
the start of every run, once per check thread and registry (32 × set-up at the defaults).
A real local server that holds each answer for a while counts how many were in flight.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from imgsync.adapters.registry import RegistryClient
from imgsync.core.reference import ImageReference

DIGEST = "sha256:" + "cd" * 32
THREADS = 12
HOLD_S = 0.3


class InFlight:
    """The number of requests being answered now, and the most seen at once."""

    def __init__(self) -> None:
        self.now = self.most = 0
        self.lock = threading.Lock()

    def enter(self) -> None:
        with self.lock:
            self.now += 1
            self.most = max(self.most, self.now)

    def leave(self) -> None:
        with self.lock:
            self.now -= 1


@pytest.fixture
def slow_registry() -> Iterator[tuple[str, InFlight]]:
    seen = InFlight()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_HEAD(self) -> None:
            seen.enter()
            time.sleep(HOLD_S)
            self.send_response(200)
            self.send_header("Docker-Content-Digest", DIGEST)
            self.send_header("Content-Length", "0")
            self.end_headers()
            seen.leave()

        def log_message(self, format: str, *args: object) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield f"127.0.0.1:{httpd.server_address[1]}", seen
    httpd.shutdown()
    httpd.server_close()


def test_after_the_first_head_the_waiting_threads_ask_at_once(
    slow_registry: tuple[str, InFlight],
) -> None:
    host, seen = slow_registry
    client = RegistryClient(host, insecure=True, retries=0)
    refs = [ImageReference(host, f"team/app{i}", tag="1") for i in range(THREADS)]
    with ThreadPoolExecutor(THREADS) as pool:
        digests = list(pool.map(client.head_digest, refs))
    client.close()
    assert digests == [DIGEST] * THREADS
    # the first alone, then the other 11 together (one at a time would be 1)
    assert seen.most >= THREADS // 2, seen.most
