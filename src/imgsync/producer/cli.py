"""The ``imgsync`` command: thin click commands over the library.

Each command parses its options, lays them over the settings read from the
environment, calls one library function, prints, and exits with the documented
code: 0 all good, 1 some mapping failed, 2 bad input or configuration (nothing
ran), 130 interrupted. Celery is imported only by the commands that need it.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, NoReturn

import click

from imgsync import __version__
from imgsync.config.settings import Settings
from imgsync.errors import ImgsyncError, InputError
from imgsync.producer.logs import setup_logging
from imgsync.producer.plan_output import NO_RUN_OPTIONS, plan_json, plan_lines

EXIT_OK, EXIT_FAILED, EXIT_INPUT, EXIT_INTERRUPTED = 0, 1, 2, 130


class ImgsyncGroup(click.Group):
    """Turns imgsync's input errors into one clear message and exit code 2."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except InputError as exc:
            _die(str(exc), EXIT_INPUT)
        except ImgsyncError as exc:
            _die(str(exc), EXIT_FAILED)


def _die(message: str, code: int) -> NoReturn:
    click.echo(f"imgsync: error: {message}", err=True)
    sys.exit(code)


def mapping_options(func: Callable[..., Any]) -> Callable[..., Any]:
    """The options every command that reads mappings shares."""
    decorators = [
        click.argument("arguments", nargs=-1, metavar="[MAPPINGS]..."),
        click.option("--mappings", "-m", help="Mappings text, e.g. 'nginx=myrepo/nginx'."),
        click.option("--file", "-f", "file", help="Read mappings from a file ('-' = stdin)."),
        click.option(
            "--dest-prefix",
            help="Default destination for bare sources, e.g. registry.example.com/mirror "
            "[env IMGSYNC_DEST_PREFIX].",
        ),
        click.option(
            "--config",
            type=click.Path(dir_okay=False, path_type=Path),
            help="Sync file (YAML): tag selection, platforms, several destinations, "
            "per-registry settings [env IMGSYNC_CONFIG].",
        ),
    ]
    for decorator in reversed(decorators):
        func = decorator(func)
    return func


@click.group(cls=ImgsyncGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="imgsync")
@click.option("-v", "--verbose", count=True, help="More log output (-v info, -vv debug).")
@click.pass_context
def cli(ctx: click.Context, verbose: int) -> None:
    """Mirror container images between registries; skip what did not change."""
    settings = Settings.from_env()
    ctx.obj = settings
    setup_logging(verbose, settings)


@cli.command()
@mapping_options
@click.option("--json", "as_json", is_flag=True, help="Print the plan as a JSON list.")
@click.pass_obj
def validate(
    settings: Settings,
    arguments: Sequence[str],
    mappings: str | None,
    file: str | None,
    dest_prefix: str | None,
    config: Path | None,
    as_json: bool,
) -> None:
    """Check mappings (or a sync file) and print the expanded plan; exit 2 if invalid."""
    from imgsync.producer.sync_command import plan_for

    options = {"arguments": arguments, "mappings": mappings, "file": file, "config": config}
    _, plan = plan_for(settings, {**options, **NO_RUN_OPTIONS, "dest_prefix": dest_prefix})
    if as_json:
        click.echo(json.dumps(plan_json(plan), indent=2))
    else:
        for line in plan_lines(plan):
            click.echo(line)


@cli.command()
@mapping_options
@click.option(
    "--concurrency",
    "-c",
    type=click.IntRange(1, 256),
    help="Copies at once (default 8) [env IMGSYNC_CONCURRENCY].",
)
@click.option(
    "--check-concurrency",
    type=click.IntRange(1, 512),
    help="Mappings checked at once, source and destination together (default 32) "
    "[env IMGSYNC_CHECK_CONCURRENCY].",
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
@click.option(
    "--insecure-registry",
    multiple=True,
    metavar="HOST:PORT",
    help="Plain-http registry (repeatable) [env IMGSYNC_INSECURE_REGISTRIES].",
)
@click.option(
    "--authfile",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Auth file in docker's config.json format [env REGISTRY_AUTH_FILE].",
)
@click.option(
    "--notify",
    multiple=True,
    metavar="URL",
    help="Apprise notification URL (repeatable) [env IMGSYNC_NOTIFY].",
)
@click.option(
    "--notify-on",
    type=click.Choice(["always", "change", "failure"]),
    help="When to notify (default always) [env IMGSYNC_NOTIFY_ON].",
)
@click.option(
    "--broker",
    metavar="URL",
    help="Celery broker: fan out to workers instead of running here [env IMGSYNC_BROKER_URL].",
)
@click.option(
    "--with-signatures",
    is_flag=True,
    help="Also copy cosign signatures/attestations (sha256-<hex>.sig/.att/.sbom) and OCI "
    "referrers of each synced digest (sync file: signatures: true).",
)
@click.option(
    "--rate-limit-min",
    multiple=True,
    metavar="HOST=N",
    help="Start no copy from HOST once its pulls left fall below N; such mappings end "
    "'deferred' (repeatable) [env IMGSYNC_RATE_LIMIT_MIN].",
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
@click.pass_obj
def sync(settings: Settings, /, **options: Any) -> None:
    """Sync images: embedded (in-process) by default, on Celery workers with a broker."""
    from imgsync.producer.sync_command import run_sync_command

    sys.exit(run_sync_command(settings, options))


@cli.command()
@click.argument("run_id")
@click.option("--json", "as_json", is_flag=True, help="Print the report or progress as JSON.")
@click.option("--broker", metavar="URL", help="Celery broker [env IMGSYNC_BROKER_URL].")
@click.pass_obj
def status(settings: Settings, run_id: str, as_json: bool, broker: str | None) -> None:
    """Show a distributed run's progress or final report."""
    from imgsync.producer.distributed import show_status

    sys.exit(show_status(settings.merged(broker_url=broker), run_id, as_json=as_json))


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
@click.option("--broker", metavar="URL", help="Celery broker [env IMGSYNC_BROKER_URL].")
@click.pass_obj
def runs(settings: Settings, limit: int, as_json: bool, broker: str | None) -> None:
    """List recent distributed runs, newest first, with their summaries."""
    from imgsync.producer.history import show_runs

    sys.exit(show_runs(settings.merged(broker_url=broker), limit=limit, as_json=as_json))


@cli.command()
@click.option(
    "--concurrency",
    "-c",
    type=click.IntRange(1, 256),
    default=4,
    show_default=True,
    help="Worker processes (each runs one copy at a time).",
)
@click.option("--queue", "-Q", help="Queue to consume (default imgsync) [env IMGSYNC_QUEUE].")
@click.option("--loglevel", "-l", default="INFO", show_default=True, help="Celery log level.")
@click.option("--hostname", "-n", help="Worker node name (default imgsync@%h).")
@click.option("--broker", metavar="URL", help="Celery broker [env IMGSYNC_BROKER_URL].")
@click.option(
    "--metrics-port",
    type=click.IntRange(1, 65535),
    help="Serve Prometheus metrics on this port at /metrics [env IMGSYNC_METRICS_PORT].",
)
@click.pass_obj
def worker(
    settings: Settings,
    concurrency: int,
    queue: str | None,
    loglevel: str,
    hostname: str | None,
    broker: str | None,
    metrics_port: int | None,
) -> None:
    """Start a Celery worker that syncs images (same as `celery -A imgsync.workers worker`)."""
    from imgsync.workers.launch import start_worker

    start_worker(
        settings.merged(broker_url=broker, queue=queue, metrics_port=metrics_port),
        concurrency=concurrency,
        loglevel=loglevel,
        hostname=hostname,
    )


@cli.command()
@click.option(
    "--config",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Sync file whose 'schedules:' to run; workers must read it at the same path "
    "[env IMGSYNC_CONFIG].",
)
@click.option("--loglevel", "-l", default="INFO", show_default=True, help="Celery log level.")
@click.option(
    "--schedule-file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Where beat keeps its last-run times (default: the temp dir).",
)
@click.option("--broker", metavar="URL", help="Celery broker [env IMGSYNC_BROKER_URL].")
@click.pass_obj
def beat(
    settings: Settings,
    config: Path | None,
    loglevel: str,
    schedule_file: Path | None,
    broker: str | None,
) -> None:
    """Start Celery beat: run the sync file's schedules; a run never overlaps its previous one."""
    from imgsync.workers.launch import start_beat

    start_beat(
        settings.merged(broker_url=broker, config_file=config),
        loglevel=loglevel,
        schedule_file=schedule_file,
    )


def main() -> None:
    """Console-script entry point."""
    cli(prog_name="imgsync")
