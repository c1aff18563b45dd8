"""Rules several personalities share; each personality module cites where its registry does it.

Every function returns :class:`~.proxy.Rule` s for a personality's table, so a
personality module reads as a list of behaviours rather than as proxy code.
"""

from __future__ import annotations

import json
import secrets
import threading
from collections.abc import Callable, Mapping
from urllib.parse import urlencode

from ..oci import OCI_INDEX, OCI_MANIFEST
from .proxy import Exchange, Rule
from .tokens import BasicAuth, BearerAuth
from .wire import Response, json_response, registry_error

OCI_ARTIFACT = "application/vnd.oci.artifact.manifest.v1+json"
#: distribution's own wording (registry/handlers/manifests.go), kept by GHCR, ACR, GitLab.
ACCEPT_MISSES = {
    OCI_INDEX: "OCI index found, but accept header does not support OCI indexes",
    OCI_MANIFEST: "OCI manifest found, but accept header does not support OCI manifests",
    OCI_ARTIFACT: "OCI artifact found, but accept header does not support OCI artifacts",
}
READS = ("GET", "HEAD")


def bearer(auth: BearerAuth) -> list[Rule]:
    """The token endpoint and the token check in front of every ``/v2/`` request."""
    return [
        Rule("token service", on_request=auth.serve_token, path=f"^{auth.realm_path}$"),
        Rule("bearer token required", on_request=auth.check, path="^/v2/"),
    ]


def basic(auth: BasicAuth) -> list[Rule]:
    return [Rule("basic credentials required", on_request=auth.check, path="^/v2/")]


def answer(why: str, response: Callable[[Exchange], Response], **match: object) -> Rule:
    """Answer matching requests without asking the upstream."""
    return Rule(why, on_request=response, **match)  # type: ignore[arg-type]


def head_refused(status: int, body: bytes = b"") -> Rule:
    """``HEAD`` on manifests refused (GET still works)."""
    reply = Response.of(status, {"Content-Type": "application/json"}, body)
    return answer(
        f"manifest HEAD answers {status}", lambda _: reply, methods=("HEAD",), kind="manifests"
    )


def accept_must_cover(types: Mapping[str, str] = ACCEPT_MISSES) -> Rule:
    """404 ``MANIFEST_UNKNOWN`` when the manifest's type is missing from ``Accept``."""

    def check(exchange: Exchange, response: Response) -> Response:
        media_type = response.headers.get("content-type").split(";")[0].strip()
        accepted = {
            a.split(";")[0].strip() for a in exchange.request.headers.get("accept").split(",")
        }
        if response.status != 200 or media_type not in types or accepted & {media_type, "*/*"}:
            return response
        return registry_error(404, "MANIFEST_UNKNOWN", types[media_type])

    return Rule(
        "manifest types the Accept list lacks: 404",
        on_response=check,
        methods=READS,
        kind="manifests",
    )


def strip_header(header: str, methods: tuple[str, ...], kind: str = "manifests") -> Rule:
    def strip(_: Exchange, response: Response) -> Response:
        response.headers.remove(header)
        return response

    return Rule(
        f"no {header} on {'/'.join(methods)} {kind}", on_response=strip, methods=methods, kind=kind
    )


def not_found_becomes(
    status: int, code: str, message: Callable[[Exchange], str], **match: object
) -> Rule:
    """Rewrite the upstream's 404 into this registry's answer."""

    def rewrite(exchange: Exchange, response: Response) -> Response:
        if response.status != 404:
            return response
        return registry_error(status, code, message(exchange))

    return Rule(f"404 answered as {status} {code}", on_response=rewrite, **match)  # type: ignore[arg-type]


def no_referrers_api() -> Rule:
    return answer(
        "no referrers API: 404",
        lambda _: registry_error(404, "NOT_FOUND", "404 page not found"),
        kind="referrers",
    )


def all_tags(exchange: Exchange) -> list[str] | Response:
    """The upstream's whole tag list, or its error answer."""
    name = exchange.request.route.name
    upstream = exchange.personality.upstream_get(f"/v2/{name}/tags/list")
    if upstream.status != 200:
        return upstream
    return sorted(json.loads(upstream.body).get("tags") or [])


def tag_page(name: str, tags: list[str], link: str = "") -> Response:
    headers = {"Link": f'<{link}>; rel="next"'} if link else {}
    return json_response(200, {"name": name, "tags": tags}, headers)


def page_after(tags: list[str], last: str, size: int) -> tuple[list[str], bool]:
    """Tags after ``last`` (lexical, as distribution orders them), and whether more follow."""
    rest = [t for t in tags if t > last] if last else tags
    return rest[:size], len(rest) > size


def cursor_pages(page_size: int) -> Rule:
    """Quay's paging: ``page_size`` tags, ``Link`` with an opaque ``next_page``; no ``last``."""
    cursors: dict[str, str] = {}

    def serve(exchange: Exchange) -> Response:
        tags = all_tags(exchange)
        if isinstance(tags, Response):
            return tags
        query, name = exchange.request.query, str(exchange.request.route.name)
        size = min(int(query.get("n", [page_size])[0]), page_size)
        page, more = page_after(tags, cursors.get(query.get("next_page", [""])[0], ""), size)
        if not more:
            return tag_page(name, page)
        cursor = secrets.token_urlsafe(16)
        cursors[cursor] = page[-1]
        return tag_page(
            name, page, f"/v2/{name}/tags/list?{urlencode({'next_page': cursor, 'n': size})}"
        )

    return answer(
        f"tag list: {page_size} per page, Link with next_page", serve, methods=READS, kind="tags"
    )


def capped_pages(
    page_size: int, link: Callable[[Exchange, str, str, int], str] | None = None
) -> Rule:
    """At most ``page_size`` tags after ``last``; ``link`` (or no ``Link``) for the next page."""

    def serve(exchange: Exchange) -> Response:
        tags = all_tags(exchange)
        if isinstance(tags, Response):
            return tags
        query, name = exchange.request.query, str(exchange.request.route.name)
        size = min(int(query.get("n", [page_size])[0]), page_size)
        page, more = page_after(tags, query.get("last", [""])[0], size)
        next_link = link(exchange, name, page[-1], size) if more and link else ""
        return tag_page(name, page, next_link)

    return answer(f"tag list capped at {page_size}", serve, methods=READS, kind="tags")


class TagDeletes:
    """OCI distribution 1.1's ``DELETE /v2/<name>/manifests/<tag>`` over an upstream that
    refuses it (docker-registry 2.8 answers 400 ``DIGEST_INVALID``): a deleted tag is hidden
    from tag lists and manifest reads until it is pushed again; the manifest stays."""

    def __init__(self) -> None:
        self.deleted: set[tuple[str, str]] = set()
        self._lock = threading.Lock()

    def rules(self) -> list[Rule]:
        return [
            answer("tag DELETE removes the tag only", self._delete, methods=("DELETE",)),
            answer("a deleted tag reads as unknown", self._unknown, methods=READS),
            Rule("deleted tags leave the tag list", on_response=self._listed, kind="tags"),
            Rule("a push brings a deleted tag back", on_response=self._pushed, methods=("PUT",)),
        ]

    def hidden(self, name: str, tag: str) -> bool:
        with self._lock:
            return (name, tag) in self.deleted

    def visible_tags(self, exchange: Exchange) -> list[str] | Response:
        tags = all_tags(exchange)
        if isinstance(tags, Response):
            return tags
        name = str(exchange.request.route.name)
        return [tag for tag in tags if not self.hidden(name, tag)]

    def _by_tag(self, exchange: Exchange) -> tuple[str, str] | None:
        route = exchange.request.route
        if route.kind != "manifests" or route.by_digest or route.name is None:
            return None
        return route.name, route.ref

    def _delete(self, exchange: Exchange) -> Response | None:
        found = self._by_tag(exchange)
        if found is None:
            return None
        upstream = exchange.personality.upstream_get(f"/v2/{found[0]}/manifests/{found[1]}")
        if self.hidden(*found) or upstream.status != 200:
            return registry_error(404, "MANIFEST_UNKNOWN", "manifest unknown")
        with self._lock:
            self.deleted.add(found)
        return Response.of(202)

    def _unknown(self, exchange: Exchange) -> Response | None:
        found = self._by_tag(exchange)
        if found is None or not self.hidden(*found):
            return None
        return registry_error(404, "MANIFEST_UNKNOWN", "manifest unknown")

    def _listed(self, exchange: Exchange, response: Response) -> Response:
        if response.status != 200:
            return response
        body = json.loads(response.body)
        name = str(body.get("name"))
        body["tags"] = [t for t in body.get("tags") or [] if not self.hidden(name, t)]
        return json_response(200, body)

    def _pushed(self, exchange: Exchange, response: Response) -> Response:
        found = self._by_tag(exchange)
        if found is not None and response.status == 201:
            with self._lock:
                self.deleted.discard(found)
        return response
