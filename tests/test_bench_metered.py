"""The metered-source scenario (``python -m bench --only metered``) keeps counting right.

A tiny run against the ``dockerhub`` personality in front of a real ``docker-registry``:
every competitor gets a row whose numbers hold together (no tool copies more than the
budget pays for, 429s are among the GETs, a copy costs at least the index and its
platforms), the Markdown shows the table and the targets. The verdicts are checked on
their own with made-up runs.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from bench.metered import MIN_PULLS, Budget
from bench.metered_report import TITLE, targets

from tests.rig.binaries import need_binary

REPO_ROOT = Path(__file__).resolve().parent.parent
TOOLS = ("embedded-default", "embedded-c1", "loop", "skopeo-sync")


def _run(mode: str, copied: int, on_copied: int, on_unsynced: int) -> dict[str, Any]:
    return {"competitor": mode, "images": 6, "budget": 13, "fit": 4, "copied": copied,
            "gets_on_copied": on_copied, "gets_on_unsynced": on_unsynced}  # fmt: skip


def _data(*runs: dict[str, Any]) -> dict[str, Any]:
    return {"min_pulls": 3, "code": "abc1234", "runs": list(runs)}


def test_copies_that_fit_are_the_budget_over_one_plus_platforms() -> None:
    assert MIN_PULLS == 3
    assert Budget(6, 13).fit == 4 and Budget(4, 7).fit == 2 and Budget(2, 13).fit == 2


def test_the_targets_are_met_only_at_the_minimum_and_with_nothing_wasted() -> None:
    good = targets(_data(_run("embedded-default", 4, 12, 0)))
    assert [t[3] for t in good] == [True, True, True], good
    overspent = targets(_data(_run("embedded-default", 2, 8, 5)))
    assert [t[3] for t in overspent] == [False, False, False], overspent
    assert "abc1234" in overspent[0][0]
    nothing = targets(_data(_run("embedded-c1", 0, 0, 7)))
    assert [t[3] for t in nothing] == [None, False, False], nothing  # no copy to judge
    assert targets(_data(_run("loop", 1, 5, 12))) == []  # a yardstick, not judged


def _plausible(run: dict[str, Any]) -> None:
    assert run["copied"] <= run["fit"] <= run["images"], run
    assert run["pulls_served"] <= run["budget"], run
    assert run["too_many"] <= run["manifest_gets"] - run["pulls_served"], run
    assert run["gets_on_copied"] >= MIN_PULLS * run["copied"], run
    assert run["gets_on_copied"] + run["gets_on_unsynced"] == run["manifest_gets"], run
    assert run["unsynced"] == run["images"] - run["copied"], run


@pytest.mark.bench
@pytest.mark.registry
@pytest.mark.timeout(600)
def test_metered_scenario_reports_every_competitor(tmp_path: Path) -> None:
    for binary in ("docker-registry", "skopeo"):
        need_binary(binary)
    argv = [sys.executable, "-m", "bench", "--only", "metered", "--quick",
            "--out", str(tmp_path)]  # fmt: skip
    proc = subprocess.run(argv, cwd=REPO_ROOT, capture_output=True, text=True, timeout=580)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    section = json.loads((tmp_path / "benchmarks.json").read_text())["extras"]["metered"]
    runs = {r["competitor"]: r for r in section["runs"]}
    assert sorted(runs) == sorted(TOOLS)
    for run in runs.values():
        _plausible(run)
    loop = runs["loop"]  # inspect (index + one platform) before each copy: 5 GETs a copy
    assert loop["copied"] >= 1 and loop["gets_on_copied"] > MIN_PULLS * loop["copied"], loop
    assert all(r["manifest_gets"] > 0 for r in runs.values()), runs
    markdown = (tmp_path / "benchmarks.md").read_text()
    table = markdown.split(f"### {TITLE}", 1)[1]
    assert all(f"| {section['labels'][t]} |" in table for t in TOOLS), table
    assert "| metered source, embedded-default: manifest GETs per copy" in markdown
    assert "| metered source, embedded-c1: GETs on mappings left deferred" in markdown
