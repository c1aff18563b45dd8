"""One bad mapping item, as :class:`imgsync.errors.InvalidMapping` lists it.

A value, not an exception: parsing collects every problem of a mappings text
first, so the user fixes them all in one go instead of one per run.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class MappingProblem:
    """Where the item stood (1-based), what it said and why it is wrong."""

    position: int
    text: str
    reason: str

    def __str__(self) -> str:
        return f"item {self.position}: {self.text!r}: {self.reason}"
