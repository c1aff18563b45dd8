"""Worker logging: Celery's own handlers and formatters mask imgsync's secrets too.

A worker does not keep the CLI's handler: Celery takes over the root logger
(``worker_hijack_root_logger``) and gives it, the task logger and the
multiprocessing logger handlers with its own ``ColorFormatter``/``TaskFormatter``.
Once it has (``after_setup_logger``, ``after_setup_task_logger``), every handler's
formatter is wrapped in the redacting one, so task tracebacks are masked as well
as messages. Pool processes are forked afterwards and inherit the wrapped handlers.
"""

from __future__ import annotations

import logging
from typing import Any

from celery.signals import after_setup_logger, after_setup_task_logger

from imgsync.adapters.log_redaction import (
    KNOWN_SECRETS,
    redact_every_handler,
    route_uncaught_exceptions,
)
from imgsync.config.secrets import settings_secrets
from imgsync.workers import context

#: Celery's logger for each task's outcome.
TRACE_LOGGER = "celery.app.trace"


def redact_worker_logs() -> None:
    """Mask secrets in everything Celery's logging set-up installs, and quiet its per-task
    lines once that set-up knows the log level; safe to call again."""
    for signal in (after_setup_logger, after_setup_task_logger):
        signal.connect(mask_celery_handlers, weak=False, dispatch_uid=f"imgsync-{signal.name}")
    after_setup_logger.connect(_quiet_on_setup, weak=False, dispatch_uid="imgsync-quiet-trace")


def mask_celery_handlers(**_: Any) -> None:
    """Signal receiver: this worker's secrets, every handler masking them, uncaught too."""
    KNOWN_SECRETS.add(settings_secrets(context.get_settings()))
    redact_every_handler(KNOWN_SECRETS)
    route_uncaught_exceptions()


def _quiet_on_setup(loglevel: int | str | None = None, **_: Any) -> None:
    quiet_task_trace(loglevel)


def quiet_task_trace(loglevel: int | str | None) -> None:
    """Below ``DEBUG``, Celery's per-task "succeeded"/"retry" lines are not written.

    imgsync logs each mapping's outcome itself (``skipped a -> b in 0.05s``); Celery's line
    repeats it with ``saferepr`` of the whole result, which cost about a sixth of a skip's
    CPU in a pool process (bench/analysis.md). Failures are still logged, at ``ERROR``.
    """
    level = logging.getLevelName(loglevel) if isinstance(loglevel, str) else loglevel
    if not isinstance(level, int) or level > logging.DEBUG:
        logging.getLogger(TRACE_LOGGER).setLevel(logging.WARNING)
