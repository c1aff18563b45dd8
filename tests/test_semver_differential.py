"""imgsync's semver ranges against node-semver's own reading, for every form both accept.

The reference is the ``node-semver`` package (``nodesemver``, a port of npm's node-semver):
each range of the grids below must admit exactly the versions its ``satisfies`` admits.
imgsync's own forms (``!=``, ``==``, commas) are checked against their node-semver
spelling, and the forms imgsync refuses on purpose are listed with the reason.
"""

from __future__ import annotations

import itertools

import nodesemver
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from imgsync.core.semrange import parse_range, tag_version

OPERATORS = ["", "=", ">", ">=", "<", "<=", "^", "~", "~>"]
PARTIALS = [
    *("*", "x", "0", "1", "2", "0.0", "0.1", "1.2", "1.x", "1.2.x", "1.x.3", "1.*", "1.2.X"),
    *("0.0.0", "0.0.1", "0.1.2", "1.2.3", "v1.2.3", "1.2.3-rc.1", "0.0.1-alpha", "2.0.0-0"),
]
COMPARATORS = [op + partial for op, partial in itertools.product(OPERATORS, PARTIALS)]
SPACED = [f"{op} {partial}" for op, partial in itertools.product(OPERATORS[1:], ["1.2", "1.2.3"])]
ENDS = ["*", "x", "0.1", "1", "1.2", "1.2.3", "1.2.3-rc.1", "1.9", "2", "2.0.0-rc.1"]
HYPHENS = [f"{low} - {high}" for low, high in itertools.product(ENDS, ENDS)]
PAIRED = [op + p for op in (">", ">=", "<", "<=", "^", "~") for p in ("1.2", "1.2.3-rc.1")]
PAIRS = [f"{a} {b}" for a, b in itertools.product(PAIRED, PAIRED)]
UNIONS = [f"{a} || {b}" for a, b in itertools.product(PAIRED[::2], [*PAIRED[1::2], "1.2 - 2"])]

CORES = [
    *("0.0.0", "0.0.1", "0.0.2", "0.1.0", "0.1.2", "0.1.3", "0.2.0", "1.0.0", "1.1.0", "1.2.0"),
    *("1.2.2", "1.2.3", "1.2.4", "1.3.0", "1.9.0", "1.9.9", "2.0.0", "2.0.1", "2.1.0", "3.0.0"),
]
PRERELEASES = [
    f"{core}-{pre}"
    for core in ("0.0.1", "1.2.3", "1.2.4", "1.3.0", "2.0.0")
    for pre in ("0", "alpha", "rc.1", "rc.2", "rc.1.2")
]
VERSIONS = [*CORES, *PRERELEASES, "v1.2.3", "1.2.3+build.5", "1.2.3-rc.1+build.5", "2.0.0-RC.1"]
# Each version as both libraries read it, parsed once: the grids make tens of thousands of checks.
BOTH_READINGS = [
    (text, tag_version(text), nodesemver.make_semver(text, False)) for text in VERSIONS
]


def test_every_version_of_the_grid_is_a_tag_version() -> None:
    assert [text for text, ours, _ in BOTH_READINGS if ours is None] == []


def disagreements(imgsync_range: str, node_range: str) -> list[tuple[str, bool, bool]]:
    """(version, imgsync's answer, node-semver's answer) wherever the two differ."""
    ours, theirs = parse_range(imgsync_range), nodesemver.make_range(node_range, False)
    found = []
    for text, our_version, their_version in BOTH_READINGS:
        answers = (our_version is not None and ours.admits(our_version), theirs.test(their_version))
        if answers[0] != answers[1]:
            found.append((text, *answers))
    return found


def grid_disagreements(ranges: list[str]) -> dict[str, list[tuple[str, bool, bool]]]:
    found = {text: disagreements(text, text) for text in ranges}
    return {text: differences for text, differences in found.items() if differences}


@pytest.mark.parametrize(
    "grid",
    [COMPARATORS, SPACED, HYPHENS, PAIRS, UNIONS],
    ids=["comparators", "spaced", "hyphens", "pairs", "unions"],
)
def test_every_range_of_the_grid_admits_what_node_semver_admits(grid: list[str]) -> None:
    assert grid_disagreements(grid) == {}


RANGE_PARTS = st.sampled_from([*COMPARATORS, *SPACED])
COMPARATOR_SETS = st.lists(RANGE_PARTS, min_size=1, max_size=3).map(" ".join)
SETS = st.one_of(COMPARATOR_SETS, st.sampled_from(HYPHENS))


@settings(max_examples=200, deadline=None)
@given(st.lists(SETS, min_size=1, max_size=3).map(" || ".join))
def test_any_range_built_from_the_grammar_admits_what_node_semver_admits(text: str) -> None:
    assert disagreements(text, text) == []


# (imgsync's own spelling, the same range in node-semver's spelling)
EXTENSIONS = [
    ("!=1.2.3", "<1.2.3 || >1.2.3"),
    ("!=1.2.3-rc.1", "<1.2.3-rc.1 || >1.2.3-rc.1"),
    (">=1.2.3 !=1.2.4 <2", ">=1.2.3 <1.2.4 || >1.2.4 <2"),
    ("==1.2.3", "=1.2.3"),
    (">=1.2, <2", ">=1.2 <2"),
    (">=1.2.3-rc.1,<1.3", ">=1.2.3-rc.1 <1.3"),
    ("^1.2,!=1.2.4 || ~0.1", ">=1.2.0 <1.2.4 || >1.2.4 <2.0.0 || ~0.1"),
]


@pytest.mark.parametrize(("ours", "node_spelling"), EXTENSIONS)
def test_imgsync_extensions_mean_their_node_semver_spelling(ours: str, node_spelling: str) -> None:
    with pytest.raises(ValueError, match="Invalid comparator"):
        nodesemver.make_range(ours, False)  # not node-semver's: README and docstring say so
    assert disagreements(ours, node_spelling) == []


# (range node-semver accepts, why imgsync refuses it)
REFUSED = [
    ("", "node-semver reads an empty range as every version; in a sync file it is a slip"),
    ("1.x ||", "an empty alternative would widen the range to every version, as above"),
    ("|| 1.x", "likewise"),
    ("1.2.3+build.7", "node-semver ignores build metadata, so this would not pick that build"),
    ("<=1.2.3+build.7", "likewise"),
]


@pytest.mark.parametrize(("text", "reason"), REFUSED, ids=[case[0] or "empty" for case in REFUSED])
def test_imgsync_refuses_on_purpose_what_node_semver_reads(text: str, reason: str) -> None:
    nodesemver.make_range(text, False)
    with pytest.raises(ValueError, match="semver range"):
        parse_range(text)
