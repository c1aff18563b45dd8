"""A latency-injecting TCP proxy (asyncio), optionally terminating TLS.

Loopback has no latency, and that hides exactly what users pay on the internet: round
trips. Every chunk, in both directions, is delivered a fixed one-way ``delay_s`` after it
arrived (default 15 ms, so 30 ms RTT), and the first byte a client sends on a new
connection waits ``handshake_rtts`` extra round trips (default 2: TCP and TLS handshakes).

Chunks are queued with their due time and written in order by a separate coroutine, so
the delay is latency, not a throughput cap: many requests in flight on one connection, or
many connections at once, are all delayed by the same fixed amount and overlap in time.

Run it as a process (``python -m bench.latency_proxy --target HOST:PORT``): it prints its
port on stdout and serves until SIGTERM, with its own interpreter and GIL, so the proxies
never compete with the harness for one. :class:`LatencyProxy` runs in a thread for tests.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
import ssl
import sys
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import IO

HOST = "127.0.0.1"
CHUNK = 64 * 1024
#: Chunks buffered per direction before the reader waits (TCP backpressure to the sender).
QUEUE_CHUNKS = 64
DEFAULT_DELAY_S = 0.015
DEFAULT_HANDSHAKE_RTTS = 2


@dataclass(frozen=True)
class ProxyConfig:
    """What one proxy does: where it forwards to and how late it delivers."""

    target: tuple[str, int]
    delay_s: float = DEFAULT_DELAY_S
    handshake_rtts: float = DEFAULT_HANDSHAKE_RTTS
    listen_port: int = 0
    tls_cert: Path | None = None
    tls_key: Path | None = None

    @property
    def rtt_s(self) -> float:
        return 2 * self.delay_s

    @property
    def handshake_s(self) -> float:
        """Extra wait before the first client byte of a connection reaches the server."""
        return self.handshake_rtts * self.rtt_s

    def server_tls(self) -> ssl.SSLContext | None:
        """TLS context for the listening side, HTTP/1.1 only (the registry speaks nothing else)."""
        if self.tls_cert is None or self.tls_key is None:
            return None
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(self.tls_cert, self.tls_key)
        context.set_alpn_protocols(["http/1.1"])
        return context


class _Pipe:
    """One direction of one connection: read, stamp with a due time, write when due."""

    def __init__(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        delay_s: float,
        not_before: float = 0.0,
    ) -> None:
        self.reader, self.writer = reader, writer
        self.delay_s, self.not_before = delay_s, not_before
        self.queue: asyncio.Queue[tuple[float, bytes]] = asyncio.Queue(QUEUE_CHUNKS)

    async def run(self) -> None:
        """Until EOF on the reader and everything queued has been written."""
        await asyncio.gather(self._read(), self._write())

    async def _read(self) -> None:
        loop = asyncio.get_running_loop()
        try:
            while True:
                data = await self.reader.read(CHUNK)
                due = max(loop.time(), self.not_before) + self.delay_s
                await self.queue.put((due, data))
                if not data:
                    return
        except (ConnectionError, OSError, ssl.SSLError):
            await self.queue.put((loop.time(), b""))

    async def _write(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            due, data = await self.queue.get()
            wait = due - loop.time()
            if wait > 0:
                await asyncio.sleep(wait)
            if not data:
                _half_close(self.writer)
                return
            with contextlib.suppress(ConnectionError, OSError, ssl.SSLError):
                self.writer.write(data)
                await self.writer.drain()


def _half_close(writer: asyncio.StreamWriter) -> None:
    """Pass EOF on; a TLS transport cannot half-close, so it is closed instead."""
    try:
        if writer.can_write_eof():
            writer.write_eof()
        else:
            writer.close()
    except (ConnectionError, OSError, RuntimeError, ssl.SSLError):
        writer.close()


def _close(writer: asyncio.StreamWriter) -> None:
    with contextlib.suppress(Exception):
        writer.close()


class ProxyServer:
    """The asyncio server; counts connections and can log each one (to count set-ups)."""

    def __init__(self, config: ProxyConfig, conn_log: IO[str] | None = None) -> None:
        self.config = config
        self.connections = 0
        self.port = config.listen_port
        self._conn_log = conn_log
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    async def start(self) -> int:
        """Listen; return the port (chosen by the kernel when 0)."""
        self._server = await asyncio.start_server(
            self._handle, HOST, self.config.listen_port, ssl=self.config.server_tls()
        )
        self.port = int(self._server.sockets[0].getsockname()[1])
        return self.port

    async def close(self) -> None:
        """Stop listening and cut every open connection."""
        if self._server is not None:
            self._server.close()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._server is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._server.wait_closed(), 1.0)

    async def _handle(self, client_r: asyncio.StreamReader, client_w: asyncio.StreamWriter) -> None:
        accepted = asyncio.get_running_loop().time()
        self._note_connection()
        task = asyncio.current_task()
        if task is not None:
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        try:
            upstream_r, upstream_w = await asyncio.open_connection(*self.config.target)
        except OSError:
            _close(client_w)
            return
        gate = accepted + self.config.handshake_s
        up = _Pipe(client_r, upstream_w, self.config.delay_s, not_before=gate)
        down = _Pipe(upstream_r, client_w, self.config.delay_s)
        try:
            await asyncio.gather(up.run(), down.run())
        except asyncio.CancelledError:
            pass  # the proxy is shutting down
        finally:
            _close(upstream_w)
            _close(client_w)

    def _note_connection(self) -> None:
        self.connections += 1
        if self._conn_log is not None:
            self._conn_log.write("c\n")
            self._conn_log.flush()


class LatencyProxy:
    """A :class:`ProxyServer` on its own event loop in a daemon thread (for tests)."""

    def __init__(self, config: ProxyConfig) -> None:
        self.server = ProxyServer(config)
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)

    @property
    def host(self) -> str:
        return f"{HOST}:{self.server.port}"

    def start(self) -> LatencyProxy:
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self.server.start(), self._loop).result(10)
        return self

    def stop(self) -> None:
        asyncio.run_coroutine_threadsafe(self.server.close(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)

    def __enter__(self) -> LatencyProxy:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def parse_target(text: str) -> tuple[str, int]:
    host, _, port = text.rpartition(":")
    return host or HOST, int(port)


def _args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.latency_proxy", description=__doc__)
    parser.add_argument("--target", required=True, help="HOST:PORT to forward to")
    parser.add_argument("--port", type=int, default=0, help="listen port (0 = any free one)")
    parser.add_argument("--delay-ms", type=float, default=DEFAULT_DELAY_S * 1000)
    parser.add_argument("--handshake-rtts", type=float, default=DEFAULT_HANDSHAKE_RTTS)
    parser.add_argument("--tls-cert", type=Path)
    parser.add_argument("--tls-key", type=Path)
    parser.add_argument("--conn-log", type=Path, help="append one line per new connection")
    return parser.parse_args(argv)


async def _serve(config: ProxyConfig, conn_log: IO[str] | None) -> None:
    server = ProxyServer(config, conn_log)
    port = await server.start()
    print(port, flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    await server.close()


def main(argv: list[str] | None = None) -> int:
    """Serve until SIGTERM; the first stdout line is the port."""
    args = _args(argv)
    config = ProxyConfig(
        target=parse_target(args.target),
        delay_s=args.delay_ms / 1000,
        handshake_rtts=args.handshake_rtts,
        listen_port=args.port,
        tls_cert=args.tls_cert,
        tls_key=args.tls_key,
    )
    with contextlib.ExitStack() as stack:
        log = stack.enter_context(args.conn_log.open("a")) if args.conn_log else None
        asyncio.run(_serve(config, log))
    return 0


if __name__ == "__main__":
    sys.exit(main())
