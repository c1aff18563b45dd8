"""Property tests: the parsers never crash, always round-trip and stay linear."""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from imgsync.core.codec import decode
from imgsync.core.mapping import MAX_ITEMS, SyncItem, parse_mappings
from imgsync.core.refparse import looks_like_registry_host, parse_reference
from imgsync.errors import ConfigError, InvalidMapping, InvalidReference

MB = 1 << 20

# Text close to the grammar finds far more interesting paths than random Unicode.
GRAMMAR_ALPHABET = "abcxyzAZ0159._-/:@[]"
grammarish = st.text(alphabet=GRAMMAR_ALPHABET, max_size=60)
any_text = st.one_of(st.text(max_size=80), grammarish)

lower_alnum = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789", min_size=1, max_size=8)
separator = st.sampled_from([".", "_", "__", "-", "--"])
component = st.builds(
    lambda head, rest: head + "".join(sep + part for sep, part in rest),
    lower_alnum,
    st.lists(st.tuples(separator, lower_alnum), max_size=3),
)
host = st.one_of(
    st.sampled_from(["docker.io", "index.docker.io", "Quay.IO", "localhost", "[::1]", "10.0.0.1"]),
    st.builds("{}.{}".format, lower_alnum, lower_alnum),
)
port = st.one_of(st.just(""), st.integers(1, 65535).map(":{}".format))
tag = st.from_regex(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,20}", fullmatch=True)
digest = st.text(alphabet="0123456789abcdef", min_size=64, max_size=64).map("sha256:{}".format)

#: Far above the ~0.1-0.8 s these take, far below a hang; generous for a loaded 2-core CI.
HANG_BOUND_S = 5.0


@st.composite
def valid_references(draw: st.DrawFn) -> str:
    """References built from the grammar, so every one of them must parse."""
    path = "/".join(draw(st.lists(component, min_size=1, max_size=4)))
    registry = draw(st.one_of(st.just(""), st.builds("{}{}/".format, host, port)))
    if not registry and "/" in path and looks_like_registry_host(path.partition("/")[0]):
        registry = "docker.io/"  # otherwise "a.b/c" would name the host "a.b"
    suffix = draw(st.one_of(st.just(""), tag.map(":{}".format)))
    pinned = draw(st.one_of(st.just(""), digest.map("@{}".format)))
    return f"{registry}{path}{suffix}{pinned}"


def _parse_or_refuse(text: str, default_tag: str | None, hub_namespace: str | None) -> None:
    try:
        ref = parse_reference(text, default_tag=default_tag, hub_namespace=hub_namespace)
    except InvalidReference as exc:
        assert exc.text == text
        assert exc.reason
        return
    again = parse_reference(str(ref), default_tag=default_tag, hub_namespace=hub_namespace)
    assert again == ref


@given(
    text=any_text,
    default_tag=st.sampled_from(["latest", None]),
    hub_namespace=st.sampled_from(["library", None]),
)
def test_any_text_parses_and_round_trips_or_is_refused(
    text: str, default_tag: str | None, hub_namespace: str | None
) -> None:
    _parse_or_refuse(text, default_tag, hub_namespace)


@given(text=valid_references())
def test_grammar_references_parse_and_round_trip(text: str) -> None:
    ref = parse_reference(text)
    assert parse_reference(str(ref)) == ref
    assert str(ref).startswith(f"{ref.registry}/{ref.repository}")


@given(text=valid_references(), noise=st.sampled_from(list("$;&|<>`'\"\\*?!{} \t\n\x00\x7f")))
def test_dangerous_characters_are_always_refused(text: str, noise: str) -> None:
    for position in (0, len(text) // 2, len(text)):
        with pytest.raises(InvalidReference):
            parse_reference(text[:position] + noise + text[position:])


mapping_item = st.one_of(
    any_text,
    st.builds("{}={}".format, valid_references(), valid_references()),
    st.builds("{}={}".format, grammarish, grammarish),
)
mapping_text = st.one_of(
    st.lists(mapping_item, max_size=5).map(",".join),
    st.lists(mapping_item, max_size=5).map("\n".join),
    st.text(max_size=120),
)
optional_setting = st.one_of(st.none(), st.just(""), grammarish, st.text(max_size=20))


@settings(suppress_health_check=[HealthCheck.too_slow])
@given(
    text=st.one_of(mapping_text, st.lists(mapping_item, max_size=4)),
    dockerhub_user=st.one_of(optional_setting, st.just("me")),
    dest_prefix=st.one_of(optional_setting, st.just("registry.example.com/mirror")),
)
def test_mappings_parse_or_raise_input_errors_only(
    text: str | list[str], dockerhub_user: str | None, dest_prefix: str | None
) -> None:
    try:
        items = parse_mappings(text, dockerhub_user=dockerhub_user, dest_prefix=dest_prefix)
    except InvalidMapping as exc:
        assert exc.problems
        assert all(problem.position >= 1 and problem.reason for problem in exc.problems)
        return
    except ConfigError:
        return
    destinations = [str(item.destination) for item in items]
    assert len(destinations) == len(set(destinations))
    for item in items:
        assert item.destination.tag is not None
        assert item.destination.digest is None
        assert decode(SyncItem, item.to_dict()) == item


def _timed(call: Callable[[], object], error: type[Exception]) -> float:
    start = time.perf_counter()
    with pytest.raises(error):
        call()
    return time.perf_counter() - start


@pytest.mark.timeout(30)
@pytest.mark.parametrize(
    "text",
    [
        pytest.param("a" * MB, id="letters"),
        pytest.param("a-" * (MB // 2), id="separators"),
        pytest.param("a/" * (MB // 2), id="components"),
        pytest.param(":" * MB, id="colons"),
        pytest.param("[" + ":" * MB, id="ipv6-like"),
        pytest.param("a" * MB + "\x00", id="nul-at-end"),
    ],
)
def test_megabyte_reference_is_refused_quickly(text: str) -> None:
    assert _timed(lambda: parse_reference(text), InvalidReference) < HANG_BOUND_S


@pytest.mark.timeout(30)
@pytest.mark.parametrize(
    "text",
    [
        pytest.param("a" * MB + "=b", id="one-huge-item"),
        pytest.param("=" * MB, id="equals"),
        pytest.param("A," * (MB // 2), id="many-bad-items"),
        pytest.param("a=b/c," * (MB // 6), id="many-duplicates"),
        pytest.param(",".join(["A" * 100] * MAX_ITEMS), id="max-items-all-bad"),
        pytest.param("$(id)\n" * (MB // 6), id="many-injections"),
    ],
)
def test_megabyte_mapping_is_refused_quickly(text: str) -> None:
    assert _timed(lambda: parse_mappings(text), InvalidMapping) < HANG_BOUND_S


@pytest.mark.timeout(30)
def test_megabyte_of_separators_and_comments_is_cheap() -> None:
    start = time.perf_counter()
    assert parse_mappings(",\n" * (MB // 2)) == []
    assert parse_mappings("# c\n" * (MB // 4)) == []
    assert time.perf_counter() - start < HANG_BOUND_S


def test_too_many_items_reports_the_first_one_over_the_limit() -> None:
    text = ",".join(f"a=me/n:{i}" for i in range(MAX_ITEMS + 5))
    with pytest.raises(InvalidMapping) as caught:
        parse_mappings(text)
    (problem,) = caught.value.problems
    assert problem.position == MAX_ITEMS + 1
    assert f"more than {MAX_ITEMS} items" in problem.reason
