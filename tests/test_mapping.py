"""Table-driven tests for :mod:`imgsync.core.mapping`."""

from __future__ import annotations

from typing import Any

import pytest

from imgsync.core.codec import decode
from imgsync.core.mapping import SyncItem, parse_mappings, split_items
from imgsync.core.reference import ImageReference
from imgsync.errors import ConfigError, DecodeError, InputError, InvalidMapping

D = "sha256:" + "0123456789abcdef" * 4
USER = {"dockerhub_user": "me"}
PREFIX = {"dest_prefix": "registry.example.com/mirror"}
HUB = "docker.io/library"
LONG_PATH = "a/" * 124 + "bc"  # with "r.io/" in front: 255 characters

# (id, input, keyword arguments, expected "source -> destination" lines)
VALID: list[tuple[str, str | list[str], dict[str, str], list[str]]] = [
    (
        "issue-example",
        "nginx=myrepo/nginx,alpine:3.18=myrepo/alpine:stable",
        {},
        [
            "docker.io/library/nginx:latest -> docker.io/myrepo/nginx:latest",
            "docker.io/library/alpine:3.18 -> docker.io/myrepo/alpine:stable",
        ],
    ),
    (
        "source-tag-inherited",
        "nginx:1.25=me/nginx",
        {},
        [f"{HUB}/nginx:1.25 -> docker.io/me/nginx:1.25"],
    ),
    (
        "both-tags",
        "nginx:1.25=me/nginx:stable",
        {},
        [f"{HUB}/nginx:1.25 -> docker.io/me/nginx:stable"],
    ),
    ("spaces-around", "  nginx:1 = me/n  ", {}, [f"{HUB}/nginx:1 -> docker.io/me/n:1"]),
    ("tabs-around", "\tnginx=\tme/n\t", {}, [f"{HUB}/nginx:latest -> docker.io/me/n:latest"]),
    ("trailing-comma", "nginx=me/n,", {}, [f"{HUB}/nginx:latest -> docker.io/me/n:latest"]),
    ("leading-comma", ",nginx=me/n", {}, [f"{HUB}/nginx:latest -> docker.io/me/n:latest"]),
    (
        "double-comma",
        "nginx=me/n,,alpine=me/a",
        {},
        [
            f"{HUB}/nginx:latest -> docker.io/me/n:latest",
            f"{HUB}/alpine:latest -> docker.io/me/a:latest",
        ],
    ),
    (
        "newlines",
        "nginx=me/n\nalpine=me/a",
        {},
        [
            f"{HUB}/nginx:latest -> docker.io/me/n:latest",
            f"{HUB}/alpine:latest -> docker.io/me/a:latest",
        ],
    ),
    (
        "crlf",
        "nginx=me/n\r\nalpine=me/a\r\n",
        {},
        [
            f"{HUB}/nginx:latest -> docker.io/me/n:latest",
            f"{HUB}/alpine:latest -> docker.io/me/a:latest",
        ],
    ),
    ("blank-lines", "\n\n  \nnginx=me/n\n\n", {}, [f"{HUB}/nginx:latest -> docker.io/me/n:latest"]),
    ("comment", "# mirror list\nnginx=me/n", {}, [f"{HUB}/nginx:latest -> docker.io/me/n:latest"]),
    (
        "indented-comment-with-commas",
        "  # Bad=x, $(id)\nnginx=me/n",
        {},
        [f"{HUB}/nginx:latest -> docker.io/me/n:latest"],
    ),
    (
        "commas-and-newlines",
        "a=me/a,b=me/b\nc=me/c",
        {},
        [
            f"{HUB}/a:latest -> docker.io/me/a:latest",
            f"{HUB}/b:latest -> docker.io/me/b:latest",
            f"{HUB}/c:latest -> docker.io/me/c:latest",
        ],
    ),
    (
        "list-input",
        ["nginx=me/n", "alpine=me/a"],
        {},
        [
            f"{HUB}/nginx:latest -> docker.io/me/n:latest",
            f"{HUB}/alpine:latest -> docker.io/me/a:latest",
        ],
    ),
    (
        "list-input-with-commas",
        ["nginx=me/n,alpine=me/a", "redis=me/r"],
        {},
        [
            f"{HUB}/nginx:latest -> docker.io/me/n:latest",
            f"{HUB}/alpine:latest -> docker.io/me/a:latest",
            f"{HUB}/redis:latest -> docker.io/me/r:latest",
        ],
    ),
    (
        "ports",
        "localhost:5000/app:1=reg.io:5443/team/app",
        {},
        ["localhost:5000/app:1 -> reg.io:5443/team/app:1"],
    ),
    (
        "ipv6",
        "[::1]:5000/app=[::1]:5001/app:v2",
        {},
        ["[::1]:5000/app:latest -> [::1]:5001/app:v2"],
    ),
    (
        "ipv4",
        "10.0.0.5:5000/base/alpine:3.18=r.io/alpine",
        {},
        ["10.0.0.5:5000/base/alpine:3.18 -> r.io/alpine:3.18"],
    ),
    (
        "digest-source",
        f"nginx@{D}=me/nginx:pinned",
        {},
        [f"{HUB}/nginx@{D} -> docker.io/me/nginx:pinned"],
    ),
    (
        "tag-and-digest-source",
        f"nginx:1.25@{D}=me/nginx:1.25",
        {},
        [f"{HUB}/nginx:1.25@{D} -> docker.io/me/nginx:1.25"],
    ),
    (
        "bare-dest-with-user",
        "nginx=mynginx",
        USER,
        [f"{HUB}/nginx:latest -> docker.io/me/mynginx:latest"],
    ),
    (
        "bare-hub-dest-with-user",
        "nginx:1=docker.io/mynginx",
        USER,
        [f"{HUB}/nginx:1 -> docker.io/me/mynginx:1"],
    ),
    (
        "bare-alias-dest-with-user",
        "nginx=index.docker.io/mynginx:x",
        USER,
        [f"{HUB}/nginx:latest -> docker.io/me/mynginx:x"],
    ),
    (
        "explicit-library-dest",
        "nginx=library/nginx:copy",
        {},
        [f"{HUB}/nginx:latest -> {HUB}/nginx:copy"],
    ),
    (
        "namespaced-dest-ignores-user",
        "nginx=other/n",
        USER,
        [f"{HUB}/nginx:latest -> docker.io/other/n:latest"],
    ),
    (
        "bare-source-with-prefix",
        "nginx:1.25",
        PREFIX,
        [f"{HUB}/nginx:1.25 -> registry.example.com/mirror/nginx:1.25"],
    ),
    (
        "bare-source-no-tag",
        "alpine",
        PREFIX,
        [f"{HUB}/alpine:latest -> registry.example.com/mirror/alpine:latest"],
    ),
    (
        "bare-source-other-registry",
        "ghcr.io/org/app:v1",
        PREFIX,
        ["ghcr.io/org/app:v1 -> registry.example.com/mirror/org/app:v1"],
    ),
    (
        "bare-source-with-namespace",
        "bitnami/redis:7",
        PREFIX,
        ["docker.io/bitnami/redis:7 -> registry.example.com/mirror/bitnami/redis:7"],
    ),
    (
        "prefix-and-explicit-mixed",
        "nginx, redis=me/r",
        PREFIX,
        [
            f"{HUB}/nginx:latest -> registry.example.com/mirror/nginx:latest",
            f"{HUB}/redis:latest -> docker.io/me/r:latest",
        ],
    ),
    (
        "prefix-trailing-slash",
        "nginx",
        {"dest_prefix": "registry.example.com/mirror/"},
        [f"{HUB}/nginx:latest -> registry.example.com/mirror/nginx:latest"],
    ),
    (
        "prefix-host-only",
        "nginx",
        {"dest_prefix": "localhost:5000"},
        [f"{HUB}/nginx:latest -> localhost:5000/nginx:latest"],
    ),
    (
        "prefix-uppercase-host",
        "nginx",
        {"dest_prefix": "Registry.Example.com/m"},
        [f"{HUB}/nginx:latest -> Registry.Example.com/m/nginx:latest"],  # host kept as written
    ),
    (
        "prefix-docker-hub-namespace",
        "nginx",
        {"dest_prefix": "docker.io/me"},
        [f"{HUB}/nginx:latest -> docker.io/me/nginx:latest"],
    ),
    (
        "prefix-docker-hub-with-user",
        "nginx",
        {"dest_prefix": "docker.io", "dockerhub_user": "me"},
        [f"{HUB}/nginx:latest -> docker.io/me/nginx:latest"],
    ),
    (
        "same-source-two-destinations",
        "nginx=me/x,nginx=me/y",
        {},
        [
            f"{HUB}/nginx:latest -> docker.io/me/x:latest",
            f"{HUB}/nginx:latest -> docker.io/me/y:latest",
        ],
    ),
    (
        "same-repo-different-tags",
        "nginx:1=me/n,nginx:2=me/n",
        {},
        [f"{HUB}/nginx:1 -> docker.io/me/n:1", f"{HUB}/nginx:2 -> docker.io/me/n:2"],
    ),
    (
        "hub-aliases",
        "index.docker.io/library/nginx=registry-1.docker.io/me/nginx",
        {},
        [f"{HUB}/nginx:latest -> registry-1.docker.io/me/nginx:latest"],  # as Docker keeps it
    ),
    ("name-255", f"nginx=r.io/{LONG_PATH}", {}, [f"{HUB}/nginx:latest -> r.io/{LONG_PATH}:latest"]),
    (
        "tag-128",
        f"nginx:{'t' * 128}=me/n",
        {},
        [f"{HUB}/nginx:{'t' * 128} -> docker.io/me/n:{'t' * 128}"],
    ),
    (
        "separators",
        "my_org/my-app=reg.io/my__org/my--app.x",
        {},
        ["docker.io/my_org/my-app:latest -> reg.io/my__org/my--app.x:latest"],
    ),
    ("uppercase-tag", "app:V1_RC=me/app", {}, [f"{HUB}/app:V1_RC -> docker.io/me/app:V1_RC"]),
    ("empty-input", "", {}, []),
    ("only-blanks-and-comments", "# a\n\n ,, \n  # b=c\n", {}, []),
    ("empty-list", [], {}, []),
    (
        "empty-user-means-unset",
        "nginx=me/n",
        {"dockerhub_user": ""},
        [f"{HUB}/nginx:latest -> docker.io/me/n:latest"],
    ),
]


@pytest.mark.parametrize(
    ("text", "kwargs", "expected"), [pytest.param(*case[1:], id=case[0]) for case in VALID]
)
def test_valid_mapping(text: str | list[str], kwargs: dict[str, Any], expected: list[str]) -> None:
    items = parse_mappings(text, **kwargs)
    assert [str(item) for item in items] == expected
    for item in items:
        assert item.destination.tag is not None
        assert item.destination.digest is None


# (id, input, keyword arguments, position, reason fragment)
INVALID: list[tuple[str, str, dict[str, str], int, str]] = [
    ("uppercase-source", "Nginx=me/n", {}, 1, "uppercase letters are not allowed"),
    ("uppercase-dest", "nginx=me/N", {}, 1, "destination 'me/N': uppercase"),
    ("subshell-dest", "nginx=$(id)", {}, 1, "shell metacharacter '$'"),
    ("semicolon", "nginx=me/n;rm -rf /", {}, 1, "shell metacharacter ';'"),
    ("nul", "nginx=me/n\x00", {}, 1, "control character"),
    ("escape-char", "nginx\x1b[0m=me/n", {}, 1, "control character"),
    ("newline-injection-option", "nginx=me/n\n--dest-creds=x", {}, 2, "must start and end"),
    ("newline-injection-command", "nginx=me/n\nrm -rf /", {}, 2, "whitespace"),
    ("backtick", "nginx=`id`/x", {}, 1, "shell metacharacter '`'"),
    ("pipe", "nginx|sh=me/n", {}, 1, "shell metacharacter '|'"),
    ("quotes", 'nginx="me/n"', {}, 1, "shell metacharacter '\"'"),
    ("redirect", "nginx=me/n>out", {}, 1, "shell metacharacter '>'"),
    ("glob", "nginx=*", {}, 1, "shell metacharacter '*'"),
    ("empty-source", "=me/n", {}, 1, "empty source"),
    ("empty-dest", "nginx=", {}, 1, "empty destination"),
    ("empty-dest-spaces", "nginx =  ", {}, 1, "empty destination"),
    ("both-empty", "=", {}, 1, "empty source"),
    ("two-equals", "a=b=c", {}, 1, "more than one '='"),
    ("name-256", f"nginx=r.io/{LONG_PATH}/abcde", {}, 1, "name longer than 255 characters"),
    ("source-tag-129", f"nginx:{'t' * 129}=me/n", {}, 1, "tag longer than 128 characters"),
    ("dest-tag-129", f"nginx=me/n:{'t' * 129}", {}, 1, "tag longer than 128 characters"),
    (
        "duplicate-dest",
        "nginx=me/b,alpine=me/b:latest",
        {},
        2,
        "items 1 and 2 both write docker.io/me/b:latest",
    ),
    ("duplicate-item", "nginx=me/b,nginx=me/b", {}, 2, "items 1 and 2 both write"),
    (
        "duplicate-after-normalisation",
        "nginx=me/x,docker.io/library/nginx:latest=index.docker.io/me/x:latest",
        {},
        2,
        "items 1 and 2",
    ),
    (
        "duplicate-inherited-tag",
        "nginx:1=me/n,alpine:1=me/n:1",
        {},
        2,
        "both write docker.io/me/n:1",
    ),
    ("duplicate-across-comment", "nginx=me/b\n# c\nalpine=me/b", {}, 2, "items 1 and 2"),
    ("duplicate-bare-user", "nginx=x,alpine=docker.io/me/x", USER, 2, "items 1 and 2"),
    ("duplicate-prefix", "nginx,registry.example.com/nginx", PREFIX, 2, "items 1 and 2"),
    (
        "bare-dest-no-user",
        "nginx=mynginx",
        {},
        1,
        "cannot push to docker.io/library/mynginx; set DOCKERHUB_USERNAME or give a namespace",
    ),
    (
        "bare-hub-dest-no-user",
        "nginx=docker.io/mynginx",
        {},
        1,
        "cannot push to docker.io/library/mynginx",
    ),
    ("bare-source-no-prefix", "nginx:1.25", {}, 1, "no destination"),
    ("bare-source-with-user-only", "nginx", USER, 1, "no destination"),
    ("digest-source-untagged-dest", f"nginx@{D}=me/nginx", {}, 1, "pinned by digest"),
    ("tag-digest-source-untagged-dest", f"nginx:1@{D}=me/nginx", {}, 1, "pinned by digest"),
    ("digest-bare-source-prefix", f"nginx@{D}", PREFIX, 1, "pinned by digest"),
    ("tag-digest-bare-source-prefix", f"nginx:1@{D}", PREFIX, 1, "pinned by digest"),
    ("digest-dest", f"nginx=me/nginx@{D}", {}, 1, "may not be a digest"),
    ("tag-digest-dest", f"nginx=me/nginx:1@{D}", {}, 1, "may not be a digest"),
    ("bad-digest", "nginx@sha256:abc=me/n:1", {}, 1, "sha256 digest must have 64 hex"),
    ("sha384", f"nginx@sha384:{'a' * 96}=me/n:1", {}, 1, "unsupported digest algorithm"),
    ("port-out-of-range", "r.io:70000/a=me/a", {}, 1, "from 1 to 65535"),
    ("port-zero-dest", "a=r.io:0/a", {}, 1, "from 1 to 65535"),
    ("empty-component", "nginx=me//b", {}, 1, "empty path component"),
    ("trailing-slash-dest", "nginx=reg.io/a/", {}, 1, "empty path component"),
    ("space-inside", "ngi nx=me/n", {}, 1, "whitespace"),
    ("nbsp", "nginx=me/n\u00a0", {}, 1, "whitespace"),
    ("non-ascii", "nginx=me/nginé", {}, 1, "non-ASCII"),
    ("inline-comment", "nginx=me/n # copy it", {}, 1, "whitespace"),
    ("position-skips-blanks", ",,\n\nok=me/ok,,BAD=me/bad", {}, 2, "uppercase"),
    ("position-skips-comments", "# x\na=me/a\n# y\nb=me/b\nBad", {}, 3, "uppercase"),
    ("prefix-name-too-long", f"r.io/{LONG_PATH}", PREFIX, 1, "name longer than 255"),
    (
        "prefix-docker-hub-no-user",
        "nginx",
        {"dest_prefix": "docker.io"},
        1,
        "cannot push to docker.io/library/nginx",
    ),
    ("ipv6-unclosed", "[::1:5000/a=me/a", {}, 1, "without ']'"),
    ("tag-dash", "nginx:-x=me/n", {}, 1, "tag must start with"),
]


@pytest.mark.parametrize(
    ("text", "kwargs", "position", "fragment"),
    [pytest.param(*case[1:], id=case[0]) for case in INVALID],
)
def test_invalid_mapping(text: str, kwargs: dict[str, Any], position: int, fragment: str) -> None:
    with pytest.raises(InvalidMapping) as caught:
        parse_mappings(text, **kwargs)
    problems = caught.value.problems
    assert [p.position for p in problems] == [position], problems
    assert fragment in problems[0].reason
    assert problems[0].text == split_items(text)[position - 1][1]


def test_every_bad_item_is_reported_at_once() -> None:
    text = "Bad=me/b, nginx=ok/n\nx=\na=b=c,alpine=ok/n, $(id), redis=me/r"
    with pytest.raises(InvalidMapping) as caught:
        parse_mappings(text)
    problems = caught.value.problems
    assert [p.position for p in problems] == [1, 3, 4, 5, 6]
    assert [p.text for p in problems] == ["Bad=me/b", "x=", "a=b=c", "alpine=ok/n", "$(id)"]
    assert "uppercase" in problems[0].reason
    assert "empty destination" in problems[1].reason
    assert "more than one '='" in problems[2].reason
    assert "items 2 and 5" in problems[3].reason
    assert "shell metacharacter" in problems[4].reason
    message = str(caught.value)
    assert message.startswith("5 invalid mapping item(s)")
    assert "item 4: 'a=b=c'" in message


def test_invalid_mapping_is_an_input_error() -> None:
    with pytest.raises(InputError):
        parse_mappings("Nginx=me/n")


def test_list_input_counts_positions_across_arguments() -> None:
    with pytest.raises(InvalidMapping) as caught:
        parse_mappings(["a=me/a,b=me/b", "Bad=me/c"])
    assert [p.position for p in caught.value.problems] == [3]


@pytest.mark.parametrize(
    ("kwargs", "fragment"),
    [
        pytest.param(
            {"dest_prefix": "mirror"}, "must start with a registry host", id="prefix-no-host"
        ),
        pytest.param({"dest_prefix": "reg.io/Mirror"}, "uppercase", id="prefix-uppercase-path"),
        pytest.param({"dest_prefix": "reg.io/m:tag"}, "':'", id="prefix-tag"),
        pytest.param({"dest_prefix": "reg.io:0"}, "from 1 to 65535", id="prefix-port"),
        pytest.param({"dest_prefix": "$(id).io/x"}, "shell metacharacter", id="prefix-shell"),
        pytest.param({"dest_prefix": f"reg.io/m@{D}"}, "digest", id="prefix-digest"),
        pytest.param({"dest_prefix": "reg.io//m"}, "empty path component", id="prefix-empty-part"),
        pytest.param({"dockerhub_user": "Me"}, "uppercase", id="user-uppercase"),
        pytest.param({"dockerhub_user": "a/b"}, "without '/'", id="user-slash"),
        pytest.param({"dockerhub_user": "$(id)"}, "shell metacharacter", id="user-shell"),
        pytest.param({"dockerhub_user": "me "}, "whitespace", id="user-space"),
    ],
)
def test_invalid_configuration(kwargs: dict[str, Any], fragment: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_mappings("nginx=me/n", **kwargs)
    assert fragment in str(caught.value)


def test_empty_prefix_means_no_prefix() -> None:
    with pytest.raises(InvalidMapping, match="no destination"):
        parse_mappings("nginx", dest_prefix="  ")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("a=b", [(1, "a=b")], id="one"),
        pytest.param(" a = b ,c", [(1, "a = b"), (2, "c")], id="strip-items-not-equals"),
        pytest.param(
            "a,,b\n\n#c,d\nd", [(1, "a"), (2, "b"), (3, "d")], id="skip-blank-and-comment"
        ),
        pytest.param("", [], id="empty"),
        pytest.param("a\r\nb", [(1, "a"), (2, "b")], id="crlf"),
    ],
)
def test_split_items(text: str, expected: list[tuple[int, str]]) -> None:
    assert split_items(text) == expected


def test_sync_item_dict_round_trip() -> None:
    items = parse_mappings(f"nginx=me/n,alpine@{D}=r.io:5000/a:pinned", dockerhub_user="me")
    for item in items:
        data = item.to_dict()
        assert data == {"source": str(item.source), "destination": str(item.destination)}
        assert decode(SyncItem, data) == item


def test_sync_item_to_dict_shape() -> None:
    item = SyncItem(
        ImageReference("docker.io", "library/nginx", "latest"),
        ImageReference("r.io", "nginx", "latest"),
    )
    assert item.to_dict() == {
        "source": "docker.io/library/nginx:latest",
        "destination": "r.io/nginx:latest",
    }


@pytest.mark.parametrize(
    ("data", "fragment"),
    [
        pytest.param({"source": "Nginx", "destination": "r.io/n:1"}, "uppercase", id="bad-source"),
        pytest.param(
            {"source": "nginx", "destination": f"r.io/n@{D}"}, "needs a tag", id="digest-dest"
        ),
        pytest.param(
            {"source": "nginx", "destination": "r.io/n"}, "needs a tag", id="untagged-dest"
        ),
        pytest.param({"source": "nginx"}, "destination: missing", id="missing-dest"),
        pytest.param({"destination": "r.io/n:1"}, "source: missing", id="missing-source"),
    ],
)
def test_sync_item_decode_rejects(data: dict[str, str], fragment: str) -> None:
    with pytest.raises(DecodeError) as caught:
        decode(SyncItem, data)
    assert fragment in str(caught.value)
