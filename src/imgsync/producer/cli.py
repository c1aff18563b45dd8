"""The ``imgsync`` command: thin click commands over the library.

Each command turns its parameters into one typed options object (or a few plain
values), lays them over the settings read from the environment, calls one library
function, prints, and exits with an :class:`ExitCode`. Settings are read when a
command runs (``--help`` reads nothing), and the sync file only by the commands
that use it. Celery is imported only by the commands that need it.
"""

from __future__ import annotations

import functools
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

import click
from click.core import ParameterSource

from imgsync import __version__
from imgsync.errors import ImgsyncError, InputError
from imgsync.producer.exit_codes import ExitCode
from imgsync.producer.options import PlanOptions, SyncOptions
from imgsync.producer.startup_gc import pause_collection, resume_collection

if TYPE_CHECKING:
    from imgsync.config.settings import Settings

Decorator = Callable[[Callable[..., Any]], Callable[..., Any]]


class ImgsyncGroup(click.Group):
    """Turns imgsync's input errors into one clear message and exit code 2."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except InputError as exc:
            _die(str(exc), ExitCode.INPUT)
        except ImgsyncError as exc:
            _die(str(exc), ExitCode.FAILED)


def _die(message: str, code: ExitCode) -> NoReturn:
    click.echo(f"imgsync: error: {message}", err=True)
    sys.exit(code)


def env_option(*decls: str, envvar: str, **attrs: Any) -> Decorator:
    """An option whose environment variable ``--help`` shows (``[env var: …]``).

    Click checks the variable's value against the option's type, so a bad one is
    refused naming the variable; :func:`typed_on_command_line` then leaves it to
    the settings, which read every variable below the sync file.
    """
    return click.option(*decls, envvar=envvar, show_envvar=True, **attrs)


def typed_on_command_line(params: dict[str, Any]) -> dict[str, Any]:
    """The parameters the user typed; one taken from the environment counts as not given.

    Settings already hold the environment's value, under the sync file's; passed on
    as an option it would wrongly beat the file.
    """
    ctx = click.get_current_context()
    return {
        name: value
        for name, value in params.items()
        if ctx.get_parameter_source(name) is not ParameterSource.ENVIRONMENT
    }


def pass_settings(command: Callable[..., None]) -> Callable[..., None]:
    """Hands the command the environment's settings (no sync file), read when it runs."""

    @functools.wraps(command)
    def with_settings(*args: Any, **kwargs: Any) -> None:
        command(_env_settings(click.get_current_context().obj), *args, **kwargs)

    return with_settings


def _env_settings(verbosity: int) -> Settings:
    from imgsync.config.settings import Settings  # pydantic: not for --help
    from imgsync.producer.logs import setup_logging

    settings = Settings.from_variables()
    setup_logging(verbosity, settings)
    return settings


def _checked_template(ctx: click.Context, param: click.Parameter, value: str | None) -> Any:
    """Refuse a bad template naming it (and its variable) before anything is read."""
    from imgsync.core.path_template import optional_template

    try:
        optional_template(value)
    except InputError as exc:
        raise click.BadParameter(str(exc), ctx, param) from None
    return value


def mapping_options(func: Callable[..., Any]) -> Callable[..., Any]:
    """The options every command that reads mappings shares (the fields of PlanOptions)."""
    decorators: list[Decorator] = [
        click.argument("arguments", nargs=-1, metavar="[MAPPINGS]..."),
        click.option("--mappings", "-m", help="Mappings text, e.g. 'nginx=myrepo/nginx'."),
        click.option("--file", "-f", "file", help="Read mappings from a file ('-' = stdin)."),
        env_option(
            "--dest-prefix",
            envvar="IMGSYNC_DEST_PREFIX",
            help="Default destination for bare sources, e.g. registry.example.com/mirror.",
        ),
        env_option(
            "--dest-template",
            envvar="IMGSYNC_DEST_TEMPLATE",
            metavar="path|last|flat:SEP",
            callback=_checked_template,
            help="How a bare source's path is laid out under --dest-prefix: path (as is, "
            "default), last (bitnami/redis -> redis), flat:_ (-> bitnami_redis).",
        ),
        env_option(
            "--config",
            envvar="IMGSYNC_CONFIG",
            type=click.Path(dir_okay=False, path_type=Path),
            help="Sync file (YAML): tag selection, platforms, several destinations, "
            "per-registry settings.",
        ),
    ]
    for decorator in reversed(decorators):
        func = decorator(func)
    return func


def broker_option(help_text: str = "Celery broker.") -> Decorator:
    return env_option("--broker", "broker_url", envvar="IMGSYNC_BROKER_URL", help=help_text)


@click.group(cls=ImgsyncGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="imgsync")
@click.option("-v", "--verbose", count=True, help="More log output (-v info, -vv debug).")
@click.pass_context
def cli(ctx: click.Context, verbose: int) -> None:
    """Mirror container images between registries; skip what did not change."""
    ctx.obj = verbose  # what pass_settings needs to set up logging


@cli.command()
@mapping_options
@click.option("--json", "as_json", is_flag=True, help="Print the plan as a JSON list.")
@pass_settings
def validate(settings: Settings, /, as_json: bool, **params: Any) -> None:
    """Check mappings (or a sync file) and print the expanded plan; exit 2 if invalid."""
    from imgsync.producer.plan_output import plan_json, plan_lines
    from imgsync.producer.sync_command import plan_for

    _, plan = plan_for(settings, PlanOptions(**typed_on_command_line(params)))
    if as_json:
        click.echo(json.dumps(plan_json(plan), indent=2))
    else:
        for line in plan_lines(plan):
            click.echo(line)


@cli.command()
@mapping_options
@env_option(
    "--concurrency",
    "-c",
    envvar="IMGSYNC_CONCURRENCY",
    type=click.IntRange(1, 256),
    help="Copies at once (default 8).",
)
@env_option(
    "--check-concurrency",
    envvar="IMGSYNC_CHECK_CONCURRENCY",
    type=click.IntRange(1, 512),
    help="Mappings checked at once, source and destination together (default 32).",
)
@click.option("--dry-run", is_flag=True, help="Check digests, copy nothing.")
@click.option(
    "--report",
    "report_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write the JSON report here.",
)
@click.option(
    "--summary-markdown",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write a Markdown summary table here (also appended to $GITHUB_STEP_SUMMARY).",
)
@env_option(
    "--insecure-registry",
    "insecure_registries",
    envvar="IMGSYNC_INSECURE_REGISTRIES",
    multiple=True,
    metavar="HOST:PORT",
    help="Plain-http registry (repeatable; the variable takes a comma list).",
)
@env_option(
    "--authfile",
    envvar="REGISTRY_AUTH_FILE",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Auth file in docker's config.json format.",
)
@env_option(
    "--notify",
    "notify_urls",
    envvar="IMGSYNC_NOTIFY",
    multiple=True,
    metavar="URL",
    help="Apprise notification URL (repeatable; the variable takes a comma list).",
)
@env_option(
    "--notify-on",
    envvar="IMGSYNC_NOTIFY_ON",
    type=click.Choice(["always", "change", "failure"]),
    help="When to notify (default always).",
)
@broker_option("Celery broker: fan out to workers instead of running here.")
@click.option(
    "--with-signatures",
    is_flag=True,
    help="Also copy cosign signatures/attestations (sha256-<hex>.sig/.att/.sbom) and OCI "
    "referrers of each synced digest (sync file: signatures: true).",
)
@env_option(
    "--rate-limit-min",
    envvar="IMGSYNC_RATE_LIMIT_MIN",
    multiple=True,
    metavar="HOST=N",
    help="Start no copy from HOST once its pulls left fall below N; such mappings end "
    "'deferred' (repeatable; the variable takes a comma list).",
)
@click.option(
    "--deferred-exit-code",
    type=click.IntRange(0, 255),
    default=0,
    show_default=True,
    help="Exit code when mappings were deferred (quota) and none failed.",
)
@click.option("--no-wait", is_flag=True, help="With a broker: print the run id and exit.")
@click.option("--quiet", "-q", is_flag=True, help="No progress output, only the summary.")
@pass_settings
def sync(settings: Settings, /, **params: Any) -> None:
    """Sync images: embedded (in-process) by default, on Celery workers with a broker."""
    from imgsync.producer.sync_command import run_sync_command

    sys.exit(run_sync_command(settings, SyncOptions(**typed_on_command_line(params))))


@cli.command()
@click.argument("run_id")
@click.option("--json", "as_json", is_flag=True, help="Print the report or progress as JSON.")
@broker_option()
@pass_settings
def status(settings: Settings, run_id: str, as_json: bool, broker_url: str | None) -> None:
    """Show a distributed run's progress or final report."""
    from imgsync.producer.distributed import show_status

    given = typed_on_command_line({"broker_url": broker_url})
    sys.exit(show_status(settings.merged(**given), run_id, as_json=as_json))


@cli.command()
@click.option(
    "--limit",
    "-n",
    type=click.IntRange(1, 10_000),
    default=20,
    show_default=True,
    help="How many of the most recent runs to list.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the runs as a JSON list.")
@broker_option()
@pass_settings
def runs(settings: Settings, limit: int, as_json: bool, broker_url: str | None) -> None:
    """List recent distributed runs, newest first, with their summaries."""
    from imgsync.producer.history import show_runs

    given = typed_on_command_line({"broker_url": broker_url})
    sys.exit(show_runs(settings.merged(**given), limit=limit, as_json=as_json))


@cli.command()
@click.option(
    "--concurrency",
    "-c",
    type=click.IntRange(1, 256),
    default=4,
    show_default=True,
    help="Worker processes (each runs one copy at a time).",
)
@env_option("--queue", "-Q", envvar="IMGSYNC_QUEUE", help="Queue to consume (default imgsync).")
@click.option("--loglevel", "-l", default="INFO", show_default=True, help="Celery log level.")
@click.option(
    "--hostname",
    "-n",
    help="Worker node name (default imgsync-PID@%h: unique per worker process).",
)
@broker_option()
@env_option(
    "--metrics-port",
    envvar="IMGSYNC_METRICS_PORT",
    type=click.IntRange(1, 65535),
    help="Serve Prometheus metrics on this port at /metrics.",
)
@pass_settings
def worker(
    settings: Settings, /, concurrency: int, loglevel: str, hostname: str | None, **params: Any
) -> None:
    """Start a Celery worker that syncs images (same as `celery -A imgsync.workers worker`)."""
    from imgsync.producer.logs import mask_more
    from imgsync.workers.launch import start_worker

    configured = settings.with_config_file().merged(**typed_on_command_line(params))
    mask_more(configured)
    resume_collection()  # before the pool forks: frozen objects stay shared with it
    start_worker(configured, concurrency=concurrency, loglevel=loglevel, hostname=hostname)


@cli.command()
@env_option(
    "--config",
    "config_file",
    envvar="IMGSYNC_CONFIG",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Sync file whose 'schedules:' to run; workers must read it at the same path.",
)
@click.option("--loglevel", "-l", default="INFO", show_default=True, help="Celery log level.")
@click.option(
    "--schedule-file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Where beat keeps its last-run times (default: the temp dir).",
)
@broker_option()
@pass_settings
def beat(settings: Settings, /, loglevel: str, schedule_file: Path | None, **params: Any) -> None:
    """Start Celery beat: run the sync file's schedules; a run never overlaps its previous one."""
    from imgsync.workers.launch import start_beat

    configured = settings.merged(**typed_on_command_line(params))
    resume_collection()
    start_beat(configured, loglevel=loglevel, schedule_file=schedule_file)


@cli.command()
@env_option(
    "--event",
    "event_path",
    envvar="GITHUB_EVENT_PATH",
    type=click.Path(dir_okay=False, path_type=Path),
    help="GitHub issues / issue_comment event file (set by GitHub Actions).",
)
@env_option(
    "--allowlist",
    envvar="IMGSYNC_REQUEST_ALLOWLIST",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Allowlist (YAML) of the sources an issue may ask for.",
)
@env_option("--repository", envvar="GITHUB_REPOSITORY", help="owner/name whose issue to answer.")
@env_option("--api-url", envvar="GITHUB_API_URL", help="GitHub REST API (default api.github.com).")
@env_option(
    "--dest-prefix", envvar="IMGSYNC_DEST_PREFIX", help="Where requested images go (host/path)."
)
@env_option(
    "--dest-template",
    envvar="IMGSYNC_DEST_TEMPLATE",
    metavar="path|last|flat:SEP",
    callback=_checked_template,
    help="How a source's path is laid out under --dest-prefix (default path).",
)
@env_option(
    "--config",
    envvar="IMGSYNC_CONFIG",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Sync file for registry settings and templates (its images are not synced).",
)
@env_option(
    "--insecure-registry",
    "insecure_registries",
    envvar="IMGSYNC_INSECURE_REGISTRIES",
    multiple=True,
    metavar="HOST:PORT",
    help="Plain-http registry (repeatable; the variable takes a comma list).",
)
@broker_option("Celery broker: sync on workers instead of here.")
@click.option("--command", default="/sync", show_default=True, help="Comment word that re-runs.")
@click.option("--dry-run", is_flag=True, help="Check digests, copy nothing, post nothing.")
@click.option("--no-post", is_flag=True, help="Sync, then print the comment and label instead.")
@pass_settings
def request(settings: Settings, /, **params: Any) -> None:
    """Answer a GitHub issue asking for mirrors: allowlist, sync, comment, label, close."""
    from imgsync.producer.request_command import RequestOptions, run_request_command

    sys.exit(run_request_command(settings, RequestOptions(**typed_on_command_line(params))))


def main() -> None:
    """Console-script entry point: start-up without cyclic collection (:mod:`.startup_gc`)."""
    pause_collection()
    try:
        cli(prog_name="imgsync")
    finally:
        resume_collection()  # a command that never resumed: exit skips the last collection
