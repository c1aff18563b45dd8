"""What a command was told on its command line, typed and frozen (built by the click layer).

``validate`` needs only what says which mappings to plan (:class:`PlanOptions`);
``sync`` adds how to run them (:class:`SyncOptions`). ``None`` or ``()`` means
"not given": the value then comes from the sync file, else the environment, which
:class:`~imgsync.config.settings.Settings` has already read.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from imgsync.config.settings import NotifyPolicy, Settings


@dataclass(frozen=True, slots=True, kw_only=True)
class PlanOptions:
    """Where the mappings come from and how bare destinations are completed."""

    arguments: tuple[str, ...] = ()
    mappings: str | None = None
    file: str | None = None
    config: Path | None = None
    dest_prefix: str | None = None
    dest_template: str | None = None

    @property
    def wants_signatures(self) -> bool:
        """Only a sync file (``signatures: true``) asks for signatures when planning alone."""
        return False

    def laid_over(self, settings: Settings) -> Settings:
        """``settings`` with what was given here winning."""
        return settings.merged(dest_prefix=self.dest_prefix, dest_template=self.dest_template)


@dataclass(frozen=True, slots=True, kw_only=True)
class SyncOptions(PlanOptions):
    """A plan's options plus how to run it and where its results go."""

    concurrency: int | None = None
    check_concurrency: int | None = None
    dry_run: bool = False
    report_path: Path | None = None
    summary_markdown: Path | None = None
    insecure_registries: tuple[str, ...] = ()
    authfile: Path | None = None
    notify_urls: tuple[str, ...] = ()
    notify_on: NotifyPolicy | None = None
    broker_url: str | None = None
    with_signatures: bool = False
    rate_limit_min: tuple[str, ...] = ()
    deferred_exit_code: int = 0
    no_wait: bool = False
    quiet: bool = False

    @property
    def wants_signatures(self) -> bool:
        return self.with_signatures

    def laid_over(self, settings: Settings) -> Settings:
        return PlanOptions.laid_over(self, settings).merged(
            concurrency=self.concurrency,
            check_concurrency=self.check_concurrency,
            insecure_registries=self.insecure_registries,
            authfile=self.authfile,
            notify_urls=self.notify_urls,
            notify_on=self.notify_on,
            broker_url=self.broker_url,
            rate_limit_min=_minimums(settings, self.rate_limit_min),
        )


def _minimums(settings: Settings, given: tuple[str, ...]) -> dict[str, int] | None:
    """``--rate-limit-min HOST=N`` laid over the file's and the environment's minimums."""
    if not given:
        return None
    parsed = type(settings).build({"rate_limit_min": given}).rate_limit_min
    return {**settings.rate_limit_min, **parsed}
