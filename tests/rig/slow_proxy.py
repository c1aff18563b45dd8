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
import contextlib
import threading
from types import TracebackType

from .ports import HOST

CHUNK = 16 * 1024


class SlowProxy:
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
        self.target = (target_host, target_port)
        self.delay_s = delay_s
        self.rate_bps = rate_bps
        self.chunk_size = chunk_size
        self.port = 0
        self.connections = 0
        self.active = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._server: asyncio.Server | None = None
        self._thread: threading.Thread | None = None
        self._tasks: set[asyncio.Task[None]] = set()

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

    def start(self) -> SlowProxy:
        """Bind a free port and serve in a background thread; returns once listening."""
        ready = threading.Event()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._run, args=(ready,), daemon=True)
        self._thread.start()
        if not ready.wait(10) or self._server is None:
            raise RuntimeError("slow proxy did not start")
        return self

    def stop(self) -> None:
        """Close the listener and every open connection, then end the thread."""
        loop, thread = self._loop, self._thread
        if loop is None or thread is None:
            return
        if loop.is_running():
            asyncio.run_coroutine_threadsafe(self._shutdown(), loop).result(timeout=10)
            loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=10)
        loop.close()
        self._loop = self._thread = self._server = None

    def __enter__(self) -> SlowProxy:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def pause_for(self, size: int) -> float:
        """Seconds a chunk of ``size`` bytes waits before it is passed on."""
        rate = self.rate_bps
        return self.delay_s + (size / rate if rate else 0.0)

    def _run(self, ready: threading.Event) -> None:
        assert self._loop is not None
        asyncio.set_event_loop(self._loop)
        self._server = self._loop.run_until_complete(
            asyncio.start_server(self._accept, HOST, self.port)
        )
        self.port = int(self._server.sockets[0].getsockname()[1])
        ready.set()
        self._loop.run_forever()

    async def _shutdown(self) -> None:
        if self._server is not None:
            self._server.close()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._server is not None:
            await self._server.wait_closed()

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        self.connections += 1
        self.active += 1
        try:
            await self._relay(reader, writer)
        except asyncio.CancelledError:
            pass
        finally:
            self.active -= 1
            self._tasks.discard(task)
            _close(writer)

    async def _relay(self, client_r: asyncio.StreamReader, client_w: asyncio.StreamWriter) -> None:
        try:
            upstream_r, upstream_w = await asyncio.open_connection(*self.target)
        except OSError:
            return  # the target is down: the client sees the connection close
        try:
            await asyncio.gather(self._pipe(client_r, upstream_w), self._pipe(upstream_r, client_w))
        finally:
            _close(upstream_w)

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """Copy one direction until EOF, then half-close the other side."""
        try:
            while data := await reader.read(self.chunk_size):
                pause = self.pause_for(len(data))
                if pause:
                    await asyncio.sleep(pause)
                writer.write(data)
                await writer.drain()
            if writer.can_write_eof():
                writer.write_eof()
        except (ConnectionError, OSError):
            _close(writer)


def _close(writer: asyncio.StreamWriter) -> None:
    with contextlib.suppress(Exception):
        writer.close()
