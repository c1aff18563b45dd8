"""Logging set-up of the CLI: to stderr, every secret the settings hold masked in all of it.

The mask sits in the formatter (:mod:`imgsync.adapters.log_redaction`), so tracebacks
and stacks are masked as well as messages; warnings and uncaught exceptions are routed
through the same handler instead of being printed by Python.
"""

from __future__ import annotations

import logging
from typing import TextIO

from imgsync.adapters.log_redaction import (
    KNOWN_SECRETS,
    RedactingFormatter,
    SecretSet,
    route_uncaught_exceptions,
    wear_redaction,
)
from imgsync.config.secrets import settings_secrets
from imgsync.config.settings import Settings

LEVELS = {0: logging.WARNING, 1: logging.INFO}
LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def setup_logging(verbosity: int, settings: Settings) -> None:
    """Configure the root logger once per process."""
    KNOWN_SECRETS.add(settings_secrets(settings))
    root = logging.getLogger()
    root.handlers[:] = [cli_handler(KNOWN_SECRETS)]
    root.setLevel(LEVELS.get(verbosity, logging.DEBUG))
    if logging.lastResort is not None:
        wear_redaction(logging.lastResort, KNOWN_SECRETS)
    logging.captureWarnings(True)
    route_uncaught_exceptions()


def cli_handler(secrets: SecretSet, stream: TextIO | None = None) -> logging.Handler:
    """The CLI's one handler: to ``stream`` (stderr), every line masked."""
    handler = logging.StreamHandler(stream)
    handler.setFormatter(RedactingFormatter(logging.Formatter(LOG_FORMAT), secrets))
    return handler


def mask_more(settings: Settings) -> None:
    """Mask secrets learnt after start-up too (a ``--config`` file's named credentials)."""
    KNOWN_SECRETS.add(settings_secrets(settings))
