"""Worker logging: Celery's own handlers and formatters mask imgsync's secrets too.

A worker does not keep the CLI's handler: Celery takes over the root logger
(``worker_hijack_root_logger``) and gives it, the task logger and the
multiprocessing logger handlers with its own ``ColorFormatter``/``TaskFormatter``.
Once it has (``after_setup_logger``, ``after_setup_task_logger``), every handler's
formatter is wrapped in the redacting one, so task tracebacks are masked as well
as messages. Pool processes are forked afterwards and inherit the wrapped handlers.
"""

from __future__ import annotations

from typing import Any

from celery.signals import after_setup_logger, after_setup_task_logger

from imgsync.adapters.log_redaction import (
    KNOWN_SECRETS,
    redact_every_handler,
    route_uncaught_exceptions,
)
from imgsync.config.secrets import settings_secrets
from imgsync.workers import context


def redact_worker_logs() -> None:
    """Mask secrets in everything Celery's logging set-up installs; safe to call again."""
    for signal in (after_setup_logger, after_setup_task_logger):
        signal.connect(mask_celery_handlers, weak=False, dispatch_uid=f"imgsync-{signal.name}")


def mask_celery_handlers(**_: Any) -> None:
    """Signal receiver: this worker's secrets, every handler masking them, uncaught too."""
    KNOWN_SECRETS.add(settings_secrets(context.get_settings()))
    redact_every_handler(KNOWN_SECRETS)
    route_uncaught_exceptions()
