"""What every notification channel shares: the protocol, the never-raise guard, JSON over HTTP.

A notification reports on a run that has already happened: a channel that is
down, slow or misconfigured must not turn a good run into a crash, and must
not leak its key into the log that says it failed.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from imgsync.adapters.redact import redact
from imgsync.core.render import Message, clip
from imgsync.core.result import ChannelDelivery
from imgsync.errors import NotifyError

if TYPE_CHECKING:  # imported by the first notifier built: a run that notifies no one
    import requests  # never loads requests and urllib3 (about 50 ms of ``sync``'s start-up)

log = logging.getLogger("imgsync.notify")

DEFAULT_TIMEOUT = 10.0
DETAIL_LIMIT = 300


class Notifier(Protocol):
    """One channel; ``send`` reports how it went and never raises."""

    name: str

    def send(self, message: Message) -> ChannelDelivery: ...


def deliver(channel: str, secrets: Sequence[str], attempt: Callable[[], str]) -> ChannelDelivery:
    """Run one delivery attempt and turn whatever happens into a delivery record.

    ``attempt`` returns a detail on success and raises on any failure; every
    text leaving here is redacted, because exception texts may quote URLs or bodies.
    """
    try:
        detail = attempt()
    except Exception as exc:  # a notification must never break the run it reports on
        detail = redact(clip(describe(exc), DETAIL_LIMIT), secrets)
        log.warning("notification via %s failed: %s", channel, detail)
        return ChannelDelivery(channel, ok=False, detail=detail)
    detail = redact(detail, secrets)
    log.info("notification via %s sent: %s", channel, detail)
    return ChannelDelivery(channel, ok=True, detail=detail)


def describe(exc: BaseException) -> str:
    """A short reason a person can act on, without ``requests``' nested reprs."""
    import requests

    if isinstance(exc, NotifyError):
        return str(exc).removeprefix(f"{exc.channel}: ")
    if isinstance(exc, requests.Timeout):
        return f"timed out ({type(exc).__name__})"
    if isinstance(exc, requests.ConnectionError):
        return f"cannot connect: {_root_cause(exc)}"
    return f"{type(exc).__name__}: {exc}"


def _root_cause(exc: BaseException) -> str:
    """The innermost reason (``[Errno 111] Connection refused``) of a chained error."""
    for _ in range(10):  # chains are short; the bound guards against cycles
        inner = exc.__cause__ or exc.__context__
        if inner is None:
            break
        exc = inner
    args = getattr(exc, "args", ())
    text = str(args[-1]) if args else str(exc)
    return text.rsplit(": ", 1)[-1] or type(exc).__name__


@dataclass(frozen=True, slots=True)
class Reply:
    """An HTTP answer: its status and its JSON object (empty when it was not one)."""

    status: int
    data: Mapping[str, Any] = field(default_factory=dict)


def api_problem(reply: Reply, text_key: str) -> str:
    """The API's own words (``code N: text``) when it gave some, else the HTTP status."""
    code, text = reply.data.get("code"), reply.data.get(text_key)
    if code is None and text is None:
        return f"HTTP {reply.status}"
    prefix = f"HTTP {reply.status}, " if reply.status != 200 else ""
    return f"{prefix}code {code}: {text}"


def post_json(
    session: requests.Session, url: str, payload: Mapping[str, Any], timeout: float
) -> Reply:
    """POST JSON and read a JSON object back; the caller decides what counts as success."""
    response = session.post(url, json=payload, timeout=timeout)
    try:
        data = response.json()
    except ValueError:
        data = {}
    return Reply(response.status_code, data if isinstance(data, dict) else {})


def new_session() -> requests.Session:
    """One connection pool per notifier, with a recognisable User-Agent."""
    import requests

    session = requests.Session()
    session.headers["User-Agent"] = "imgsync-notify"
    return session
