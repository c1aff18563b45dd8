"""WxPusher (wxpusher.zjiecode.com): app-token pushes to uids/topics, and SPT simple pushes.

API (wxpusher.zjiecode.com/docs): ``POST /api/send/message`` with ``appToken``,
``content`` (≤ 40000), ``summary`` (≤ 100), ``contentType`` (3 = Markdown),
``uids``, ``topicIds``; ``POST /api/send/message/simple-push`` with ``spt`` or
``sptList`` (≤ 10). Both answer ``{"code", "msg", "data": [{..., "code"}]}``:
the call succeeded only if the top-level code and every target's code are 1000.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from imgsync.adapters.notify.base import (
    DEFAULT_TIMEOUT,
    Reply,
    api_problem,
    deliver,
    describe,
    new_session,
    post_json,
)
from imgsync.core.render import Message, clip
from imgsync.core.result import ChannelDelivery
from imgsync.errors import NotifyError

WXPUSHER_API = "https://wxpusher.zjiecode.com"
CONTENT_LIMIT = 40000
SUMMARY_LIMIT = 100
SPT_BATCH = 10
MARKDOWN = 3
OK = 1000

Namer = Callable[[Mapping[str, Any]], str]


def _base_payload(message: Message) -> dict[str, Any]:
    return {
        "content": clip(message.body, CONTENT_LIMIT),
        "summary": message.summary(SUMMARY_LIMIT),
        "contentType": MARKDOWN,
    }


def _target_name(item: Mapping[str, Any]) -> str:
    """``uid UID_x`` or ``topic 123``: who did not get the message."""
    if item.get("uid"):
        return f"uid {item['uid']}"
    if item.get("topicId") is not None:
        return f"topic {item['topicId']}"
    return "unknown target"


def check_reply(reply: Reply, name_target: Namer = _target_name) -> int:
    """Raise unless the call and every target succeeded; return how many targets got it.

    ``name_target`` turns one ``data`` item into the name shown for it.
    """
    if reply.status != 200 or reply.data.get("code") != OK:
        raise NotifyError("wxpusher", api_problem(reply, "msg"))
    items = [i for i in reply.data.get("data") or [] if isinstance(i, Mapping)]
    failed = [i for i in items if i.get("code") != OK]
    if failed:
        names = "; ".join(f"{name_target(i)}: {i.get('status') or i.get('code')}" for i in failed)
        raise NotifyError("wxpusher", f"{len(failed)} of {len(items)} target(s) failed: {names}")
    return len(items)


class WxPusherNotifier:
    """App-token push to uids and topics; the app token is the secret kept out of outcomes."""

    name = "wxpusher"

    def __init__(
        self,
        app_token: str,
        *,
        uids: Sequence[str] = (),
        topic_ids: Sequence[int] = (),
        api_base: str = WXPUSHER_API,
        timeout: float = DEFAULT_TIMEOUT,
    ) -> None:
        self._app_token = app_token
        self._uids = list(uids)
        self._topic_ids = [int(t) for t in topic_ids]
        self._url = api_base.rstrip("/") + "/api/send/message"
        self._timeout = timeout
        self._session = new_session()

    def send(self, message: Message) -> ChannelDelivery:
        """Deliver ``message``; failures come back as ``ok=False``, never as exceptions."""
        return deliver(self.name, [self._app_token], lambda: self._post(message))

    def _post(self, message: Message) -> str:
        payload = _base_payload(message) | {
            "appToken": self._app_token,
            "uids": self._uids,
            "topicIds": self._topic_ids,
        }
        reply = post_json(self._session, self._url, payload, self._timeout)
        return f"sent to {check_reply(reply)} target(s)"


class WxPusherSimpleNotifier:
    """SPT ("simple push token") push: no app, one token per reader; every SPT is a secret."""

    name = "wxpusher-spt"

    def __init__(
        self,
        spts: Sequence[str],
        *,
        api_base: str = WXPUSHER_API,
        timeout: float = DEFAULT_TIMEOUT,
    ) -> None:
        self._spts = list(spts)
        self._url = api_base.rstrip("/") + "/api/send/message/simple-push"
        self._timeout = timeout
        self._session = new_session()

    def send(self, message: Message) -> ChannelDelivery:
        """Deliver ``message`` in batches of ten SPTs (the API's limit per call)."""
        return deliver(self.name, self._spts, lambda: self._post_all(message))

    def _post_all(self, message: Message) -> str:
        """Try every batch even when one is refused, then report all refusals at once."""
        batches = [self._spts[i : i + SPT_BATCH] for i in range(0, len(self._spts), SPT_BATCH)]
        sent, problems = 0, []
        for batch in batches:
            try:
                sent += self._post(message, batch)
            except NotifyError as exc:
                problems.append(describe(exc))
        if problems:
            raise NotifyError(self.name, "; ".join(problems))
        return f"sent to {sent} target(s) in {len(batches)} call(s)"

    def _post(self, message: Message, batch: list[str]) -> int:
        targets = {"spt": batch[0]} if len(batch) == 1 else {"sptList": batch}
        payload = _base_payload(message) | targets
        reply = post_json(self._session, self._url, payload, self._timeout)
        return check_reply(reply, self._spt_name)

    def _spt_name(self, item: Mapping[str, Any]) -> str:
        """Name a failed SPT by its position in the configuration: the SPT itself is secret."""
        spt = item.get("spt") or item.get("uid")
        if spt in self._spts:
            return f"spt #{self._spts.index(spt) + 1}"
        return _target_name(item)
