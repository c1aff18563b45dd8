"""Figures of the reliability suite: what was tried, how often, and what held.

Each reliability test calls :func:`record` once per run it makes (or once per
test); when ``IMGSYNC_RELIABILITY_LOG`` names a file, one JSON line is appended
there, so several pytest sessions can add to one log. ``python -m
tests.reliability_stats LOG`` sums a log into the Markdown table that
``docs/reliability.md`` publishes.

A line holds: ``test``, ``runs``, ``mappings``, ``faults`` (kind → count) and the
failure counters ``lost``, ``double_counted``, ``secrets_leaked``, ``orphans`` and
``hung`` and ``crashed`` (a worker that exited by itself), which must all stay 0.
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

LOG_ENV = "IMGSYNC_RELIABILITY_LOG"
COUNTERS = ("lost", "double_counted", "secrets_leaked", "orphans", "hung", "crashed")


@dataclass
class Figures:
    """What one test (or one run of it) tried and what went wrong."""

    test: str
    runs: int = 1
    mappings: int = 0
    faults: dict[str, int] = field(default_factory=dict)
    lost: int = 0
    double_counted: int = 0
    secrets_leaked: int = 0
    orphans: int = 0
    hung: int = 0
    crashed: int = 0
    notes: str = ""


def record(figures: Figures) -> None:
    """Append ``figures`` to the log named by ``IMGSYNC_RELIABILITY_LOG`` (if any)."""
    target = os.environ.get(LOG_ENV, "").strip()
    if not target:
        return
    line = json.dumps({**asdict(figures), "at": time.time()}, sort_keys=True)
    with Path(target).open("a", encoding="utf-8") as handle:
        handle.write(line + "\n")


def mapping_counts(
    report: Mapping[str, Any] | None, expected: Sequence[tuple[str, str]]
) -> tuple[int, int]:
    """``(lost, double_counted)``: expected mappings missing from a report, and extra entries.

    A report that is missing altogether loses every mapping. ``summary`` must add up to
    the number of results, or the difference counts as double-counted too.
    """
    if report is None:
        return len(expected), 0
    seen = Counter((r["source"], r["destination"]) for r in report["results"])
    wanted = Counter(expected)
    lost = sum((wanted - seen).values())
    doubled = sum((seen - wanted).values())
    counted = sum(int(v) for v in report["summary"].values())
    return lost, doubled + abs(counted - len(report["results"]))


def add_faults(total: dict[str, int], more: Mapping[str, int]) -> dict[str, int]:
    """``total`` plus ``more``, key by key (returns ``total``)."""
    for kind, count in more.items():
        total[kind] = total.get(kind, 0) + int(count)
    return total


# ---------------------------------------------------------------------- the published table


def load(path: Path) -> list[dict[str, Any]]:
    lines = path.read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines if line.strip()]


def summarize(entries: Iterable[Mapping[str, Any]]) -> dict[str, dict[str, Any]]:
    """Per test: runs, mappings, faults by kind and the failure counters, summed."""
    tests: dict[str, dict[str, Any]] = {}
    for entry in entries:
        row = tests.setdefault(
            entry["test"], {"runs": 0, "mappings": 0, "faults": {}, **dict.fromkeys(COUNTERS, 0)}
        )
        row["runs"] += entry.get("runs", 0)
        row["mappings"] += entry.get("mappings", 0)
        add_faults(row["faults"], entry.get("faults", {}))
        for counter in COUNTERS:
            row[counter] += entry.get(counter, 0)
    return tests


def markdown(tests: Mapping[str, Mapping[str, Any]]) -> str:
    """The table of ``docs/reliability.md`` plus the fault totals by kind."""
    head = "| test | runs | mappings | faults injected | " + " | ".join(COUNTERS) + " |"
    lines = [head, "|" + " --- |" * (4 + len(COUNTERS))]
    totals: dict[str, int] = {}
    for name, row in sorted(tests.items()):
        faults = ", ".join(f"{k} {v}" for k, v in sorted(row["faults"].items())) or "—"
        counters = " | ".join(str(row[c]) for c in COUNTERS)
        lines.append(f"| {name} | {row['runs']} | {row['mappings']} | {faults} | {counters} |")
        add_faults(totals, row["faults"])
    sums = {key: sum(row[key] for row in tests.values()) for key in ("runs", "mappings")}
    sums.update({c: sum(row[c] for row in tests.values()) for c in COUNTERS})
    lines.append(
        f"| **total** | {sums['runs']} | {sums['mappings']} | {sum(totals.values())} | "
        + " | ".join(str(sums[c]) for c in COUNTERS)
        + " |"
    )
    lines += ["", "| fault kind | injected |", "| --- | --- |"]
    lines += [f"| {kind} | {count} |" for kind, count in sorted(totals.items())]
    return "\n".join(lines)


def main(argv: Sequence[str]) -> int:
    if len(argv) != 1:
        print("usage: python -m tests.reliability_stats LOG.jsonl", file=sys.stderr)
        return 2
    print(markdown(summarize(load(Path(argv[0])))))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
