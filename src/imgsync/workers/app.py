"""The Celery application, configured from the environment's settings."""

from __future__ import annotations

from celery import Celery

from imgsync.config.celery import celery_config
from imgsync.config.settings import Settings
from imgsync.workers.context import set_settings

TASKS_MODULE = "imgsync.workers.tasks"


def create_app(settings: Settings) -> Celery:
    """An app configured for ``settings``; the workers' context keeps them for the tasks.

    Workers import the tasks at start-up (``include``); a producer sends them by name
    and never imports the code that runs them (registries, skopeo, notifiers).
    """
    celery_app = Celery("imgsync", set_as_current=True, include=[TASKS_MODULE])
    configure(celery_app, settings)
    return celery_app


def configure(celery_app: Celery, settings: Settings) -> None:
    celery_app.conf.update(celery_config(settings))
    set_settings(settings)


app = create_app(Settings.from_env())
