"""HTTP/1.1 messages as the personalities see them: whole requests and whole responses.

Test images are a few kilobytes, so a personality reads each request body completely
(``Content-Length`` or chunked) and forwards the upstream's answer only once it has it
all: a rule can then rewrite any part of either. One exchange per connection
(``Connection: close``), as :mod:`tests.rig.fault_proxy` does, so no framing state
survives a rewritten answer.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from http import HTTPStatus
from urllib.parse import parse_qs, urlsplit

from ..fault_proxy import NOT_TLS

_ROUTE = re.compile(
    r"^/v2/(?P<name>.+?)/(?P<kind>manifests|blobs|tags|referrers)(?:/(?P<ref>.*))?$"
)
_DROPPED = frozenset({"connection", "keep-alive", "transfer-encoding", "content-length"})


class Headers:
    """Case-insensitive headers; repeated request headers (skopeo's ``Accept``) joined."""

    def __init__(self, items: Iterable[tuple[str, str]] = ()) -> None:
        self._items: dict[str, tuple[str, str]] = {}
        for name, value in items:
            self.add(name, value)

    def add(self, name: str, value: str) -> None:
        old = self._items.get(name.lower())
        self._items[name.lower()] = (name, f"{old[1]}, {value}" if old else value)

    def get(self, name: str, default: str = "") -> str:
        found = self._items.get(name.lower())
        return found[1] if found else default

    def set(self, name: str, value: str) -> None:
        self._items[name.lower()] = (name, value)

    def remove(self, name: str) -> None:
        self._items.pop(name.lower(), None)

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name.lower() in self._items

    def items(self) -> list[tuple[str, str]]:
        return list(self._items.values())

    def copy(self) -> Headers:
        return Headers(self.items())


@dataclass(frozen=True)
class Route:
    """Which registry resource a ``/v2/`` path names (``name`` is None for other paths)."""

    name: str | None = None
    kind: str = ""
    ref: str = ""

    @property
    def is_manifest(self) -> bool:
        return self.kind == "manifests"

    @property
    def by_digest(self) -> bool:
        return ":" in self.ref


def route_of(path: str) -> Route:
    found = _ROUTE.match(path)
    if found is None:
        return Route()
    return Route(found["name"], found["kind"], found["ref"] or "")


@dataclass
class Request:
    """One request: ``target`` is the path with its query, as sent."""

    method: str
    target: str
    headers: Headers
    body: bytes = b""

    @property
    def path(self) -> str:
        return urlsplit(self.target).path

    @property
    def query(self) -> dict[str, list[str]]:
        return parse_qs(urlsplit(self.target).query)

    @property
    def route(self) -> Route:
        return route_of(self.path)


@dataclass
class Response:
    status: int
    headers: Headers = field(default_factory=Headers)
    body: bytes = b""

    @classmethod
    def of(
        cls, status: int, headers: Mapping[str, str] | None = None, body: bytes = b""
    ) -> Response:
        return cls(status, Headers((headers or {}).items()), body)


def registry_error(
    status: int, code: str, message: str, headers: Mapping[str, str] | None = None, **extra: object
) -> Response:
    """An answer in the distribution error format ``{"errors": [{code, message, ...}]}``."""
    body = json.dumps({"errors": [{"code": code, "message": message, **extra}]}).encode()
    return Response.of(status, {"Content-Type": "application/json", **(headers or {})}, body)


def json_response(
    status: int, document: object, headers: Mapping[str, str] | None = None
) -> Response:
    body = json.dumps(document).encode()
    return Response.of(status, {"Content-Type": "application/json", **(headers or {})}, body)


async def read_request(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter
) -> Request | None:
    """The next request, or None when the client closed or opened with a TLS handshake.

    skopeo with ``--tls-verify=false`` tries TLS first and falls back to plain HTTP when
    the server answers the handshake in HTTP, as Go's server does.
    """
    try:
        first = await reader.readexactly(1)
        if not first.isalpha():
            writer.write(NOT_TLS)
            await writer.drain()
            return None
        head = first + await reader.readuntil(b"\r\n\r\n")
    except asyncio.IncompleteReadError:
        return None
    lines = head.decode("latin-1").split("\r\n")
    method, target, _ = [*lines[0].split(" ", 2), "", ""][:3]
    headers = Headers(_header_lines(lines[1:]))
    return Request(method.upper(), target, headers, await _read_body(headers, reader))


def _header_lines(lines: list[str]) -> Iterable[tuple[str, str]]:
    for line in lines:
        name, sep, value = line.partition(":")
        if sep:
            yield name.strip(), value.strip()


async def _read_body(headers: Headers, reader: asyncio.StreamReader) -> bytes:
    if headers.get("transfer-encoding").lower() == "chunked":
        chunks = []
        while size := int((await reader.readuntil(b"\r\n")).split(b";")[0].strip() or b"0", 16):
            chunks.append((await reader.readexactly(size + 2))[:-2])
        await reader.readuntil(b"\r\n")
        return b"".join(chunks)
    length = int(headers.get("content-length") or 0)
    return await reader.readexactly(length) if length else b""


async def write_response(
    request: Request, response: Response, writer: asyncio.StreamWriter
) -> None:
    """Send ``response``; a HEAD answer keeps the upstream's ``Content-Length`` and no body."""
    headers = [(k, v) for k, v in response.headers.items() if k.lower() not in _DROPPED]
    length = response.headers.get("content-length") if request.method == "HEAD" else ""
    headers += [("Content-Length", length or str(len(response.body))), ("Connection", "close")]
    lines = [f"HTTP/1.1 {response.status} {_phrase(response.status)}"]
    lines += [f"{name}: {value}" for name, value in headers]
    writer.write(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1"))
    if request.method != "HEAD":
        writer.write(response.body)
    await writer.drain()


def _phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Unknown"
