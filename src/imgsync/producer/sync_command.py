"""What ``imgsync sync`` does once its options are parsed: one place for both modes."""

from __future__ import annotations

import signal
from collections.abc import Sequence
from dataclasses import replace
from types import FrameType

import click

from imgsync.config.settings import Settings
from imgsync.core.item import SyncItem
from imgsync.core.plan import Plan, PruneTarget
from imgsync.core.render import render_console
from imgsync.core.result import RunReport
from imgsync.producer.exit_codes import ExitCode
from imgsync.producer.inputs import load_plan, sync_file_for
from imgsync.producer.logs import mask_more
from imgsync.producer.options import PlanOptions, SyncOptions
from imgsync.producer.reporting import check_writable, write_outputs
from imgsync.producer.startup_gc import resume_collection


def plan_for(env_settings: Settings, options: PlanOptions) -> tuple[Settings, Plan]:
    """Settings (command line > sync file > environment) and the validated, expanded plan.

    The sync file (``--config``, else ``IMGSYNC_CONFIG``) is read here, once.
    """
    sync_file = sync_file_for(env_settings, options.config)
    base = env_settings.with_sync_file(sync_file) if sync_file else env_settings
    settings = options.laid_over(base)
    mask_more(settings)
    plan = load_plan(options.arguments, options.mappings, options.file, settings, sync_file)
    wanted = options.wants_signatures or (sync_file is not None and sync_file.spec.signatures)
    return settings, with_signatures(plan) if wanted else plan


def with_signatures(plan: Plan) -> Plan:
    """Every item also brings the signatures and attestations attached to its digest."""
    return replace(plan, items=tuple(replace(item, signatures=True) for item in plan.items))


def run_sync_command(env_settings: Settings, options: SyncOptions) -> int:
    """Validate everything first, run in the chosen mode, write outputs, return the exit code."""
    settings, plan = plan_for(env_settings, options)
    items = plan.items
    check_writable(options.report_path, options.summary_markdown)
    if settings.distributed:
        from imgsync.producer.distributed import run_distributed_command

        resume_collection()
        return run_distributed_command(items, settings, options, prune=plan.prune)
    report, interrupted = run_here(
        items, settings, dry_run=options.dry_run, quiet=options.quiet, prune=plan.prune
    )
    return finish(report, settings, options, interrupted=interrupted)


def run_here(
    items: Sequence[SyncItem],
    settings: Settings,
    *,
    dry_run: bool,
    quiet: bool,
    prune: Sequence[PruneTarget] = (),
) -> tuple[RunReport, bool]:
    """The embedded run with progress shown and SIGTERM as Ctrl-C: (report, interrupted)."""
    from imgsync.producer.embedded import run_embedded
    from imgsync.producer.progress import progress  # rich: only where a run shows progress

    resume_collection()  # start-up is over: the run's garbage is collected as usual
    with _sigterm_as_interrupt(), progress(len(items), quiet=quiet) as display:
        return run_embedded(
            items, settings, dry_run=dry_run, on_result=display, prune=prune, watch=display
        )


def run_to_report(
    items: Sequence[SyncItem], settings: Settings, *, dry_run: bool, quiet: bool
) -> tuple[RunReport, bool]:
    """Run ``items`` in the configured mode and hand back the report (``imgsync request``)."""
    if settings.distributed:
        from imgsync.producer.distributed import run_distributed

        resume_collection()
        return run_distributed(items, settings, dry_run=dry_run, quiet=quiet), False
    return run_here(items, settings, dry_run=dry_run, quiet=quiet)


def finish(
    report: RunReport, settings: Settings, options: SyncOptions, *, interrupted: bool
) -> int:
    """Print the summary, write the files, and choose the exit code."""
    click.echo(render_console(report))
    write_outputs(
        report,
        report_path=options.report_path,
        markdown_path=options.summary_markdown,
        step_summary=settings.github_step_summary,
    )
    if options.report_path:
        click.echo(f"report: {options.report_path}")
    if interrupted:
        return ExitCode.INTERRUPTED
    if report.failed:
        return ExitCode.FAILED
    return options.deferred_exit_code if report.deferred else ExitCode.OK


class _sigterm_as_interrupt:  # noqa: N801 - used like a function
    """SIGTERM (a CI job cancelled, ``docker stop``) ends the run like Ctrl-C does."""

    def __enter__(self) -> None:
        self.previous = signal.signal(signal.SIGTERM, self._raise)

    def __exit__(self, *exc: object) -> None:
        signal.signal(signal.SIGTERM, self.previous)

    @staticmethod
    def _raise(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt
