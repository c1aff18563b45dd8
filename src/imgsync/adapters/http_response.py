"""What one registry exchange returned: status, headers, body, and the request that got it.

A small value of its own, so the code that reads answers (auth, failures, quotas, digests)
does not depend on which HTTP library fetched them (:mod:`imgsync.adapters.http_client`).
The attribute names are those requests uses, which most readers know.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

_LINK = re.compile(r"<([^>]*)>([^,<]*)")
_PARAM = re.compile(r';\s*([^=;\s]+)\s*=\s*"?([^";]*)"?')


class Headers(Mapping[str, str]):
    """Response headers, case-insensitive; repeated ones joined with ``", "`` (RFC 9110 5.3)."""

    def __init__(self, pairs: Iterable[tuple[str, str]] = ()) -> None:
        self._items: dict[str, tuple[str, str]] = {}
        for name, value in pairs:
            self.add(name, value)

    def add(self, name: str, value: str) -> None:
        """Append a header line; a second line of the same name joins the first."""
        key = name.lower()
        if key in self._items:
            value = f"{self._items[key][1]}, {value}"
        self._items[key] = (name, value)

    def __getitem__(self, name: str) -> str:
        return self._items[name.lower()][1]

    def __iter__(self) -> Iterator[str]:
        return (name for name, _ in self._items.values())

    def __len__(self) -> int:
        return len(self._items)

    def __repr__(self) -> str:
        return f"Headers({dict(self.items())!r})"


@dataclass(frozen=True, slots=True)
class SentRequest:
    """The request as sent (after redirects: the last one), headers included."""

    method: str
    url: str
    headers: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class HttpResponse:
    """One final answer (redirects already followed)."""

    status_code: int
    headers: Headers
    content: bytes
    url: str
    request: SentRequest

    @property
    def text(self) -> str:
        """The body as text; registries answer JSON or plain text in UTF-8."""
        return self.content.decode("utf-8", errors="replace")

    def json(self) -> Any:
        """The body parsed as JSON (``ValueError`` when it is not)."""
        return json.loads(self.content)

    @property
    def links(self) -> dict[str, dict[str, str]]:
        """``Link`` header entries by ``rel`` (pagination: ``links["next"]["url"]``)."""
        found: dict[str, dict[str, str]] = {}
        for url, params in _LINK.findall(self.headers.get("Link", "")):
            entry = {"url": url.strip(), **{k.lower(): v for k, v in _PARAM.findall(params)}}
            found[entry.get("rel", entry["url"])] = entry
        return found
