"""WPush (wpush.cn): the channel the seed's ``WPUSH_KEY`` pointed at.

API: ``POST /api/v1/send`` with JSON ``apikey, title, content[, channel]``;
success is ``code == 0`` in ``{"code", "message", "data"}`` (wpush.cn docs,
Apprise ``plugins/wpush.py``).
"""

from __future__ import annotations

from typing import Any

from imgsync.adapters.notify.base import (
    DEFAULT_TIMEOUT,
    api_problem,
    deliver,
    new_session,
    post_json,
)
from imgsync.core.render import Message
from imgsync.core.result import ChannelDelivery
from imgsync.errors import NotifyError

WPUSH_API = "https://api.wpush.cn"


class WPushNotifier:
    """Sends the run's message to one WPush key; the key never shows up in outcomes or logs."""

    name = "wpush"

    def __init__(
        self,
        apikey: str,
        *,
        api_base: str = WPUSH_API,
        channel: str | None = None,
        timeout: float = DEFAULT_TIMEOUT,
    ) -> None:
        self._apikey = apikey
        self._url = api_base.rstrip("/") + "/api/v1/send"
        self._channel = channel
        self._timeout = timeout
        self._session = new_session()

    def send(self, message: Message) -> ChannelDelivery:
        """Deliver ``message``; failures come back as ``ok=False``, never as exceptions."""
        return deliver(self.name, [self._apikey], lambda: self._post(message))

    def _post(self, message: Message) -> str:
        reply = post_json(self._session, self._url, self._payload(message), self._timeout)
        if reply.status != 200 or reply.data.get("code") != 0:
            raise NotifyError(self.name, api_problem(reply, "message"))
        return str(reply.data.get("message") or "ok")

    def _payload(self, message: Message) -> dict[str, Any]:
        payload: dict[str, Any] = {
            "apikey": self._apikey,
            "title": message.title,
            "content": message.body,
        }
        if self._channel:
            payload["channel"] = self._channel
        return payload
