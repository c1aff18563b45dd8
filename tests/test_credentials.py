"""Auth file parsing (inline entries, helper names), Docker Hub precedence, the private
temporary auth file. Running credential helpers: tests/test_credential_helpers.py."""

from __future__ import annotations

import base64
import json
import logging
import stat
from pathlib import Path
from typing import Any

import pytest

from imgsync.adapters.auth_config import read_auth_config
from imgsync.adapters.credentials import (
    Credential,
    CredentialStore,
    normalize_key,
    read_authfile,
)
from imgsync.errors import ConfigError

SECRET = "s3cr3t-Pa55:with:colons"


def _b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def _write(tmp_path: Path, document: Any) -> Path:
    path = tmp_path / "config.json"
    path.write_text(document if isinstance(document, str) else json.dumps(document))
    return path


def _store(tmp_path: Path, auths: dict[str, Any], **env: str | None) -> CredentialStore:
    return CredentialStore.load(
        dockerhub_username=env.get("user"),
        dockerhub_token=env.get("token"),
        authfile=_write(tmp_path, {"auths": auths}),
    )


@pytest.mark.parametrize(
    ("key", "expected"),
    [
        ("https://index.docker.io/v1/", "docker.io"),
        ("index.docker.io", "docker.io"),
        ("registry-1.docker.io", "docker.io"),
        ("docker.io", "docker.io"),
        ("localhost:5000", "localhost:5000"),
        ("https://localhost:5000", "localhost:5000"),
        ("http://localhost:5000/v2/", "localhost:5000"),
        ("Registry.Example.com", "registry.example.com"),
        ("registry.example.com/team", "registry.example.com/team"),
        ("registry.example.com/team/sub/", "registry.example.com/team/sub"),
        ("registry.example.com/v2/", "registry.example.com"),
    ],
)
def test_normalize_key(key: str, expected: str) -> None:
    assert normalize_key(key) == expected


@pytest.mark.parametrize(
    ("key", "queries"),
    [
        ("https://index.docker.io/v1/", ["docker.io", "docker.io/library/alpine"]),
        ("index.docker.io", ["docker.io", "index.docker.io"]),
        ("registry-1.docker.io", ["docker.io/bitnami/redis"]),
        ("docker.io", ["docker.io", "registry-1.docker.io"]),
        ("localhost:5000", ["localhost:5000", "localhost:5000/team/app"]),
        ("https://localhost:5000", ["localhost:5000"]),
        ("localhost:5000/team", ["localhost:5000/team/app", "localhost:5000/team"]),
    ],
)
@pytest.mark.parametrize("style", ["auth", "fields"])
def test_every_key_style_and_entry_style(
    tmp_path: Path, key: str, queries: list[str], style: str
) -> None:
    entry = (
        {"auth": _b64(f"alice:{SECRET}")}
        if style == "auth"
        else {"username": "alice", "password": SECRET}
    )
    store = _store(tmp_path, {key: entry})
    for query in queries:
        assert store.lookup(query) == Credential("alice", SECRET), query


def test_longest_prefix_on_segment_boundaries(tmp_path: Path) -> None:
    store = _store(
        tmp_path,
        {
            "localhost:5000": {"auth": _b64("host:h")},
            "localhost:5000/team": {"auth": _b64("team:t")},
            "localhost:5000/team/sub": {"auth": _b64("sub:s")},
        },
    )
    assert store.lookup("localhost:5000/team/sub/app") == Credential("sub", "s")
    assert store.lookup("localhost:5000/team/app") == Credential("team", "t")
    assert store.lookup("localhost:5000/teamster/app") == Credential("host", "h")
    assert store.lookup("localhost:5001/team/app") is None


def test_normal_form_key_wins_over_legacy_spelling(tmp_path: Path) -> None:
    store = _store(
        tmp_path,
        {
            "https://index.docker.io/v1/": {"auth": _b64("legacy:l")},
            "docker.io": {"auth": _b64("modern:m")},
        },
    )
    assert store.lookup("docker.io") == Credential("modern", "m")


def test_dockerhub_settings_take_precedence(tmp_path: Path) -> None:
    auths = {
        "https://index.docker.io/v1/": {"auth": _b64("file:f")},
        "docker.io/team": {"auth": _b64("ns:n")},
        "localhost:5000": {"auth": _b64("local:l")},
    }
    store = _store(tmp_path, auths, user="envuser", token="envtoken")
    assert store.lookup("docker.io") == Credential("envuser", "envtoken")
    assert store.lookup("docker.io/team/app") == Credential("envuser", "envtoken")
    assert store.lookup("localhost:5000") == Credential("local", "l")


def test_dockerhub_username_without_token_is_anonymous(caplog: pytest.LogCaptureFixture) -> None:
    store = CredentialStore.load(dockerhub_username="bob", dockerhub_token=None, authfile=None)
    assert store.lookup("docker.io") is None
    assert "DOCKERHUB_TOKEN" in caplog.text


def test_no_authfile_and_no_settings_means_no_credentials() -> None:
    store = CredentialStore.load(dockerhub_username=None, dockerhub_token=None, authfile=None)
    assert store.lookup("docker.io") is None
    assert store.secrets() == ()


def test_helpers_and_store_are_read_by_registry_host(tmp_path: Path) -> None:
    document = {
        "auths": {"localhost:5000": {"auth": _b64("a:b")}},
        "credsStore": "desktop",
        "credHelpers": {
            "https://123.dkr.ecr.us-east-1.amazonaws.com": "ecr-login",
            "https://index.docker.io/v1/": "hub.v2_x",
        },
    }
    config = read_auth_config(_write(tmp_path, document))
    assert config.helpers == {
        "123.dkr.ecr.us-east-1.amazonaws.com": "ecr-login",
        "docker.io": "hub.v2_x",
    }
    assert config.store == "desktop"
    assert [h.program for h in config.helpers_for("docker.io")] == [
        "docker-credential-hub.v2_x",
        "docker-credential-desktop",
    ]
    assert [h.program for h in config.helpers_for("localhost:5000")] == [
        "docker-credential-desktop"
    ]
    assert config.inline("localhost:5000/x") == Credential("a", "b")


@pytest.mark.parametrize(
    "document",
    [
        {"credsStore": "../../bin/sh"},
        {"credsStore": 5},
        {"credHelpers": {"reg.example": "a b"}},
        {"credHelpers": {"reg.example": ""}},
        {"credHelpers": ["ecr-login"]},
    ],
)
def test_a_helper_name_that_is_no_program_name_is_a_config_error(
    tmp_path: Path, document: dict[str, Any]
) -> None:
    path = _write(tmp_path, document)
    with pytest.raises(ConfigError, match=r"credHelpers|credsStore") as caught:
        read_auth_config(path)
    assert str(path) in str(caught.value)


def test_an_entry_without_password_warns_only_when_no_helper_holds_it(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    document = {
        "auths": {"https://index.docker.io/v1/": {}, "ecr.example": {}, "bare.example": {}},
        "credHelpers": {"ecr.example": "ecr-login"},
    }
    with caplog.at_level(logging.WARNING):
        read_auth_config(_write(tmp_path, document))
    assert "bare.example" in caplog.text
    assert "index.docker.io" in caplog.text
    assert "ecr.example" not in caplog.text
    caplog.clear()
    with caplog.at_level(logging.WARNING):
        read_auth_config(_write(tmp_path, {**document, "credsStore": "desktop"}))
    assert caplog.text == ""


MALFORMED: list[tuple[str, Any, str]] = [
    ("bad-json", '{"auths": {"docker.io": {"auth": "' + SECRET, ""),
    ("top-level-list", [SECRET], ""),
    ("auths-not-object", {"auths": [SECRET]}, ""),
    ("entry-not-object", {"auths": {"reg.example:1": SECRET}}, "reg.example:1"),
    ("bad-base64", {"auths": {"reg.example:2": {"auth": SECRET + "!!"}}}, "reg.example:2"),
    (
        "no-colon",
        {"auths": {"reg.example:3": {"auth": _b64(SECRET.replace(":", ""))}}},
        "reg.example:3",
    ),
    ("not-utf8", {"auths": {"reg.example:4": {"auth": "//79"}}}, "reg.example:4"),
    ("auth-not-string", {"auths": {"reg.example:5": {"auth": 12345}}}, "reg.example:5"),
    ("password-missing", {"auths": {"reg.example:6": {"username": "u"}}}, "reg.example:6"),
    ("username-missing", {"auths": {"reg.example:7": {"password": SECRET}}}, "reg.example:7"),
]


@pytest.mark.parametrize(
    ("document", "key"), [m[1:] for m in MALFORMED], ids=[m[0] for m in MALFORMED]
)
def test_malformed_file_names_file_and_key_never_the_secret(
    tmp_path: Path, document: Any, key: str
) -> None:
    path = _write(tmp_path, document)
    with pytest.raises(ConfigError) as caught:
        read_authfile(path)
    message = str(caught.value)
    assert str(path) in message
    assert key in message
    for form in (SECRET, SECRET.replace(":", ""), _b64(SECRET.replace(":", ""))):
        assert form not in message
    assert caught.value.__cause__ is None
    assert caught.value.__context__ is None or caught.value.__suppress_context__


def test_missing_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read"):
        read_authfile(tmp_path / "absent.json")


def test_repr_and_str_hide_the_secret(tmp_path: Path) -> None:
    credential = Credential("alice", SECRET)
    store = _store(tmp_path, {"docker.io": {"auth": credential.auth}})
    for text in (repr(credential), str(credential), repr(store), str(store)):
        assert SECRET not in text
        assert credential.auth not in text
    assert "alice" in repr(credential)


def test_secrets_lists_raw_and_encoded_forms(tmp_path: Path) -> None:
    store = _store(
        tmp_path, {"localhost:5000": {"auth": _b64(f"alice:{SECRET}")}}, user="u", token="tok"
    )
    assert set(store.secrets()) == {SECRET, _b64(f"alice:{SECRET}"), "tok", _b64("u:tok")}


def test_authfile_is_private_limited_and_removed(tmp_path: Path) -> None:
    auths = {
        "https://index.docker.io/v1/": {"auth": _b64("hub:h")},
        "localhost:5000/team": {"auth": _b64("team:t")},
        "other:6000": {"auth": _b64("other:o")},
    }
    store = _store(tmp_path, auths)
    with store.authfile(["docker.io/library/alpine", "localhost:5000/team/app"]) as path:
        assert path is not None
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
        written = json.loads(path.read_text())
    assert written == {
        "auths": {"docker.io": {"auth": _b64("hub:h")}, "localhost:5000": {"auth": _b64("team:t")}}
    }
    assert not path.exists()
    assert not path.parent.exists()


def test_authfile_removed_after_an_exception(tmp_path: Path) -> None:
    store = _store(tmp_path, {"localhost:5000": {"auth": _b64("a:b")}})
    seen: list[Path] = []
    with pytest.raises(RuntimeError), store.authfile(["localhost:5000"]) as path:
        assert path is not None
        seen.append(path)
        raise RuntimeError("boom")
    assert seen
    assert not seen[0].exists()
    assert not seen[0].parent.exists()


def test_authfile_is_none_when_no_credential_applies(tmp_path: Path) -> None:
    store = _store(tmp_path, {"localhost:5000": {"auth": _b64("a:b")}})
    with store.authfile(["docker.io", "localhost:5001/x"]) as path:
        assert path is None
