"""The four GitHub REST calls a request's answer needs: comment, label, unlabel, close.

Why so few and so strict: the token can write to the repository's issues, so it
goes in the ``Authorization`` header only (never a URL, argument or log line),
only over https (plain http only to this machine, for tests), and every failure
is one :class:`~imgsync.errors.GitHubError` naming the call and GitHub's own
message. Endpoints and shapes: docs.github.com/en/rest/issues (comments, labels,
issues), API version 2022-11-28.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import quote, urlsplit

import requests

from imgsync import __version__
from imgsync.errors import ConfigError, GitHubError

API_VERSION = "2022-11-28"
DEFAULT_API_URL = "https://api.github.com"
TIMEOUT_S = 30.0
_REPOSITORY = re.compile(r"[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+")
_LOOPBACK = frozenset({"localhost", "127.0.0.1", "::1"})


class _Bearer(requests.auth.AuthBase):
    """The token as ``Authorization: Bearer``, set as the session's auth so that no
    ``~/.netrc`` entry for the host can silently replace it."""

    def __init__(self, token: str) -> None:
        self._token = token

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        request.headers["Authorization"] = f"Bearer {self._token}"
        return request


class GitHubClient:
    """Issue calls against one repository with one token."""

    def __init__(self, api_url: str, repository: str, token: str) -> None:
        self._base = _checked_base(api_url) + "/repos/" + _checked_repository(repository)
        self._session = requests.Session()  # proxies and CA bundle from the environment
        self._session.auth = _Bearer(token)  # set auth: requests then never reads ~/.netrc
        self._session.headers.update(
            {
                "Accept": "application/vnd.github+json",
                "X-GitHub-Api-Version": API_VERSION,
                "User-Agent": f"imgsync/{__version__}",
            }
        )

    def comment(self, number: int, body: str) -> str:
        """Post ``body`` as a comment; returns the comment's ``html_url``."""
        reply = self._call("POST", f"/issues/{number}/comments", {"body": body}, expect=201)
        return str(reply.get("html_url", ""))

    def add_labels(self, number: int, labels: list[str]) -> None:
        self._call("POST", f"/issues/{number}/labels", {"labels": labels}, expect=200)

    def remove_label(self, number: int, label: str) -> None:
        """Remove ``label``; one the issue does not carry (404) is fine."""
        path = f"/issues/{number}/labels/{quote(label, safe='')}"
        self._call("DELETE", path, None, expect=200, missing_ok=True)

    def close(self, number: int) -> None:
        body = {"state": "closed", "state_reason": "completed"}
        self._call("PATCH", f"/issues/{number}", body, expect=200)

    def _call(
        self,
        method: str,
        path: str,
        body: dict[str, Any] | None,
        *,
        expect: int,
        missing_ok: bool = False,
    ) -> dict[str, Any]:
        try:
            reply = self._session.request(method, self._base + path, json=body, timeout=TIMEOUT_S)
        except requests.RequestException as exc:
            raise GitHubError(method, path, None, f"cannot reach GitHub: {exc}") from None
        if reply.status_code == expect or (missing_ok and reply.status_code == 404):
            return _json_object(reply)
        raise GitHubError(method, path, reply.status_code, _message(reply))

    def close_session(self) -> None:
        self._session.close()


def _checked_base(api_url: str) -> str:
    parts = urlsplit(api_url)
    loopback = parts.scheme == "http" and (parts.hostname or "") in _LOOPBACK
    if not parts.hostname or not (parts.scheme == "https" or loopback):
        raise ConfigError(f"GITHUB_API_URL {api_url!r} must be an https:// URL")
    return api_url.rstrip("/")


def _checked_repository(repository: str) -> str:
    if not _REPOSITORY.fullmatch(repository) or ".." in repository:
        raise ConfigError(f"GITHUB_REPOSITORY {repository!r} must be owner/name")
    return repository


def _json_object(reply: requests.Response) -> dict[str, Any]:
    try:
        data = reply.json()
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def _message(reply: requests.Response) -> str:
    """GitHub's ``message`` (and the documentation link it names), shortened."""
    data = _json_object(reply)
    message = str(data.get("message") or reply.reason or "no message")
    return message[:300]
