"""Run one command and measure it: wall time, exit status, CPU time, phase timestamps.

Peak memory is *not* taken from ``os.wait4``: its ``ru_maxrss`` is the largest of the
process, the children it waited for (skopeo) and the harness itself at spawn time (the
kernel carries the parent's high-water mark over ``vfork`` + ``exec``). imgsync's own
peak comes from :mod:`bench.rss_launch`'s probe file; long-lived processes (Celery
workers) are read from ``/proc/PID/status`` (``VmHWM``, the high-water mark of the
process's own memory map).
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.rss_launch import PROBE_ENV


@dataclass
class Ran:
    """One finished command."""

    argv: tuple[str, ...]
    wall_s: float
    returncode: int
    stdout: str
    stderr: str
    cpu_user_s: float = 0.0
    cpu_sys_s: float = 0.0
    probe: dict[str, Any] = field(default_factory=dict)
    started_epoch: float = 0.0
    timed_out: bool = False

    @property
    def self_maxrss_kb(self) -> int | None:
        """The imgsync process's own peak RSS, when it ran under the probe."""
        value = self.probe.get("maxrss_kb")
        return int(value) if value is not None else None

    @property
    def run_phase_s(self) -> float | None:
        """Seconds inside the run function (after start-up and validation)."""
        start, end = self.probe.get("run_start"), self.probe.get("run_end")
        return float(end - start) if start and end else None

    @property
    def startup_s(self) -> float | None:
        """Seconds from spawning the process to the start of the run function."""
        start = self.probe.get("run_start")
        return float(start - self.started_epoch) if start else None


def _kill_group(proc: subprocess.Popen[bytes]) -> None:
    """Timeout: kill the tool and everything it started (skopeo children included)."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)


def run_measured(
    argv: Sequence[str],
    env: Mapping[str, str],
    workdir: Path,
    *,
    timeout: float,
    stdin_path: Path | None = None,
    probe: bool = False,
) -> Ran:
    """Run ``argv`` in its own process group; reap with ``wait4`` to get its rusage."""
    workdir.mkdir(parents=True, exist_ok=True)
    out_path, err_path, probe_path = (workdir / n for n in ("stdout", "stderr", "probe.json"))
    probe_path.unlink(missing_ok=True)
    run_env = dict(env)
    if probe:
        run_env[PROBE_ENV] = str(probe_path)
    with (
        out_path.open("wb") as out,
        err_path.open("wb") as err,
        stdin_path.open("rb") if stdin_path else open(os.devnull, "rb") as stdin,
    ):
        started_epoch = time.time()
        started = time.perf_counter()
        proc = subprocess.Popen(
            list(argv), env=run_env, stdin=stdin, stdout=out, stderr=err, start_new_session=True
        )
        timer = threading.Timer(timeout, _kill_group, (proc,))
        timer.start()
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - started
        timed_out = not timer.is_alive()
        timer.cancel()
    proc.returncode = os.waitstatus_to_exitcode(status)
    return Ran(
        argv=tuple(argv),
        wall_s=wall,
        returncode=proc.returncode,
        stdout=out_path.read_text(errors="replace"),
        stderr=err_path.read_text(errors="replace"),
        cpu_user_s=usage.ru_utime,
        cpu_sys_s=usage.ru_stime,
        probe=_read_probe(probe_path),
        started_epoch=started_epoch,
        timed_out=timed_out,
    )


def _read_probe(path: Path) -> dict[str, Any]:
    try:
        data: dict[str, Any] = json.loads(path.read_text())
    except (FileNotFoundError, ValueError):
        return {}
    return data


# ------------------------------------------------------------------ /proc readings


def status_kb(pid: int, key: str = "VmHWM") -> int | None:
    """A ``kB`` field of ``/proc/PID/status`` (``VmHWM`` = peak RSS so far)."""
    try:
        text = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None
    for line in text.splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1])
    return None


def children(pid: int) -> list[int]:
    """Direct children, from ``/proc/PID/task/*/children``."""
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").glob("*/children"):
        try:
            found += [int(c) for c in task.read_text().split()]
        except OSError:
            continue
    return found


def tree(pid: int) -> list[int]:
    """``pid`` and every live process below it."""
    out, frontier = [pid], [pid]
    while frontier:
        frontier = [c for p in frontier for c in children(p)]
        out += frontier
    return out


def cpu_seconds(pids: Sequence[int]) -> float:
    """User+system CPU seconds of these processes so far (their own, not their children's)."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / tick
    return total


def loadavg() -> tuple[float, float, float]:
    """The 1, 5 and 15 minute load averages: other work on the machine skews timings."""
    one, five, fifteen = Path("/proc/loadavg").read_text().split()[:3]
    return float(one), float(five), float(fifteen)
