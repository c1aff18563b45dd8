"""Celery settings derived from :class:`Settings`: reliability first.

``acks_late`` + ``task_reject_on_worker_lost`` requeue a task whose pool process
died; a prefetch of one keeps a slow copy from holding other tasks hostage; the
visibility timeout sits above the hard time limit so Redis does not hand a task
that is still running to a second worker (Celery 5.7 on Redis, see facts).
"""

from __future__ import annotations

from typing import Any

from imgsync.config.settings import Settings
from imgsync.errors import ConfigError


def soft_time_limit(settings: Settings) -> float:
    """The soft limit: as set, else 60 s (at most a tenth) before the hard one.

    The soft limit must come first: it lets the task kill skopeo and return a
    ``timeout`` result; the hard limit only catches a task that ignored it.
    """
    hard = settings.task_time_limit
    soft = settings.task_soft_time_limit or hard - min(60.0, hard / 10)
    if soft >= hard:
        raise ConfigError(
            f"IMGSYNC_TASK_SOFT_TIME_LIMIT ({soft:g}) must be below "
            f"IMGSYNC_TASK_TIME_LIMIT ({hard:g})"
        )
    return soft


def celery_config(settings: Settings) -> dict[str, Any]:
    """The ``app.conf`` mapping for the given settings."""
    if settings.visibility_timeout <= settings.task_time_limit:
        raise ConfigError(
            "IMGSYNC_VISIBILITY_TIMEOUT must be above IMGSYNC_TASK_TIME_LIMIT, "
            "or running tasks are delivered twice"
        )
    return {
        "broker_url": settings.broker_url.get_secret_value() if settings.broker_url else None,
        "result_backend": settings.result_backend_url,
        "broker_transport_options": {"visibility_timeout": settings.visibility_timeout},
        "result_backend_transport_options": {"visibility_timeout": settings.visibility_timeout},
        "broker_connection_retry_on_startup": True,
        "task_acks_late": True,
        "task_reject_on_worker_lost": True,
        "worker_prefetch_multiplier": 1,
        "task_soft_time_limit": soft_time_limit(settings),
        "task_time_limit": settings.task_time_limit,
        "task_default_queue": settings.queue,
        "task_serializer": "json",
        "result_serializer": "json",
        "accept_content": ["json"],
        "result_expires": settings.result_expires,
        "result_extended": False,
        "worker_send_task_events": False,
        "task_send_sent_event": False,
        "redis_backend_health_check_interval": 10,
    }
