"""Notification channels against real local HTTP servers: what is sent, and how failures end."""

from __future__ import annotations

import itertools
import logging
import time
from collections.abc import Iterator

import pytest

from imgsync.adapters.notify import (
    NOTIFY_POLICIES,
    AppriseNotifier,
    WPushNotifier,
    WxPusherNotifier,
    WxPusherSimpleNotifier,
    build_notifiers,
    notify_all,
    should_notify,
)
from imgsync.adapters.notify.base import Notifier
from imgsync.adapters.redact import redact, redact_url
from imgsync.core.render import TITLE, render_message
from imgsync.core.result import ErrorInfo, RunReport, Status, SyncResult
from imgsync.errors import ConfigError
from tests.rig.fake_notify import (
    FakeNotifyServer,
    Recorded,
    Reply,
    closed_port_url,
    fake_wpush,
    fake_wxpusher,
)

WPUSH_KEY = "WPUSHsecretKEY0123456789"
APP_TOKEN = "AT_secretAppToken0123456789"
SPTS = [f"SPT_secretToken{i:03d}" for i in range(21)]
DIGEST = "sha256:" + "ab" * 32


def result(n: int, status: Status) -> SyncResult:
    error = ErrorInfo("auth", "unauthorized: authentication required")
    return SyncResult(
        f"library/app{n}:1",
        f"reg.example/app{n}:1",
        status,
        DIGEST,
        DIGEST if status is not Status.FAILED else None,
        error if status is Status.FAILED else None,
    )


def report(*statuses: Status) -> RunReport:
    results = tuple(result(n, s) for n, s in enumerate(statuses))
    return RunReport("run-7", "embedded", "2026-11-29T05:00:00Z", "2026-11-29T05:01:00Z", results)


MIXED = report(Status.SYNCED, Status.SKIPPED, Status.FAILED)
LINES = [
    "✅ `library/app0:1` → `reg.example/app0:1`",
    "🔜 `library/app1:1` → `reg.example/app1:1`",
    "❌ `library/app2:1` → `reg.example/app2:1`（auth: unauthorized: authentication required）",
]


@pytest.fixture
def wpush_server() -> Iterator[FakeNotifyServer]:
    with fake_wpush() as server:
        yield server


@pytest.fixture
def wxpusher_server() -> Iterator[FakeNotifyServer]:
    with fake_wxpusher() as server:
        yield server


def only_request(server: FakeNotifyServer) -> Recorded:
    assert len(server.requests) == 1
    return server.requests[0]


def test_wpush_posts_apikey_title_and_markdown_content(wpush_server: FakeNotifyServer) -> None:
    outcome = WPushNotifier(WPUSH_KEY, api_base=wpush_server.url).send(render_message(MIXED))
    request = only_request(wpush_server)
    assert outcome.ok and outcome.channel == "wpush"
    assert (request.method, request.path) == ("POST", "/api/v1/send")
    assert request.headers["Content-Type"] == "application/json"
    assert set(request.json) == {"apikey", "title", "content"}
    assert request.json["apikey"] == WPUSH_KEY and request.json["title"] == TITLE
    assert all(line in request.json["content"].splitlines() for line in LINES)


def test_wpush_sends_the_channel_when_one_is_set(wpush_server: FakeNotifyServer) -> None:
    notifier = WPushNotifier(WPUSH_KEY, api_base=wpush_server.url + "/", channel="wechat")
    assert notifier.send(render_message(MIXED)).ok
    assert only_request(wpush_server).json["channel"] == "wechat"


def test_wpush_nonzero_code_fails_with_the_api_message(wpush_server: FakeNotifyServer) -> None:
    wpush_server.respond(200, {"code": 1001, "message": "apikey 无效", "data": None})
    outcome = WPushNotifier(WPUSH_KEY, api_base=wpush_server.url).send(render_message(MIXED))
    assert not outcome.ok
    assert outcome.detail == "code 1001: apikey 无效"


def test_wpush_http_error_without_json_fails_with_the_status(
    wpush_server: FakeNotifyServer,
) -> None:
    wpush_server.reply = Reply(502, raw="<html>bad gateway</html>")
    outcome = WPushNotifier(WPUSH_KEY, api_base=wpush_server.url).send(render_message(MIXED))
    assert (outcome.ok, outcome.detail) == (False, "HTTP 502")


def test_wxpusher_posts_markdown_to_uids_and_topics(wxpusher_server: FakeNotifyServer) -> None:
    notifier = WxPusherNotifier(
        APP_TOKEN, uids=["UID_a", "UID_b"], topic_ids=[42], api_base=wxpusher_server.url
    )
    outcome = notifier.send(render_message(MIXED))
    request = only_request(wxpusher_server)
    assert outcome.ok and outcome.channel == "wxpusher"
    assert request.path == "/api/send/message"
    body = request.json
    assert set(body) == {"appToken", "content", "summary", "contentType", "uids", "topicIds"}
    assert (body["appToken"], body["contentType"]) == (APP_TOKEN, 3)
    assert (body["uids"], body["topicIds"]) == (["UID_a", "UID_b"], [42])
    assert body["summary"] == "镜像同步结果：共 3 项：同步 1，跳过 1，失败 1"
    assert all(line in body["content"].splitlines() for line in LINES)


def test_wxpusher_names_the_target_that_failed(wxpusher_server: FakeNotifyServer) -> None:
    data = [
        {"uid": "UID_a", "code": 1000, "status": "创建发送任务成功"},
        {"uid": "UID_b", "code": 1001, "status": "用户不存在"},
    ]
    wxpusher_server.respond(200, {"code": 1000, "msg": "处理成功", "data": data, "success": True})
    notifier = WxPusherNotifier(APP_TOKEN, uids=["UID_a", "UID_b"], api_base=wxpusher_server.url)
    outcome = notifier.send(render_message(MIXED))
    assert not outcome.ok
    assert outcome.detail == "1 of 2 target(s) failed: uid UID_b: 用户不存在"


def test_wxpusher_top_level_failure_is_reported(wxpusher_server: FakeNotifyServer) -> None:
    wxpusher_server.respond(200, {"code": 1001, "msg": "appToken 不正确", "data": None})
    notifier = WxPusherNotifier(APP_TOKEN, topic_ids=[1], api_base=wxpusher_server.url)
    outcome = notifier.send(render_message(MIXED))
    assert (outcome.ok, outcome.detail) == (False, "code 1001: appToken 不正确")


def test_more_than_ten_spts_are_split_into_several_calls(
    wxpusher_server: FakeNotifyServer,
) -> None:
    notifier = WxPusherSimpleNotifier(SPTS, api_base=wxpusher_server.url)
    assert notifier.send(render_message(MIXED)).ok
    bodies = [r.json for r in wxpusher_server.requests]
    assert {r.path for r in wxpusher_server.requests} == {"/api/send/message/simple-push"}
    assert [b.get("sptList") for b in bodies] == [SPTS[:10], SPTS[10:20], None]
    assert bodies[2]["spt"] == SPTS[20]
    assert all(b["contentType"] == 3 and b["summary"].startswith(TITLE) for b in bodies)


def test_spt_failures_name_positions_not_tokens(wxpusher_server: FakeNotifyServer) -> None:
    def refuse_third(request: Recorded) -> Reply:
        spts = request.json.get("sptList") or [request.json["spt"]]
        data = [{"spt": s, "code": 1001 if s == SPTS[2] else 1000, "status": "x"} for s in spts]
        return Reply(200, {"code": 1000, "msg": f"echo {spts}", "data": data})

    wxpusher_server.responder = refuse_third
    outcome = WxPusherSimpleNotifier(SPTS, api_base=wxpusher_server.url).send(render_message(MIXED))
    assert (outcome.ok, outcome.detail) == (False, "1 of 10 target(s) failed: spt #3: x")
    assert len(wxpusher_server.requests) == 3  # later batches were still sent


def all_notifiers(base: str, timeout: float = 10) -> list[Notifier]:
    return [
        WPushNotifier(WPUSH_KEY, api_base=base, timeout=timeout),
        WxPusherNotifier(APP_TOKEN, uids=["UID_a"], api_base=base, timeout=timeout),
        WxPusherSimpleNotifier(SPTS[:1], api_base=base, timeout=timeout),
    ]


def test_a_closed_port_fails_quickly_without_raising() -> None:
    started = time.monotonic()
    outcomes = [n.send(render_message(MIXED)) for n in all_notifiers(closed_port_url())]
    assert time.monotonic() - started < 3
    assert [o.ok for o in outcomes] == [False, False, False]
    assert all(o.detail.startswith("cannot connect: ") for o in outcomes)


def test_a_slow_server_times_out_without_raising(wpush_server: FakeNotifyServer) -> None:
    wpush_server.respond(delay=5)
    started = time.monotonic()
    outcomes = [n.send(render_message(MIXED)) for n in all_notifiers(wpush_server.url, 0.3)]
    assert time.monotonic() - started < 3
    assert [o.ok for o in outcomes] == [False, False, False]
    assert all(o.detail.startswith("timed out") for o in outcomes)


def echo_secrets(request: Recorded) -> Reply:
    """A hostile server that quotes the whole request back in its error message."""
    return Reply(400, {"code": 1, "message": f"bad {request.json}", "msg": f"bad {request.json}"})


def test_secrets_never_reach_outcomes_or_logs(
    wpush_server: FakeNotifyServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    wpush_server.responder = echo_secrets
    outcomes = [n.send(render_message(MIXED)) for n in all_notifiers(wpush_server.url)]
    outcomes += [n.send(render_message(MIXED)) for n in all_notifiers(closed_port_url())]
    seen = " ".join(o.detail for o in outcomes) + caplog.text
    assert "***" in seen
    for secret in (WPUSH_KEY, APP_TOKEN, SPTS[0]):
        assert secret not in seen
    assert "imgsync.notify" in {r.name for r in caplog.records if r.levelno == logging.WARNING}


def test_apprise_json_url_reaches_the_server(wpush_server: FakeNotifyServer) -> None:
    url = f"json://127.0.0.1:{wpush_server.port}/hook"
    notifier = AppriseNotifier([url])
    outcome = notifier.send(render_message(MIXED))
    request = only_request(wpush_server)
    assert outcome.ok and notifier.name == "apprise:json"
    assert (request.method, request.path) == ("POST", "/hook")
    assert request.json["title"] == TITLE
    assert all(line in request.json["message"].splitlines() for line in LINES)


def test_apprise_delivery_failure_is_an_outcome(wpush_server: FakeNotifyServer) -> None:
    wpush_server.respond(500)
    url = f"json://user:hunter2secret@127.0.0.1:{wpush_server.port}/hook"
    outcome = AppriseNotifier([url]).send(render_message(MIXED))
    assert not outcome.ok and "hunter2secret" not in outcome.detail


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("nosuchscheme://user:hunter2secret@example.com/tok", "nosuchscheme://example.com"),
        ("tgram://hunter2secret", "tgram://***"),
    ],
)
def test_invalid_apprise_url_is_a_config_error_without_secrets(
    url: str, shown: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    with pytest.raises(ConfigError) as caught:
        AppriseNotifier([url])
    assert shown in str(caught.value)
    assert "hunter2secret" not in str(caught.value) and "tok" not in str(caught.value)
    assert "hunter2secret" not in caplog.text  # Apprise logs rejected URLs verbatim


POLICY_CASES = [
    ("always", [Status.SKIPPED], True),
    ("change", [Status.SKIPPED], False),
    ("change", [Status.SKIPPED, Status.SYNCED], True),
    ("change", [Status.WOULD_SYNC], False),
    ("change", [Status.FAILED], True),
    ("failure", [Status.SYNCED, Status.SKIPPED], False),
    ("failure", [Status.SYNCED, Status.FAILED], True),
]


@pytest.mark.parametrize(("policy", "statuses", "sends"), POLICY_CASES)
def test_policy_decides_whether_any_request_is_made(
    wpush_server: FakeNotifyServer, policy: str, statuses: list[Status], sends: bool
) -> None:
    notifiers: list[Notifier] = [WPushNotifier(WPUSH_KEY, api_base=wpush_server.url)]
    outcomes = notify_all(notifiers, report(*statuses), policy=policy)
    assert len(wpush_server.requests) == len(outcomes) == (1 if sends else 0)


# Whether a report holding only this status notifies, per policy (always, change, failure):
# ``change`` means the destination was written to or something failed; a dry run's
# ``would_*`` and a quota ``deferred`` changed nothing.
NOTIFIES_ALONE: dict[Status, tuple[bool, bool, bool]] = {
    Status.SYNCED: (True, True, False),
    Status.SKIPPED: (True, False, False),
    Status.FAILED: (True, True, True),
    Status.WOULD_SYNC: (True, False, False),
    Status.PRUNED: (True, True, False),
    Status.WOULD_PRUNE: (True, False, False),
    Status.DEFERRED: (True, False, False),
}
STATUS_MIXES = [
    mix for size in range(len(Status) + 1) for mix in itertools.combinations(Status, size)
]


def test_every_status_has_an_expected_notification() -> None:
    assert set(NOTIFIES_ALONE) == set(Status)


@pytest.mark.parametrize("policy", NOTIFY_POLICIES)
@pytest.mark.parametrize("mix", STATUS_MIXES, ids=lambda mix: "+".join(mix) or "empty")
def test_policy_notifies_when_any_status_of_the_mix_would_alone(
    policy: str, mix: tuple[Status, ...]
) -> None:
    column = NOTIFY_POLICIES.index(policy)
    expected = policy == "always" or any(NOTIFIES_ALONE[s][column] for s in mix)
    assert should_notify(report(*mix), policy) is expected


def test_unknown_policy_is_a_config_error() -> None:
    assert NOTIFY_POLICIES == ("always", "change", "failure")
    with pytest.raises(ConfigError, match="sometimes"):
        notify_all([], MIXED, policy="sometimes")


def test_one_failing_channel_does_not_stop_the_others(
    wpush_server: FakeNotifyServer, wxpusher_server: FakeNotifyServer
) -> None:
    notifiers = build_notifiers(
        wpush_key=WPUSH_KEY,
        wpush_api=closed_port_url(),
        wxpusher_app_token=APP_TOKEN,
        wxpusher_uids=["UID_x"],
        wxpusher_spts=SPTS[:2],
        wxpusher_api=wxpusher_server.url,
        apprise_urls=[f"json://127.0.0.1:{wpush_server.port}/hook"],
    )
    outcomes = notify_all(notifiers, MIXED)
    assert [(o.channel, o.ok) for o in outcomes] == [
        ("wpush", False),
        ("wxpusher", True),
        ("wxpusher-spt", True),
        ("apprise:json", True),
    ]
    contents = [r.json["content"] for r in wxpusher_server.requests]
    assert contents == [render_message(MIXED).body] * 2  # rendered once, same for every channel


def test_build_notifiers_without_settings_builds_nothing() -> None:
    assert build_notifiers(wpush_key="", wxpusher_app_token=None) == []


@pytest.mark.parametrize(
    "settings",
    [{"wxpusher_app_token": APP_TOKEN}, {"wxpusher_uids": ["UID_a"]}],
)
def test_wxpusher_token_and_recipients_come_together(settings: dict[str, object]) -> None:
    with pytest.raises(ConfigError) as caught:
        build_notifiers(**settings)  # type: ignore[arg-type]
    assert APP_TOKEN not in str(caught.value)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("key=WPUSHsecretKEY0123456789 end", "key=*** end"),
        ("url?k=a%2Fb%20c&x=1", "url?k=***&x=1"),  # URL-encoded form of "a/b c"
        ("q=a%2Fb+c", "q=***"),  # form-encoded
        ("nothing secret here", "nothing secret here"),
    ],
)
def test_redact_masks_raw_and_encoded_secrets(text: str, expected: str) -> None:
    assert redact(text, [WPUSH_KEY, "a/b c", None, ""]) == expected


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("json://user:pw@127.0.0.1:8080/path?token=x", "json://127.0.0.1"),
        ("mailto://user:pw@mail.example.com", "mailto://mail.example.com"),
        ("discord://webhookid/webhooktoken", "discord://***"),
        ("no scheme at all", "***"),
    ],
)
def test_redact_url_keeps_only_scheme_and_a_real_host(url: str, shown: str) -> None:
    assert redact_url(url) == shown
