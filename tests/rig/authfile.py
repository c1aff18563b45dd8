"""containers-auth.json files, so credentials never appear on a command line."""

from __future__ import annotations

import base64
import json
import os
from collections.abc import Mapping
from pathlib import Path

Credentials = tuple[str, str]


def auth_entry(username: str, password: str) -> dict[str, str]:
    """One `auths` entry: base64 of `user:password`."""
    token = base64.b64encode(f"{username}:{password}".encode()).decode("ascii")
    return {"auth": token}


def write_private_json(path: Path, data: object) -> Path:
    """Write JSON to a file that is mode 0600 before any secret reaches it."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fchmod(fd, 0o600)
    with os.fdopen(fd, "w") as handle:
        json.dump(data, handle)
    return path


def write_auths(path: Path, creds: Mapping[str, Credentials]) -> Path:
    """Write an auth.json holding exactly `{host: (user, password)}`."""
    auths = {host: auth_entry(user, pw) for host, (user, pw) in creds.items()}
    return write_private_json(path, {"auths": auths})


def write_authfile(path: Path, host: str, username: str, password: str) -> Path:
    """Write (or extend) an auth.json with credentials for `host`."""
    data: dict[str, dict[str, dict[str, str]]] = {"auths": {}}
    if path.exists():
        data = json.loads(path.read_text())
    data.setdefault("auths", {})[host] = auth_entry(username, password)
    return write_private_json(path, data)
