"""A GitHub ``issues`` / ``issue_comment`` event as far as a request needs it, and when to act.

Why the decision is here and again in the workflow's ``if:``: the workflow's filter
saves a runner, this one is the guarantee. The command answers only a newly opened
issue or a new comment that starts with the command word (``/sync``), never a pull
request and never a bot, so its own comment (or another bot's) cannot start a loop.
"""

from __future__ import annotations

from dataclasses import dataclass

from imgsync.core.request_parse import read_request

ISSUES, ISSUE_COMMENT = "issues", "issue_comment"


@dataclass(frozen=True, slots=True)
class Author:
    """Who wrote the comment (or opened the issue)."""

    login: str
    type: str

    @property
    def is_bot(self) -> bool:
        return self.type == "Bot" or self.login.endswith("[bot]")


@dataclass(frozen=True, slots=True)
class IssueEvent:
    """The fields of the event payload imgsync reads; ``comment`` only for comment events."""

    kind: str
    action: str
    number: int
    title: str
    body: str
    author: Author
    labels: tuple[str, ...] = ()
    is_pull_request: bool = False
    comment: str | None = None
    repository: str | None = None


@dataclass(frozen=True, slots=True)
class Triggered:
    """The event asks for a run; these are the texts to read the images from."""

    title: str
    body: str


@dataclass(frozen=True, slots=True)
class Ignored:
    """The event asks for nothing; ``why`` is printed (it quotes no user text)."""

    why: str


def decide(event: IssueEvent, command: str) -> Triggered | Ignored:
    """Whether to run, and on which text: the issue's, or the images after ``/sync``."""
    if event.is_pull_request:
        return Ignored("the event is about a pull request, not an issue")
    if event.kind == ISSUES:
        if event.action != "opened":
            return Ignored(f"issues events other than 'opened' are ignored (this: {event.action})")
        return Triggered(event.title, event.body)
    if event.kind != ISSUE_COMMENT or event.comment is None:
        return Ignored("neither an issues nor an issue_comment event")
    return _on_comment(event, event.comment, command)


def _on_comment(event: IssueEvent, comment: str, command: str) -> Triggered | Ignored:
    if event.action != "created":
        return Ignored(f"comment events other than 'created' are ignored (this: {event.action})")
    if event.author.is_bot:
        return Ignored("the comment is a bot's")
    rest = after_command(comment, command)
    if rest is None:
        return Ignored(f"the comment does not start with {command}")
    if read_request("", rest).pieces:
        return Triggered("", rest)
    return Triggered(event.title, event.body)


def after_command(comment: str, command: str) -> str | None:
    """The text after ``command`` when the comment's first non-blank line starts with it."""
    text = comment.lstrip()
    if not text.startswith(command):
        return None
    rest = text[len(command) :]
    if rest and not rest[0].isspace():
        return None  # "/synced" is not "/sync"
    return rest
