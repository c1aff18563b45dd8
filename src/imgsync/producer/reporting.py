"""Write what a run produced: the JSON report, the Markdown summary, the console summary."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from imgsync.core.render import render_json, render_markdown_table
from imgsync.core.result import RunReport
from imgsync.errors import ConfigError


def write_atomically(path: Path, text: str) -> None:
    """Write via a temp file and rename, so a reader never sees half a report."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)
    os.replace(tmp, path)


def append_text(path: Path, text: str) -> None:
    with path.open("a", encoding="utf-8") as handle:
        handle.write(text + "\n")


def write_outputs(
    report: RunReport,
    *,
    report_path: Path | None,
    markdown_path: Path | None,
    step_summary: Path | None,
) -> None:
    """Every file the user asked for; ``$GITHUB_STEP_SUMMARY`` is appended to, not replaced."""
    try:
        if report_path:
            write_atomically(report_path, render_json(report) + "\n")
        markdown = render_markdown_table(report)
        if markdown_path:
            write_atomically(markdown_path, markdown + "\n")
        if step_summary:
            append_text(step_summary, markdown)
    except OSError as exc:
        raise ConfigError(f"cannot write {exc.filename}: {exc.strerror}") from None


def check_writable(*paths: Path | None) -> None:
    """Fail before the run, not after it: create the directory and try a file in it."""
    for path in paths:
        if path is None:
            continue
        if path.is_dir():
            raise ConfigError(f"cannot write {path}: it is a directory")
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            with tempfile.TemporaryFile(dir=path.parent):
                pass
        except OSError as exc:
            raise ConfigError(f"cannot write {path}: {exc.strerror}") from None
