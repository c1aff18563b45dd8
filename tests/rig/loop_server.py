"""An asyncio TCP server on a free loopback port, run by a daemon thread of its own.

The rig's proxies (:mod:`.slow_proxy`, :mod:`.fault_proxy`) share this life cycle: start
returns once listening, stop closes the listener *and* every open connection (stalled
ones included) so no test leaves sockets behind. Subclasses write ``_connection``.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Callable
from types import TracebackType
from typing import Self

from .ports import HOST

#: asyncio's default limit for a line read from a stream.
STREAM_LIMIT = 2**16
#: Bytes a relay reads at a time.
CHUNK = 64 * 1024


class LoopServer:
    """Subclasses set ``port`` (0: any free one) and implement :meth:`_connection`."""

    stream_limit = STREAM_LIMIT

    def __init__(self) -> None:
        self.port = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._server: asyncio.Server | None = None
        self._thread: threading.Thread | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    def start(self) -> Self:
        """Bind and serve in a background thread; returns once listening."""
        ready = threading.Event()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._run, args=(ready,), daemon=True)
        self._thread.start()
        if not ready.wait(10) or self._server is None:
            raise RuntimeError(f"{type(self).__name__} did not start")
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

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    async def _connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        raise NotImplementedError

    def _run(self, ready: threading.Event) -> None:
        assert self._loop is not None
        asyncio.set_event_loop(self._loop)
        self._server = self._loop.run_until_complete(
            asyncio.start_server(self._tracked, HOST, self.port, limit=self.stream_limit)
        )
        self.port = int(self._server.sockets[0].getsockname()[1])
        ready.set()
        self._loop.run_forever()

    async def _tracked(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """Run one connection as a task :meth:`stop` can cancel; always close it."""
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        try:
            await self._connection(reader, writer)
        except asyncio.CancelledError:
            pass
        finally:
            self._tasks.discard(task)
            close_quietly(writer)

    async def _shutdown(self) -> None:
        if self._server is not None:
            self._server.close()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._server is not None:
            await self._server.wait_closed()


def close_quietly(writer: asyncio.StreamWriter) -> None:
    with contextlib.suppress(Exception):
        writer.close()


async def pipe(
    reader: asyncio.StreamReader,
    writer: asyncio.StreamWriter,
    *,
    chunk_size: int = CHUNK,
    pause: Callable[[int], float] | None = None,
) -> None:
    """Copy one direction until EOF, then half-close the other side.

    ``pause(len(chunk))`` seconds are waited before each chunk is passed on (a throttle).
    """
    try:
        while data := await reader.read(chunk_size):
            delay = pause(len(data)) if pause is not None else 0.0
            if delay:
                await asyncio.sleep(delay)
            writer.write(data)
            await writer.drain()
        if writer.can_write_eof():
            writer.write_eof()
    except (ConnectionError, OSError):
        close_quietly(writer)
