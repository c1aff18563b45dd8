"""Any of Apprise's many services (Telegram, Slack, e-mail, ntfy, …) from URLs.

Apprise URLs carry their secrets (bot tokens, passwords, webhook keys), so a
URL is never shown whole: the channel is named by its scheme(s), and a URL
Apprise rejects is named by scheme and host only.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from urllib.parse import urlsplit

import apprise

from imgsync.adapters.notify.base import deliver
from imgsync.adapters.redact import redact, redact_url
from imgsync.core.render import Message
from imgsync.core.result import ChannelDelivery
from imgsync.errors import ConfigError


def _scheme(url: str) -> str:
    return url.split("://", 1)[0].lower() if "://" in url else "?"


def _secrets(url: str) -> list[str]:
    """The URL, everything after its scheme, and its password: what errors might quote."""
    rest = url.split("://", 1)[-1]
    try:
        password = urlsplit(url).password or ""
    except ValueError:
        password = ""
    return [url, rest, password]


class _RedactFilter(logging.Filter):
    """Masks secrets in Apprise's own log records (it logs rejected URLs verbatim)."""

    def __init__(self, secrets: Sequence[str]) -> None:
        super().__init__()
        self.secrets = secrets

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg, record.args = redact(record.getMessage(), self.secrets), ()
        return True


@contextmanager
def _apprise_logs_redacted(secrets: Sequence[str]) -> Iterator[None]:
    """While Apprise works with our URLs, nothing it logs may show them."""
    logger = logging.getLogger("apprise")
    redactor = _RedactFilter(secrets)
    logger.addFilter(redactor)
    try:
        yield
    finally:
        logger.removeFilter(redactor)


class AppriseNotifier:
    """One Apprise object holding every URL; a bad URL is a configuration error, found early."""

    def __init__(self, urls: Sequence[str]) -> None:
        if not urls:
            raise ConfigError("no Apprise URL given")
        self._urls = list(urls)
        self._secrets = [secret for url in self._urls for secret in _secrets(url)]
        self._apprise = apprise.Apprise()
        for url in self._urls:
            self._add(url)
        schemes = dict.fromkeys(_scheme(url) for url in self._urls)
        self.name = "apprise:" + ",".join(schemes)

    def _add(self, url: str) -> None:
        """Validate one URL now, so a typo stops the run before anything is copied."""
        with _apprise_logs_redacted(_secrets(url)):
            service = apprise.Apprise.instantiate(url)
        if service is None:
            raise ConfigError(f"invalid Apprise URL {redact_url(url)} (secret parts hidden)")
        self._apprise.add(service)

    def send(self, message: Message) -> ChannelDelivery:
        """Deliver ``message`` to every URL; failures come back as ``ok=False``."""
        return deliver(self.name, self._secrets, lambda: self._notify(message))

    def _notify(self, message: Message) -> str:
        with _apprise_logs_redacted(self._secrets):
            delivered = self._apprise.notify(
                title=message.title, body=message.body, body_format=apprise.NotifyFormat.MARKDOWN
            )
        if not delivered:
            raise RuntimeError("Apprise reported a failed delivery (see the apprise log)")
        return f"sent to {len(self._urls)} service(s)"
