"""Celery side of imgsync: ``celery -A imgsync.workers worker`` finds ``app`` here.

The tasks module is not imported here: workers load it through the app's ``include``,
producers send tasks by name (see :mod:`imgsync.workers.canvas`).
"""

from imgsync.workers.app import app

__all__ = ["app"]
