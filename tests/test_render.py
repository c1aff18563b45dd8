"""The run's message, step summary, console text and JSON, from hand-made reports."""

from __future__ import annotations

import pytest

from imgsync.core.codec import decode_json
from imgsync.core.render import (
    TITLE,
    Message,
    render_console,
    render_json,
    render_markdown_table,
    render_message,
)
from imgsync.core.result import ChannelDelivery, ErrorInfo, RunReport, Status, SyncResult
from imgsync.producer.progress import describe

DIGEST = "sha256:" + "0123456789abcdef" * 4


def synced(n: int) -> SyncResult:
    return SyncResult(f"nginx:{n}", f"reg.example/lib/nginx:{n}", Status.SYNCED, DIGEST, DIGEST)


def skipped(n: int) -> SyncResult:
    return SyncResult(f"redis:{n}", f"reg.example/lib/redis:{n}", Status.SKIPPED, DIGEST, DIGEST)


def failed(n: int, message: str = "unauthorized: authentication required") -> SyncResult:
    error = ErrorInfo("auth", message)
    return SyncResult(f"private/app:{n}", f"reg.example/app:{n}", Status.FAILED, error=error)


def would_sync(n: int) -> SyncResult:
    return SyncResult(f"alpine:{n}", f"reg.example/lib/alpine:{n}", Status.WOULD_SYNC, DIGEST)


def report(
    *results: SyncResult, mode: str = "embedded", notifications: tuple[ChannelDelivery, ...] = ()
) -> RunReport:
    started, finished = "2026-11-29T05:00:00Z", "2026-11-29T05:01:00Z"
    return RunReport("run-42", mode, started, finished, results, notifications)


AUTH_REASON = "（auth: unauthorized: authentication required）"
SYNC_LINE = "✅ `nginx:1` → `reg.example/lib/nginx:1`"
SKIP_LINE = "🔜 `redis:1` → `reg.example/lib/redis:1`"
FAIL_LINE = "❌ `private/app:1` → `reg.example/app:1`" + AUTH_REASON
DRY_LINE = "🔎 `alpine:1` → `reg.example/lib/alpine:1`"
SYNCED, SKIPPED, FAILED, DRY = (
    "🎉 同步成功：",
    "⏩ 跳过同步：",
    "💥 失败任务：",
    "🔍 待同步（演练）：",
)
HEADINGS = [SYNCED, SKIPPED, FAILED, DRY]

CASES = {
    "all synced": (
        report(synced(1), synced(2)),
        [SYNCED, SYNC_LINE],
        "共 2 项：同步 2，跳过 0，失败 0",
    ),
    "all skipped": (report(skipped(1)), [SKIPPED, SKIP_LINE], "共 1 项：同步 0，跳过 1，失败 0"),
    "all failed": (report(failed(1)), [FAILED, FAIL_LINE], "共 1 项：同步 0，跳过 0，失败 1"),
    "dry run": (
        report(would_sync(1), mode="dry-run"),
        [DRY, DRY_LINE],
        "共 1 项：同步 0，跳过 0，失败 0，待同步 1",
    ),
    "mixed": (
        report(synced(1), skipped(1), failed(1)),
        [SYNCED, SYNC_LINE, SKIPPED, SKIP_LINE, FAILED, FAIL_LINE],
        "共 3 项：同步 1，跳过 1，失败 1",
    ),
}


@pytest.mark.parametrize("name", CASES)
def test_message_lists_each_result_under_its_heading_and_omits_empty_sections(name: str) -> None:
    run, expected_lines, counts = CASES[name]
    message = render_message(run)
    lines = message.body.splitlines()
    assert message.title == TITLE
    assert lines[0] == counts
    assert lines[-1] == f"运行 ID：run-42 · 模式：{run.mode}"
    for line in expected_lines:
        assert line in lines
    for heading in set(HEADINGS) - set(expected_lines):
        assert heading not in message.body


def test_message_puts_failures_first() -> None:
    body = render_message(report(synced(1), skipped(1), failed(1))).body
    assert body.index("💥") < body.index("🎉") < body.index("⏩")


def test_empty_run_has_counts_and_footer_only() -> None:
    body = render_message(report()).body
    assert body == "共 0 项：同步 0，跳过 0，失败 0\n\n运行 ID：run-42 · 模式：embedded"


def test_failure_reason_is_the_first_line_and_short() -> None:
    body = render_message(report(failed(1, "x" * 500 + "\nsecond line"))).body
    line = next(line for line in body.splitlines() if line.startswith("❌"))
    assert "second line" not in body
    assert line.endswith("…）")
    assert len(line) < 200


def many(count: int) -> RunReport:
    makers = [failed, synced, skipped]
    return report(*(makers[i % 3](i) for i in range(count)))


@pytest.mark.parametrize("limit", [0, 10, 60, 120, 300, 500, 1000, 4000])
def test_message_never_exceeds_the_limit(limit: int) -> None:
    assert len(render_message(many(600), limit=limit).body) <= limit


def test_truncation_keeps_failures_and_counts_the_rest() -> None:
    body = render_message(many(300), limit=600).body
    lines = body.splitlines()
    failure_lines = [line for line in lines if line.startswith("❌")]
    assert lines[0] == "共 300 项：同步 100，跳过 100，失败 100"
    assert failure_lines[0].startswith("❌ `private/app:0`")
    assert f"…及其他 {100 - len(failure_lines)} 项" in lines
    next_failure = render_message(report(failed(3 * len(failure_lines)))).body.splitlines()[3]
    assert len(body) + len(next_failure) + 1 > 600  # as many failures as fit
    assert "⏩ 跳过同步：\n…及其他 100 项" in body  # a stub still says skipped ones exist
    assert lines[-1].startswith("运行 ID：")


def test_truncation_lists_synced_before_skipped_when_room_remains() -> None:
    run = report(failed(0), *(synced(i) for i in range(50)), *(skipped(i) for i in range(50)))
    body = render_message(run, limit=1500).body
    assert FAIL_LINE.replace(":1", ":0") in body
    assert "✅" in body
    assert "⏩ 跳过同步：\n…及其他 50 项" in body


def test_short_run_is_not_truncated() -> None:
    body = render_message(many(9)).body
    assert "…及其他" not in body
    assert body.count("\n❌") + body.count("\n✅") + body.count("\n🔜") == 9


def test_summary_is_title_plus_counts_within_100_chars() -> None:
    message = render_message(many(9))
    assert message.summary() == "镜像同步结果：共 9 项：同步 3，跳过 3，失败 3"
    assert len(Message("t" * 90, "c" * 90).summary()) == 100


def test_markdown_table_has_every_result_in_order_with_pipes_escaped() -> None:
    odd = SyncResult("a|b:1", "c:1", Status.FAILED, error=ErrorInfo("other", "bad | worse\nnext"))
    text = render_markdown_table(report(synced(1), odd, skipped(2)))
    rows = [line for line in text.splitlines() if line.startswith("| ") and "---" not in line]
    assert rows[0] == "| Status | Source | Destination | Digest | Duration | Error |"
    assert rows[1] == "| synced | nginx:1 | reg.example/lib/nginx:1 | `0123456789ab` | 0.0 s |  |"
    assert rows[2] == r"| failed | a\|b:1 | c:1 |  | 0.0 s | other: bad \| worse next |"
    assert rows[3].startswith("| skipped | redis:2 |")
    assert text.startswith(f"## {TITLE}\n")
    assert "共 3 项：同步 1，跳过 1，失败 1" in text


def test_console_lists_everything_and_notification_outcomes() -> None:
    deliveries = (ChannelDelivery("wpush", True), ChannelDelivery("wxpusher", False, "HTTP 500"))
    text = render_console(report(*(synced(i) for i in range(200)), notifications=deliveries))
    assert text.count("✅ nginx:") == 200
    assert "…及其他" not in text and "`" not in text
    assert "notify wpush: ok" in text.splitlines()
    assert "notify wxpusher: FAILED (HTTP 500)" in text.splitlines()


def test_json_round_trips_and_keeps_chinese_readable() -> None:
    run = report(failed(1, "认证失败"), synced(2))
    text = render_json(run)
    assert "认证失败" in text
    assert decode_json(RunReport, text) == run


def test_a_converted_copy_shows_both_digests_in_the_table_and_a_mark_in_the_console() -> None:
    written = "sha256:" + "fedcba9876543210" * 4
    result = SyncResult(
        "app:1", "swr.example/org/app:1", Status.SYNCED, DIGEST, written, converted=True
    )
    row = next(
        line for line in render_markdown_table(report(result)).splitlines() if "app:1" in line
    )
    assert "`fedcba987654` (converted from `0123456789ab`)" in row
    assert "(converted, 0.0s)" in describe(result)
    assert '"converted": true' in render_json(report(result))
