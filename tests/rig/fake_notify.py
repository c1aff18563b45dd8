"""Fake WPush / WxPusher endpoints: real HTTP on 127.0.0.1 that records what it was sent.

Notifiers are tested against a real socket (timeouts, refused connections,
JSON encoding all happen for real); the fake only decides what to answer.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any

from tests.rig.ports import HOST, free_port

WPUSH_OK: dict[str, Any] = {"code": 0, "message": "ok", "data": None}
WXPUSHER_OK: dict[str, Any] = {
    "code": 1000,
    "msg": "处理成功",
    "data": [{"uid": "UID_x", "code": 1000, "status": "创建发送任务成功"}],
    "success": True,
}


@dataclass(frozen=True)
class Recorded:
    """One request as the server saw it."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    json: Any


@dataclass(frozen=True)
class Reply:
    """What to answer: status, JSON body (or raw text) and a delay before answering."""

    status: int = 200
    body: Any = field(default_factory=dict)
    delay: float = 0.0
    raw: str | None = None


Responder = Callable[[Recorded], Reply]


class FakeNotifyServer:
    """A threaded HTTP server that records every request and answers with ``reply``.

    Set ``reply`` for a fixed answer or ``responder`` to answer per request.
    """

    def __init__(self, reply: Reply | None = None) -> None:
        self.reply = reply or Reply()
        self.responder: Responder | None = None
        self.requests: list[Recorded] = []
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        assert self._httpd is not None, "server not started"
        return int(self._httpd.server_address[1])

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"

    def respond(self, status: int = 200, body: Any = None, *, delay: float = 0.0) -> None:
        """Change the fixed answer (the default body stays when ``body`` is None)."""
        self.reply = Reply(status, self.reply.body if body is None else body, delay)

    def start(self) -> FakeNotifyServer:
        self._httpd = ThreadingHTTPServer((HOST, 0), _handler_for(self))
        self._httpd.daemon_threads = True
        serve = self._httpd.serve_forever
        self._thread = threading.Thread(target=serve, args=(0.05,), daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving; handlers still sleeping on a delay wake up and give up."""
        self._stopping.set()
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> FakeNotifyServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def _answer(self, request: Recorded) -> Reply | None:
        """Record, pick the reply and wait out its delay; None when stopped meanwhile."""
        with self._lock:
            self.requests.append(request)
        reply = self.responder(request) if self.responder else self.reply
        if reply.delay and self._stopping.wait(reply.delay):
            return None
        return reply


def _handler_for(server: FakeNotifyServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:
            reply = server._answer(self._record())
            if reply is not None:
                self._send(reply)

        do_GET = do_POST

        def _record(self) -> Recorded:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            try:
                parsed = json.loads(body) if body else None
            except ValueError:
                parsed = None
            return Recorded(self.command, self.path, dict(self.headers), body, parsed)

        def _send(self, reply: Reply) -> None:
            text = reply.raw if reply.raw is not None else json.dumps(reply.body)
            data = text.encode()
            self.send_response(reply.status)
            self.send_header("Content-Type", "application/json; charset=utf-8")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: Any) -> None:  # keep test output clean
            pass

    return Handler


def fake_wpush() -> FakeNotifyServer:
    """A WPush endpoint that accepts everything, until told otherwise."""
    return FakeNotifyServer(Reply(200, WPUSH_OK))


def fake_wxpusher() -> FakeNotifyServer:
    """A WxPusher endpoint that accepts everything, until told otherwise."""
    return FakeNotifyServer(Reply(200, WXPUSHER_OK))


def closed_port_url() -> str:
    """A loopback URL where nothing listens: connections are refused at once."""
    return f"http://{HOST}:{free_port()}"
