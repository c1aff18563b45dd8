"""Sonatype Nexus Repository (Docker connector ports).

- :class:`Nexus`: the tag list is truncated without a ``Link`` header, so a client
  that waits for ``Link`` never sees the rest (sonatype/nexus-public#209 "Pagination
  header missing"; renovatebot/renovate#18447 shows a truncated ``?n=10000`` answer with
  no ``Link``; nexus-public#117 for group repositories). ``n`` and ``last`` are honoured
  — the ``Link`` Nexus sends elsewhere uses ``last=`` (nexus-public#1011, #117). The
  size of the cap is *not confirmed*; ``page_size`` (default 10) sets it.
- :class:`NexusConnector`: a proxy repository on a connector port sends a ``Link``
  whose path carries the internal ``/repository/<repo-name>/`` prefix, which the
  connector port then refuses with 400 (nexus-public#1011). The 400's body is *not
  confirmed*.
"""

from __future__ import annotations

from collections.abc import Sequence
from urllib.parse import urlencode

from .behaviours import answer, capped_pages
from .proxy import Exchange, Personality, Rule
from .wire import Response

PAGE_SIZE = 10
REPOSITORY = "docker-proxy-docker-hub"


class Nexus(Personality):
    """Options: ``page_size`` (the cap, default 10)."""

    name = "nexus"

    def build_rules(self) -> Sequence[Rule]:
        return [capped_pages(int(self.options.get("page_size", PAGE_SIZE)))]


class NexusConnector(Personality):
    """Like :class:`Nexus`, but with the ``Link`` of nexus-public#1011."""

    name = "nexus_connector"

    def build_rules(self) -> Sequence[Rule]:
        size = int(self.options.get("page_size", PAGE_SIZE))
        return [
            answer(
                "/repository/ paths: 400 on a connector port", _bad_request, path="^/repository/"
            ),
            capped_pages(size, self._internal_link),
        ]

    def _internal_link(self, exchange: Exchange, name: str, last: str, size: int) -> str:
        query = urlencode({"n": size, "last": last})
        return f"{self.url}/repository/{REPOSITORY}/v2/{name}/tags/list?{query}"


def _bad_request(_: Exchange) -> Response:
    return Response.of(400, {"Content-Type": "text/plain"}, b"Bad Request\n")
