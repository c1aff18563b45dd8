"""Celery side of imgsync: ``celery -A imgsync.workers worker`` finds ``app`` here."""

from imgsync.workers import tasks  # noqa: F401  (registers the tasks)
from imgsync.workers.app import app

__all__ = ["app"]
