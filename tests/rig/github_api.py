"""A stand-in for the GitHub REST API's issue endpoints: real HTTP on 127.0.0.1, with state.

It answers the four calls ``imgsync request`` makes the way docs.github.com/en/rest/issues
describes them (status codes, JSON shapes, ``{"message", "documentation_url"}`` errors), and
checks each request as GitHub would: the token in ``Authorization`` (``Bearer`` or
``token``), a JSON body of the right shape, a known repository and issue. Every request
is recorded, so a test can assert exactly what was sent and in which order.
"""

from __future__ import annotations

import json
import re
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any

from tests.rig.ports import HOST

DOCS = "https://docs.github.com/rest"
MAX_COMMENT = 65536
_ISSUE = re.compile(r"^/repos/(?P<repo>[^/]+/[^/]+)/issues/(?P<number>\d+)(?P<rest>/.*)?$")


@dataclass(frozen=True)
class Call:
    """One request as the stand-in saw it, and what it answered."""

    method: str
    path: str
    headers: dict[str, str]
    json: Any
    status: int


@dataclass
class Issue:
    """An issue's state as the stand-in keeps it."""

    labels: list[str] = field(default_factory=list)
    state: str = "open"
    state_reason: str | None = None
    comments: list[str] = field(default_factory=list)


class GitHubStandIn:
    """The issues of one repository, reachable with one token."""

    def __init__(self, repository: str, token: str) -> None:
        self.repository = repository
        self.token = token
        self.issues: dict[int, Issue] = {}
        self.calls: list[Call] = []
        self._lock = threading.Lock()
        self._httpd: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        assert self._httpd is not None, "not started"
        return f"http://{HOST}:{self._httpd.server_address[1]}"

    def add_issue(self, number: int, labels: list[str] | None = None) -> Issue:
        self.issues[number] = Issue(labels=list(labels or []))
        return self.issues[number]

    def start(self) -> GitHubStandIn:
        self._httpd = ThreadingHTTPServer((HOST, 0), _handler_for(self))
        self._httpd.daemon_threads = True
        threading.Thread(target=self._httpd.serve_forever, args=(0.05,), daemon=True).start()
        return self

    def stop(self) -> None:
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()

    def __enter__(self) -> GitHubStandIn:
        return self.start()

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def answer(
        self, method: str, path: str, headers: dict[str, str], body: bytes
    ) -> tuple[Call, Any]:
        """Check and carry out one request: its record and the JSON to answer with."""
        parsed, problem = _json_body(body, headers) if method != "DELETE" else (None, None)
        with self._lock:
            status, reply = problem or self._route(method, path, headers, parsed)
            call = Call(method, path, headers, parsed, status)
            self.calls.append(call)
        return call, reply

    def _route(self, method: str, path: str, headers: dict[str, str], body: Any) -> tuple[int, Any]:
        if not self._authorized(headers.get("Authorization", "")):
            return _error(401, "Bad credentials")
        match = _ISSUE.match(path)
        if match is None or match["repo"] != self.repository:
            return _error(404, "Not Found")
        issue = self.issues.get(int(match["number"]))
        if issue is None:
            return _error(404, "Not Found")
        return self._on_issue(method, match["rest"] or "", issue, int(match["number"]), body)

    def _authorized(self, header: str) -> bool:
        scheme, _, credential = header.partition(" ")
        return scheme in ("Bearer", "token") and credential == self.token

    def _on_issue(
        self, method: str, rest: str, issue: Issue, number: int, body: Any
    ) -> tuple[int, Any]:
        if method == "POST" and rest == "/comments":
            return _comment(issue, number, body, self.repository)
        if method == "POST" and rest == "/labels":
            return _add_labels(issue, body)
        if method == "DELETE" and rest.startswith("/labels/"):
            return _remove_label(issue, rest.removeprefix("/labels/"))
        if method == "PATCH" and rest == "":
            return _update(issue, number, body)
        return _error(404, "Not Found")


def _error(status: int, message: str) -> tuple[int, dict[str, str]]:
    return status, {"message": message, "documentation_url": DOCS}


def _json_body(body: bytes, headers: dict[str, str]) -> tuple[Any, tuple[int, Any] | None]:
    if "application/json" not in headers.get("Content-Type", ""):
        return None, _error(415, "Unsupported 'Content-Type' header")
    try:
        return json.loads(body), None
    except ValueError:
        return None, _error(400, "Problems parsing JSON")


def _comment(issue: Issue, number: int, body: Any, repository: str) -> tuple[int, Any]:
    text = body.get("body") if isinstance(body, dict) else None
    if not isinstance(text, str) or not text or len(text) > MAX_COMMENT:
        return _error(422, "Validation Failed")
    issue.comments.append(text)
    url = f"https://github.com/{repository}/issues/{number}#issuecomment-{len(issue.comments)}"
    user = {"login": "github-actions[bot]", "type": "Bot"}
    return 201, {"id": len(issue.comments), "body": text, "html_url": url, "user": user}


def _add_labels(issue: Issue, body: Any) -> tuple[int, Any]:
    labels = body.get("labels") if isinstance(body, dict) else None
    if not isinstance(labels, list) or not all(isinstance(name, str) for name in labels):
        return _error(422, "Validation Failed")
    issue.labels += [name for name in labels if name not in issue.labels]
    return 200, [{"name": name} for name in issue.labels]


def _remove_label(issue: Issue, name: str) -> tuple[int, Any]:
    if name not in issue.labels:
        return _error(404, "Label does not exist")
    issue.labels.remove(name)
    return 200, [{"name": label} for label in issue.labels]


def _update(issue: Issue, number: int, body: Any) -> tuple[int, Any]:
    state = body.get("state") if isinstance(body, dict) else None
    reason = body.get("state_reason") if isinstance(body, dict) else None
    if state not in ("open", "closed") or reason not in (None, "completed", "not_planned"):
        return _error(422, "Validation Failed")
    issue.state, issue.state_reason = state, reason
    return 200, {"number": number, "state": state, "state_reason": reason}


def _handler_for(stand_in: GitHubStandIn) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            call, reply = stand_in.answer(self.command, self.path, dict(self.headers), body)
            data = json.dumps(reply).encode()
            self.send_response(call.status)
            self.send_header("Content-Type", "application/json; charset=utf-8")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_PATCH = do_DELETE = do_PUT = do_POST

        def log_message(self, format: str, *args: Any) -> None:
            pass

    return Handler
