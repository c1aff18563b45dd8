"""The click layer: one typed options object per command, precedence, the sync file read once."""

from __future__ import annotations

import ast
import dataclasses
import logging
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from imgsync.config.settings import Settings
from imgsync.producer import sync_command
from imgsync.producer.cli import cli
from imgsync.producer.exit_codes import ExitCode
from imgsync.producer.options import PlanOptions, SyncOptions
from tests.celery_rig import fresh_redis_db
from tests.cli_run import SCRUBBED, base_env, run_imgsync
from tests.rig.redis_server import RedisServer

SRC = Path(__file__).resolve().parent.parent / "src" / "imgsync"
SYNC_FILE = """\
defaults: {concurrency: 5}
images:
  - "busybox:1.36=myrepo/busybox"
"""


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    """No variable of the developer's shell; HOME without a docker config; logging restored."""
    for name in (*SCRUBBED, "IMGSYNC_CONFIG", "IMGSYNC_CONCURRENCY", "IMGSYNC_DEST_PREFIX"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    root.handlers[:], root.level = handlers, level


@pytest.fixture
def seen(monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """What ``sync`` handed down (settings, options, and the plan's settings), instead of a run."""
    found: dict[str, Any] = {}

    def run(settings: Settings, options: SyncOptions) -> int:
        found.update(settings=settings, options=options)
        found["planned"], _ = sync_command.plan_for(settings, options)
        return ExitCode.OK

    monkeypatch.setattr(sync_command, "run_sync_command", run)
    return found


def invoke(args: list[str], **env: str) -> None:
    ran = CliRunner().invoke(cli, args, env=env, catch_exceptions=False)
    assert ran.exit_code == 0, ran.output


def write_sync_file(tmp_path: Path) -> Path:
    path = tmp_path / "sync.yaml"
    path.write_text(SYNC_FILE)
    return path


@pytest.mark.usefixtures("clean_env")
def test_sync_hands_down_one_frozen_typed_options_object(
    seen: dict[str, Any], tmp_path: Path
) -> None:
    report = tmp_path / "r.json"
    invoke(["sync", "nginx=a/b", "-c", "3", "--insecure-registry", "h:1", "--report", str(report)])
    options = seen["options"]
    assert type(options) is SyncOptions
    assert (options.arguments, options.concurrency) == (("nginx=a/b",), 3)
    assert (options.insecure_registries, options.report_path) == (("h:1",), report)
    with pytest.raises(dataclasses.FrozenInstanceError):
        options.concurrency = 4
    assert seen["planned"].concurrency == 3 and seen["planned"].insecure_registries == ("h:1",)


@pytest.mark.usefixtures("clean_env")
def test_a_variable_click_shows_is_left_to_the_settings(seen: dict[str, Any]) -> None:
    invoke(["sync", "nginx=a/b"], IMGSYNC_CONCURRENCY="3", IMGSYNC_INSECURE_REGISTRIES="a:1,b:2")
    assert seen["options"].concurrency is None and seen["options"].insecure_registries == ()
    assert seen["planned"].concurrency == 3
    assert seen["planned"].insecure_registries == ("a:1", "b:2")  # comma list, as settings read it


@pytest.mark.usefixtures("clean_env")
def test_command_line_beats_sync_file_beats_environment(
    seen: dict[str, Any], tmp_path: Path
) -> None:
    path = write_sync_file(tmp_path)
    invoke(["sync"], IMGSYNC_CONFIG=str(path), IMGSYNC_CONCURRENCY="3")
    assert seen["planned"].concurrency == 5
    invoke(["sync", "-c", "7"], IMGSYNC_CONFIG=str(path), IMGSYNC_CONCURRENCY="3")
    assert seen["planned"].concurrency == 7


@pytest.mark.usefixtures("clean_env")
def test_validate_plans_with_plan_options_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    handed: list[PlanOptions] = []
    real = sync_command.plan_for

    def plan_for(settings: Settings, options: PlanOptions) -> Any:
        handed.append(options)
        return real(settings, options)

    monkeypatch.setattr(sync_command, "plan_for", plan_for)
    invoke(["validate", "nginx:1.25", "--dest-prefix", "r.example.com/m"])
    assert handed == [PlanOptions(arguments=("nginx:1.25",), dest_prefix="r.example.com/m")]


def test_exit_codes_are_defined_once() -> None:
    assert [int(code) for code in ExitCode] == [0, 1, 2, 130]
    defined = {
        str(path.relative_to(SRC))
        for path in SRC.rglob("*.py")
        for node in ast.walk(ast.parse(path.read_text()))
        if isinstance(node, ast.Name | ast.Attribute)
        and (node.id if isinstance(node, ast.Name) else node.attr).startswith("EXIT_")
    }
    assert defined == set()


# --------------------------------------------------------------------------- the sync file


def test_a_broken_sync_file_does_not_stop_status_or_runs(
    redis_server: RedisServer, tmp_path: Path
) -> None:
    broken = tmp_path / "broken.yaml"
    broken.write_text("images: [\n")
    with fresh_redis_db(redis_server) as url:
        env = base_env(tmp_path, IMGSYNC_CONFIG=str(broken), IMGSYNC_BROKER_URL=url)
        runs = run_imgsync(["runs"], env)
        status = run_imgsync(["status", "0123456789abcdef"], env)
    assert runs.returncode == ExitCode.OK and "no runs recorded" in runs.stderr, runs.output
    assert "unknown run 0123456789abcdef" in status.stderr, status.output
    assert "broken.yaml" not in runs.output + status.output
    assert run_imgsync(["validate"], env).returncode == ExitCode.INPUT  # it still matters there


#: Runs the CLI in a fresh interpreter and prints how often the sync file was opened.
COUNT_OPENS = textwrap.dedent(
    """\
    import os, runpy, sys
    target, opened = os.path.realpath(os.environ["IMGSYNC_CONFIG"]), []
    def hook(event, args):
        if event == "open" and isinstance(args[0], str | os.PathLike):
            if os.path.realpath(os.fspath(args[0])) == target:
                opened.append(1)
    sys.addaudithook(hook)
    sys.argv = ["imgsync", *sys.argv[1:]]
    try:
        runpy.run_module("imgsync", run_name="__main__")
    except SystemExit as exc:
        print("EXIT", exc.code, "OPENED", len(opened), file=sys.stderr)
    """
)


@pytest.mark.parametrize(
    ("args", "code"),
    [
        (["validate"], ExitCode.OK),
        (["sync", "--broker", "redis://127.0.0.1:1/0"], ExitCode.INPUT),  # plan, app, enqueue
    ],
    ids=["validate", "sync-broker"],
)
def test_imgsync_config_is_read_once(tmp_path: Path, args: list[str], code: ExitCode) -> None:
    env = base_env(tmp_path, IMGSYNC_CONFIG=str(write_sync_file(tmp_path)))
    argv = [sys.executable, "-c", COUNT_OPENS, *args]
    ran = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=60)
    assert f"EXIT {int(code)} OPENED 1" in ran.stderr, ran.stderr


#: Imports that ``--help`` must not pay for: settings (pydantic) are read when a command runs.
HELP_PROBE = (
    "import sys, runpy; sys.argv = ['imgsync', *sys.argv[1:]]\n"
    "try:\n    runpy.run_module('imgsync', run_name='__main__')\n"
    "except SystemExit:\n    pass\n"
    "print('LOADED', sorted({m.split('.')[0] for m in sys.modules} & "
    "{'pydantic', 'celery', 'redis', 'requests', 'yaml'}), file=sys.stderr)"
)


@pytest.mark.parametrize("command", ["", "sync", "validate", "worker", "status"])
def test_help_reads_no_settings_and_imports_nothing_heavy(command: str, tmp_path: Path) -> None:
    argv = [sys.executable, "-c", HELP_PROBE, *command.split(), "--help"]
    ran = subprocess.run(argv, env=base_env(tmp_path), capture_output=True, text=True, timeout=60)
    assert "LOADED []" in ran.stderr, ran.stderr
    assert "[env var:" in ran.stdout or not command
