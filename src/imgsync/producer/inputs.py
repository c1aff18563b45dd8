"""Where mappings come from: arguments, ``--mappings``, ``--file`` (``-`` = stdin), the env."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from imgsync.config.settings import Settings
from imgsync.core.destination_rules import DestinationRules
from imgsync.core.mapping import SyncItem, parse_mappings
from imgsync.core.plan import Plan
from imgsync.errors import ConfigError

if TYPE_CHECKING:  # the sync file's reader (pydantic models, YAML) only when one is given
    from imgsync.config.syncload import SyncFile


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
        texts,
        dockerhub_user=settings.dockerhub_username,
        dest_prefix=settings.dest_prefix,
        dest_rules=DestinationRules().with_fallback(settings.dest_template),
    )


def sync_file_for(settings: Settings, config: Path | None) -> SyncFile | None:
    """The sync file from ``--config``, else ``IMGSYNC_CONFIG``; None when neither is set."""
    path = config or settings.config_file
    if path is None:
        return None
    from imgsync.config.syncload import load_sync_file

    return load_sync_file(path)


def load_plan(
    arguments: Sequence[str],
    mappings: str | None,
    file: str | None,
    settings: Settings,
    sync_file: SyncFile | None,
) -> Plan:
    """The sync file's expanded items plus any mappings given beside it, all validated.

    With a sync file, mappings are optional and ``DOCKER_SYNC_MAPPINGS`` is not
    read (the file is the input that was given).
    """
    if sync_file is None:
        return Plan(tuple(load_items(arguments, mappings, file, settings)))
    from imgsync.config.syncload import command_line_rules
    from imgsync.runtime.planning import build_plan  # registries: only for a sync file

    texts = [*arguments, *([mappings] if mappings else []), *([read_file(file)] if file else [])]
    hub_user, prefix = settings.dockerhub_username, settings.dest_prefix
    rules = command_line_rules(sync_file, settings.dest_template)
    extra = (
        parse_mappings(texts, dockerhub_user=hub_user, dest_prefix=prefix, dest_rules=rules)
        if texts
        else []
    )
    return build_plan(sync_file, extra, settings)
