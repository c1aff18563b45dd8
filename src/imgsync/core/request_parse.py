"""The image requests written in an issue's title and body, found without trusting them.

Why a reader of its own in front of the mapping grammar: an issue is Markdown
written by anyone. Issue forms add headings and ``_No response_``, templates add
HTML comments, people add bullets, backticks, code fences and prose. This module
peels that off line by line and hands :func:`imgsync.core.mapping.split_items`
what is left, so the grammar (one per line or comma separated, ``#`` comments,
``source=destination``) is the mapping grammar itself, not a second one.

Hostile input stays cheap and bounded: only the first :data:`MAX_BODY_BYTES`
bytes and :data:`MAX_LINES` non-blank lines are read (the result says when more
was there), a piece longer than :data:`MAX_PIECE_CHARS` is refused unread, and a
line with spaces inside a piece is prose, not a request, and is ignored (counted).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from imgsync.core.mapping import split_items

MAX_BODY_BYTES = 16 * 1024
MAX_LINES = 100
MAX_PIECE_CHARS = 512

_HTML_COMMENT = re.compile(r"<!--.*?(?:-->|\Z)", re.DOTALL)
_FENCE = re.compile(r"^\s*(?:```|~~~)")
_BULLET = re.compile(r"^\s*(?:[-*+]\s+(?:\[[ xX]\]\s+)?|\d{1,3}[.)]\s+)")
_TITLE_WORD = re.compile(
    r"^\s*(?:\[\s*(?:sync|mirror)\s*\]\s*:?|(?:sync|mirror)\s*:)\s*", re.IGNORECASE
)
_EQUALS_SPACING = re.compile(r"\s*=\s*")


@dataclass(frozen=True, slots=True)
class Piece:
    """One candidate request as written (after the Markdown around it was peeled off)."""

    position: int
    text: str


@dataclass(frozen=True, slots=True)
class RequestText:
    """The candidates, and whether the body or the line count was cut short."""

    pieces: tuple[Piece, ...]
    truncated_bytes: bool = False
    truncated_lines: bool = False
    ignored: int = 0


def read_request(title: str, body: str) -> RequestText:
    """The candidate pieces of an issue: the title first, then the body's lines."""
    clipped, cut_bytes = clip_bytes(body, MAX_BODY_BYTES)
    lines = [line for line in (title_line(title), *_body_lines(clipped)) if line]
    considered = lines[:MAX_LINES]
    requests = [line for line in considered if not _is_prose(line)]
    pieces = tuple(Piece(position, text) for position, text in split_items("\n".join(requests)))
    return RequestText(pieces, cut_bytes, len(lines) > MAX_LINES, len(considered) - len(requests))


def clip_bytes(text: str, limit: int) -> tuple[str, bool]:
    """The longest prefix of ``text`` within ``limit`` UTF-8 bytes (no split characters)."""
    encoded = text.encode("utf-8", errors="replace")
    if len(encoded) <= limit:
        return text, False
    return encoded[:limit].decode("utf-8", errors="ignore"), True


def title_line(title: str) -> str:
    """The title without a leading ``sync:`` / ``[mirror]``, read as one more line.

    Only the bracketed or colon forms count: ``Mirror request`` is a sentence.
    """
    return _peel(_TITLE_WORD.sub("", title[: MAX_PIECE_CHARS * 2].replace("\n", " ")))


def _body_lines(body: str) -> list[str]:
    text = _HTML_COMMENT.sub("\n", body.replace("\r\n", "\n").replace("\r", "\n"))
    return [_peel(line) for line in text.split("\n") if not _FENCE.match(line)]


def _peel(line: str) -> str:
    """A line without its bullet, checkbox and backticks, ``a = b`` spaced as ``a=b``."""
    line = _BULLET.sub("", line).replace("`", " ").strip()
    return _EQUALS_SPACING.sub("=", line)


def _is_prose(line: str) -> bool:
    """A line with spaces inside one of its comma-separated pieces is a sentence, not a list.

    A piece too long to be a reference is kept, to be refused with its reason.
    """
    return any(
        len(piece) <= MAX_PIECE_CHARS and any(char.isspace() for char in piece.strip())
        for piece in line.split(",")
    )
