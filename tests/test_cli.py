"""The command line's contract: where mappings come from, exit codes, clear errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from imgsync import __version__
from tests.cli_run import base_env, run_imgsync

PLAN = [
    {"source": "docker.io/library/nginx:latest", "destination": "docker.io/myrepo/nginx:latest"},
    {"source": "docker.io/library/alpine:3.18", "destination": "docker.io/myrepo/alpine:stable"},
]
SEED = "nginx=myrepo/nginx,alpine:3.18=myrepo/alpine:stable"


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    return base_env(tmp_path)


def test_validate_prints_the_issue_example_as_json(env: dict[str, str]) -> None:
    ran = run_imgsync(["validate", SEED, "--json"], env)
    assert ran.returncode == 0, ran.stderr
    assert json.loads(ran.stdout) == PLAN


def test_validate_prints_one_arrow_line_per_item(env: dict[str, str]) -> None:
    ran = run_imgsync(["validate", SEED], env)
    assert ran.stdout.splitlines() == [f"{p['source']} -> {p['destination']}" for p in PLAN]


def test_mappings_come_from_file_stdin_and_environment(env: dict[str, str], tmp_path: Path) -> None:
    listing = tmp_path / "mappings.txt"
    listing.write_text("# mirror list\nnginx=myrepo/nginx\n\nalpine:3.18=myrepo/alpine:stable,\n")
    from_file = run_imgsync(["validate", "--json", "--file", str(listing)], env)
    from_stdin = run_imgsync(["validate", "--json", "--file", "-"], env, stdin=listing.read_text())
    from_env = run_imgsync(["validate", "--json"], {**env, "DOCKER_SYNC_MAPPINGS": SEED})
    assert [json.loads(r.stdout) for r in (from_file, from_stdin, from_env)] == [PLAN] * 3


def test_arguments_win_over_the_environment(env: dict[str, str]) -> None:
    ran = run_imgsync(
        ["validate", "--json", "busybox=me/bb"], {**env, "DOCKER_SYNC_MAPPINGS": SEED}
    )
    assert [item["source"] for item in json.loads(ran.stdout)] == [
        "docker.io/library/busybox:latest"
    ]


def test_bare_destination_uses_dockerhub_username(env: dict[str, str]) -> None:
    ran = run_imgsync(["validate", "--json", "nginx=mynginx"], {**env, "DOCKERHUB_USERNAME": "me"})
    assert json.loads(ran.stdout)[0]["destination"] == "docker.io/me/mynginx:latest"
    without = run_imgsync(["validate", "nginx=mynginx"], env)
    assert without.returncode == 2 and "DOCKERHUB_USERNAME" in without.stderr


def test_dest_prefix_from_option_and_environment(env: dict[str, str]) -> None:
    option = run_imgsync(
        ["validate", "--json", "--dest-prefix", "reg.example.com/m", "nginx:1.25"], env
    )
    variable = run_imgsync(
        ["validate", "--json", "nginx:1.25"], {**env, "IMGSYNC_DEST_PREFIX": "reg.example.com/m"}
    )
    expected = "reg.example.com/m/nginx:1.25"
    assert json.loads(option.stdout)[0]["destination"] == expected
    assert json.loads(variable.stdout)[0]["destination"] == expected


@pytest.mark.parametrize(
    ("args", "extra_env", "message"),
    [
        (["validate"], {}, "no mappings given"),
        (["validate", "--file", "/nonexistent/list.txt"], {}, "/nonexistent/list.txt"),
        (["sync", "nginx=a/b", "--report", "/proc/no/such/r.json"], {}, "/proc/no/such/r.json"),
        (["sync", "nginx=a/b"], {"IMGSYNC_CONCURRENCY": "many"}, "IMGSYNC_CONCURRENCY"),
        (["sync", "nginx=a/b"], {"IMGSYNC_NOTIFY_ON": "sometimes"}, "IMGSYNC_NOTIFY_ON"),
        (["sync", "nginx=a/b", "--notify", "notascheme://x"], {}, "notascheme"),
        (["sync", "nginx=a/b"], {"WXPUSHER_APP_TOKEN": "AT_x"}, "WxPusher"),
        (["validate", "nginx=a/b,alpine=a/b"], {}, "item 2"),
    ],
    ids=[
        "nothing",
        "missing-file",
        "unwritable-report",
        "bad-int",
        "bad-choice",
        "bad-apprise-url",
        "wxpusher-without-uid",
        "duplicate-destination",
    ],
)
def test_bad_input_exits_2_with_one_clear_error(
    env: dict[str, str], args: list[str], extra_env: dict[str, str], message: str
) -> None:
    ran = run_imgsync(args, {**env, **extra_env})
    assert ran.returncode == 2, ran.output
    assert message in ran.stderr
    assert "Traceback" not in ran.stderr
    assert ran.stdout == ""


def test_version_and_help(env: dict[str, str]) -> None:
    assert run_imgsync(["--version"], env).stdout.strip().endswith(__version__)
    helped = run_imgsync(["sync", "--help"], env)
    for option in (
        "--concurrency",
        "--check-concurrency",
        "--dry-run",
        "--report",
        "--summary-markdown",
        "--insecure-registry",
        "--authfile",
        "--notify",
        "--notify-on",
        "--broker",
        "--no-wait",
        "--quiet",
    ):
        assert option in helped.stdout


@pytest.mark.parametrize(
    ("extra_env", "message"),
    [
        (
            {"IMGSYNC_TASK_TIME_LIMIT": "600", "IMGSYNC_TASK_SOFT_TIME_LIMIT": "900"},
            "IMGSYNC_TASK_SOFT_TIME_LIMIT",
        ),
        ({"IMGSYNC_TASK_TIME_LIMIT": "9000"}, "IMGSYNC_VISIBILITY_TIMEOUT"),
    ],
    ids=["soft-above-hard", "visibility-below-hard"],
)
def test_inconsistent_time_limits_are_refused_before_anything_is_enqueued(
    env: dict[str, str], extra_env: dict[str, str], message: str
) -> None:
    broker = {"IMGSYNC_BROKER_URL": "redis://127.0.0.1:1/0"}
    ran = run_imgsync(["sync", "nginx=a/b"], {**env, **broker, **extra_env})
    assert ran.returncode == 2, ran.output
    assert message in ran.stderr and "Traceback" not in ran.stderr


def test_only_a_hard_limit_given_derives_a_lower_soft_limit(env: dict[str, str]) -> None:
    from imgsync.config.celery import celery_config
    from imgsync.config.settings import Settings

    conf = celery_config(Settings.from_env({"IMGSYNC_TASK_TIME_LIMIT": "600"}))
    assert conf["task_time_limit"] == 600 and conf["task_soft_time_limit"] == 540
