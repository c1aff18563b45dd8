"""The scale row (``python -m bench --only scale``) keeps measuring both modes.

A tiny run on the benchmark rig: embedded and two Celery workers each skip every mapping
with no manifest GET, and each reports wall time, CPU of every process per image and the
peak RSS of the producer and of each worker process (main and pool). The layout of the
seeded references and the RSS verdict are checked on their own.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from bench.scale import ScaleCase, Settings, layout
from bench.scale_report import TITLE, targets

from tests.rig.binaries import need_binary

REPO_ROOT = Path(__file__).resolve().parent.parent
MB = 1024


def test_layout_spreads_n_references_over_repositories_of_so_many_tags() -> None:
    shape = layout(Settings(n=25, tags_per_repo=10))
    refs = [f"{repo}:{tag}" for repo, tags in shape.items() for tag in tags]
    assert len(shape) == 3 and len(refs) == len(set(refs)) == 25
    assert max(len(tags) for tags in shape.values()) <= 10


def test_a_scale_case_maps_each_reference_under_the_prefix(tmp_path: Path) -> None:
    case = ScaleCase("scale", 1, "src:1", "dst:2", ("a/b",), "mirror", tmp_path, {},
                     refs=("a/b:t-1",))  # fmt: skip
    assert case.pairs() == [("src:1/a/b:t-1", "dst:2/mirror/a/b:t-1")]


def _run(producer_kb: int, workers_kb: list[int]) -> dict[str, Any]:
    return {"mode": "m", "label": "M", "n": 10_000, "wall_s": 1.0, "cpu_ms_per_image": 1.0,
            "producer_rss_kb": producer_kb, "worker_rss_kb": workers_kb}  # fmt: skip


def test_the_rss_verdict_judges_the_largest_process() -> None:
    data = {"rss_goal_kb": 200 * MB, "runs": [_run(80 * MB, [])]}
    assert [t[3] for t in targets(data)] == [True]
    data["runs"] = [_run(80 * MB, [90 * MB, 201 * MB])]
    (row,) = targets(data)
    assert row[3] is False and "201 MB" in row[2], row


def _plausible(run: dict[str, Any], n: int) -> None:
    assert run["ok"], run
    assert run["n"] == n and run["counts"] == {"skipped": n}, run
    assert run["src_manifest_gets"] == 0 and run["src_manifest_heads"] >= n, run
    assert 0 < run["cpu_ms_per_image"] < 1000, run
    assert 10 * MB < run["producer_rss_kb"] < 2000 * MB, run
    assert 0 < run["wall_s"] < 300, run


@pytest.mark.celery
@pytest.mark.registry
@pytest.mark.timeout(400)
def test_scale_row_measures_embedded_and_two_workers(tmp_path: Path) -> None:
    for binary in ("docker-registry", "redis-server"):
        need_binary(binary)
    argv = [sys.executable, "-m", "bench", "--only", "scale", "--quick", "--out", str(tmp_path)]
    proc = subprocess.run(argv, cwd=REPO_ROOT, capture_output=True, text=True, timeout=380)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    section = json.loads((tmp_path / "benchmarks.json").read_text())["extras"]["scale"]
    n, concurrency = section["settings"]["n"], section["settings"]["worker_concurrency"]
    embedded, celery = section["runs"]
    for run in (embedded, celery):
        _plausible(run, n)
    assert embedded["worker_rss_kb"] == [] and embedded["worker_cpu_s"] is None
    assert celery["pool_sizes"] == [concurrency] * 2, celery
    assert len(celery["worker_rss_kb"]) == 2 * (1 + concurrency), celery
    assert all(10 * MB < kb < 2000 * MB for kb in celery["worker_rss_kb"]), celery
    assert celery["worker_cpu_s"] > 0, celery
    markdown = (tmp_path / "benchmarks.md").read_text()
    table = markdown.split(f"### {TITLE}", 1)[1]
    assert f"| {embedded['label']} |" in table and f"| {celery['label']} |" in table, table
    assert f"| scale: {n:,} in-sync, {celery['label']}: peak RSS of any process | ≤ 200 MB |" in (
        markdown
    )
