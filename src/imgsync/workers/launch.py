"""``imgsync worker``: a thin wrapper over ``celery worker`` with imgsync's settings."""

from __future__ import annotations

from imgsync.config.settings import Settings
from imgsync.errors import ConfigError


def worker_argv(
    settings: Settings, *, concurrency: int, loglevel: str, hostname: str | None
) -> list[str]:
    """The ``celery worker`` arguments; settings go to ``app.conf``, never into argv."""
    return [
        "worker",
        f"--concurrency={concurrency}",
        f"--queues={settings.queue}",
        f"--loglevel={loglevel}",
        f"--hostname={hostname or 'imgsync@%h'}",
        "--pool=prefork",
    ]


def start_worker(
    settings: Settings, *, concurrency: int, loglevel: str, hostname: str | None
) -> None:
    """Run a worker in this process until it is stopped."""
    if settings.broker_url is None:
        raise ConfigError("no broker: set IMGSYNC_BROKER_URL or pass --broker")
    from imgsync.workers import app
    from imgsync.workers.app import configure

    configure(app, settings)
    app.worker_main(
        worker_argv(settings, concurrency=concurrency, loglevel=loglevel, hostname=hostname)
    )
