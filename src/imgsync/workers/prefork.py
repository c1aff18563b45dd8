"""What every pool process would build on its first task, built once before the fork.

A prefork worker forks its pool processes after ``worker_init``. Without this, each of
them imported the registry and copier code and built the pydantic decoders of a task's
values on its first task, about 35 ms of CPU each, in the run's critical path; a fork
shares what the parent built. Nothing connects here: connections stay per process.
What is built by then lives as long as the worker, so it is frozen out of the cyclic
collector (``gc.freeze``): the pool processes' collections no longer walk it, and do not
touch (and so copy) the pages they share with the parent.
"""

from __future__ import annotations

import gc
import importlib
from typing import Any

from celery.signals import worker_init

#: What a task imports on first use, beyond the tasks module itself.
SHARED_MODULES = ("imgsync.runtime.services", "imgsync.workers.token_warmup")


def prepare_before_fork() -> None:
    """Connect :func:`prepare_pool_processes` to ``worker_init``; safe to call again."""
    worker_init.connect(prepare_pool_processes, weak=False, dispatch_uid="imgsync-prefork")


def prepare_pool_processes(**_: Any) -> None:
    """Signal receiver: import the task code's dependencies and build its decoders."""
    for module in SHARED_MODULES:
        importlib.import_module(module)
    from imgsync.adapters.runstore import RunPlan
    from imgsync.core.codec import prepare
    from imgsync.core.mapping import SyncItem
    from imgsync.core.result import SyncResult

    prepare(SyncItem, SyncResult, RunPlan)
    gc.freeze()
