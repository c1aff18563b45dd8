"""The answer to a request: the Markdown comment, the label, and whether to close.

Why the comment leads with ``docker pull`` lines: the requester came for a name
to pull; status and digest follow for those who check. Everything typed by the
requester goes through :mod:`imgsync.core.markdown_safe`; references that were
parsed are printed as parsed (their alphabet holds no Markdown), never as typed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from imgsync.core.markdown_safe import code, plain
from imgsync.core.request import Accepted, RequestPlan
from imgsync.core.request_parse import MAX_BODY_BYTES, MAX_LINES
from imgsync.core.result import Status, SyncResult

SYNCED, PARTIAL, FAILED, REJECTED = "synced", "partial", "failed", "rejected"
#: Every label this command sets; a new answer removes the others of these.
LABELS = (SYNCED, PARTIAL, FAILED, REJECTED)
MARKER = "<!-- imgsync-request -->"
#: Rejected pieces listed; the rest are counted (a body can hold thousands).
MAX_REJECTED_SHOWN = 30
_READY = frozenset({Status.SYNCED, Status.SKIPPED, Status.WOULD_SYNC})
_SAID = {
    Status.SYNCED: "✅ synced",
    Status.SKIPPED: "✅ already mirrored",
    Status.WOULD_SYNC: "☑️ would be synced (dry run)",
    Status.DEFERRED: "⏳ deferred: the source's pull quota is low, try again later",
    Status.FAILED: "❌ failed",
}


@dataclass(frozen=True, slots=True)
class Answer:
    """What goes back to the issue."""

    body: str
    label: str
    close: bool


def answer(plan: RequestPlan, results: Sequence[SyncResult], *, command: str) -> Answer:
    """The comment, the label and the close decision for ``plan`` run as ``results``."""
    by_destination = {result.destination: result for result in results}
    pairs = [(a, by_destination.get(str(a.item.destination))) for a in plan.accepted]
    label = _label(plan, [result for _, result in pairs])
    lines = [MARKER, _heading(plan, pairs), ""]
    for accepted, result in pairs:
        lines += _item_block(accepted, result)
    lines += _rejected_block(plan) + _notes(plan) + _footer(label, command)
    return Answer("\n".join(lines) + "\n", label, close=label == SYNCED)


def _label(plan: RequestPlan, results: Sequence[SyncResult | None]) -> str:
    ready = sum(1 for result in results if result is not None and result.status in _READY)
    if not plan.accepted:
        return REJECTED
    if ready == len(results):
        return PARTIAL if plan.rejected else SYNCED
    return PARTIAL if ready else FAILED


def _heading(plan: RequestPlan, pairs: list[tuple[Accepted, SyncResult | None]]) -> str:
    if not plan.accepted and not plan.rejected:
        return "### No image found in this request"
    ready = sum(1 for _, r in pairs if r is not None and r.status in _READY)
    counts = {"ready": ready, "not ready": len(pairs) - ready, "rejected": len(plan.rejected)}
    return "### Mirror request: " + ", ".join(f"{n} {what}" for what, n in counts.items() if n)


def _item_block(accepted: Accepted, result: SyncResult | None) -> list[str]:
    source, destination = accepted.item.source, accepted.item.destination
    status = _SAID.get(result.status, str(result.status)) if result else "❌ no result"
    lines = [f"#### `{source}`", "", f"{status}"]
    digest = result and (result.destination_digest or result.source_digest)
    if digest:
        lines[-1] += f" · digest `{digest}`"
    if result is not None and result.error is not None:
        lines.append(f"Why: {plain(f'{result.error.category}: {result.error.message}')}")
    if accepted.item.platforms:
        lines.append("Platforms: " + ", ".join(f"`{p}`" for p in accepted.item.platforms))
    if result is None or result.status not in _READY:
        return [*lines, ""]
    return [*lines, "", "```shell", f"docker pull {destination}", "```", ""]


def _rejected_block(plan: RequestPlan) -> list[str]:
    if not plan.rejected:
        return []
    lines = ["#### Not mirrored", ""]
    for rejected in plan.rejected[:MAX_REJECTED_SHOWN]:
        lines.append(f"- {code(rejected.piece.text)}: {plain(rejected.reason)}")
    hidden = len(plan.rejected) - MAX_REJECTED_SHOWN
    if hidden > 0:
        lines.append(f"- and {hidden} more not shown")
    return [*lines, ""]


def _notes(plan: RequestPlan) -> list[str]:
    text = plan.text
    notes = []
    if not plan.accepted and not plan.rejected:
        notes.append("Write one image per line (or comma separated), e.g. `nginx:1.27`.")
    if text.truncated_bytes:
        notes.append(f"Only the first {MAX_BODY_BYTES // 1024} KiB of the issue were read.")
    if text.truncated_lines:
        notes.append(f"Only the first {MAX_LINES} lines of the issue were read.")
    if text.ignored:
        notes.append(f"{text.ignored} line(s) with spaces inside were read as prose and ignored.")
    return [*(f"> {note}" for note in notes), *([""] if notes else [])]


def _footer(label: str, command: str) -> list[str]:
    again = f"Edit the issue and comment {code(command)} to try again." if label != SYNCED else ""
    return [line for line in (again, f"Label: `{label}`") if line]
