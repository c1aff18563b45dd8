"""The exit codes every ``imgsync`` command shares, documented in the README's Commands."""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    """What a command's exit status tells a script or a CI job."""

    OK = 0
    #: At least one mapping failed (or a run's report says so).
    FAILED = 1
    #: Invalid input or configuration: nothing ran.
    INPUT = 2
    #: Ctrl-C or SIGTERM: what was running finished, the rest is reported as interrupted.
    INTERRUPTED = 130
