"""Quay (``quay.io``).

- Tag lists come 50 per page whatever ``n`` asks above that, continued by
  ``Link: </v2/NS/REPO/tags/list?next_page=<opaque>&n=50>; rel="next"``; ``last`` is
  ignored, so a client that pages with ``last`` sees the first 50 again
  (regclient/regclient#272 "only the first 50 tags", fixed by following ``Link`` in
  regclient#276; the header is quoted in ivanilves/lstags#185 and
  deitch/docker_registry2#56).
- An OCI image index whose children are Docker v2s2 manifests is refused on push
  with ``MANIFEST_INVALID`` "manifest invalid" (rabbitmq/rabbitmq-server#9132:
  the published rabbitmq images could not be pushed to Quay; *not confirmed*: the
  exact status, 400 here). OCI indexes of OCI manifests and Docker lists are accepted.
"""

from __future__ import annotations

from collections.abc import Sequence

from .behaviours import cursor_pages
from .formats import index_of_docker_manifests, manifest_invalid, refuses_manifests
from .proxy import Personality, Rule

PAGE_SIZE = 50


class Quay(Personality):
    """Options: ``page_size`` (default 50)."""

    name = "quay"

    def build_rules(self) -> Sequence[Rule]:
        return [
            cursor_pages(int(self.options.get("page_size", PAGE_SIZE))),
            refuses_manifests(
                "OCI index of Docker manifests refused",
                index_of_docker_manifests,
                manifest_invalid(),
            ),
        ]
