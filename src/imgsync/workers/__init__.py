"""Celery side of imgsync: ``celery -A imgsync.workers worker`` finds ``app`` here.

``app`` is built on first use (:func:`imgsync.workers.app.process_app`), so importing
a module of this package reads no settings. The tasks module is not imported here:
workers load it through the app's ``include``, producers send tasks by name (see
:mod:`imgsync.workers.canvas`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from celery import Celery


def __getattr__(name: str) -> Celery:
    if name != "app":
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    from imgsync.workers.app import process_app

    found = process_app()
    # Importing the submodule imgsync.workers.app just bound this name to that module;
    # Celery's find_app wants the instance, as the eager import used to leave it.
    globals()["app"] = found
    return found
