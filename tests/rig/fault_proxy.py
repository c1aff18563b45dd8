"""An HTTP-aware, fault-injecting proxy on loopback, in front of a real registry.

Every request's head is parsed (method, path with query, headers) and checked against
a script of :class:`Rule` s, first match wins. A rule decides what happens to the
requests it matches — the first ``skip`` pass, then ``times`` get the fault:

* :class:`Respond`: answer with a status (429 + ``Retry-After``, 502/503, 401, 403, 404,
  an HTML page, a manifest of an unknown media type) without asking the registry;
* :class:`ResetUpload`: forward the request, then reset the connection (RST) once
  ``after_bytes`` bytes of the request body went through: a blob upload cut mid-way;
* :class:`ResetDownload`: forward the response head and ``after_bytes`` bytes of its body,
  then reset: a blob download cut mid-way;
* :class:`Stall`: read the request and answer nothing for ``seconds`` (past the client's
  timeout), then close.

Everything else is relayed unchanged, one request per connection (``Connection: close``
both ways, so the response needs no framing and a fault never hits the next request).
docker-registry builds absolute ``Location`` URLs from the ``Host`` header, which names
the proxy, so uploads keep going through it. :attr:`FaultProxy.injected` counts the
faults by kind and :meth:`FaultProxy.log` lists every request with its timing.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import socket
import struct
import threading
import time
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from http import HTTPStatus

from .loop_server import LoopServer, close_quietly
from .ports import HOST

HEAD_LIMIT = 64 * 1024
CHUNK = 64 * 1024
#: What Go's HTTP server answers to a TLS handshake; clients then fall back to plain HTTP.
NOT_TLS = b"HTTP/1.0 400 Bad Request\r\n\r\nClient sent an HTTP request to an HTTPS server.\n"


@dataclass(frozen=True)
class Respond:
    """Answer ``status`` with ``headers`` and ``body``; the registry never sees the request."""

    status: int
    headers: Mapping[str, str] = field(default_factory=dict)
    body: bytes = b""
    label: str = ""

    @property
    def kind(self) -> str:
        """How the figures name it: ``label``, else ``http_<status>``."""
        return self.label or f"http_{self.status}"


@dataclass(frozen=True)
class ResetUpload:
    """Reset the connection after ``after_bytes`` bytes of the request body were forwarded."""

    after_bytes: int

    kind = "reset_upload"


@dataclass(frozen=True)
class ResetDownload:
    """Reset the connection after the response head and ``after_bytes`` bytes of its body."""

    after_bytes: int

    kind = "reset_download"


@dataclass(frozen=True)
class Stall:
    """Say nothing for ``seconds``, then close the connection without an answer."""

    seconds: float

    kind = "stall"


Fault = Respond | ResetUpload | ResetDownload | Stall


@dataclass
class Rule:
    """Which requests get ``fault``: method and a regex searched in the path (with query)."""

    fault: Fault
    path: str = ""
    method: str | None = None
    times: int | None = 1
    skip: int = 0
    seen: int = 0
    injected: int = 0

    min_length: int = 0

    def matches(self, method: str, path: str, length: int) -> bool:
        method_ok = self.method is None or self.method.upper() == method
        return method_ok and length >= self.min_length and re.search(self.path, path) is not None

    def take(self) -> bool:
        """Count one matching request; True when this one gets the fault."""
        self.seen += 1
        if self.seen <= self.skip:
            return False
        if self.times is not None and self.injected >= self.times:
            return False
        self.injected += 1
        return True

    def refund(self) -> None:
        """The fault did not happen after all (a reset on a body shorter than its count)."""
        self.injected -= 1

    @property
    def exhausted(self) -> bool:
        return self.times is not None and self.injected >= self.times


@dataclass(frozen=True)
class Seen:
    """One request as the proxy handled it (``status`` 0: no answer reached the client)."""

    method: str
    path: str
    status: int
    started: float
    finished: float
    fault: str | None


@dataclass
class _Request:
    method: str
    path: str
    head: bytes
    headers: dict[str, str]


def retry_after(seconds: int, status: int = 429) -> Respond:
    """A rate-limit answer in the registry's own error format."""
    body = b'{"errors":[{"code":"TOOMANYREQUESTS","message":"slow down"}]}'
    headers = {"Retry-After": str(seconds), "Content-Type": "application/json"}
    return Respond(status, headers, body)


def registry_error(status: int, code: str, message: str) -> Respond:
    """An answer shaped like docker-registry's ``{"errors": [...]}`` bodies."""
    body = f'{{"errors":[{{"code":"{code}","message":"{message}"}}]}}'.encode()
    return Respond(status, {"Content-Type": "application/json"}, body)


class FaultProxy(LoopServer):
    """``127.0.0.1:<free port>`` → ``target``, injecting the faults of its rules."""

    stream_limit = HEAD_LIMIT

    def __init__(self, target_host: str, target_port: int) -> None:
        super().__init__()
        self.target = (target_host, target_port)
        self.injected: Counter[str] = Counter()
        self._rules: list[Rule] = []
        self._log: list[Seen] = []
        self._lock = threading.Lock()

    @classmethod
    def in_front_of(cls, host_port: str) -> FaultProxy:
        """A proxy for ``host:port`` (a Registry's ``.host``)."""
        host, _, port = host_port.rpartition(":")
        return cls(host, int(port))

    @property
    def host(self) -> str:
        """``127.0.0.1:PORT``: use it in image references instead of the registry's."""
        return f"{HOST}:{self.port}"

    def __repr__(self) -> str:
        return f"FaultProxy({self.host} -> {self.target[0]}:{self.target[1]})"

    # ------------------------------------------------------------------ script and figures

    def add(self, *rules: Rule) -> FaultProxy:
        """Append rules (first match wins, in the order added)."""
        with self._lock:
            self._rules.extend(rules)
        return self

    def clear(self) -> None:
        """Drop every rule; counts and the request log stay."""
        with self._lock:
            self._rules.clear()

    def rules(self) -> list[Rule]:
        with self._lock:
            return list(self._rules)

    def log(self, since: int = 0) -> list[Seen]:
        """Every request handled after ``since`` (a value from :meth:`mark`)."""
        with self._lock:
            return list(self._log[since:])

    def mark(self) -> int:
        with self._lock:
            return len(self._log)

    def _pick(self, request: _Request) -> Rule | None:
        length = int(request.headers.get("content-length") or 0)
        with self._lock:
            for rule in self._rules:
                if rule.matches(request.method, request.path, length) and rule.take():
                    if not _is_reset(rule.fault):  # a reset counts once its bytes went through
                        self.injected[rule.fault.kind] += 1
                    return rule
        return None

    def _record(self, request: _Request, status: int, started: float, rule: Rule | None) -> None:
        """Log the request; a fault counts only if it happened (a reset needs its bytes)."""
        kind = rule.fault.kind if rule is not None else None
        with self._lock:
            if rule is not None and _is_reset(rule.fault):
                if status == 0:
                    self.injected[rule.fault.kind] += 1
                else:
                    rule.refund()
                    kind = None
            self._log.append(
                Seen(request.method, request.path, status, started, time.monotonic(), kind)
            )

    # ------------------------------------------------------------------ one connection

    async def _connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            request = await _read_request(reader, writer)
            if request is not None:
                await self._serve(request, reader, writer)
        except (ConnectionError, OSError, asyncio.IncompleteReadError):
            pass

    async def _serve(
        self, request: _Request, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        started = time.monotonic()
        rule = self._pick(request)
        fault = rule.fault if rule is not None else None
        status = 0
        try:
            if isinstance(fault, Respond):
                await _discard_body(request, reader)
                status = await _respond(request, fault, writer)
            elif isinstance(fault, Stall):
                await asyncio.sleep(fault.seconds)
                _reset(writer)
            else:
                status = await self._relay(request, reader, writer, fault)
        finally:
            self._record(request, status, started, rule)

    async def _relay(
        self,
        request: _Request,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        fault: ResetUpload | ResetDownload | None,
    ) -> int:
        """Forward one exchange; a reset fault cuts it after its byte count."""
        try:
            up_reader, up_writer = await asyncio.open_connection(*self.target, limit=HEAD_LIMIT)
        except OSError:
            return 0  # the registry is down: the client sees the connection close
        upload_limit = fault.after_bytes if isinstance(fault, ResetUpload) else None
        download_limit = fault.after_bytes if isinstance(fault, ResetDownload) else None
        up_writer.write(_with_close(request.head))
        upload = asyncio.ensure_future(_pipe(reader, up_writer, upload_limit))
        answer = asyncio.ensure_future(_relay_response(up_reader, writer, download_limit))
        try:
            await asyncio.wait({upload, answer}, return_when=asyncio.FIRST_COMPLETED)
            cut = upload.done() and not upload.cancelled() and upload.exception() is None
            status = 0 if cut and upload.result() else await answer
            if status == 0:
                _reset(writer)
            return status
        finally:
            for task in (upload, answer):
                task.cancel()
            await asyncio.gather(upload, answer, return_exceptions=True)
            close_quietly(up_writer)


# ---------------------------------------------------------------------- HTTP plumbing


async def _read_request(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter
) -> _Request | None:
    """The request line and headers; None when the client closed or did not speak HTTP.

    skopeo with ``--*-tls-verify=false`` tries TLS first and falls back to plain HTTP
    when the server answers the handshake in HTTP, as docker-registry (Go) does.
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
    method, path, _ = [*lines[0].split(" ", 2), "", ""][:3]
    headers = {}
    for line in lines[1:]:
        name, sep, value = line.partition(":")
        if sep:
            headers[name.strip().lower()] = value.strip()
    return _Request(method.upper(), path, head, headers)


def _with_close(head: bytes) -> bytes:
    """The same message head, asking the other side to close after this exchange."""
    lines = head.decode("latin-1").split("\r\n")
    kept = [
        line
        for line in lines[1:]
        if line and line.partition(":")[0].strip().lower() not in ("connection", "keep-alive")
    ]
    return "\r\n".join([lines[0], *kept, "Connection: close", "", ""]).encode("latin-1")


async def _discard_body(request: _Request, reader: asyncio.StreamReader) -> None:
    """Read the request body we will not forward, so the client can read our answer."""
    if request.headers.get("transfer-encoding", "").lower() == "chunked":
        while True:
            size = int((await reader.readuntil(b"\r\n")).split(b";")[0].strip() or b"0", 16)
            await reader.readexactly(size + 2)
            if size == 0:
                return
    length = int(request.headers.get("content-length") or 0)
    if length:
        await reader.readexactly(length)


async def _respond(request: _Request, fault: Respond, writer: asyncio.StreamWriter) -> int:
    headers = {"Content-Length": str(len(fault.body)), **fault.headers, "Connection": "close"}
    lines = [f"HTTP/1.1 {fault.status} {_phrase(fault.status)}"]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    writer.write(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1"))
    if request.method != "HEAD":
        writer.write(fault.body)
    await writer.drain()
    return fault.status


async def _relay_response(
    up_reader: asyncio.StreamReader, writer: asyncio.StreamWriter, limit: int | None
) -> int:
    """Copy the registry's answer to the client; with ``limit``, cut the body there (0 if cut)."""
    try:
        head = await up_reader.readuntil(b"\r\n\r\n")
    except asyncio.IncompleteReadError:
        return 0
    status = int(head.split(b" ", 2)[1])
    writer.write(_with_close(head))
    if await _pipe(up_reader, writer, limit):
        return 0
    return status


async def _pipe(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, limit: int | None
) -> bool:
    """Copy until EOF; True when ``limit`` bytes went through and the copy stopped there."""
    sent = 0
    while True:
        want = CHUNK if limit is None else min(CHUNK, limit - sent)
        if want <= 0:
            await writer.drain()
            await asyncio.sleep(0.05)  # let those bytes reach the peer before the reset
            return True
        data = await reader.read(want)
        if not data:
            await writer.drain()
            return False
        writer.write(data)
        await writer.drain()
        sent += len(data)


def _is_reset(fault: Fault) -> bool:
    return isinstance(fault, ResetUpload | ResetDownload)


def _phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Fault"


def _reset(writer: asyncio.StreamWriter) -> None:
    """Close with a TCP RST, as a crashing middlebox or registry would."""
    sock = writer.get_extra_info("socket")
    with contextlib.suppress(OSError, AttributeError):
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    writer.transport.abort()
