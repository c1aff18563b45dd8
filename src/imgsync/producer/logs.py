"""Logging set-up: to stderr, and every secret the settings hold masked in every record."""

from __future__ import annotations

import logging
from collections.abc import Iterable

from imgsync.adapters.redact import redact
from imgsync.config.secrets import settings_secrets
from imgsync.config.settings import Settings

LEVELS = {0: logging.WARNING, 1: logging.INFO}


class RedactingFilter(logging.Filter):
    """Masks secrets in the formatted message, whichever library logged it."""

    def __init__(self, secrets: Iterable[str]) -> None:
        super().__init__()
        self.secrets = tuple(s for s in secrets if s)

    def filter(self, record: logging.LogRecord) -> bool:
        if self.secrets:
            record.msg = redact(record.getMessage(), self.secrets)
            record.args = None
        return True


def setup_logging(verbosity: int, settings: Settings) -> None:
    """Configure the root logger once per process."""
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(RedactingFilter(settings_secrets(settings)))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(LEVELS.get(verbosity, logging.DEBUG))


def mask_more(settings: Settings) -> None:
    """Mask secrets learnt after start-up too (a ``--config`` file's named credentials)."""
    for handler in logging.getLogger().handlers:
        for found in handler.filters:
            if isinstance(found, RedactingFilter):
                more = (s for s in settings_secrets(settings) if s)
                found.secrets = tuple(dict.fromkeys((*found.secrets, *more)))
