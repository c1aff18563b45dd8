"""The pool benchmark (``python -m bench.pools``) keeps measuring its three modes.

A tiny run on the benchmark rig: embedded mode, one prefork worker and one threads worker
each skip every mapping, and each row carries wall time, the CPU of the producer and of the
worker processes, and peak RSS; the table compares each mode with embedded mode.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from bench.pools import Row, medians

from tests.rig.binaries import need_binary

REPO_ROOT = Path(__file__).resolve().parent.parent
N = 4
MB = 1024


def test_medians_take_the_middle_run_of_each_mode() -> None:
    rows = [Row("prefork", rep, 10, wall, 0.01, 0.02 * rep, 60 * MB, [70 * MB], {"skipped": 10})
            for rep, wall in enumerate((3.0, 1.0, 2.0))]  # fmt: skip
    (prefork,) = medians(rows, ["prefork"])
    assert prefork["wall_s"] == 2.0 and prefork["ok"], prefork
    assert prefork["worker_ms_per_image"] == pytest.approx(2.0), prefork
    assert prefork["peak_rss_kb"] == 70 * MB, prefork


@pytest.mark.celery
@pytest.mark.registry
@pytest.mark.timeout(300)
def test_pools_bench_measures_embedded_prefork_and_threads(tmp_path: Path) -> None:
    for binary in ("docker-registry", "redis-server"):
        need_binary(binary)
    argv = [sys.executable, "-m", "bench.pools", "--n", str(N), "--reps", "1",
            "--concurrency", "2", "--out", str(tmp_path)]  # fmt: skip
    proc = subprocess.run(argv, cwd=REPO_ROOT, capture_output=True, text=True, timeout=280)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    data = json.loads((tmp_path / "pools.json").read_text())
    rows = {row["mode"]: row for row in data["rows"]}
    assert set(rows) == {"embedded", "prefork", "threads"}, rows
    for row in rows.values():
        assert row["ok"] and row["counts"] == {"skipped": N}, row
        assert 0 < row["wall_s"] < 120 and row["producer_cpu_s"] > 0, row
        assert 10 * MB < row["producer_rss_kb"] < 2000 * MB, row
    assert rows["embedded"]["worker_cpu_s"] == 0 and rows["embedded"]["worker_rss_kb"] == []
    assert len(rows["prefork"]["worker_rss_kb"]) == 1 + 2, rows["prefork"]  # main + 2 pool
    assert len(rows["threads"]["worker_rss_kb"]) == 1, rows["threads"]  # one process
    assert rows["prefork"]["worker_cpu_s"] > 0 and rows["threads"]["worker_cpu_s"] > 0
    table = (tmp_path / "pools.md").read_text()
    for label in ("embedded `sync -c 2", "1 worker × 2 prefork", "1 worker × 2 threads"):
        assert label in table, table
