"""Turn a :class:`RunReport` into what people read: the notification, the step summary, the console.

The notification keeps the seed's format (title ``镜像同步结果``, one Markdown
section per outcome) so existing readers recognise it, but it must fit the
channels' size limits, so long runs are summarised: failures are listed first
and as far as they fit, because they are what someone has to act on.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from imgsync.core.result import ChannelDelivery, QuotaUsage, RunReport, Status, SyncResult

TITLE = "镜像同步结果"
DEFAULT_LIMIT = 4000
REASON_LIMIT = 120
ELLIPSIS = "…"


@dataclass(frozen=True, slots=True)
class Message:
    """One run's notification: the same title and Markdown body for every channel."""

    title: str
    body: str

    def summary(self, limit: int = 100) -> str:
        """Title plus the count line: what a channel shows before the message is opened."""
        first_line = self.body.split("\n", 1)[0]
        return clip(f"{self.title}：{first_line}", limit)


@dataclass(frozen=True, slots=True)
class _Section:
    """How one status is shown; the tuple order below is the truncation priority."""

    status: Status
    heading: str
    icon: str


SECTIONS = (
    _Section(Status.FAILED, "💥 失败任务：", "❌"),
    _Section(Status.DEFERRED, "⏳ 配额不足，延后同步：", "⏳"),
    _Section(Status.SYNCED, "🎉 同步成功：", "✅"),
    _Section(Status.WOULD_SYNC, "🔍 待同步（演练）：", "🔎"),
    _Section(Status.PRUNED, "🗑️ 已清理：", "🗑"),
    _Section(Status.WOULD_PRUNE, "🧹 待清理（演练）：", "🧹"),
    _Section(Status.SKIPPED, "⏩ 跳过同步：", "🔜"),
)
_PRUNE_STATUSES = (Status.PRUNED, Status.WOULD_PRUNE)

_COUNT_LABELS = {
    Status.SYNCED: "同步",
    Status.SKIPPED: "跳过",
    Status.FAILED: "失败",
    Status.WOULD_SYNC: "待同步",
    Status.PRUNED: "清理",
    Status.WOULD_PRUNE: "待清理",
    Status.DEFERRED: "延后",
}
_COUNTED_ALWAYS = (Status.SYNCED, Status.SKIPPED, Status.FAILED)


def clip(text: str, limit: int) -> str:
    """Cut ``text`` to at most ``limit`` characters, marking the cut with an ellipsis."""
    if len(text) <= limit:
        return text
    if limit <= 0:
        return ""
    return text[: limit - 1] + ELLIPSIS


def count_line(report: RunReport) -> str:
    """One line with every count, so even a cut message tells the whole story."""
    summary = report.summary
    shown = [s for s in _COUNT_LABELS if s in _COUNTED_ALWAYS or summary.get(s.value)]
    parts = [f"{_COUNT_LABELS[s]} {summary[s.value]}" for s in shown]
    return f"共 {len(report.results)} 项：" + "，".join(parts)


def quota_line(usage: QuotaUsage) -> str:
    """``📊 docker.io 拉取：本次 15，剩余 5/20`` (plus ``预计需要 N`` in a dry run)."""
    parts = [f"本次 {usage.used}"]
    if usage.needed:
        parts.append(f"预计需要 {usage.needed}")
    if usage.remaining is not None:
        limit = f"/{usage.limit}" if usage.limit is not None else ""
        parts.append(f"剩余 {usage.remaining}{limit}")
    return f"📊 {usage.registry} 拉取：" + "，".join(parts)


def head_block(report: RunReport) -> str:
    """The count line, then one quota line per metered registry."""
    return "\n".join([count_line(report), *(quota_line(q) for q in report.quota)])


def footer_line(report: RunReport) -> str:
    """Which run this was, so a message can be matched to logs and reports."""
    return f"运行 ID：{report.run_id} · 模式：{report.mode}"


def reason(result: SyncResult) -> str:
    """A failure's category and the first line of its message, kept short."""
    if result.error is None:
        return "unknown error"
    first_line = result.error.message.strip().split("\n", 1)[0]
    return clip(f"{result.error.category}: {first_line}", REASON_LIMIT)


def _code(text: str) -> str:
    return f"`{text}`"


def _plain(text: str) -> str:
    return text


def result_line(result: SyncResult, icon: str, quote: Callable[[str], str] = _code) -> str:
    """``✅ `src` → `dst```, with ``（reason）`` appended for a failure; a pruned tag alone
    (a dry run's ``would_prune`` that the registry's profile says will fail, with why)."""
    if result.status in _PRUNE_STATUSES:
        marked = f"（{reason(result)}）" if result.error is not None else ""
        return f"{icon} {quote(result.destination)}{marked}"
    line = f"{icon} {quote(result.source)} → {quote(result.destination)}"
    if result.status is Status.FAILED:
        line += f"（{reason(result)}）"
    return line


def more_line(hidden: int) -> str:
    """The marker that ends a section cut short."""
    return f"{ELLIPSIS}及其他 {hidden} 项"


def _fit_section(heading: str, lines: Sequence[str], budget: int) -> str | None:
    """The section with as many lines as fit in ``budget`` characters, or None if none fit."""
    shown = _lines_that_fit(heading, lines, budget)
    if shown == len(lines):
        return "\n".join([heading, *lines])
    block = "\n".join([heading, *lines[:shown], more_line(len(lines) - shown)])
    return block if len(block) <= budget else None


def _lines_that_fit(heading: str, lines: Sequence[str], budget: int) -> int:
    """How many leading lines fit, keeping room for the "and N more" marker when one is due."""
    size = len(heading)
    for shown, line in enumerate(lines):
        hidden_after = len(lines) - shown - 1
        reserve = len(more_line(hidden_after)) + 1 if hidden_after else 0
        if size + len(line) + 1 + reserve > budget:
            return shown
        size += len(line) + 1
    return len(lines)


def _section_lines(report: RunReport, section: _Section) -> list[str]:
    return [result_line(r, section.icon) for r in report.by_status(section.status)]


def _fit_sections(sections: Sequence[tuple[str, list[str]]], budget: int) -> list[str]:
    """Fill ``budget`` in priority order, keeping room for a stub of each later section.

    A stub (heading plus "…及其他 N 项") tells the reader a section exists even
    when the failures above it took all the room.
    """
    stubs = [len(heading) + len(more_line(len(lines))) + 3 for heading, lines in sections]
    blocks: list[str] = []
    for index, (heading, lines) in enumerate(sections):
        reserve = sum(stubs[index + 1 :])
        block = _best_block(heading, lines, budget - 2, reserve)
        if block is not None:
            blocks.append(block)
            budget -= len(block) + 2
    return blocks


def _best_block(heading: str, lines: list[str], budget: int, reserve: int) -> str | None:
    """Leave room for the later stubs, unless that would show not one line of this section."""
    if _lines_that_fit(heading, lines, budget - reserve) > 0:
        return _fit_section(heading, lines, budget - reserve)
    return _fit_section(heading, lines, budget)


def render_message(report: RunReport, *, limit: int = DEFAULT_LIMIT) -> Message:
    """The one notification of a run; its body never exceeds ``limit`` characters."""
    head, foot = head_block(report), footer_line(report)
    sections = [(s.heading, _section_lines(report, s)) for s in SECTIONS]
    budget = limit - len(head) - len(foot) - 2  # each block then costs itself + a blank line
    blocks = _fit_sections([(h, lines) for h, lines in sections if lines], budget)
    body = "\n\n".join([head, *blocks, foot])
    return Message(TITLE, clip(body, limit))


def render_console(report: RunReport) -> str:
    """The plain summary printed at the end of a run: every result, then the channels."""
    blocks = [head_block(report)]
    for section in SECTIONS:
        lines = [result_line(r, section.icon, _plain) for r in report.by_status(section.status)]
        if lines:
            blocks.append("\n".join([section.heading, *lines]))
    if report.notifications:
        blocks.append("\n".join(notify_line(n) for n in report.notifications))
    blocks.append(footer_line(report))
    return "\n\n".join(blocks)


def notify_line(delivery: ChannelDelivery) -> str:
    """``notify wpush: ok`` or ``notify wxpusher: FAILED (reason)``."""
    if delivery.ok:
        return f"notify {delivery.channel}: ok"
    return f"notify {delivery.channel}: FAILED ({delivery.detail or 'no detail'})"


def short_digest(digest: str | None) -> str:
    """The first 12 hex characters, as ``docker images`` shows them."""
    if not digest:
        return ""
    return digest.split(":", 1)[-1][:12]


def _cell(text: str) -> str:
    """Table cells cannot hold pipes or line breaks."""
    return text.replace("\\", "\\\\").replace("|", "\\|").replace("\r", " ").replace("\n", " ")


def _digest_cell(result: SyncResult, digest: str) -> str:
    """A converted copy's digest is not the source's: the cell names both."""
    if result.converted and result.source_digest:
        return f"`{digest}` (converted from `{short_digest(result.source_digest)}`)"
    return f"`{digest}`" if digest else ""


def _table_row(result: SyncResult) -> str:
    digest = short_digest(result.destination_digest or result.source_digest)
    error = f"{result.error.category}: {result.error.message}" if result.error else ""
    cells = [
        result.status.value,
        result.source,
        result.destination,
        _digest_cell(result, digest),
        f"{result.duration_s:.1f} s",
        error,
    ]
    return "| " + " | ".join(_cell(c) for c in cells) + " |"


def render_markdown_table(report: RunReport) -> str:
    """The GitHub step summary: counts, then every result in input order."""
    lines = [
        f"## {TITLE}",
        "",
        *(f"{line}  " for line in head_block(report).split("\n")),
        footer_line(report),
        "",
        "| Status | Source | Destination | Digest | Duration | Error |",
        "| --- | --- | --- | --- | --- | --- |",
        *(_table_row(r) for r in report.results),
    ]
    return "\n".join(lines) + "\n"


def render_json(report: RunReport) -> str:
    """The machine-readable report; keeps non-ASCII text readable."""
    return json.dumps(report.to_dict(), ensure_ascii=False, indent=2)
