"""Semantic-version ranges over container tags: node-semver's notation, plus three extensions.

Why our own range grammar on top of python-semver: ``semver.Version`` parses and
orders versions well, but its ``match`` takes one full comparison
(``>=1.7.0``), while people write ranges the node-semver way (``>=1.7 <2``,
``^1.2``, ``~1.25``, ``1.x || 2.x``, ``1.2 - 1.4``), as regsync and Renovate users do.

Tags are not semver strings: a leading ``v`` is dropped and minor and patch may
be missing (``v1.25`` is 1.25.0); anything after ``-`` is a pre-release
(``1.25-alpine`` is 1.25.0-alpine). Grammar::

    range      := set ( "||" set )*                 any set may match
    set        := partial " - " partial             a hyphen range: both ends included
                | comparator ( [","] comparator )*  every comparator must match
    comparator := [ ">=" | ">" | "<=" | "<" | "=" | "==" | "!=" | "^" | "~" | "~>" ] partial
    partial    := ["v"] N [ "." N [ "." N [ "-" pre ] ] ]   N may be "x" or "*"

A partial version stands for every version it starts (``1.7`` = ``>=1.7.0
<1.8.0``; ``>1.7`` = ``>=1.8.0``; ``<=1.7`` = ``<1.8.0``). As in node-semver, a
pre-release tag satisfies a set only when one of its comparators names a
pre-release of the same ``major.minor.patch``; so ``>=1.7.0`` never picks
``1.9.0-rc.1`` (and never ``1.9-alpine``).

Some forms are imgsync's own, not node-semver's (which rejects them): ``!=1.2.3`` (full
versions only), ``==1.2.3`` (same as ``=``) and a comma between comparators (``>=1.7,
<2``, read as ``>=1.7 <2``), as pip and Cargo users write them. Every form node-semver
also accepts means what it means there (``tests/test_semver_differential.py`` checks that
against the ``node-semver`` package), except what imgsync refuses on purpose: an empty
range or alternative (node-semver: every version; here more likely a slip, and with
pruning a costly one) and build metadata in a range (``1.2.3+b``: node-semver ignores it,
so it would not pick the one build it seems to name).
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable
from dataclasses import dataclass

from semver import Version

_HYPHEN = re.compile(r"\s*[vV]?([0-9xX*]\S*)\s+-\s+[vV]?([0-9xX*]\S*)\s*")
_COMPARATOR = re.compile(r"(>=|<=|!=|==|~>|>|<|=|\^|~)?\s*[vV]?([0-9xX*][^\s,|]*)")
_PARTIAL = re.compile(r"(\d+|[xX*])(?:\.(\d+|[xX*]))?(?:\.(\d+|[xX*]))?(?:-([0-9A-Za-z.-]+))?")
_OPS: dict[str, Callable[[Version, Version], bool]] = {
    ">=": operator.ge,
    ">": operator.gt,
    "<=": operator.le,
    "<": operator.lt,
    "==": operator.eq,
    "!=": operator.ne,
}
_SPELLINGS = {"==": "=", "~>": "~"}  # other ways to write an operator


def tag_version(tag: str) -> Version | None:
    """The version a tag names (``v1.25`` → 1.25.0), or None (``latest``, ``1.2.3.4``)."""
    text = tag[1:] if tag[:1] in ("v", "V") else tag
    try:
        return Version.parse(text, optional_minor_and_patch=True)
    except ValueError:
        return None


@dataclass(frozen=True, slots=True)
class _Bound:
    op: str
    version: Version

    def admits(self, version: Version) -> bool:
        return _OPS[self.op](version, self.version)


@dataclass(frozen=True, slots=True)
class SemverRange:
    """A parsed range; ``str()`` gives back what the user wrote."""

    text: str
    sets: tuple[tuple[_Bound, ...], ...]

    def __str__(self) -> str:
        return self.text

    def admits(self, version: Version) -> bool:
        return any(_set_admits(bounds, version) for bounds in self.sets)


def _set_admits(bounds: tuple[_Bound, ...], version: Version) -> bool:
    if not all(bound.admits(version) for bound in bounds):
        return False
    if version.prerelease is None:
        return True
    core = version.replace(prerelease=None, build=None)
    return any(b.version.prerelease and b.version.replace(prerelease=None) == core for b in bounds)


def parse_range(text: str) -> SemverRange:
    """Parse a range; ValueError names the part that is wrong."""
    if not text.strip():
        raise ValueError("empty semver range")
    sets = tuple(_parse_set(part, text) for part in text.split("||"))
    return SemverRange(text.strip(), sets)


def _parse_set(text: str, whole: str) -> tuple[_Bound, ...]:
    hyphen = _HYPHEN.fullmatch(text)
    if hyphen:  # node-semver: ``1.2 - 1.4`` is ``>=1.2 <=1.4``, partial ends widened
        return (*_bounds(">=", hyphen[1], whole), *_bounds("<=", hyphen[2], whole))
    bounds: list[_Bound] = []
    position = 0
    for match in _COMPARATOR.finditer(text):
        _only_separators(text[position : match.start()], whole)
        bounds.extend(_bounds(match[1] or "=", match[2], whole))
        position = match.end()
    _only_separators(text[position:], whole)
    if position == 0:
        raise ValueError(f"semver range {whole!r}: empty alternative between '||'")
    return tuple(bounds)


def _only_separators(gap: str, whole: str) -> None:
    if gap.strip(" \t,"):
        raise ValueError(f"semver range {whole!r}: cannot read {gap.strip()!r}")


def _bounds(op: str, partial: str, whole: str) -> list[_Bound]:
    match = _PARTIAL.fullmatch(partial)
    if match is None:
        raise ValueError(f"semver range {whole!r}: {partial!r} is not a version")
    numbers = [int(n) for n in _leading_numbers(match)]
    pre, op = match[4], _SPELLINGS.get(op, op)
    if pre and len(numbers) < 3:
        raise ValueError(f"semver range {whole!r}: a pre-release needs major.minor.patch")
    return _expand(op, numbers, pre, whole)


def _leading_numbers(match: re.Match[str]) -> list[str]:
    """The numbers before the first wildcard or gap: ``1.x.3`` counts as ``1``."""
    numbers: list[str] = []
    for part in (match[1], match[2], match[3]):
        if part is None or not part.isdigit():
            break
        numbers.append(part)
    return numbers


def _expand(op: str, numbers: list[int], pre: str | None, whole: str) -> list[_Bound]:
    """Turn one comparator into plain bounds on full versions."""
    major, minor, patch = [*numbers, 0, 0, 0][:3]
    low = Version(major, minor, patch, prerelease=pre)
    if op in ("^", "~") and numbers:
        return [_Bound(">=", low), _Bound("<", _upper(op, numbers, low))]
    if len(numbers) == 3:
        return [_Bound("==" if op == "=" else op, low)]
    if op == "!=":
        raise ValueError(f"semver range {whole!r}: '!=' needs a full major.minor.patch")
    return _partial_bounds(op, numbers, low)


def _upper(op: str, numbers: list[int], low: Version) -> Version:
    """The exclusive upper end of ``^`` and ``~``, following node-semver."""
    if op == "~":
        return low.bump_major() if len(numbers) <= 1 else low.bump_minor()
    if low.major or len(numbers) <= 1:
        return low.bump_major()
    if low.minor or len(numbers) == 2:
        return low.bump_minor()
    return low.bump_patch()


def _partial_bounds(op: str, numbers: list[int], low: Version) -> list[_Bound]:
    if not numbers:
        return [] if op in ("=", ">=", "<=", "^", "~") else [_Bound("<", Version(0))]
    high = low.bump_major() if len(numbers) == 1 else low.bump_minor()
    return {
        "=": [_Bound(">=", low), _Bound("<", high)],
        ">=": [_Bound(">=", low)],
        ">": [_Bound(">=", high)],
        "<=": [_Bound("<", high)],
        "<": [_Bound("<", low)],
    }[op]
