"""From an issue's candidate pieces to what will be copied and what is refused, and why.

Why destinations are the mirror's choice: a requester who could name one could
overwrite ``mirror/redis`` with anything the allowlist lets through. So a piece is
normally a bare source, completed by the configured prefix or path template; a
piece with ``=destination`` is accepted only when that is the destination the
mirror would pick anyway, or when the allowlist's ``destinations:`` allows it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from imgsync.core.allowlist import Allowlist
from imgsync.core.item import SyncItem
from imgsync.core.request_parse import MAX_PIECE_CHARS, Piece, RequestText

#: Parses one piece in the mapping grammar (bare sources completed); ValueError if wrong.
ItemParser = Callable[[str], SyncItem]


@dataclass(frozen=True, slots=True)
class Accepted:
    """A piece that will be copied, as ``item``."""

    piece: Piece
    item: SyncItem


@dataclass(frozen=True, slots=True)
class Rejected:
    """A piece that will not be copied, and the reason the comment gives."""

    piece: Piece
    reason: str


@dataclass(frozen=True, slots=True)
class RequestPlan:
    """Every piece either accepted or rejected, in the order written, plus how it was read."""

    accepted: tuple[Accepted, ...]
    rejected: tuple[Rejected, ...]
    text: RequestText

    @property
    def items(self) -> tuple[SyncItem, ...]:
        return tuple(accepted.item for accepted in self.accepted)


def plan_request(text: RequestText, allowlist: Allowlist, parse: ItemParser) -> RequestPlan:
    """Judge every piece; repeats of an accepted piece are dropped, the rest counted."""
    accepted: list[Accepted] = []
    rejected: list[Rejected] = []
    for piece in text.pieces:
        verdict = _judge(piece, allowlist, parse)
        if isinstance(verdict, str):
            rejected.append(Rejected(piece, verdict))
            continue
        clash = _clash(verdict, accepted)
        if clash == "repeat":
            continue
        if clash is None and len(accepted) >= allowlist.max_per_issue:
            clash = f"more than {allowlist.max_per_issue} images in one request"
        if clash is not None:
            rejected.append(Rejected(piece, clash))
        else:
            accepted.append(Accepted(piece, verdict))
    return RequestPlan(tuple(accepted), tuple(rejected), text)


def _judge(piece: Piece, allowlist: Allowlist, parse: ItemParser) -> SyncItem | str:
    """The item to copy, or the reason it is refused."""
    if len(piece.text) > MAX_PIECE_CHARS:
        return f"longer than {MAX_PIECE_CHARS} characters"
    try:
        item = parse(piece.text)
    except ValueError as exc:
        return str(exc)
    decision = allowlist.judge(item)
    if decision.item is None:
        return decision.reason
    refusal = _destination_refusal(piece.text, item, allowlist, parse)
    return decision.item if refusal is None else refusal


def _destination_refusal(
    text: str, item: SyncItem, allowlist: Allowlist, parse: ItemParser
) -> str | None:
    """A written destination must be the mirror's own choice or one the allowlist allows."""
    if "=" not in text or allowlist.allows_destination(item.destination.name):
        return None
    try:
        chosen = parse(text.partition("=")[0]).destination
    except ValueError:
        chosen = None
    if chosen == item.destination:
        return None
    return "the mirror chooses destinations: request the source alone"


def _clash(item: SyncItem, accepted: list[Accepted]) -> str | None:
    """``repeat`` for the same copy again, a reason for another source into one destination."""
    for earlier in accepted:
        if earlier.item.destination == item.destination:
            if earlier.item.source == item.source:
                return "repeat"
            return f"writes {item.destination}, as image {earlier.piece.position} does"
    return None
