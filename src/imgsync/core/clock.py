"""Run identifiers and timestamps, in one place so every mode writes the same format."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime


def utc_now() -> str:
    """ISO-8601 in UTC with seconds, e.g. ``2026-11-29T05:06:07+00:00``."""
    return datetime.now(UTC).isoformat(timespec="seconds")


def new_run_id() -> str:
    """A random run id, short enough to type into ``imgsync status``."""
    return uuid.uuid4().hex[:16]
