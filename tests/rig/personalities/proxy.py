"""The one request-rewriting proxy every personality is: a table of rules around a forward.

A :class:`Rule` names the requests it applies to (methods, a path regex, a ``/v2/``
resource kind) and may hook both directions. Rules form an onion, outermost first:
each ``on_request`` may answer by itself (the upstream never sees the request) or
adjust :class:`Exchange` (``account``, ``forward_target``); every rule passed on the
way in then sees the answer in its ``on_response``, innermost first. What is not
answered is forwarded to the real docker-registry behind the personality, without
the client's ``Authorization`` (the upstream is anonymous; the personality *is* the
auth layer) and with the client's ``Host``, so upload ``Location`` URLs point back at
the personality. :class:`~.stats.Stats` records every exchange and token request for tests.
"""

from __future__ import annotations

import asyncio
import http.client
import re
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, Self

from ..loop_server import LoopServer
from ..oci import OCI_INDEX, OCI_MANIFEST, seed
from ..ports import HOST
from ..registry import Registry
from ..token_server import AuthError, parse_basic
from .stats import Seen, Stats
from .tokens import TokenStore
from .wire import Headers, Request, Response, read_request, write_response

RequestHook = Callable[["Exchange"], Response | None]
ResponseHook = Callable[["Exchange", Response], Response]
_NOT_FORWARDED = frozenset({"authorization", "connection", "keep-alive", "transfer-encoding"})
_NOT_RETURNED = frozenset({"connection", "keep-alive", "transfer-encoding"})
MANIFEST_ACCEPT = f"{OCI_INDEX}, {OCI_MANIFEST}"


@dataclass(frozen=True)
class Rule:
    """One behaviour: ``why`` names it (the docstring of its module names the source)."""

    why: str
    on_request: RequestHook | None = None
    on_response: ResponseHook | None = None
    methods: tuple[str, ...] = ()
    path: str = ""
    kind: str = ""

    def applies(self, request: Request) -> bool:
        if self.methods and request.method not in self.methods:
            return False
        if self.kind and request.route.kind != self.kind:
            return False
        return re.search(self.path, request.path) is not None


@dataclass
class Exchange:
    """One request on its way through the rules."""

    personality: Personality
    request: Request
    account: str | None = None
    forward_target: str = ""

    def __post_init__(self) -> None:
        self.forward_target = self.forward_target or self.request.target


class Personality(LoopServer):
    """A proxy in front of ``upstream`` that answers as registry ``name`` does."""

    name: ClassVar[str] = "distribution"

    def __init__(self, upstream: Registry, workdir: Path, **options: Any) -> None:
        super().__init__()
        if upstream.credentials is not None:
            raise ValueError("a personality needs an anonymous upstream registry")
        self.upstream = upstream
        self.workdir = workdir
        self.options = options
        self.accounts: dict[str, str] = dict(options.pop("accounts", {}))
        self.tokens = TokenStore()
        self.stats = Stats()
        self.rules: Sequence[Rule] = ()

    def start(self) -> Self:
        """Build the table (subclasses' state exists by now), then listen."""
        self.rules = self.build_rules()
        super().start()
        return self

    def build_rules(self) -> Sequence[Rule]:
        """The personality's table; the base forwards everything unchanged."""
        return ()

    # ------------------------------------------------------------------ addresses

    @property
    def host(self) -> str:
        """``127.0.0.1:PORT``: use it in image references instead of the registry's."""
        return f"{HOST}:{self.port}"

    @property
    def url(self) -> str:
        return f"http://{self.host}"

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.host} -> {self.upstream.host})"

    # ------------------------------------------------------------------ test helpers

    def seed(self, repo: str, tag: str, **kwargs: Any) -> str:
        """Push a rig image straight to the upstream; return its digest."""
        self.repository_created(repo)
        return seed(self.upstream, repo, tag, tmp_path=self.workdir, **kwargs)

    def repository_created(self, repo: str) -> None:
        """Hook: a repository came to exist outside the personality (ECR, Harbor track it)."""

    def add_tags(self, repo: str, source_tag: str, tags: Sequence[str]) -> None:
        """Point more tags at ``source_tag``'s manifest: many tags without many pushes."""
        conn = http.client.HTTPConnection(self.upstream.host, timeout=30)
        try:
            conn.request(
                "GET", f"/v2/{repo}/manifests/{source_tag}", headers={"Accept": MANIFEST_ACCEPT}
            )
            answer = conn.getresponse()
            body, media_type = answer.read(), answer.getheader("Content-Type", OCI_INDEX)
            for tag in tags:
                conn.request(
                    "PUT", f"/v2/{repo}/manifests/{tag}", body, {"Content-Type": media_type}
                )
                conn.getresponse().read()
        finally:
            conn.close()

    def upstream_get(self, target: str, accept: str = MANIFEST_ACCEPT) -> Response:
        """A GET straight to the upstream (rules use it to look before they answer)."""
        return self._send(Request("GET", target, Headers([("Accept", accept)])), target)

    def upstream_has(self, repo: str) -> bool:
        return self.upstream_get(f"/v2/{repo}/tags/list").status == 200

    def authenticate(self, header: str) -> str | None:
        """Basic credentials → account; None for anonymous; AuthError when they are wrong."""
        creds = parse_basic(header or None)
        if creds is None:
            return None
        if self.accounts.get(creds[0]) != creds[1]:
            raise AuthError("incorrect username or password")
        return creds[0]

    # ------------------------------------------------------------------ serving

    def handle(self, request: Request) -> Response:
        """Run the rules around the forward; a rule that raises answers 500 with the trace."""
        exchange = Exchange(self, request)
        try:
            response = self._through_rules(exchange)
        except Exception:  # a broken rule must show up in the test, not hang it
            response = Response.of(
                500, {"Content-Type": "text/plain"}, traceback.format_exc().encode()
            )
        self._record(exchange, response)
        return response

    def _through_rules(self, exchange: Exchange) -> Response:
        passed: list[Rule] = []
        response: Response | None = None
        for rule in (r for r in self.rules if r.applies(exchange.request)):
            if rule.on_request is not None:
                response = rule.on_request(exchange)
            if response is not None:
                break
            passed.append(rule)
        if response is None:
            response = self.forward(exchange)
        for rule in reversed(passed):
            if rule.on_response is not None:
                response = rule.on_response(exchange, response)
        return response

    def forward(self, exchange: Exchange) -> Response:
        return self._send(exchange.request, exchange.forward_target)

    def _send(self, request: Request, target: str) -> Response:
        headers = {k: v for k, v in request.headers.items() if k.lower() not in _NOT_FORWARDED}
        if request.body or request.method in ("PUT", "POST", "PATCH"):
            headers["Content-Length"] = str(len(request.body))
        conn = http.client.HTTPConnection(self.upstream.host, timeout=60)
        try:
            conn.request(request.method, target, request.body or None, headers)
            answer = conn.getresponse()
            body = answer.read()
            kept = Headers((k, v) for k, v in answer.getheaders() if k.lower() not in _NOT_RETURNED)
            return Response(answer.status, kept, body)
        finally:
            conn.close()

    def _record(self, exchange: Exchange, response: Response) -> None:
        request, route = exchange.request, exchange.request.route
        scheme = request.headers.get("authorization").partition(" ")[0]
        self.stats.record(
            Seen(
                request.method,
                request.target,
                route.name,
                route.kind,
                route.ref,
                response.status,
                exchange.account,
                scheme,
            )
        )

    async def _connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            request = await read_request(reader, writer)
            if request is not None:
                response = await asyncio.to_thread(self.handle, request)
                await write_response(request, response, writer)
        except (ConnectionError, OSError, asyncio.IncompleteReadError):
            pass
