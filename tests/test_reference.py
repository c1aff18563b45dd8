"""Table-driven tests for :func:`imgsync.core.refparse.parse_reference`."""

from __future__ import annotations

import pytest

from imgsync.core.reference import ImageReference
from imgsync.core.refparse import looks_like_registry_host, parse_reference
from imgsync.errors import InputError, InvalidReference

D = "sha256:" + "0123456789abcdef" * 4
LONG_PATH = "a/" * 124 + "bc"
LONG_NAME_255 = f"r.io/{LONG_PATH}"  # 255 characters, counted with the registry
LONG_NAME_256 = f"{LONG_NAME_255}d"
TAG_128 = "t" * 128

# (id, text, registry, repository, tag, digest, str)
VALID = [
    ("official", "nginx", "docker.io", "library/nginx", "latest", None, None),
    ("official-tag", "nginx:1.25", "docker.io", "library/nginx", "1.25", None, None),
    ("namespaced", "myuser/app", "docker.io", "myuser/app", "latest", None, None),
    ("library-explicit", "library/nginx", "docker.io", "library/nginx", "latest", None, None),
    ("docker-io", "docker.io/nginx", "docker.io", "library/nginx", "latest", None, None),
    ("docker-io-ns", "docker.io/user/app:v1", "docker.io", "user/app", "v1", None, None),
    ("index-alias", "index.docker.io/nginx", "docker.io", "library/nginx", "latest", None, None),
    ("registry-1-alias", "registry-1.docker.io/a/b", "docker.io", "a/b", "latest", None, None),
    ("ghcr", "ghcr.io/org/app:2.0", "ghcr.io", "org/app", "2.0", None, None),
    ("deep-path", "quay.io/a/b/c/d:x", "quay.io", "a/b/c/d", "x", None, None),
    ("localhost", "localhost/app", "localhost", "app", "latest", None, None),
    ("localhost-port", "localhost:5000/app:v", "localhost:5000", "app", "v", None, None),
    ("host-port", "reg.example.com:443/x/y", "reg.example.com:443", "x/y", "latest", None, None),
    ("port-max", "r.io:65535/x", "r.io:65535", "x", "latest", None, None),
    ("port-one", "r.io:1/x", "r.io:1", "x", "latest", None, None),
    ("ipv4", "10.0.0.1:5000/app", "10.0.0.1:5000", "app", "latest", None, None),
    ("ipv6", "[::1]:5000/app", "[::1]:5000", "app", "latest", None, None),
    ("ipv6-no-port", "[fe80::1]/app:1", "[fe80::1]", "app", "1", None, None),
    ("ipv6-compressed", "[0:0::1]/app", "[::1]", "app", "latest", None, None),
    ("host-uppercase", "Reg.Example.COM/app", "reg.example.com", "app", "latest", None, None),
    ("host-hyphen", "my-reg.io/app", "my-reg.io", "app", "latest", None, None),
    ("host-colon-no-dot", "myhost:8080/app", "myhost:8080", "app", "latest", None, None),
    ("sep-dot", "a.b/c", "a.b", "c", "latest", None, None),
    ("sep-dot-path", "x/a.b", "docker.io", "x/a.b", "latest", None, None),
    ("sep-underscore", "my_app", "docker.io", "library/my_app", "latest", None, None),
    ("sep-double-underscore", "my__app", "docker.io", "library/my__app", "latest", None, None),
    ("sep-dashes", "my---app", "docker.io", "library/my---app", "latest", None, None),
    ("digits", "123/456", "docker.io", "123/456", "latest", None, None),
    ("tag-upper", "app:V1.0-RC_1", "docker.io", "library/app", "V1.0-RC_1", None, None),
    ("tag-underscore-start", "app:_x", "docker.io", "library/app", "_x", None, None),
    ("tag-128", f"app:{TAG_128}", "docker.io", "library/app", TAG_128, None, None),
    ("digest", f"nginx@{D}", "docker.io", "library/nginx", None, D, None),
    ("tag-digest", f"nginx:1.25@{D}", "docker.io", "library/nginx", "1.25", D, None),
    ("host-digest", f"r.io:5000/a@{D}", "r.io:5000", "a", None, D, None),
    ("name-255", LONG_NAME_255, "r.io", LONG_PATH, "latest", None, None),
    (
        "normalised",
        "docker.io/library/nginx:latest",
        "docker.io",
        "library/nginx",
        "latest",
        None,
        None,
    ),
]


def _expected_str(registry: str, repository: str, tag: str | None, digest: str | None) -> str:
    return str(ImageReference(registry, repository, tag, digest))


@pytest.mark.parametrize(
    ("text", "registry", "repository", "tag", "digest", "expected_str"),
    [pytest.param(*case[1:], id=case[0]) for case in VALID],
)
def test_valid_reference(
    text: str,
    registry: str,
    repository: str,
    tag: str | None,
    digest: str | None,
    expected_str: str | None,
) -> None:
    ref = parse_reference(text)
    assert (ref.registry, ref.repository, ref.tag, ref.digest) == (
        registry,
        repository,
        tag,
        digest,
    )
    want = expected_str or _expected_str(registry, repository, tag, digest)
    assert str(ref) == want
    assert parse_reference(str(ref)) == ref


def test_str_of_common_cases() -> None:
    assert str(parse_reference("nginx")) == "docker.io/library/nginx:latest"
    assert str(parse_reference("[::1]:5000/a:b")) == "[::1]:5000/a:b"
    assert str(parse_reference(f"nginx@{D}")) == f"docker.io/library/nginx@{D}"


def test_default_tag_none_leaves_no_tag() -> None:
    ref = parse_reference("nginx", default_tag=None)
    assert ref.tag is None
    assert str(ref) == "docker.io/library/nginx"
    assert parse_reference(str(ref), default_tag=None) == ref


def test_custom_default_tag() -> None:
    assert parse_reference("nginx", default_tag="stable").tag == "stable"
    assert parse_reference("nginx:1", default_tag="stable").tag == "1"


def test_hub_namespace() -> None:
    assert parse_reference("nginx", hub_namespace="me").repository == "me/nginx"
    assert parse_reference("docker.io/nginx", hub_namespace=None).repository == "nginx"
    assert parse_reference("library/nginx", hub_namespace="me").repository == "library/nginx"
    assert parse_reference("quay.io/nginx", hub_namespace="me").repository == "nginx"


@pytest.mark.parametrize(
    ("component", "expected"),
    [
        pytest.param("a.b", True, id="dot"),
        pytest.param("a:1", True, id="colon"),
        pytest.param("localhost", True, id="localhost"),
        pytest.param("library", False, id="namespace"),
        pytest.param("Localhost", False, id="uppercase-localhost"),
    ],
)
def test_looks_like_registry_host(component: str, expected: bool) -> None:
    assert looks_like_registry_host(component) is expected


# (id, text, reason fragment)
INVALID = [
    ("empty", "", "empty reference"),
    ("uppercase-path", "Nginx", "uppercase letters are not allowed in repository names"),
    ("uppercase-namespace", "MyOrg/app", "uppercase letters"),
    ("uppercase-after-host", "ghcr.io/Org/app", "uppercase letters"),
    ("empty-component", "a//b", "empty path component"),
    ("trailing-slash", "ghcr.io/app/", "empty path component"),
    ("leading-slash", "/app", "empty path component"),
    ("host-only", "ghcr.io/", "empty path component"),
    ("leading-sep", "_app", "must start and end with a-z or 0-9"),
    ("trailing-sep", "app-", "must start and end"),
    ("double-dot", "a..b", "separators are"),
    ("triple-underscore", "a___b", "separators are"),
    ("mixed-sep", "a._b", "separators are"),
    ("name-256", LONG_NAME_256, "name longer than 255 characters"),
    ("name-normalised-too-long", "a" * 250, "once normalised"),
    ("tag-129", "app:" + "t" * 129, "tag longer than 128 characters"),
    ("tag-empty", "app:", "empty tag"),
    ("tag-dot-start", "app:.x", "tag must start with"),
    ("tag-dash-start", "app:-x", "tag must start with"),
    ("tag-bad-char", "app:a+b", "'+'"),
    ("two-colons", "app:a:b", "character ':' is not allowed in repository names"),
    ("control-nul", "ngi\x00nx", "control character"),
    ("control-bell", "nginx\x07", "control character"),
    ("control-del", "nginx\x7f", "control character"),
    ("newline", "nginx\nrm", "whitespace"),
    ("space", "ngi nx", "whitespace"),
    ("leading-space", " nginx", "whitespace"),
    ("nbsp", "nginx\u00a0", "whitespace"),
    ("subshell", "$(id)", "shell metacharacter '$'"),
    ("semicolon", "nginx;id", "shell metacharacter ';'"),
    ("pipe", "nginx|sh", "shell metacharacter '|'"),
    ("ampersand", "nginx&", "shell metacharacter '&'"),
    ("backtick", "`id`", "shell metacharacter '`'"),
    ("quote", "nginx'", "shell metacharacter"),
    ("double-quote", 'nginx"', "shell metacharacter"),
    ("backslash", "nginx\\", "shell metacharacter"),
    ("glob", "nginx*", "shell metacharacter '*'"),
    ("redirect", "nginx>x", "shell metacharacter '>'"),
    ("braces", "{a,b}", "shell metacharacter '{'"),
    ("bang", "nginx!", "shell metacharacter '!'"),
    ("non-ascii", "ngïnx", "non-ASCII"),
    ("zero-width", "ngi\u200bnx", "control character"),
    ("hash", "nginx#1", "character '#' is not allowed"),
    ("bracket-in-path", "a/[b]", "only allowed around an IPv6"),
    ("bracket-in-domain", "a[1].io/b", "only allowed around an IPv6"),
    ("ipv6-unclosed", "[::1/app", "without ']'"),
    ("ipv6-bad", "[::zz]/app", "not an IPv6 address"),
    ("ipv6-ipv4", "[1.2.3.4]/app", "not an IPv6 address"),
    ("ipv6-junk-after", "[::1]x/app", "only ':<port>'"),
    ("ipv6-without-path", "[::1]:5000", "only allowed around an IPv6"),
    ("port-zero", "r.io:0/a", "port '0' must be a number from 1 to 65535"),
    ("port-too-big", "r.io:65536/a", "from 1 to 65535"),
    ("port-leading-zero", "r.io:05000/a", "from 1 to 65535"),
    ("port-empty", "r.io:/a", "port ''"),
    ("port-letters", "r.io:http/a", "port 'http'"),
    ("host-empty-label", "a..io/b", "empty label"),
    ("host-hyphen-start", "-a.io/b", "may not start or end with '-'"),
    ("host-underscore", "a_b.io/c", "not allowed in a registry host"),
    ("digest-algo", "nginx@sha512:" + "a" * 128, "unsupported digest algorithm 'sha512'"),
    ("digest-short", "nginx@sha256:abc", "digest must be sha256:<64 lowercase hex>"),
    ("digest-upper", "nginx@sha256:" + "A" * 64, "digest must be sha256:<64 lowercase hex>"),
    ("digest-no-colon", "nginx@latest", "digest must be sha256"),
    ("digest-empty", "nginx@", "digest must be sha256"),
    ("two-ats", f"nginx@{D}@{D}", "only one '@'"),
    ("no-name-tag", ":latest", "missing repository name"),
    ("no-name-digest", f"@{D}", "missing repository name"),
    ("too-long", "a" * 1000, "reference longer than"),
    ("equals", "a=b", "character '=' is not allowed"),
    ("comma", "a,b", "character ',' is not allowed"),
]


@pytest.mark.parametrize(
    ("text", "fragment"), [pytest.param(case[1], case[2], id=case[0]) for case in INVALID]
)
def test_invalid_reference(text: str, fragment: str) -> None:
    with pytest.raises(InvalidReference) as caught:
        parse_reference(text)
    assert fragment in caught.value.reason
    assert caught.value.text == text


def test_invalid_reference_is_an_input_error() -> None:
    with pytest.raises(InputError, match="uppercase"):
        parse_reference("Nginx")


def test_invalid_default_tag_is_refused() -> None:
    with pytest.raises(InvalidReference, match="tag must start"):
        parse_reference("nginx", default_tag="-bad")
