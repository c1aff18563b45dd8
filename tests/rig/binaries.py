"""Skip-or-fail policy for missing system binaries: skip locally, fail loudly in CI."""

from __future__ import annotations

import os
import shutil

import pytest

APT_PACKAGE = {
    "docker-registry": "docker-registry",
    "skopeo": "skopeo",
    "redis-server": "redis-server",
}


def in_ci() -> bool:
    """CI sets CI=true; a missing binary there is a broken setup, not a skip."""
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


def need_binary(name: str) -> str:
    """Return the binary's path, or skip (locally) / fail (CI) with an install hint."""
    path = shutil.which(name)
    if path is not None:
        return path
    hint = f"apt-get install {APT_PACKAGE.get(name, name)}"
    message = f"required binary {name!r} is not installed ({hint})"
    if in_ci():
        pytest.fail(message, pytrace=False)
    pytest.skip(message)
