"""Log output with every known secret masked, tracebacks included.

A filter only sees a record's message: the traceback of ``exc_info`` and the stack
of ``stack_info`` are formatted later, by the formatter, from the exception itself,
so a token inside an exception's text (a URL ``requests`` echoes, a value ``int()``
rejects) would reach the log whole. The mask is therefore applied to what the
formatter produces — message, arguments, exception text and stack alike — for every
handler imgsync installs, in the CLI and in Celery workers.
"""

from __future__ import annotations

import logging
import sys
import threading
from collections.abc import Iterable, Iterator
from types import TracebackType

from imgsync.adapters.redact import mask_forms, secret_forms

ExcInfo = tuple[type[BaseException], BaseException, TracebackType | None]


class SecretSet:
    """The secrets one process knows; it grows as configuration is read (sync file, auth files).

    Fed from :func:`imgsync.config.secrets.settings_secrets` and the credential store,
    so there is one list of what counts as a secret, not one per output.
    """

    def __init__(self, secrets: Iterable[str | None] = ()) -> None:
        self._secrets: tuple[str, ...] = ()
        self._forms: tuple[str, ...] = ()
        self.add(secrets)

    def add(self, secrets: Iterable[str | None]) -> None:
        self._secrets = tuple(dict.fromkeys((*self._secrets, *(s for s in secrets if s))))
        self._forms = secret_forms(self._secrets)

    def redact(self, text: str) -> str:
        return mask_forms(text, self._forms)


#: This process's secrets, shared by every handler imgsync installs (a fork inherits them).
KNOWN_SECRETS = SecretSet()


class RedactingFormatter(logging.Formatter):
    """Wraps another formatter (imgsync's, Celery's) and masks all it produces."""

    def __init__(self, inner: logging.Formatter | None, secrets: SecretSet = KNOWN_SECRETS) -> None:
        super().__init__()
        self.inner = inner if inner is not None else logging.Formatter()
        self.secrets = secrets

    def format(self, record: logging.LogRecord) -> str:
        text = self.inner.format(record)
        if record.exc_text:  # the cache other handlers reuse must not keep the secret
            record.exc_text = self.secrets.redact(record.exc_text)
        return self.secrets.redact(text)

    def formatException(self, ei: ExcInfo | tuple[None, None, None]) -> str:  # noqa: N802
        return self.secrets.redact(self.inner.formatException(ei))

    def formatStack(self, stack_info: str) -> str:  # noqa: N802
        return self.secrets.redact(self.inner.formatStack(stack_info))


def wear_redaction(handler: logging.Handler, secrets: SecretSet = KNOWN_SECRETS) -> None:
    """Give ``handler`` a redacting formatter around the one it has (once)."""
    if not isinstance(handler.formatter, RedactingFormatter):
        handler.setFormatter(RedactingFormatter(handler.formatter, secrets))


def redact_every_handler(secrets: SecretSet = KNOWN_SECRETS) -> None:
    """Every handler of every logger, and the last-resort handler, masks ``secrets``.

    For handlers imgsync did not create itself (Celery's worker and task loggers).
    """
    for handler in _all_handlers():
        wear_redaction(handler, secrets)


def _all_handlers() -> Iterator[logging.Handler]:
    loggers = [logging.getLogger(), *logging.Logger.manager.loggerDict.values()]
    for logger in loggers:
        if isinstance(logger, logging.Logger):
            yield from logger.handlers
    if logging.lastResort is not None:
        yield logging.lastResort


def route_uncaught_exceptions() -> None:
    """Uncaught exceptions are logged (so masked) instead of printed by Python.

    A hook someone else installed (a test runner's) is left alone.
    """
    if sys.excepthook is sys.__excepthook__:
        sys.excepthook = _log_uncaught
    if threading.excepthook is threading.__excepthook__:
        threading.excepthook = _log_uncaught_in_thread


_UNCAUGHT = logging.getLogger("imgsync.uncaught")


def _log_uncaught(
    kind: type[BaseException], exc: BaseException, traceback: TracebackType | None
) -> None:
    if issubclass(kind, KeyboardInterrupt):
        sys.__excepthook__(kind, exc, traceback)
        return
    _UNCAUGHT.critical("uncaught %s", kind.__name__, exc_info=(kind, exc, traceback))


def _log_uncaught_in_thread(args: threading.ExceptHookArgs) -> None:
    if args.exc_value is None or issubclass(args.exc_type, SystemExit):
        return  # as Python's own hook: a thread's SystemExit is silent
    where = args.thread.name if args.thread is not None else "a thread"
    exc_info = (args.exc_type, args.exc_value, args.exc_traceback)
    _UNCAUGHT.critical("uncaught exception in %s", where, exc_info=exc_info)
