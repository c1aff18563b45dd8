"""What a personality served: every exchange and every token request, for assertions."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

from .tokens import TokenCall


@dataclass(frozen=True)
class Seen:
    """One exchange as the client saw it (``authorization``: the scheme it sent, or "")."""

    method: str
    target: str
    name: str | None
    kind: str
    ref: str
    status: int
    account: str | None
    authorization: str


@dataclass
class Stats:
    """What a personality served, for assertions; thread-safe."""

    seen: list[Seen] = field(default_factory=list)
    token_calls: list[TokenCall] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def record(self, entry: Seen | TokenCall) -> None:
        with self.lock:
            (self.seen if isinstance(entry, Seen) else self.token_calls).append(entry)  # type: ignore[arg-type]

    def requests(self, since: int = 0) -> list[Seen]:
        with self.lock:
            return list(self.seen[since:])

    def tokens(self, since: int = 0) -> list[TokenCall]:
        with self.lock:
            return list(self.token_calls[since:])

    def mark(self) -> int:
        with self.lock:
            return len(self.seen)

    def count(
        self,
        method: str,
        kind: str = "manifests",
        name: str | None = None,
        status: int | None = None,
        since: int = 0,
    ) -> int:
        """Requests by method and resource kind, optionally one repository and status."""
        return sum(
            1
            for s in self.requests(since)
            if s.method == method.upper()
            and s.kind == kind
            and (name is None or s.name == name)
            and (status is None or s.status == status)
        )
