"""What a worker sets up once, before its pool processes fork, and what it stops writing."""

from __future__ import annotations

import gc
import logging
from collections.abc import Iterator

import pytest
from celery.signals import after_setup_logger, worker_init

from imgsync.adapters.runstore import RunPlan
from imgsync.config.celery import celery_config
from imgsync.config.settings import Settings
from imgsync.core import codec
from imgsync.core.mapping import SyncItem
from imgsync.core.result import SyncResult
from imgsync.workers.app import create_app
from imgsync.workers.logs import TRACE_LOGGER, quiet_task_trace


@pytest.fixture
def trace_level() -> Iterator[logging.Logger]:
    """Celery's trace logger, unset, under a root logger that lets everything through."""
    logger, root = logging.getLogger(TRACE_LOGGER), logging.getLogger()
    before, root_before = logger.level, root.level
    logger.setLevel(logging.NOTSET)
    root.setLevel(logging.DEBUG)
    yield logger
    logger.setLevel(before)
    root.setLevel(root_before)


def test_worker_init_builds_the_task_decoders_for_the_fork_to_share() -> None:
    create_app(Settings())
    codec._ADAPTERS.clear()
    worker_init.send(sender=None)
    assert {SyncItem, SyncResult, RunPlan} <= set(codec._ADAPTERS)


def test_worker_init_freezes_what_the_fork_shares_out_of_the_cyclic_collector() -> None:
    create_app(Settings())
    gc.unfreeze()
    try:
        worker_init.send(sender=None)
        assert gc.get_freeze_count() > 1000  # modules, classes, decoders: walked no more
    finally:
        gc.unfreeze()


@pytest.mark.parametrize("level", [logging.INFO, "INFO", logging.WARNING, None])
def test_celery_s_per_task_lines_are_off_below_debug(
    trace_level: logging.Logger, level: int | str | None
) -> None:
    quiet_task_trace(level)
    assert not trace_level.isEnabledFor(logging.INFO)
    assert trace_level.isEnabledFor(logging.ERROR)  # failures are still logged


@pytest.mark.parametrize("level", [logging.DEBUG, "DEBUG"])
def test_at_debug_celery_s_per_task_lines_stay(
    trace_level: logging.Logger, level: int | str
) -> None:
    quiet_task_trace(level)
    assert trace_level.isEnabledFor(logging.INFO)


def test_task_events_are_off_unless_flower_or_celery_control_turns_them_on() -> None:
    assert celery_config(Settings())["worker_send_task_events"] is False


def test_a_worker_s_logging_set_up_at_info_quiets_the_per_task_lines(
    trace_level: logging.Logger, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Through the signal a worker's logging set-up sends; the masking receiver on the same
    signal is kept from wrapping this test process's handlers."""
    for name in ("redact_every_handler", "route_uncaught_exceptions"):
        monkeypatch.setattr(f"imgsync.workers.logs.{name}", lambda *_: None)
    create_app(Settings())
    after_setup_logger.send(sender=None, logger=logging.getLogger(), loglevel=logging.INFO)
    assert not trace_level.isEnabledFor(logging.INFO)
