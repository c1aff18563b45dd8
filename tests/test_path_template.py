"""Destination path templates: what each layout makes of a source path, and what is refused."""

from __future__ import annotations

import pytest

from imgsync.core.destination_rules import DestinationRules
from imgsync.core.mapping import parse_mappings
from imgsync.core.path_template import (
    FLAT,
    LAST,
    PATH,
    PathTemplate,
    optional_template,
    parse_path_template,
)
from imgsync.errors import ConfigError, InvalidMapping

LAYOUTS = [
    ("path", "bitnami/redis", "bitnami/redis"),
    ("path", "nginx", "nginx"),
    ("last", "bitnami/redis", "redis"),
    ("last", "a/b/c", "c"),
    ("last", "nginx", "nginx"),
    ("flat", "bitnami/redis", "bitnami_redis"),
    ("flat:_", "a/b/c", "a_b_c"),
    ("flat:-", "bitnami/redis", "bitnami-redis"),
    ("flat:--", "bitnami/redis", "bitnami--redis"),
    ("flat:__", "bitnami/redis", "bitnami__redis"),
    ("flat:.", "bitnami/redis", "bitnami.redis"),
    ("flat:-", "nginx", "nginx"),
]


@pytest.mark.parametrize(("text", "path", "expected"), LAYOUTS)
def test_each_layout_lays_out_a_source_path(text: str, path: str, expected: str) -> None:
    assert parse_path_template(text).apply(path) == expected


@pytest.mark.parametrize(
    ("text", "written"),
    [("path", "path"), (" last ", "last"), ("flat", "flat:_"), ("flat:-", "flat:-")],
)
def test_a_template_is_written_back_one_way(text: str, written: str) -> None:
    assert str(parse_path_template(text)) == written


def test_the_named_constants_are_the_parsed_layouts() -> None:
    assert tuple(map(parse_path_template, ("path", "last", "flat:_"))) == (PATH, LAST, FLAT)


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("", "is unknown"),
        ("flatten", "is unknown"),
        ("{path}", "is unknown"),
        ("Path", "is unknown"),
        ("flat:", "bad separator"),
        ("flat:/", "bad separator"),
        ("flat:+", "bad separator"),
        ("flat:_-", "bad separator"),
        ("flat:___", "bad separator"),
        ("last:_", "only flat takes a separator"),
        ("path:2", "only flat takes a separator"),
    ],
)
def test_a_bad_template_is_refused_naming_it(text: str, reason: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_path_template(text)
    assert repr(text) in str(caught.value) and reason in str(caught.value)
    assert "path, last or flat:SEP" in str(caught.value)


def test_a_template_built_directly_is_validated_too() -> None:
    with pytest.raises(ConfigError, match="bad separator"):
        PathTemplate("flat", "/")
    with pytest.raises(ConfigError, match="takes no separator"):
        PathTemplate("last", "_")


def test_an_unset_or_blank_template_is_none() -> None:
    assert optional_template(None) is None and optional_template("  ") is None
    assert optional_template("last") == LAST


# ------------------------------------------------------------- applied to mappings


def _destinations(text: str, rules: DestinationRules, prefix: str = "r.example.com/m") -> list[str]:
    return [
        str(item.destination) for item in parse_mappings(text, dest_prefix=prefix, dest_rules=rules)
    ]


def test_a_prefix_takes_the_templated_path_and_keeps_library_out() -> None:
    flat = DestinationRules(fallback=FLAT)
    assert _destinations("bitnami/redis:7, nginx:1.27, quay.io/a/b/c", flat) == [
        "r.example.com/m/bitnami_redis:7",
        "r.example.com/m/nginx:1.27",
        "r.example.com/m/a_b_c:latest",
    ]
    assert _destinations("bitnami/redis:7", DestinationRules()) == [
        "r.example.com/m/bitnami/redis:7"
    ]


def test_a_written_destination_is_never_renamed_by_a_template() -> None:
    rules = DestinationRules(fallback=LAST)
    assert _destinations("bitnami/redis:7=r.example.com/x/y/z", rules) == ["r.example.com/x/y/z:7"]


def test_the_most_specific_template_wins() -> None:
    by_registry = {"r.example.com": LAST}
    rules = DestinationRules(templates=by_registry, fallback=FLAT)
    assert _destinations("bitnami/redis", rules) == ["r.example.com/m/redis:latest"]
    assert _destinations("bitnami/redis", rules, "other.example.com/m") == [
        "other.example.com/m/bitnami_redis:latest"
    ]
    own = DestinationRules(templates=by_registry, fallback=FLAT, own=PATH)
    assert _destinations("bitnami/redis", own) == ["r.example.com/m/bitnami/redis:latest"]


def test_registry_templates_match_the_prefix_host_case_insensitively() -> None:
    rules = DestinationRules(templates={"r.example.com": LAST})
    assert _destinations("a/b", rules, "R.Example.com/m") == ["R.Example.com/m/b:latest"]


def test_two_sources_that_flatten_to_one_name_are_the_duplicate_destination_error() -> None:
    with pytest.raises(InvalidMapping) as caught:
        parse_mappings(
            "a/b_c:1, a_b/c:1",
            dest_prefix="r.example.com/m",
            dest_rules=DestinationRules(fallback=FLAT),
        )
    [problem] = caught.value.problems
    assert problem.position == 2
    assert problem.reason == "items 1 and 2 both write r.example.com/m/a_b_c:1"
