"""A throttling TCP proxy on loopback, so copies through it take seconds instead of milliseconds.

It forwards bytes unchanged in both directions (HTTP keep-alive, uploads, Location
headers all behave as with the real server; docker-registry builds absolute URLs
from the request's Host header, which names the proxy). Every chunk waits
``delay_s`` plus ``len(chunk) / rate_bps`` before it is passed on, per connection
and direction; both knobs may be changed while it runs. The event loop lives in a
daemon thread, so tests use it like any other rig server.
"""

from __future__ import annotations

import asyncio

from .loop_server import LoopServer, close_quietly, pipe
from .ports import HOST

CHUNK = 16 * 1024


class SlowProxy(LoopServer):
    """``127.0.0.1:<free port>`` → ``target_host:target_port``, slowed down per chunk."""

    def __init__(
        self,
        target_host: str,
        target_port: int,
        *,
        delay_s: float = 0.0,
        rate_bps: float | None = None,
        chunk_size: int = CHUNK,
    ) -> None:
        super().__init__()
        self.target = (target_host, target_port)
        self.delay_s = delay_s
        self.rate_bps = rate_bps
        self.chunk_size = chunk_size
        self.connections = 0
        self.active = 0

    @classmethod
    def in_front_of(
        cls, host_port: str, *, delay_s: float = 0.0, rate_bps: float | None = None
    ) -> SlowProxy:
        """A proxy for ``host:port`` (a Registry's ``.host``)."""
        host, _, port = host_port.rpartition(":")
        return cls(host, int(port), delay_s=delay_s, rate_bps=rate_bps)

    @property
    def host(self) -> str:
        """``127.0.0.1:PORT``: use it in image references instead of the target's."""
        return f"{HOST}:{self.port}"

    def __repr__(self) -> str:
        return f"SlowProxy({self.host} -> {self.target[0]}:{self.target[1]})"

    def pause_for(self, size: int) -> float:
        """Seconds a chunk of ``size`` bytes waits before it is passed on."""
        rate = self.rate_bps
        return self.delay_s + (size / rate if rate else 0.0)

    async def _connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        self.active += 1
        try:
            await self._relay(reader, writer)
        finally:
            self.active -= 1

    async def _relay(self, client_r: asyncio.StreamReader, client_w: asyncio.StreamWriter) -> None:
        try:
            upstream_r, upstream_w = await asyncio.open_connection(*self.target)
        except OSError:
            return  # the target is down: the client sees the connection close
        try:
            await asyncio.gather(self._pipe(client_r, upstream_w), self._pipe(upstream_r, client_w))
        finally:
            close_quietly(upstream_w)

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """Copy one direction until EOF, each chunk slowed by :meth:`pause_for`."""
        await pipe(reader, writer, chunk_size=self.chunk_size, pause=self.pause_for)
