"""``imgsync request``: answer a GitHub issue that asks for images to be mirrored.

Why the command posts (and the workflow only runs it): the answer is built from
typed results, and posting it here keeps the issue's text out of every shell. The
workflow hands over the event file and a token, nothing else; one place talks to
GitHub, and the GitHub stand-in in the tests checks exactly what it sends.

Order of work: settings, event, allowlist and token are all checked before the
first registry request; then the pieces are judged, the allowed ones synced with
the same runner as ``imgsync sync`` (embedded, or the broker when one is set),
and the answer is posted as one comment, one label and, when every requested
image is ready, the issue closed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import click

from imgsync.adapters.github_api import GitHubClient
from imgsync.adapters.github_event import read_event
from imgsync.config.allowlist_file import load_allowlist
from imgsync.config.settings import Settings
from imgsync.config.syncload import SyncFile, command_line_rules
from imgsync.core.issue_event import Ignored, IssueEvent, decide
from imgsync.core.item import SyncItem
from imgsync.core.mapping import parse_item
from imgsync.core.request import RequestPlan, plan_request
from imgsync.core.request_comment import LABELS, Answer, answer
from imgsync.core.request_parse import read_request
from imgsync.core.result import Status, SyncResult
from imgsync.errors import ConfigError
from imgsync.producer.exit_codes import ExitCode
from imgsync.producer.inputs import sync_file_for
from imgsync.producer.logs import mask_more
from imgsync.producer.sync_command import run_to_report


@dataclass(frozen=True, slots=True, kw_only=True)
class RequestOptions:
    """What ``imgsync request`` was told; ``None`` / ``()`` = not given (settings decide)."""

    event_path: Path | None = None
    allowlist: Path | None = None
    repository: str | None = None
    api_url: str | None = None
    config: Path | None = None
    dest_prefix: str | None = None
    dest_template: str | None = None
    insecure_registries: tuple[str, ...] = ()
    broker_url: str | None = None
    command: str = "/sync"
    dry_run: bool = False
    no_post: bool = False

    def laid_over(self, settings: Settings) -> Settings:
        return settings.merged(
            github_event_path=self.event_path,
            request_allowlist=self.allowlist,
            github_repository=self.repository,
            github_api_url=self.api_url,
            dest_prefix=self.dest_prefix,
            dest_template=self.dest_template,
            insecure_registries=self.insecure_registries,
            broker_url=self.broker_url,
        )


def run_request_command(env_settings: Settings, options: RequestOptions) -> int:
    """Read the event; if it asks for images, judge, sync, answer. Returns the exit code."""
    sync_file = sync_file_for(env_settings, options.config)
    base = env_settings.with_sync_file(sync_file) if sync_file else env_settings
    settings = options.laid_over(base)
    mask_more(settings)
    event = read_event(_required(settings.github_event_path, "--event or GITHUB_EVENT_PATH"))
    decision = decide(event, options.command)
    if isinstance(decision, Ignored):
        click.echo(f"imgsync request: nothing to do: {decision.why}")
        return ExitCode.OK
    allowlist = load_allowlist(_required(settings.request_allowlist, "--allowlist"))
    client = None if options.dry_run or options.no_post else _client(settings, event)
    plan = plan_request(
        read_request(decision.title, decision.body), allowlist, _item_parser(settings, sync_file)
    )
    results, interrupted = _sync(plan, settings, dry_run=options.dry_run)
    reply = answer(plan, results, command=options.command)
    if client is None:
        _print(reply)
    else:
        _post(client, event, reply)
    return _exit_code(results, interrupted)


def _required(path: Path | None, name: str) -> Path:
    if path is None:
        raise ConfigError(f"imgsync request needs {name}")
    return path


def _item_parser(settings: Settings, sync_file: SyncFile | None) -> partial[SyncItem]:
    """The mapping grammar's own item parser, with the prefix and template configured."""
    return partial(
        parse_item,
        dockerhub_user=settings.dockerhub_username,
        dest_prefix=settings.dest_prefix,
        dest_rules=command_line_rules(sync_file, settings.dest_template),
    )


def _client(settings: Settings, event: IssueEvent) -> GitHubClient:
    """The API client, checked before anything is copied: no token, no run."""
    repository = settings.github_repository or event.repository
    if settings.github_token is None:
        raise ConfigError("imgsync request needs GITHUB_TOKEN to answer (or --no-post)")
    if repository is None:
        raise ConfigError("imgsync request needs --repository or GITHUB_REPOSITORY")
    token = settings.github_token.get_secret_value()
    return GitHubClient(settings.github_api_url, repository, token)


def _sync(
    plan: RequestPlan, settings: Settings, *, dry_run: bool
) -> tuple[Sequence[SyncResult], bool]:
    if not plan.items:
        return (), False
    report, interrupted = run_to_report(plan.items, settings, dry_run=dry_run, quiet=True)
    return report.results, interrupted


def _print(reply: Answer) -> None:
    click.echo(reply.body)
    click.echo(f"label: {reply.label}")
    click.echo(f"close: {'yes' if reply.close else 'no'}")


def _post(client: GitHubClient, event: IssueEvent, reply: Answer) -> None:
    """Comment first (what the requester waits for), then the label, then close."""
    try:
        url = client.comment(event.number, reply.body)
        for stale in (label for label in event.labels if label in LABELS):
            if stale != reply.label:
                client.remove_label(event.number, stale)
        client.add_labels(event.number, [reply.label])
        if reply.close:
            client.close(event.number)
    finally:
        client.close_session()
    closed = "; closed" if reply.close else ""
    click.echo(f"answered issue #{event.number}: {url or 'comment posted'}; {reply.label}{closed}")


def _exit_code(results: Sequence[SyncResult], interrupted: bool) -> int:
    if interrupted:
        return ExitCode.INTERRUPTED
    failed = any(result.status is Status.FAILED for result in results)
    return ExitCode.FAILED if failed else ExitCode.OK
