"""The Celery application: :func:`create_app` builds one from settings, nothing else.

A process has one app its tasks are declared on, :func:`process_app`, built on
first use: from the settings a command passes (``imgsync worker``, ``imgsync sync
--broker``), else from the environment — what ``celery -A imgsync.workers worker``
gets when it asks for ``app``. Importing this module reads nothing.
"""

from __future__ import annotations

from celery import Celery

from imgsync.config.celery import celery_config
from imgsync.config.settings import Settings
from imgsync.workers.context import set_settings
from imgsync.workers.logs import redact_worker_logs
from imgsync.workers.prefork import prepare_before_fork

TASKS_MODULE = "imgsync.workers.tasks"

_PROCESS: dict[str, Celery] = {}


def create_app(settings: Settings, *, set_as_current: bool = False) -> Celery:
    """A new app configured for ``settings``; no global state touched unless asked.

    Workers import the tasks at start-up (``include``); a producer sends them by name
    and never imports the code that runs them (registries, skopeo, notifiers).
    """
    celery_app = Celery("imgsync", set_as_current=set_as_current, include=[TASKS_MODULE])
    celery_app.conf.update(celery_config(settings))
    redact_worker_logs()
    prepare_before_fork()
    return celery_app


def process_app(settings: Settings | None = None) -> Celery:
    """This process's app (the tasks' app), configured for ``settings`` when they are given.

    The workers' context keeps the same settings for the tasks.
    """
    found = _PROCESS.get("app")
    if found is not None and settings is None:
        return found
    chosen = settings if settings is not None else Settings.from_env()
    if found is None:
        found = _PROCESS["app"] = create_app(chosen, set_as_current=True)
    else:
        found.conf.update(celery_config(chosen))
    set_settings(chosen)
    return found


def __getattr__(name: str) -> Celery:
    """``app``: the process's app, built on first use (``from imgsync.workers.app import app``)."""
    if name == "app":
        return process_app()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
