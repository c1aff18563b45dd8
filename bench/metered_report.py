"""The "metered source" section of ``docs/benchmarks.md`` and its targets (bench.metered)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from bench.markdown import loads, table

TITLE = "Metered source: pulls per copy and copies per budget"
#: The imgsync modes the targets judge (the others are yardsticks).
JUDGED = ("embedded-default", "embedded-c1")
TargetRow = tuple[str, str, str, bool | None]


def _per_copy(value: float | None) -> str:
    return "—" if value is None else f"{value:.2f}"


def _row(run: dict[str, Any], labels: dict[str, str]) -> list[str]:
    said = ", ".join(f"{k} {v}" for k, v in sorted(run["counts"].items())) or "—"
    return [
        labels.get(run["competitor"], run["competitor"]),
        f"{run['images']} / {run['budget']}",
        str(run["fit"]),
        str(run["manifest_gets"]),
        _per_copy(run["gets_per_copy"]),
        _per_copy(run["gets_on_copied"] / run["copied"] if run["copied"] else None),
        str(run["copied"]),
        str(run["unsynced"]),
        str(run["gets_on_unsynced"]),
        str(run["too_many"]),
        f"{said}; exit {run['exit_code']}",
        f"{run['wall_s']:.1f}",
    ]


def section(data: dict[str, Any] | None) -> list[str]:
    """Markdown lines for the section, or nothing when the scenario did not run."""
    if not data:
        return []
    header = ["tool", "images / pulls left", "copies that fit", "manifest GETs",
              "GETs per copied image", "GETs per copy (its own)", "copied", "left unsynced",
              "GETs on unsynced images", "429s met", "tool said", "wall s"]  # fmt: skip
    load = data["loadavg"]
    return [
        "",
        f"### {TITLE}",
        "",
        f"S two-platform images changed at the source (the destination holds their previous "
        f"version), B pulls left on a Docker Hub-like meter (`tests/rig/personalities/"
        f"dockerhub.py`: a manifest GET answered 200 is one pull, HEAD is free, "
        f"`RateLimit-*` headers on every answer, 429 `TOOMANYREQUESTS` once spent), a fresh "
        f"meter and destination per run (`python -m bench --only metered`, "
        f"{data['started_at']}, imgsync {data['code']}). A copy needs at least "
        f"{data['min_pulls']} GETs (the index and {data['platforms']} platform manifests), so "
        f"*copies that fit* = min(S, ⌊B / {data['min_pulls']}⌋). GETs are counted by the "
        "meter (429s included); *copied* is read back from the destination. Load average "
        f"at start / end: {loads(load['start'])} / {loads(load['end'])}.",
        "",
        *table(header, [_row(r, data["labels"]) for r in data["runs"]]),
    ]


def targets(data: dict[str, Any] | None) -> list[TargetRow]:
    """Per imgsync mode: GETs per copy, GETs spent on what it left, copies per budget."""
    if not data:
        return []
    found: list[TargetRow] = []
    for mode in JUDGED:
        runs = [r for r in data["runs"] if r["competitor"] == mode]
        if runs:
            found += _mode_targets(mode, runs, data)
    return found


def _cases(runs: Sequence[dict[str, Any]], text: Any) -> str:
    return "; ".join(f"S={r['images']}, B={r['budget']}: {text(r)}" for r in runs)


def _mode_targets(
    mode: str, runs: Sequence[dict[str, Any]], data: dict[str, Any]
) -> list[TargetRow]:
    least, code = data["min_pulls"], data["code"]
    copying = [r for r in runs if r["copied"]]
    per_copy_ok = (
        all(r["gets_on_copied"] == least * r["copied"] for r in copying) if copying else None
    )
    wasted = sum(r["gets_on_unsynced"] for r in runs)
    fit_ok = all(r["copied"] == r["fit"] for r in runs)

    def per_copy(r: dict[str, Any]) -> str:
        return f"{r['gets_on_copied'] / r['copied']:.2f}" if r["copied"] else "none copied"

    return [
        (f"metered source, {mode}: manifest GETs per copy (imgsync {code})",
         f"= 1 + platforms ({least})", _cases(runs, per_copy), per_copy_ok),
        (f"metered source, {mode}: GETs on mappings left deferred/unsynced",
         "0", _cases(runs, lambda r: str(r["gets_on_unsynced"])) + f" (total {wasted})",
         wasted == 0),
        (f"metered source, {mode}: copies within the budget",
         "all that fit at 1 + platforms",
         _cases(runs, lambda r: f"{r['copied']} of {r['fit']}"), fit_ok),
    ]  # fmt: skip
