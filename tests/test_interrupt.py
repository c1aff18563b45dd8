"""Interrupting an embedded run: running copies finish, the report says what was not done."""

from __future__ import annotations

import json
import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.cli_run import IMGSYNC, authfile_for, base_env, insecure
from tests.rig.inspect import head_digest
from tests.rig.registry import Registry
from tests.rig.slow_proxy import SlowProxy

pytestmark = pytest.mark.registry


def skopeo_children(pid: int) -> list[int]:
    """skopeo processes whose parent is ``pid``."""
    found = []
    for proc in Path("/proc").iterdir():
        try:
            stat = (proc / "stat").read_text()
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[-1].split()
        if proc.name.isdigit() and fields[1] == str(pid) and "(skopeo)" in stat:
            found.append(int(proc.name))
    return found


def wait_for(condition: Callable[[], object], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.05)


@pytest.fixture
def slow_source(anon_registry: Registry) -> Iterator[SlowProxy]:
    with SlowProxy.in_front_of(anon_registry.host, delay_s=0.15) as proxy:
        yield proxy


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["sigterm", "ctrl-c"])
def test_interrupt_lets_the_running_copy_finish_and_reports_the_rest(
    tmp_path: Path,
    anon_registry: Registry,
    basic_registry: Registry,
    slow_source: SlowProxy,
    seed_image: Callable[..., str],
    unique_repo: str,
    sig: signal.Signals,
) -> None:
    digest = seed_image(anon_registry, unique_repo, "1")
    env = base_env(
        tmp_path,
        REGISTRY_AUTH_FILE=str(authfile_for(tmp_path / "auth.json", [basic_registry])),
        IMGSYNC_INSECURE_REGISTRIES=insecure(anon_registry, basic_registry)
        + f",{slow_source.host}",
    )
    mappings = [
        f"{slow_source.host}/{unique_repo}:1={basic_registry.host}/{unique_repo}/n{i}:1"
        for i in range(4)
    ]
    report = tmp_path / "report.json"
    argv = [
        *IMGSYNC,
        "sync",
        "--concurrency",
        "1",
        "--check-concurrency",
        "1",
        "--report",
        str(report),
        *mappings,
    ]
    proc = subprocess.Popen(
        argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    wait_for(lambda: skopeo_children(proc.pid), timeout=60)
    copying = skopeo_children(proc.pid)
    proc.send_signal(sig)
    stdout, stderr = proc.communicate(timeout=120)

    assert proc.returncode == 130, stderr
    assert all(not Path(f"/proc/{pid}").exists() for pid in copying)
    results = json.loads(report.read_text())["results"]
    statuses = [r["status"] for r in results]
    assert statuses[0] == "synced", results[0]
    assert head_digest(basic_registry, f"{unique_repo}/n0", "1") == digest
    interrupted = [r for r in results if r["status"] == "failed"]
    assert interrupted, "the interrupt came too late to leave anything undone"
    assert all(r["error"]["category"] == "interrupted" for r in interrupted)
    assert statuses == ["synced"] * (len(results) - len(interrupted)) + ["failed"] * len(
        interrupted
    )
    assert "interrupted" in stdout
