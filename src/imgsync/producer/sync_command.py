"""What ``imgsync sync`` does once its options are parsed: one place for both modes."""

from __future__ import annotations

import signal
from collections.abc import Mapping
from dataclasses import replace
from types import FrameType
from typing import Any

import click

from imgsync.config.settings import Settings
from imgsync.core.plan import Plan
from imgsync.core.render import render_console
from imgsync.core.result import RunReport
from imgsync.producer.inputs import load_plan, sync_file_for
from imgsync.producer.logs import mask_more
from imgsync.producer.reporting import check_writable, write_outputs

EXIT_OK, EXIT_FAILED, EXIT_INTERRUPTED = 0, 1, 130


def settings_for(settings: Settings, options: Mapping[str, Any]) -> Settings:
    """Command-line options laid over the environment's settings."""
    return settings.merged(
        dest_prefix=options["dest_prefix"],
        concurrency=options["concurrency"],
        check_concurrency=options["check_concurrency"],
        insecure_registries=tuple(options["insecure_registry"]) or None,
        authfile=options["authfile"],
        notify_urls=tuple(options["notify"]) or None,
        notify_on=options["notify_on"],
        broker_url=options["broker"],
        rate_limit_min=_minimums(settings, options.get("rate_limit_min", ())),
    )


def _minimums(settings: Settings, given: tuple[str, ...]) -> dict[str, int] | None:
    """``--rate-limit-min HOST=N`` laid over the file's and the environment's minimums."""
    if not given:
        return None
    parsed = Settings.build({"rate_limit_min": given}).rate_limit_min
    return {**settings.rate_limit_min, **parsed}


def plan_for(env_settings: Settings, options: Mapping[str, Any]) -> tuple[Settings, Plan]:
    """Settings (command line > sync file > environment) and the validated, expanded plan."""
    sync_file = sync_file_for(env_settings, options.get("config"))
    base = env_settings.with_sync_file(sync_file) if sync_file else env_settings
    settings = settings_for(base, options)
    mask_more(settings)
    arguments, mappings, file = options["arguments"], options["mappings"], options["file"]
    plan = load_plan(arguments, mappings, file, settings, sync_file)
    wanted = options.get("with_signatures") or (sync_file is not None and sync_file.spec.signatures)
    return settings, with_signatures(plan) if wanted else plan


def with_signatures(plan: Plan) -> Plan:
    """Every item also brings the signatures and attestations attached to its digest."""
    return replace(plan, items=tuple(replace(item, signatures=True) for item in plan.items))


def run_sync_command(env_settings: Settings, options: Mapping[str, Any]) -> int:
    """Validate everything first, run in the chosen mode, write outputs, return the exit code."""
    settings, plan = plan_for(env_settings, options)
    items = plan.items
    check_writable(options["report_path"], options["summary_markdown"])
    if settings.distributed:
        from imgsync.producer.distributed import run_distributed_command

        return run_distributed_command(items, settings, options, prune=plan.prune)
    from imgsync.producer.embedded import run_embedded
    from imgsync.producer.progress import progress  # rich: only where a run shows progress

    with _sigterm_as_interrupt(), progress(len(items), quiet=options["quiet"]) as sink:
        report, interrupted = run_embedded(
            items, settings, dry_run=options["dry_run"], on_result=sink, prune=plan.prune
        )
    return finish(report, settings, options, interrupted=interrupted)


def finish(
    report: RunReport, settings: Settings, options: Mapping[str, Any], *, interrupted: bool
) -> int:
    """Print the summary, write the files, and choose the exit code."""
    click.echo(render_console(report))
    write_outputs(
        report,
        report_path=options["report_path"],
        markdown_path=options["summary_markdown"],
        step_summary=settings.github_step_summary,
    )
    if options["report_path"]:
        click.echo(f"report: {options['report_path']}")
    if interrupted:
        return EXIT_INTERRUPTED
    if report.failed:
        return EXIT_FAILED
    return int(options.get("deferred_exit_code") or 0) if report.deferred else EXIT_OK


class _sigterm_as_interrupt:  # noqa: N801 - used like a function
    """SIGTERM (a CI job cancelled, ``docker stop``) ends the run like Ctrl-C does."""

    def __enter__(self) -> None:
        self.previous = signal.signal(signal.SIGTERM, self._raise)

    def __exit__(self, *exc: object) -> None:
        signal.signal(signal.SIGTERM, self.previous)

    @staticmethod
    def _raise(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt
