"""The run's one notification: which channels to build, and whether and what to send them.

Channels are independent: each one's failure is recorded in its delivery record and
the others still get the message. Apprise is imported only when an Apprise URL is
configured (``AppriseNotifier`` is resolved on first access): importing it would be a
large part of ``imgsync --help``'s start-up (``docs/benchmarks.md``). Misconfiguration
(a WxPusher token with no one to send to, an Apprise URL it cannot parse) is found here,
before a run.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from imgsync.adapters.notify.base import Notifier
from imgsync.adapters.notify.wpush import WPUSH_API, WPushNotifier
from imgsync.adapters.notify.wxpusher import (
    WXPUSHER_API,
    WxPusherNotifier,
    WxPusherSimpleNotifier,
)
from imgsync.core.render import render_message
from imgsync.core.result import ChannelDelivery, RunReport, Status
from imgsync.errors import ConfigError

__all__ = [
    "NOTIFY_ON_CHANGE",
    "NOTIFY_POLICIES",
    "AppriseNotifier",
    "Notifier",
    "WPushNotifier",
    "WxPusherNotifier",
    "WxPusherSimpleNotifier",
    "build_notifiers",
    "notify_all",
    "should_notify",
]

NOTIFY_POLICIES = ("always", "change", "failure")


def build_notifiers(
    *,
    wpush_key: str | None = None,
    wpush_api: str = WPUSH_API,
    wpush_channel: str | None = None,
    wxpusher_app_token: str | None = None,
    wxpusher_uids: Sequence[str] = (),
    wxpusher_topic_ids: Sequence[int] = (),
    wxpusher_spts: Sequence[str] = (),
    wxpusher_api: str = WXPUSHER_API,
    apprise_urls: Sequence[str] = (),
) -> list[Notifier]:
    """Every channel the settings name; empty values mean "not configured"."""
    notifiers: list[Notifier] = []
    if wpush_key:
        notifiers.append(WPushNotifier(wpush_key, api_base=wpush_api, channel=wpush_channel))
    notifiers.extend(_wxpusher(wxpusher_app_token, wxpusher_uids, wxpusher_topic_ids, wxpusher_api))
    if wxpusher_spts:
        notifiers.append(WxPusherSimpleNotifier(wxpusher_spts, api_base=wxpusher_api))
    if apprise_urls:
        from imgsync.adapters.notify.apprise_channel import AppriseNotifier

        notifiers.append(AppriseNotifier(apprise_urls))
    return notifiers


def _wxpusher(
    app_token: str | None, uids: Sequence[str], topic_ids: Sequence[int], api: str
) -> list[Notifier]:
    """The app-token channel, which is useless (and so an error) without recipients."""
    if not app_token:
        if uids or topic_ids:
            raise ConfigError("WxPusher uids/topic ids are set but the app token is not")
        return []
    if not uids and not topic_ids:
        raise ConfigError("WxPusher app token is set but no uid or topic id to send to")
    return [WxPusherNotifier(app_token, uids=uids, topic_ids=topic_ids, api_base=api)]


#: What ``change`` listens for: the destination was written to (a copy, a deleted tag) or
#: something failed. A dry run's ``would_*`` changed nothing, and ``deferred`` is a later
#: run's work; a user who wants to hear about those asks for ``always``.
NOTIFY_ON_CHANGE = frozenset({Status.SYNCED, Status.PRUNED, Status.FAILED})


def should_notify(report: RunReport, policy: str) -> bool:
    """``always``; ``change`` when the destination changed or something failed; ``failure``."""
    if policy not in NOTIFY_POLICIES:
        raise ConfigError(f"unknown notify policy {policy!r}; use one of {NOTIFY_POLICIES}")
    if policy == "failure":
        return report.failed
    return policy == "always" or any(r.status in NOTIFY_ON_CHANGE for r in report.results)


def notify_all(
    notifiers: Iterable[Notifier], report: RunReport, *, policy: str = "always"
) -> tuple[ChannelDelivery, ...]:
    """Render once, send to each channel in turn; empty when the policy says stay quiet."""
    if not should_notify(report, policy):
        return ()
    message = render_message(report)
    return tuple(notifier.send(message) for notifier in notifiers)


def __getattr__(name: str) -> object:
    """``AppriseNotifier``, imported on first use (see the module docstring)."""
    if name == "AppriseNotifier":
        from imgsync.adapters.notify.apprise_channel import AppriseNotifier

        return AppriseNotifier
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
