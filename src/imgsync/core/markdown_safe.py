"""Text from strangers, made inert for a GitHub comment.

Why two forms: an image reference is most useful in a code span (copy-paste,
monospace), and inside one GitHub renders no HTML, links, mentions or issue
references, so only the span's own delimiters (backticks, line breaks) need care.
A sentence (a reason that quotes what was typed) reads better as text, so there
every ASCII punctuation character is backslash-escaped (CommonMark allows it for
all of them), ``<``, ``>`` and ``&`` become entities, and a zero-width space after
``@`` and ``#`` and inside ``://`` keeps GitHub from mentioning people, linking
issues or making links, which it does on the rendered text, after escaping.

Both forms drop control and format characters (bidi overrides, zero-width ones)
and line breaks, so no text from outside can start a line of its own: neither a
Markdown block nor a ``::workflow-command::`` in a log that prints the comment.
"""

from __future__ import annotations

import string
import unicodedata

ZWSP = "\u200b"
_ENTITIES = {"<": "&lt;", ">": "&gt;", "&": "&amp;"}
_ESCAPED = frozenset(string.punctuation) - set(_ENTITIES) - {"@", "#", "/", ":"}
_NEUTRALISED = {"@": "@" + ZWSP, "#": "#" + ZWSP}


def one_line(text: str, limit: int) -> str:
    """``text`` on one line, without control or format characters, at most ``limit`` long."""
    kept = "".join(" " if char.isspace() else char for char in text if _printable(char))
    single = " ".join(kept.split())
    return single if len(single) <= limit else single[: limit - 1] + "…"


def _printable(char: str) -> bool:
    return char.isspace() or unicodedata.category(char)[0] not in "CZ"


def code(text: str, limit: int = 120) -> str:
    """A code span that cannot end early: backticks become ``ˋ``, ``@`` and ``#`` are cut."""
    inner = one_line(text, limit).replace("`", "ˋ")
    for char, replacement in _NEUTRALISED.items():
        inner = inner.replace(char, replacement)
    return f"`{inner}`" if inner.strip() else "(empty)"


def plain(text: str, limit: int = 300) -> str:
    """Text that renders as itself: no markup, HTML, mention, reference or link."""
    out = []
    for char in one_line(text, limit):
        if char in _ENTITIES:
            out.append(_ENTITIES[char])
        elif char in _ESCAPED:
            out.append("\\" + char)
        else:
            out.append(_NEUTRALISED.get(char, char))
    return "".join(out).replace("://", ":" + ZWSP + "//").replace("www\\.", "www" + ZWSP + "\\.")
