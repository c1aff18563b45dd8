"""The HTTP-stack scenario (``python -m bench --only http-stacks``) keeps running and reporting.

A tiny run against a real ``docker-registry`` behind the latency proxy: every installed
stack gets a row whose answers were all right (200 with the seeded digest), the Markdown
shows the table, and the skip-path figure ran imgsync for real (one source HEAD per image).
The arithmetic of the marginal cost is checked on its own with made-up runs.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from bench.http_clients import STACKS
from bench.http_stacks import available, summarize
from bench.http_stacks_report import LABELS, TITLE

from tests.rig.binaries import need_binary

REPO_ROOT = Path(__file__).resolve().parent.parent


def _run(stack: str, n: int, cpu_s: float, rep: int = 0) -> dict[str, object]:
    return {"stack": stack, "n": n, "ok": n, "cpu_s": cpu_s, "wall_s": 1.0,
            "import_s": 0.1, "maxrss_kb": 30_000, "rep": rep}  # fmt: skip


def test_marginal_cost_is_the_difference_of_two_ns_over_their_difference() -> None:
    runs = [
        _run("requests", 100, 0.5), _run("requests", 1100, 2.5),
        _run("pycurl", 100, 0.3), _run("pycurl", 1100, 0.8),
        _run("pycurl", 100, 0.3, rep=1), _run("pycurl", 1100, 9.9, rep=1),
        _run("pycurl", 100, 0.3, rep=2), _run("pycurl", 1100, 0.8, rep=2),
    ]  # fmt: skip
    rows = {r["stack"]: r for r in summarize(runs, (100, 1100))}
    assert rows["requests"]["marginal_cpu_ms"] == pytest.approx(2.0)
    assert rows["pycurl"]["marginal_cpu_ms"] == pytest.approx(0.5)  # median, not mean
    assert rows["pycurl"]["vs_requests"] == pytest.approx(0.25)
    assert rows["pycurl"]["marginal_range_ms"] == pytest.approx([0.5, 9.6])
    assert rows["requests"]["cpu_ms_at_large"] == pytest.approx(2.5 / 1100 * 1000)


def test_a_stack_with_a_wrong_answer_is_marked() -> None:
    runs = [_run("urllib3", 10, 0.1), {**_run("urllib3", 20, 0.2), "ok": 19}]
    assert summarize(runs, (10, 20))[0]["ok"] is False


@pytest.mark.registry
@pytest.mark.timeout(300)
def test_http_stacks_scenario_reports_a_row_per_installed_stack(tmp_path: Path) -> None:
    need_binary("docker-registry")
    argv = [sys.executable, "-m", "bench", "--only", "http-stacks", "--quick",
            "--out", str(tmp_path)]  # fmt: skip
    proc = subprocess.run(argv, cwd=REPO_ROOT, capture_output=True, text=True, timeout=280)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    section = json.loads((tmp_path / "benchmarks.json").read_text())["extras"]["http_stacks"]
    installed = [s for s in STACKS if available(s)]
    assert {"requests", "imgsync-client", "urllib3"} <= set(installed)
    rows = {r["stack"]: r for r in section["stacks"]}
    assert sorted(rows) == sorted(installed)
    assert all(r["ok"] and r["cpu_ms_at_large"] > 0 for r in rows.values()), rows
    assert rows["requests"]["vs_requests"] == 1.0
    skip = section["skip_path"]
    assert skip["ok"] and skip["heads_per_image"] == 1.0, skip
    markdown = (tmp_path / "benchmarks.md").read_text()
    table = markdown.split(f"### {TITLE}", 1)[1]
    assert all(f"| {LABELS[s]} |" in table for s in installed), table
    assert "ms CPU per unchanged image" in table
