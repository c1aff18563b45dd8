"""The cyclic garbage collector around start-up: off while imgsync imports and validates,
then what that built is frozen and collection runs as usual for the run.

Start-up makes tens of thousands of objects that live until exit (modules, classes,
pydantic schemas, the plan); collections while they are made free nothing, and every
later full collection, the last one at exit included, would walk them again. Pausing
and freezing them cut ``sync``'s start-up by about 60 ms (``docs/benchmarks.md``).
Only the console command pauses; code that imports imgsync keeps its collector as it is.
"""

from __future__ import annotations

import gc


class _Pause:
    """Whether this module turned the collector off (and so must turn it back on)."""

    paused = False


def pause_collection() -> None:
    """No cyclic collection until :func:`resume_collection` (the command's start-up)."""
    if gc.isenabled():
        gc.disable()
        _Pause.paused = True


def resume_collection() -> None:
    """Freeze what start-up made and collect again; a no-op unless this module paused."""
    if _Pause.paused:
        gc.freeze()
        gc.enable()
        _Pause.paused = False
