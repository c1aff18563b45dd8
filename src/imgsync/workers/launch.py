"""``imgsync worker``: a thin wrapper over ``celery worker`` with imgsync's settings."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from imgsync.config.settings import Settings
from imgsync.errors import ConfigError


def default_node_name(pid: int | None = None) -> str:
    """``imgsync-PID@%h``: unique among the workers running on one host.

    Celery expands ``%h`` to the host name; a fixed ``imgsync@%h`` would make several
    workers on a host share one name, which Celery warns about and remote control
    (``celery inspect``, Flower) cannot tell apart. The pid also finds the process.
    """
    return f"imgsync-{os.getpid() if pid is None else pid}@%h"


def worker_argv(
    settings: Settings, *, concurrency: int, loglevel: str, hostname: str | None
) -> list[str]:
    """The ``celery worker`` arguments; settings go to ``app.conf``, never into argv."""
    return [
        "worker",
        f"--concurrency={concurrency}",
        f"--queues={settings.queue}",
        f"--loglevel={loglevel}",
        f"--hostname={hostname or default_node_name()}",
        "--pool=prefork",
    ]


def start_worker(
    settings: Settings, *, concurrency: int, loglevel: str, hostname: str | None
) -> None:
    """Run a worker in this process until it is stopped; with a metrics port, serve /metrics."""
    if settings.broker_url is None:
        raise ConfigError("no broker: set IMGSYNC_BROKER_URL or pass --broker")
    argv = worker_argv(settings, concurrency=concurrency, loglevel=loglevel, hostname=hostname)
    if settings.metrics_port is None:
        _run(settings, argv)
        return
    from celery.signals import worker_process_shutdown

    from imgsync.workers.metrics import mark_dead, metrics_directory, serve_metrics

    with metrics_directory(settings.metrics_dir):
        serve_metrics(settings.metrics_port)
        worker_process_shutdown.connect(mark_dead, weak=False)
        _run(settings, argv)


def _run(settings: Settings, argv: list[str]) -> None:
    from imgsync.workers.app import process_app

    process_app(settings).worker_main(argv)


def start_beat(settings: Settings, *, loglevel: str, schedule_file: Path | None) -> None:
    """Run Celery beat with the sync file's ``schedules:`` until it is stopped.

    Beat only sends ticks; the workers (which must read the same sync file path)
    plan and enqueue each run.
    """
    if settings.broker_url is None:
        raise ConfigError("no broker: set IMGSYNC_BROKER_URL or pass --broker")
    if settings.config_file is None:
        raise ConfigError("beat needs a sync file with 'schedules:' (--config or IMGSYNC_CONFIG)")
    from imgsync.config.syncload import load_sync_file
    from imgsync.workers.app import process_app
    from imgsync.workers.schedules import beat_schedule

    sync_file = load_sync_file(settings.config_file)
    if not sync_file.spec.schedules:
        raise ConfigError(f"{settings.config_file}: no 'schedules:' to run")
    app = process_app(settings)
    app.conf.beat_schedule = beat_schedule(
        sync_file.spec.schedules, settings.config_file, settings.queue
    )
    state = schedule_file or Path(tempfile.gettempdir()) / "imgsync-beat-schedule"
    app.start(["beat", f"--loglevel={loglevel}", f"--schedule={state}"])
