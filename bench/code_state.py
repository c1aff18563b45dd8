"""Which imgsync a section measured: the commit, and whether its code was that commit's.

In a shared working tree ``src/`` may hold someone's unfinished change, so a section can
also run an export of a commit (``git archive HEAD src | tar -x -C DIR``, the hash in
``DIR/COMMIT``, ``PYTHONPATH=DIR/src``): the label then names that commit alone.
"""

from __future__ import annotations

import importlib.util
import subprocess
from pathlib import Path

from bench.rig import REPO_ROOT


def _git(*args: str) -> str:
    out = subprocess.run(["git", *args], cwd=REPO_ROOT, capture_output=True, text=True)
    return out.stdout.strip()


def _working_tree() -> str:
    dirty = " + uncommitted changes" if _git("status", "--porcelain", "--", "src") else ""
    return _git("rev-parse", "--short", "HEAD") + dirty


def imgsync_root() -> Path | None:
    """The directory holding the ``src/`` imgsync is imported from (PYTHONPATH first)."""
    spec = importlib.util.find_spec("imgsync")
    if spec is None or spec.origin is None:
        return None
    return Path(spec.origin).resolve().parents[2]


def code_state() -> str:
    """``abc1234``, ``abc1234 + uncommitted changes``, or an export's ``abc1234 (export)``."""
    root = imgsync_root()
    if root is None or root == REPO_ROOT.resolve():
        return _working_tree()
    marker = root / "COMMIT"
    return f"{marker.read_text().strip()} (export)" if marker.exists() else f"imgsync in {root}"
