"""The GitHub side of ``imgsync request``: the event file and the REST client.

The client talks real HTTP to the stand-in (tests/rig/github_api.py), which checks the
token header, the path and the JSON body as GitHub does; the event reader reads the
recorded payloads in tests/data/github/ and refuses files that are not issue events.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from imgsync.adapters import github_event
from imgsync.adapters.github_api import GitHubClient
from imgsync.adapters.github_event import read_event
from imgsync.core.issue_event import Author
from imgsync.errors import ConfigError, GitHubError
from tests.rig.fake_notify import closed_port_url
from tests.rig.github_api import GitHubStandIn

EVENTS = Path(__file__).parent / "data" / "github"
TOKEN = "ghs_clientTestToken0000111122223333"


@pytest.fixture
def github() -> Iterator[GitHubStandIn]:
    with GitHubStandIn("acme/mirror", TOKEN) as stand_in:
        stand_in.add_issue(7, labels=["failed"])
        yield stand_in


@pytest.fixture
def client(github: GitHubStandIn) -> Iterator[GitHubClient]:
    made = GitHubClient(github.url, "acme/mirror", TOKEN)
    yield made
    made.close_session()


def test_each_call_sends_the_token_in_the_header_and_the_body_github_expects(
    github: GitHubStandIn, client: GitHubClient
) -> None:
    url = client.comment(7, "hello")
    client.remove_label(7, "failed")
    client.add_labels(7, ["synced"])
    client.close(7)
    assert url == "https://github.com/acme/mirror/issues/7#issuecomment-1"
    assert [(c.method, c.path, c.json, c.status) for c in github.calls] == [
        ("POST", "/repos/acme/mirror/issues/7/comments", {"body": "hello"}, 201),
        ("DELETE", "/repos/acme/mirror/issues/7/labels/failed", None, 200),
        ("POST", "/repos/acme/mirror/issues/7/labels", {"labels": ["synced"]}, 200),
        (
            "PATCH",
            "/repos/acme/mirror/issues/7",
            {"state": "closed", "state_reason": "completed"},
            200,
        ),
    ]
    for call in github.calls:
        assert call.headers["Authorization"] == f"Bearer {TOKEN}"
        assert call.headers["X-GitHub-Api-Version"] == "2022-11-28"
        assert call.headers["Accept"] == "application/vnd.github+json"
        assert TOKEN not in call.path
    assert github.issues[7].labels == ["synced"] and github.issues[7].state == "closed"


def test_removing_a_label_the_issue_does_not_carry_is_fine(
    github: GitHubStandIn, client: GitHubClient
) -> None:
    client.remove_label(7, "partial")
    assert github.calls[-1].status == 404


def test_a_refusal_names_the_call_and_github_s_message_never_the_token(
    client: GitHubClient,
) -> None:
    with pytest.raises(GitHubError) as caught:
        client.comment(8, "hello")
    assert str(caught.value) == "GitHub API POST /issues/8/comments: HTTP 404: Not Found"
    assert caught.value.status == 404


def test_a_wrong_token_is_refused_by_the_stand_in_as_github_would(github: GitHubStandIn) -> None:
    wrong = GitHubClient(github.url, "acme/mirror", "not-the-token")
    with pytest.raises(GitHubError, match="HTTP 401: Bad credentials"):
        wrong.add_labels(7, ["synced"])
    assert github.issues[7].labels == ["failed"]


def test_the_stand_in_takes_the_token_scheme_too_and_checks_the_body(
    github: GitHubStandIn,
) -> None:
    url = f"{github.url}/repos/acme/mirror/issues/7/comments"
    auth = {"Authorization": f"token {TOKEN}"}
    assert requests.post(url, json={"body": "x"}, headers=auth, timeout=5).status_code == 201
    assert requests.post(url, json={"text": "x"}, headers=auth, timeout=5).status_code == 422
    assert requests.post(url, data="{", headers=auth, timeout=5).status_code == 415


def test_an_unreachable_api_is_one_clear_error() -> None:
    with pytest.raises(GitHubError, match="cannot reach GitHub"):
        GitHubClient(closed_port_url(), "acme/mirror", TOKEN).close(7)


@pytest.mark.parametrize(
    ("api_url", "repository", "message"),
    [
        ("http://api.github.com", "acme/mirror", "must be an https:// URL"),
        ("ftp://127.0.0.1", "acme/mirror", "must be an https:// URL"),
        ("https://api.github.com", "acme", "must be owner/name"),
        ("https://api.github.com", "acme/../../orgs/x", "must be owner/name"),
        ("https://api.github.com", "acme/mirror?x=1", "must be owner/name"),
    ],
)
def test_a_plain_http_api_or_a_strange_repository_is_refused(
    api_url: str, repository: str, message: str
) -> None:
    with pytest.raises(ConfigError, match=message):
        GitHubClient(api_url, repository, TOKEN)


# --------------------------------------------------------------------------- event files


@pytest.mark.parametrize(
    ("name", "kind", "action", "number", "author", "labels"),
    [
        ("issues_opened.json", "issues", "opened", 42, "octocat", ()),
        ("issues_edited.json", "issues", "edited", 42, "octocat", ()),
        ("issue_comment_sync.json", "issue_comment", "created", 42, "octocat", ("failed",)),
        ("issue_comment_plain.json", "issue_comment", "created", 42, "octocat", ("partial",)),
        (
            "issue_comment_bot.json",
            "issue_comment",
            "created",
            42,
            "github-actions[bot]",
            ("synced",),
        ),
        ("pull_request_comment.json", "issue_comment", "created", 43, "octocat", ()),
    ],
)
def test_recorded_payloads_read_as_issue_events(
    name: str, kind: str, action: str, number: int, author: str, labels: tuple[str, ...]
) -> None:
    event = read_event(EVENTS / name)
    assert (event.kind, event.action, event.number) == (kind, action, number)
    assert (event.author.login, event.labels, event.repository) == (author, labels, "acme/mirror")
    assert event.is_pull_request is (name == "pull_request_comment.json")
    assert event.author.is_bot is (author == "github-actions[bot]")
    assert (event.comment is not None) is (kind == "issue_comment")


def test_a_null_body_reads_as_empty(tmp_path: Path) -> None:
    payload = json.loads((EVENTS / "issues_opened.json").read_text())
    payload["issue"]["body"] = None
    payload["issue"]["user"] = None
    (tmp_path / "e.json").write_text(json.dumps(payload))
    event = read_event(tmp_path / "e.json")
    assert (event.body, event.author) == ("", Author("", ""))


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"{not json", "is not JSON"),
        (b"[1, 2]", "does not hold a JSON object"),
        (b'{"action": "opened"}', "has no dict 'issue': not an issue event"),
        (b'{"issue": {"number": "42"}}', "has no int 'number'"),
        (b'{"issue": {"number": true}}', "has no int 'number'"),
        (b"\xff\xfe", "is not JSON"),
    ],
)
def test_a_file_that_is_no_issue_event_is_refused(
    tmp_path: Path, content: bytes, message: str
) -> None:
    path = tmp_path / "event.json"
    path.write_bytes(content)
    with pytest.raises(ConfigError, match=message):
        read_event(path)


def test_an_oversized_or_missing_event_file_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(github_event, "MAX_EVENT_BYTES", 100)
    with pytest.raises(ConfigError, match="larger than 100 bytes"):
        read_event(EVENTS / "issues_opened.json")
    with pytest.raises(ConfigError, match="cannot read the event file"):
        read_event(tmp_path / "absent.json")
