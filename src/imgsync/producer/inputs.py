"""Where mappings come from: arguments, ``--mappings``, ``--file`` (``-`` = stdin), the env."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path

from imgsync.config.settings import Settings
from imgsync.core.mapping import SyncItem, parse_mappings
from imgsync.errors import ConfigError


def read_file(path: str) -> str:
    """Read a mappings file; ``-`` reads standard input. Errors name the file."""
    if path == "-":
        return sys.stdin.read()
    try:
        return Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise ConfigError(f"cannot read mappings file {path}: {reason}") from None


def gather_texts(
    arguments: Sequence[str], mappings: str | None, file: str | None, settings: Settings
) -> list[str]:
    """Every source the user gave, in that order; the env only when none was given."""
    texts = list(arguments)
    if mappings:
        texts.append(mappings)
    if file:
        texts.append(read_file(file))
    if not texts and settings.mappings:
        texts.append(settings.mappings)
    if not texts:
        raise ConfigError(
            "no mappings given: pass them as arguments, --mappings, --file or DOCKER_SYNC_MAPPINGS"
        )
    return texts


def load_items(
    arguments: Sequence[str], mappings: str | None, file: str | None, settings: Settings
) -> list[SyncItem]:
    """Parse and validate all mappings before anything runs."""
    texts = gather_texts(arguments, mappings, file, settings)
    return parse_mappings(
        texts, dockerhub_user=settings.dockerhub_username, dest_prefix=settings.dest_prefix
    )
