"""The Celery app factory: apps built from settings in-process, and ``celery -A`` still served."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from imgsync.config.settings import Settings
from imgsync.workers.app import create_app
from tests.cli_run import base_env


def test_two_apps_in_one_process_keep_their_own_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IMGSYNC_BROKER_URL", "redis://from-the-environment:6379/0")
    monkeypatch.setenv("IMGSYNC_TASK_TIME_LIMIT", "not even a number")
    first = create_app(Settings.build({"broker_url": "redis://a:6379/1", "task_time_limit": 600}))
    second = create_app(
        Settings.build({"broker_url": "amqp://b:5672//", "queue": "other", "task_time_limit": 900})
    )
    assert (first.conf.broker_url, second.conf.broker_url) == (
        "redis://a:6379/1",
        "amqp://b:5672//",
    )
    assert (first.conf.task_time_limit, first.conf.task_soft_time_limit) == (600, 540)
    assert (second.conf.task_time_limit, second.conf.task_soft_time_limit) == (900, 840)
    assert (first.conf.task_default_queue, second.conf.task_default_queue) == ("imgsync", "other")


#: What ``celery -A imgsync.workers`` does first: find the app, in a fresh interpreter.
FIND_APP = """\
import json, os
import imgsync.workers.launch, imgsync.workers.names  # a broken variable: importing reads none
os.environ["IMGSYNC_TASK_TIME_LIMIT"] = "600"
from celery.app.utils import find_app
app = find_app("imgsync.workers")
import imgsync.workers.tasks  # what the worker imports next: the tasks join the same app
from imgsync.workers import app as again
print(json.dumps({
    "type": type(app).__name__, "same": app is again, "broker": app.conf.broker_url,
    "limit": app.conf.task_time_limit, "tasks": sorted(t for t in app.tasks if "imgsync" in t),
}))
"""


def test_celery_finds_the_app_built_from_the_environment_on_first_use(tmp_path: Path) -> None:
    env = base_env(
        tmp_path, IMGSYNC_BROKER_URL="redis://127.0.0.1:1/3", IMGSYNC_TASK_TIME_LIMIT="bad"
    )
    ran = subprocess.run(
        [sys.executable, "-c", FIND_APP], env=env, capture_output=True, text=True, timeout=60
    )
    assert ran.returncode == 0, ran.stderr
    found = json.loads(ran.stdout)
    assert found["type"] == "Celery" and found["same"] is True
    assert (found["broker"], found["limit"]) == ("redis://127.0.0.1:1/3", 600)
    assert "imgsync.sync_image" in found["tasks"]
