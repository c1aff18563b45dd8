"""Markdown pieces every section of ``docs/benchmarks.md`` is written with."""

from __future__ import annotations

from collections.abc import Sequence


def table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    """A pipe table: header, rule, one line per row."""
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    return lines + ["| " + " | ".join(cells) + " |" for cells in rows]


def number(value: float | None, digits: int = 2) -> str:
    """``value`` with ``digits`` decimals, or an em dash when it was not measured."""
    return "—" if value is None else f"{value:.{digits}f}"


def loads(values: Sequence[float]) -> str:
    """A load-average triple as printed beside each section (1, 5, 15 min)."""
    return ", ".join(f"{v:.2f}" for v in values)
