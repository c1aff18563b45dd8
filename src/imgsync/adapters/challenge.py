"""``WWW-Authenticate`` challenges: parsed by a linear scanner, the answerable one picked."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from imgsync.adapters.http_response import HttpResponse


@dataclass(frozen=True, slots=True)
class Challenge:
    """One challenge of a ``WWW-Authenticate`` header; scheme and keys lower-cased."""

    scheme: str
    params: Mapping[str, str]


class _Scanner:
    """A forward-only cursor: each method consumes characters, so parsing stays linear."""

    _STOP = frozenset(' \t,="')

    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0

    def peek(self) -> str:
        return self.text[self.pos] if self.pos < len(self.text) else ""

    def skip(self, chars: str) -> None:
        while self.peek() and self.peek() in chars:
            self.pos += 1

    def token(self) -> str:
        start = self.pos
        while self.peek() and self.peek() not in self._STOP:
            self.pos += 1
        return self.text[start : self.pos]

    def quoted(self) -> str:
        """A quoted-string after its opening quote; backslash escapes; unterminated = to the end."""
        out: list[str] = []
        self.pos += 1
        while self.peek() and self.peek() != '"':
            if self.peek() == "\\":
                self.pos += 1
            out.append(self.peek())
            self.pos += 1
        self.pos += 1
        return "".join(out)

    def value(self) -> str:
        self.skip(" \t")
        return self.quoted() if self.peek() == '"' else self.token()


def parse_challenges(header: str) -> tuple[Challenge, ...]:
    """Parse ``Bearer realm="a,b",service="s", Basic realm="r"`` into challenges.

    A bare token starts a new challenge; ``name=value`` adds a parameter to the
    current one. Commas inside quoted values are kept; junk is skipped.
    """
    scanner = _Scanner(header)
    found: list[tuple[str, dict[str, str]]] = []
    while True:
        scanner.skip(" \t,")
        if not scanner.peek():
            return tuple(Challenge(scheme, params) for scheme, params in found)
        name = scanner.token()
        scanner.skip(" \t")
        if scanner.peek() == "=":
            scanner.pos += 1
            value = scanner.value()
            if found and name:
                found[-1][1][name.lower()] = value
        elif name:
            found.append((name.lower(), {}))
        else:
            scanner.pos += 1  # a stray quote: step over it


def challenge_error(response: HttpResponse) -> str:
    """The challenge's ``error`` (``insufficient_scope``…) as a message suffix, or ``""``.

    Docker Hub answers 401 ``insufficient_scope`` for repositories that are
    private *or do not exist*, so the hint matters to whoever reads the error.
    """
    challenge = challenge_of(response)
    error = challenge.params.get("error", "") if challenge else ""
    if error == "insufficient_scope":
        return " (insufficient_scope: the repository may be private or may not exist)"
    return f" ({error})" if error else ""


def pick_challenge(challenges: tuple[Challenge, ...]) -> Challenge | None:
    """Prefer Bearer (scoped, short-lived) over Basic; ignore schemes we cannot answer."""
    for scheme in ("bearer", "basic"):
        for challenge in challenges:
            if challenge.scheme == scheme:
                return challenge
    return None


def challenge_of(response: HttpResponse) -> Challenge | None:
    """The challenge of ``response`` imgsync would answer, if any."""
    return pick_challenge(parse_challenges(response.headers.get("WWW-Authenticate", "")))
