"""Repository names for tests sharing session registries."""

from __future__ import annotations

import re


def repo_slug(name: str, limit: int = 40) -> str:
    """Lowercase a test name into a valid repository path component."""
    slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")
    return slug[:limit].strip("-") or "test"
