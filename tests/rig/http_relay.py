"""HTTP/1.1 plumbing for the rig's HTTP-aware proxies: one exchange per connection.

A head is parsed with its headers kept in order (duplicates too: a registry may send two
``WWW-Authenticate`` headers), passed on with ``Connection: close`` both ways, and the
bodies are piped until the sender closes, so no message needs framing.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace

from .loop_server import pipe

HEAD_LIMIT = 64 * 1024
#: Connection-level headers a proxy must not pass on (RFC 9110 7.6.1), ``Connection`` included.
HOP_BY_HOP = frozenset({"connection", "keep-alive", "proxy-connection", "proxy-authorization"})
Upstream = tuple[asyncio.StreamReader, asyncio.StreamWriter]


@dataclass(frozen=True)
class Head:
    """A request or response head: the first line and its headers, duplicates kept in order."""

    first_line: str
    headers: tuple[tuple[str, str], ...] = ()

    @classmethod
    def parse(cls, raw: bytes) -> Head:
        lines = raw.decode("latin-1").split("\r\n")
        pairs = (line.partition(":") for line in lines[1:] if line)
        return cls(lines[0], tuple((name.strip(), value.strip()) for name, _, value in pairs))

    def get(self, name: str, default: str = "") -> str:
        """The first value of header ``name`` (case-insensitive)."""
        found = (value for key, value in self.headers if key.lower() == name.lower())
        return next(found, default)

    @property
    def status(self) -> int:
        """A response's status code."""
        return int(self.first_line.split(" ", 2)[1])

    def replacing(self, name: str, values: Iterable[str]) -> Head:
        """The same head with every ``name`` header replaced by one header per value."""
        kept = tuple((k, v) for k, v in self.headers if k.lower() != name.lower())
        return replace(self, headers=(*kept, *((name, value) for value in values)))

    def closing(self, first_line: str | None = None) -> bytes:
        """This head without hop-by-hop headers, asking the other side to close afterwards."""
        kept = [f"{k}: {v}" for k, v in self.headers if k.lower() not in HOP_BY_HOP]
        lines = [first_line or self.first_line, *kept, "Connection: close", "", ""]
        return "\r\n".join(lines).encode("latin-1")


#: What a proxy makes of the upstream answer's head before the client sees it.
Answer = Callable[[Head | None], Head | None]


async def read_head(reader: asyncio.StreamReader) -> Head | None:
    """The next message head, or ``None`` when the peer closed before sending one."""
    try:
        return Head.parse(await reader.readuntil(b"\r\n\r\n"))
    except (asyncio.IncompleteReadError, asyncio.LimitOverrunError):
        return None


async def relay_exchange(
    request: bytes,
    client: tuple[asyncio.StreamReader, asyncio.StreamWriter],
    upstream: Upstream,
    answer: Answer,
) -> None:
    """Send ``request`` upstream, stream the client's body after it and the answer back.

    ``answer`` sees the upstream head (``None``: no answer) *before* the client does, so
    a test that got its response can trust what the proxy recorded, and may change it.
    The head is re-written to close the connection; the body is copied until EOF.
    """
    up_reader, up_writer = upstream
    up_writer.write(request)
    body = asyncio.ensure_future(pipe(client[0], up_writer))
    try:
        head = answer(await read_head(up_reader))
        if head is not None:
            client[1].write(head.closing())
            await pipe(up_reader, client[1])
    finally:
        body.cancel()
        await asyncio.gather(body, return_exceptions=True)
