"""Child-process helpers that guarantee rig servers never outlive the test session."""

from __future__ import annotations

import ctypes
import shutil
import signal
import subprocess
from pathlib import Path
from typing import IO

_PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:
    """Ask the kernel to SIGKILL the child if pytest itself dies abruptly."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    except (OSError, AttributeError):
        pass


def require_binary(name: str) -> str:
    """Resolve a binary or raise FileNotFoundError with the missing name."""
    path = shutil.which(name)
    if path is None:
        raise FileNotFoundError(f"required binary not found on PATH: {name}")
    return path


def spawn(args: list[str], cwd: Path, out: IO[bytes], err: IO[bytes]) -> subprocess.Popen[bytes]:
    """Start a server process without stdin, tied to our lifetime."""
    return subprocess.Popen(
        args,
        cwd=cwd,
        stdin=subprocess.DEVNULL,
        stdout=out,
        stderr=err,
        preexec_fn=_die_with_parent,
    )


def stop_process(proc: subprocess.Popen[bytes] | None, timeout: float = 5.0) -> None:
    """Terminate politely, then kill; always reap so no zombie remains."""
    if proc is None or proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=timeout)
