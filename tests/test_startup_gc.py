"""The console command starts up without cyclic collection and runs with it.

Start-up objects are frozen when the run begins (``imgsync.producer.startup_gc``): the run's
own garbage is still collected, and code importing imgsync keeps its collector untouched.
"""

from __future__ import annotations

import gc
import os
import subprocess
import sys
from pathlib import Path

from imgsync.producer.startup_gc import pause_collection, resume_collection
from tests.rig.registry import Registry

#: Records the collector's state while settings are read and when the run starts.
PROBE = """
import gc, sys, runpy
from imgsync.config import settings
from imgsync.producer import sync_command
read = settings.Settings.from_variables.__func__
def reading(cls):
    print("START-UP", gc.isenabled(), file=sys.stderr)
    return read(cls)
settings.Settings.from_variables = classmethod(reading)
from imgsync.producer import embedded
original = embedded.run_embedded
def running(*args, **kwargs):
    print("RUN", gc.isenabled(), gc.get_freeze_count() > 1000, file=sys.stderr)
    return original(*args, **kwargs)
embedded.run_embedded = running
sys.argv = ["imgsync", *sys.argv[1:]]
try:
    runpy.run_module("imgsync", run_name="__main__")
except SystemExit:
    pass
print("AFTER", gc.isenabled(), file=sys.stderr)
"""


def test_pause_then_resume_freezes_what_start_up_made_and_collects_again() -> None:
    assert gc.isenabled()
    frozen = gc.get_freeze_count()
    try:
        pause_collection()
        assert not gc.isenabled()
        resume_collection()
        assert gc.isenabled() and gc.get_freeze_count() > frozen
    finally:
        gc.unfreeze()
        gc.enable()


def test_resume_without_pause_leaves_the_collector_alone() -> None:
    gc.disable()
    try:
        resume_collection()  # someone else turned it off: not ours to turn on
        assert not gc.isenabled() and gc.get_freeze_count() == 0
    finally:
        gc.enable()


def test_sync_starts_up_without_collection_and_runs_with_it(
    tmp_path: Path, anon_registry: Registry
) -> None:
    host = anon_registry.host
    argv = ["sync", "--dry-run", "-q", f"{host}/absent/a:1={host}/absent/b:1"]
    env = {**os.environ, "HOME": str(tmp_path), "IMGSYNC_MAX_RETRIES": "0"}
    env["IMGSYNC_INSECURE_REGISTRIES"] = host
    env.pop("IMGSYNC_BROKER_URL", None)
    ran = subprocess.run(
        [sys.executable, "-c", PROBE, *argv], capture_output=True, text=True, env=env
    )
    lines = [line for line in ran.stderr.splitlines() if line.split(" ")[0] in
             ("START-UP", "RUN", "AFTER")]  # fmt: skip
    assert lines == ["START-UP False", "RUN True True", "AFTER True"], ran.stderr[-2000:]
