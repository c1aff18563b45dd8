"""A reverse proxy in front of a real registry that offers Basic *and* Bearer on every 401.

docker-registry with ``auth: token`` answers ``401`` with one ``WWW-Authenticate: Bearer``
header. Registries behind some gateways (Harbor's, Artifactory's, Nexus's) send a second
header, ``Basic realm=...``, beside it, in either order. This proxy adds that Basic header
before or after the registry's own, passes everything else on unchanged (one exchange per
connection), and records each request's method, path and ``Authorization`` scheme, so a
test can assert which challenge the client answered.
"""

from __future__ import annotations

import asyncio
import functools
import threading
from dataclasses import dataclass
from typing import Literal

from .http_relay import HEAD_LIMIT, Head, read_head, relay_exchange
from .loop_server import LoopServer, close_quietly
from .ports import HOST

BASIC = 'Basic realm="imgsync-gateway"'
Order = Literal["basic-first", "bearer-first"]


@dataclass(frozen=True)
class Asked:
    """One request as the proxy saw it; ``scheme`` is its ``Authorization`` scheme or ``""``."""

    method: str
    path: str
    scheme: str
    status: int


class DoubleChallengeProxy(LoopServer):
    """``127.0.0.1:<free port>`` → the registry at ``target``; 401s carry two challenges."""

    def __init__(self, target: tuple[str, int], order: Order) -> None:
        super().__init__()
        self.target, self.order = target, order
        self._asked: list[Asked] = []
        self._lock = threading.Lock()

    @property
    def host(self) -> str:
        """``127.0.0.1:PORT``: address the registry by this instead of its own host."""
        return f"{HOST}:{self.port}"

    def asked(self) -> list[Asked]:
        with self._lock:
            return list(self._asked)

    def challenges(self, bearer: list[str]) -> list[str]:
        """The ``WWW-Authenticate`` values to send, in this proxy's order."""
        return [BASIC, *bearer] if self.order == "basic-first" else [*bearer, BASIC]

    def _answered(self, request: Head, answer: Head | None) -> Head | None:
        """Record the exchange; give a 401 the Basic challenge beside the registry's."""
        method, path = request.first_line.split(" ")[:2]
        scheme = request.get("Authorization").partition(" ")[0]
        with self._lock:
            self._asked.append(Asked(method, path, scheme, answer.status if answer else 0))
        if answer is None or answer.status != 401:
            return answer
        bearer = [v for k, v in answer.headers if k.lower() == "www-authenticate"]
        return answer.replacing("WWW-Authenticate", self.challenges(bearer))

    async def _connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = await read_head(reader)
        if head is None:
            return
        try:
            upstream = await asyncio.open_connection(*self.target, limit=HEAD_LIMIT)
        except OSError:
            return
        try:
            answer = functools.partial(self._answered, head)
            await relay_exchange(head.closing(), (reader, writer), upstream, answer)
        finally:
            close_quietly(upstream[1])
