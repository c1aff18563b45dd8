"""Run the ``imgsync`` CLI and record, at exit, this process's own peak RSS and run phase.

The peak is the kernel's ``VmHWM`` of this process's memory map, read at exit. Neither
``wait4`` on the harness side nor ``getrusage`` here will do: both report the largest of
the process *and* what its parent was when it spawned it (with ``vfork`` + ``exec`` the
kernel carries the parent's high-water mark over), and ``wait4`` adds skopeo children
too. The probe also times the run phase (after start-up, imports and validation), so wall
time can be split into start-up and work. Measurement only: imgsync's code runs unchanged.

Usage: ``BENCH_PROBE_FILE=out.json python -m bench.rss_launch sync ...``
"""

from __future__ import annotations

import atexit
import functools
import json
import os
import resource
import sys
import time
from collections.abc import Callable
from typing import Any

PROBE_ENV = "BENCH_PROBE_FILE"
_marks: dict[str, float] = {"launched": time.time()}


def peak_rss_kb() -> int:
    """``VmHWM`` of this process (KiB); ``getrusage`` only where ``/proc`` is missing."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def _record() -> None:
    """Write peak RSS (KiB) and the phase timestamps (epoch seconds) as JSON."""
    path = os.environ.get(PROBE_ENV)
    if not path:
        return
    data = {"maxrss_kb": peak_rss_kb(), **_marks}
    data["exiting"] = time.time()
    with open(path, "w", encoding="utf-8") as handle:
        json.dump(data, handle)


def _timed(name: str, func: Callable[..., Any]) -> Callable[..., Any]:
    """Wrap ``func`` so its start and end land in the probe file as ``name_start/_end``."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        _marks[f"{name}_start"] = time.time()
        try:
            return func(*args, **kwargs)
        finally:
            _marks[f"{name}_end"] = time.time()

    return wrapper


def _distributed(argv: list[str]) -> bool:
    return "--broker" in argv or bool(os.environ.get("IMGSYNC_BROKER_URL"))


def _instrument(argv: list[str]) -> None:
    """Time the run function of the mode in use (importing only that mode's module).

    ``sync_command`` imports the run function lazily, so patching the module works.
    """
    if _distributed(argv):
        from imgsync.producer import distributed

        distributed.run_distributed_command = _timed("run", distributed.run_distributed_command)
    else:
        from imgsync.producer import embedded

        embedded.run_embedded = _timed("run", embedded.run_embedded)


def main() -> None:
    atexit.register(_record)
    from imgsync.producer.startup_gc import pause_collection

    pause_collection()  # as the command's own entry point does, before the import below
    if "sync" in sys.argv[1:]:
        _instrument(sys.argv[1:])
    from imgsync.producer.cli import main as imgsync_main

    imgsync_main()


if __name__ == "__main__":
    main()
