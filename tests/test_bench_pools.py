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
from bench import pools_report
from bench.pools import Row, medians, table

from tests.rig.binaries import need_binary

REPO_ROOT = Path(__file__).resolve().parent.parent
N = 4
MB = 1024


def test_medians_take_the_middle_run_of_each_mode() -> None:
    rows = [Row("prefork", rep, 10, wall, 0.01, 0.02 * rep, 60 * MB, [70 * MB], {"skipped": 10})
            for rep, wall in enumerate((3.0, 1.0, 2.0))]  # fmt: skip
    other_n = Row("prefork", 0, 20, 9.0, 0.01, 0.5, 60 * MB, [70 * MB], {"skipped": 20})
    (prefork,) = medians([*rows, other_n], ["prefork"], 10)
    assert prefork["wall_s"] == 2.0 and prefork["ok"] and prefork["n"] == 10, prefork
    assert prefork["worker_ms_per_image"] == pytest.approx(2.0), prefork
    assert prefork["peak_rss_kb"] == 70 * MB, prefork


def _median(mode: str, n: int, wall: float, cpu: float, worker: float) -> dict[str, object]:
    return {"mode": mode, "n": n, "ok": True, "wall_s": wall, "cpu_ms_per_image": cpu,
            "worker_ms_per_image": worker, "peak_rss_kb": 80 * MB}  # fmt: skip


#: Per N: embedded's wall and CPU, the prefork worker's wall and worker CPU.
SECTION = {
    "settings": {"ns": [400, 2000], "reps": 3, "concurrency": 8, "pools": ["prefork"]},
    "medians": [
        _median("embedded", 400, 3.0, 2.0, 0.0), _median("prefork", 400, 3.2, 5.0, 3.9),
        _median("embedded", 2000, 10.0, 2.0, 0.0), _median("prefork", 2000, 12.5, 6.0, 4.5),
    ],
}  # fmt: skip


def test_pools_targets_judge_speed_and_worker_cpu_at_each_n() -> None:
    found = {name: (measured, met) for name, _, measured, met in pools_report.targets(SECTION)}
    speed_400 = found["distributed skip N=400: 1 worker × 8 vs embedded -c 8"]
    assert speed_400 == ("0.94× (3.20 s vs 3.00 s)", True), found
    speed_2000 = found["distributed skip N=2000: 1 worker × 8 vs embedded -c 8"]
    assert speed_2000 == ("0.80× (12.50 s vs 10.00 s)", False), found
    cpu_400 = found["distributed skip N=400: worker CPU per unchanged image vs embedded's"]
    assert cpu_400 == ("3.90 ms vs 2.00 ms = 1.9×", True), found
    cpu_2000 = found["distributed skip N=2000: worker CPU per unchanged image vs embedded's"]
    assert cpu_2000 == ("4.50 ms vs 2.00 ms = 2.2×", False), found


def test_pools_table_compares_each_n_with_its_own_embedded_run() -> None:
    lines = table(SECTION).splitlines()
    assert any(
        line.startswith("| 2000 | 1 worker × 8 prefork processes | 12.50 | 0.80× |")
        for line in lines
    )
    assert any(
        line.startswith("| 400 | 1 worker × 8 prefork processes | 3.20 | 0.94× |") for line in lines
    )


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
