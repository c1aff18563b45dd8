"""Read the event file GitHub Actions names in ``$GITHUB_EVENT_PATH``.

Why a file and never the expression ``${{ github.event.issue.title }}``: spliced
into a workflow script, an issue title is shell code. The runner writes the whole
payload to a file; this module reads it as data, at most :data:`MAX_EVENT_BYTES`
(GitHub caps webhook payloads at 25 MB), and checks the type of each field it uses.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from imgsync.core.issue_event import ISSUE_COMMENT, ISSUES, Author, IssueEvent
from imgsync.errors import ConfigError

MAX_EVENT_BYTES = 25 * 1024 * 1024


def read_event(path: Path) -> IssueEvent:
    """The issue event in ``path``; ConfigError naming the file and field when it is not one."""
    payload = _load(path)
    issue = _field(payload, "issue", dict, path)
    comment = payload.get("comment")
    kind = ISSUE_COMMENT if isinstance(comment, dict) else ISSUES
    who = comment.get("user") if isinstance(comment, dict) else issue.get("user")
    return IssueEvent(
        kind=kind,
        action=str(payload.get("action", "")),
        number=_field(issue, "number", int, path),
        title=_text(issue.get("title")),
        body=_text(issue.get("body")),
        author=_author(who),
        labels=_labels(issue.get("labels")),
        is_pull_request=issue.get("pull_request") is not None,
        comment=_text(comment.get("body")) if isinstance(comment, dict) else None,
        repository=_repository(payload.get("repository")),
    )


def _load(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as handle:
            raw = handle.read(MAX_EVENT_BYTES + 1)
    except OSError as exc:
        raise ConfigError(f"cannot read the event file {path}: {exc.strerror or exc}") from None
    if len(raw) > MAX_EVENT_BYTES:
        raise ConfigError(f"the event file {path} is larger than {MAX_EVENT_BYTES} bytes")
    try:
        payload = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ConfigError(f"the event file {path} is not JSON: {exc}") from None
    if not isinstance(payload, dict):
        raise ConfigError(f"the event file {path} does not hold a JSON object")
    return payload


def _field(data: dict[str, Any], name: str, kind: type, path: Path) -> Any:
    value = data.get(name)
    if not isinstance(value, kind) or isinstance(value, bool):
        shown = f"{kind.__name__} '{name}'"
        raise ConfigError(f"the event file {path} has no {shown}: not an issue event")
    return value


def _text(value: object) -> str:
    """A title or body; GitHub sends ``null`` for an empty body."""
    return value if isinstance(value, str) else ""


def _author(user: object) -> Author:
    if not isinstance(user, dict):
        return Author("", "")
    return Author(_text(user.get("login")), _text(user.get("type")))


def _labels(labels: object) -> tuple[str, ...]:
    if not isinstance(labels, list):
        return ()
    names = (label.get("name") for label in labels if isinstance(label, dict))
    return tuple(name for name in names if isinstance(name, str))


def _repository(repository: object) -> str | None:
    name = repository.get("full_name") if isinstance(repository, dict) else None
    return name if isinstance(name, str) else None
