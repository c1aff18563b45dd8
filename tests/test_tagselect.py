"""Table-driven tests for tag selection: versions of tags, semver ranges, filters, latest N."""

from __future__ import annotations

import pytest

from imgsync.core.semrange import parse_range, tag_version
from imgsync.core.tagselect import TagSelector, compile_pattern

# (tag, the version it names or None)
VERSIONS: list[tuple[str, str | None]] = [
    ("1.2.3", "1.2.3"),
    ("v1.2.3", "1.2.3"),
    ("V2", "2.0.0"),
    ("1.25", "1.25.0"),
    ("1.25-alpine", "1.25.0-alpine"),
    ("v1.8.0-rc.1", "1.8.0-rc.1"),
    ("1.2.3+build.5", "1.2.3+build.5"),
    ("latest", None),
    ("alpine", None),
    ("1.2.3.4", None),
    ("01.2", None),
    ("sha-0123abc", None),
]


@pytest.mark.parametrize(("tag", "expected"), VERSIONS)
def test_tag_names_a_version_or_none(tag: str, expected: str | None) -> None:
    version = tag_version(tag)
    assert (str(version) if version else None) == expected


# (range, tags it admits, tags it refuses)
RANGES: list[tuple[str, list[str], list[str]]] = [
    (">=1.7.0", ["1.7.0", "1.10.2", "v2.0.0"], ["1.6.9", "1.8.0-rc.1", "1.9-alpine"]),
    (">=1.7", ["1.7.0", "1.7.5"], ["1.6.99"]),
    (">1.7", ["1.8.0"], ["1.7.9", "1.7.0"]),
    (">1.7.0", ["1.7.1"], ["1.7.0"]),
    ("<=1.7", ["1.7.9", "1.0.0"], ["1.8.0"]),
    ("<1.7", ["1.6.9"], ["1.7.0"]),
    (">=1.7.0 <2", ["1.7.0", "1.99.0"], ["2.0.0", "1.6.0"]),
    (">=1.7.0, <2.0.0", ["1.8.1"], ["2.0.0"]),
    ("1.25", ["1.25.0", "1.25.9"], ["1.26.0", "1.24.9"]),
    ("1", ["1.0.0", "1.99.99"], ["2.0.0"]),
    ("=1.2.3", ["1.2.3"], ["1.2.4"]),
    ("==1.2.3", ["v1.2.3"], ["1.2.2"]),
    ("!=1.2.3", ["1.2.4"], ["1.2.3"]),
    ("^1.2.3", ["1.2.3", "1.9.0"], ["2.0.0", "1.2.2"]),
    ("^0.2.3", ["0.2.9"], ["0.3.0"]),
    ("^0.0.3", ["0.0.3"], ["0.0.4"]),
    ("~1.2.3", ["1.2.9"], ["1.3.0"]),
    ("~1", ["1.9.9"], ["2.0.0"]),
    ("1.x", ["1.0.0", "1.5.5"], ["2.0.0"]),
    ("*", ["0.0.1", "9.9.9"], ["1.0.0-rc.1"]),
    ("1.x || >=3", ["1.2.0", "3.1.0"], ["2.5.0"]),
    (">=1.8.0-rc.1", ["1.8.0-rc.2", "1.8.0", "1.9.0"], ["1.8.0-rc.0", "1.9.0-rc.1"]),
    ("1.2 - 1.4", ["1.2.0", "1.4.9"], ["1.1.9", "1.5.0"]),
    ("v1.2.3 - 2", ["1.2.3", "2.9.0"], ["1.2.2", "3.0.0"]),
    ("~>1.2", ["1.2.0", "1.2.9"], ["1.3.0"]),
    ("^*", ["0.0.1", "3.0.0"], ["1.0.0-rc.1"]),
]


@pytest.mark.parametrize(("text", "admitted", "refused"), RANGES)
def test_semver_range_admits_and_refuses(
    text: str, admitted: list[str], refused: list[str]
) -> None:
    parsed = parse_range(text)
    assert str(parsed) == text
    for tag in admitted:
        version = tag_version(tag)
        assert version is not None and parsed.admits(version), tag
    for tag in refused:
        version = tag_version(tag)
        assert version is not None and not parsed.admits(version), tag


BAD_RANGES = [
    ("", "empty semver range"),
    ("newest", "cannot read 'newest'"),
    (">=1.7.0 <", "cannot read '<'"),
    (">=one", "cannot read"),
    ("1.2 -1.4", "cannot read '-'"),
    (">=1.2 - 1.4", "cannot read '-'"),
    ("!=1.2", "'!=' needs a full"),
    ("1.2-rc.1", "a pre-release needs major.minor.patch"),
    ("1.x ||", "empty alternative"),
    (">=1.2.3.4", "is not a version"),
]


@pytest.mark.parametrize(("text", "reason"), BAD_RANGES)
def test_bad_semver_range_says_what_is_wrong(text: str, reason: str) -> None:
    with pytest.raises(ValueError, match=r"semver range|empty") as caught:
        parse_range(text)
    assert reason in str(caught.value)


def test_bad_regex_names_the_position() -> None:
    with pytest.raises(ValueError, match=r"invalid regular expression '\(abc': .* at position 0"):
        compile_pattern("(abc")


NODE_EXPORTER = [
    *(f"v1.{minor}.{patch}" for minor in range(3, 10) for patch in range(3)),
    "v1.8.0-rc.0",
    "v1.9.0-rc.1",
    "v2.0.0",
    "1.9.5",
    "latest",
    "master",
]


def selector(**kwargs: object) -> TagSelector:
    """A selector from plain values, the way the sync file builds one."""
    for key in ("include", "exclude", "immutable"):
        if key in kwargs:
            kwargs[key] = compile_pattern(str(kwargs[key]))
    if "semver" in kwargs:
        kwargs["semver"] = parse_range(str(kwargs["semver"]))
    return TagSelector(**kwargs)  # type: ignore[arg-type]


# (id, selector arguments, available tags, expected selection in order)
SELECTIONS: list[tuple[str, dict[str, object], list[str], list[str]]] = [
    ("explicit-list-kept-as-written", {"names": ("b", "a")}, ["a", "b", "c"], ["b", "a"]),
    (
        "no-filter-keeps-all-in-order",
        {},
        ["latest", "1.10", "1.9", "alpine"],
        ["1.9", "1.10", "alpine", "latest"],
    ),
    (
        "regex-is-a-search",
        {"include": r"alpine"},
        ["1.25-alpine", "1.25", "alpine"],
        ["1.25-alpine", "alpine"],
    ),
    (
        "exclude-after-include",
        {"include": r"^1\.", "exclude": r"-rc"},
        ["1.0", "1.1-rc1", "2.0"],
        ["1.0"],
    ),
    ("semver-drops-non-versions", {"semver": ">=1.0"}, ["latest", "1.0", "0.9"], ["1.0"]),
    (
        "latest-n-by-version-not-text",
        {"latest": 2},
        ["1.9.0", "1.10.0", "1.2.0", "edge"],
        ["1.9.0", "1.10.0"],
    ),
    ("latest-more-than-available", {"latest": 10}, ["1.0", "2.0"], ["1.0", "2.0"]),
    ("duplicates-listed-once", {}, ["a", "a"], ["a"]),
    (
        "issue-example-regex-exclude-semver-latest",
        {"include": r"^v1\.[0-9]+\.[0-9]+$", "exclude": "-rc", "semver": ">=1.7.0", "latest": 3},
        NODE_EXPORTER,
        ["v1.9.0", "v1.9.1", "v1.9.2"],
    ),
    (
        "semver-range-without-latest",
        {"include": r"^v1\.", "semver": ">=1.8.1 <1.9.1"},
        NODE_EXPORTER,
        ["v1.8.1", "v1.8.2", "v1.9.0"],
    ),
]


@pytest.mark.parametrize(
    ("arguments", "available", "expected"),
    [case[1:] for case in SELECTIONS],
    ids=[case[0] for case in SELECTIONS],
)
def test_selection(arguments: dict[str, object], available: list[str], expected: list[str]) -> None:
    assert selector(**arguments).select(available) == expected


def test_explicit_list_needs_no_listing_and_filters_do() -> None:
    assert not selector(names=("1.0",)).needs_listing
    assert selector(include="x").needs_listing


def test_immutable_marks_without_selecting() -> None:
    chosen = selector(immutable=r"^\d+\.\d+\.\d+$")
    assert chosen.select(["3.19.1", "edge"]) == ["3.19.1", "edge"]
    assert chosen.is_immutable("3.19.1") and not chosen.is_immutable("edge")
    assert not selector().is_immutable("3.19.1")
