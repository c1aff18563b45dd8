"""An HTTP forward proxy on loopback that records what went through it, per target host.

A client told ``HTTP_PROXY=http://127.0.0.1:PORT`` sends http:// requests to it in absolute
form (``GET http://host:port/v2/ HTTP/1.1``); one told ``HTTPS_PROXY`` opens a tunnel with
``CONNECT host:port`` for https://. Both are served: the first is forwarded one exchange per
connection (``Connection: close`` both ways, so no response needs framing), the second is
piped byte for byte. :meth:`ForwardProxy.log` lists every request with the target as the
client named it and the client's ``User-Agent`` (imgsync and skopeo say who they are).

``local_names`` are host names only this proxy resolves (to 127.0.0.1): a registry addressed
by one is reachable *only* through the proxy, so a successful copy proves a client used it.
Every other target must be a loopback address or ``localhost``, else the client gets 502:
the proxy never dials off this machine.
"""

from __future__ import annotations

import asyncio
import functools
import ipaddress
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Literal
from urllib.parse import urlsplit

from .http_relay import HEAD_LIMIT, Head, Upstream, read_head, relay_exchange
from .loop_server import LoopServer, close_quietly, pipe
from .ports import HOST

Kind = Literal["forward", "tunnel", "refused"]


def name_only_the_proxy_knows(role: str) -> str:
    """A host name for ``role`` that no resolver answers, and that none is even asked for.

    Its first label is 64 characters, one over DNS's limit: Go's resolver (skopeo) and
    Python's IDNA codec (requests) refuse it before sending a query, so a client that
    goes around the proxy fails at once with "no such host" and no packet leaves the
    machine. A proxy given the name in ``local_names`` connects it to 127.0.0.1.
    """
    return f"{role}-".ljust(64, "x") + ".invalid"


@dataclass(frozen=True)
class Passed:
    """One request the proxy served: ``target`` is ``host:port`` as the client named it."""

    kind: Kind
    method: str
    target: str
    path: str
    user_agent: str
    status: int


@dataclass
class _Log:
    entries: list[Passed] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


class ForwardProxy(LoopServer):
    """``http://127.0.0.1:<free port>`` as an HTTP/HTTPS proxy for loopback targets."""

    def __init__(self, local_names: Iterable[str] = ()) -> None:
        super().__init__()
        self.local_names = frozenset(name.lower() for name in local_names)
        self._log = _Log()

    @property
    def url(self) -> str:
        """The value for ``HTTP_PROXY`` and ``HTTPS_PROXY``."""
        return f"http://{HOST}:{self.port}"

    def __repr__(self) -> str:
        return f"ForwardProxy({self.url}, local_names={sorted(self.local_names)})"

    def log(self, since: int = 0) -> list[Passed]:
        """Every request served after ``since`` (a value from :meth:`mark`)."""
        with self._log.lock:
            return list(self._log.entries[since:])

    def mark(self) -> int:
        with self._log.lock:
            return len(self._log.entries)

    def to(self, target: str, *, kind: Kind | None = None) -> list[Passed]:
        """The requests for ``host:port`` (of one ``kind``, if given)."""
        return [p for p in self.log() if p.target == target and kind in (None, p.kind)]

    def targets(self) -> set[str]:
        """Every ``host:port`` a client asked for."""
        return {p.target for p in self.log()}

    def _record(self, head: Head, kind: Kind, target: str, path: str, status: int) -> None:
        method = head.first_line.split(" ", 1)[0].upper()
        entry = Passed(kind, method, target, path, head.get("User-Agent"), status)
        with self._log.lock:
            self._log.entries.append(entry)

    def _answered(self, request: Head, target: str, path: str, answer: Head | None) -> Head | None:
        """Record a forwarded request once its answer came (status 0: none came)."""
        self._record(request, "forward", target, path, answer.status if answer else 0)
        return answer

    def _address(self, host: str) -> str | None:
        """Where to dial for ``host``: loopback only, ``None`` for anything else."""
        if host.lower() in self.local_names or host.lower() == "localhost":
            return HOST
        try:
            return host if ipaddress.ip_address(host).is_loopback else None
        except ValueError:
            return None

    async def _connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = await read_head(reader)
        if head is None:
            return
        try:
            if head.first_line.upper().startswith("CONNECT "):
                await self._tunnel(head, reader, writer)
            else:
                await self._forward(head, reader, writer)
        except (ConnectionError, OSError):
            pass

    async def _tunnel(
        self, head: Head, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        target = head.first_line.split(" ")[1]
        host, _, port = target.rpartition(":")
        upstream = await self._dial(head, "tunnel", target, host.strip("[]"), int(port), writer)
        if upstream is None:
            return
        writer.write(b"HTTP/1.1 200 Connection Established\r\n\r\n")
        try:
            await asyncio.gather(pipe(reader, upstream[1]), pipe(upstream[0], writer))
        finally:
            close_quietly(upstream[1])

    async def _forward(
        self, head: Head, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        method, uri, version = [*head.first_line.split(" ", 2), "", ""][:3]
        url = urlsplit(uri)
        target, path = url.netloc, (url.path or "/") + (f"?{url.query}" if url.query else "")
        upstream = await self._dial(
            head, "forward", target, url.hostname or "", url.port or 80, writer
        )
        if upstream is None:
            return
        try:
            request = head.closing(f"{method} {path} {version}")
            answer = functools.partial(self._answered, head, target, path)
            await relay_exchange(request, (reader, writer), upstream, answer)
        finally:
            close_quietly(upstream[1])

    async def _dial(
        self,
        head: Head,
        kind: Kind,
        target: str,
        host: str,
        port: int | None,
        writer: asyncio.StreamWriter,
    ) -> Upstream | None:
        """Connect to ``host:port`` on loopback; answer 502 and record a refusal otherwise."""
        address = self._address(host)
        try:
            if address is None or port is None:
                raise ConnectionRefusedError(target)
            upstream = await asyncio.open_connection(address, port, limit=HEAD_LIMIT)
        except OSError:
            writer.write(
                b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
            )
            self._record(head, "refused", target, "", 502)
            return None
        if kind == "tunnel":
            self._record(head, kind, target, "", 200)
        return upstream
