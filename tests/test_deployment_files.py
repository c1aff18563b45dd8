"""The deployment files hold together: compose, Dockerfile, the GitHub workflow and action.

There is no Docker engine and no GitHub runner here, so the files are checked the two ways
that catch real mistakes: against their published JSON schemas (the Compose Specification
and SchemaStore's workflow and action schemas, as vendored by the ``check-jsonschema``
package, so no network is needed), and against imgsync's own click commands, so a renamed
option or a service command that does not exist fails here instead of in production.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
from collections.abc import Iterator, Mapping
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import click
import pytest
import yaml
from click.testing import CliRunner
from jsonschema.validators import validator_for

from imgsync.config.settings import ENV_VARS
from imgsync.producer.cli import cli

ROOT = Path(__file__).resolve().parents[1]
COMPOSE = ROOT / "docker-compose.yml"
ENV_EXAMPLE = ROOT / ".env.example"
DOCKERFILE = ROOT / "Dockerfile"
DOCKERIGNORE = ROOT / ".dockerignore"
SYNC_WORKFLOW = ROOT / ".github" / "workflows" / "sync.yml"
CI_WORKFLOW = ROOT / ".github" / "workflows" / "ci.yml"
REQUEST_WORKFLOW = ROOT / ".github" / "workflows" / "request.yml"
ACTION = ROOT / "action.yml"
DEPLOYMENT_DOC = ROOT / "docs" / "deployment.md"

SECRET_NAME = re.compile(r"(_TOKEN|_KEY|PASSWORD|_SECRET)$")
INTERPOLATION = re.compile(r"\$\{(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?P<rest>[^}]*)\}")
ONLY_INTERPOLATION = re.compile(r"^\$\{[A-Za-z_][A-Za-z0-9_]*(?::?[-?][^}]*)?\}$")
URL_PASSWORD = re.compile(r"://[^:/@\s]*:(?P<password>\$\{[^}]*\}|[^@\s]+)@")
GITHUB_EXPRESSION_ON_INPUTS = re.compile(r"\$\{\{[^}]*\binputs\.")


class _Yaml12Loader(yaml.SafeLoader):
    """YAML 1.2 booleans (only true/false), as GitHub and Compose read them.

    PyYAML follows YAML 1.1, where a workflow's ``on:`` key would become ``True``.
    """


_Yaml12Loader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:bool"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_Yaml12Loader.add_implicit_resolver(
    "tag:yaml.org,2002:bool",
    re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"),
    list("tTfF"),
)


def load_yaml(path: Path) -> Any:
    return yaml.load(path.read_text(encoding="utf-8"), Loader=_Yaml12Loader)


@cache
def vendored_schema(name: str) -> dict[str, Any]:
    """A schema shipped by check-jsonschema (``builtin_schemas/vendor/<name>.json``)."""
    vendor = resources.files("check_jsonschema.builtin_schemas.vendor")
    return json.loads(vendor.joinpath(f"{name}.json").read_text(encoding="utf-8"))


def schema_errors(instance: Any, schema_name: str) -> list[str]:
    schema = vendored_schema(schema_name)
    validator = validator_for(schema)(schema)
    return [
        f"/{'/'.join(map(str, error.absolute_path))}: {error.message}"
        for error in validator.iter_errors(instance)
    ]


def interpolate(text: str, env: Mapping[str, str]) -> str:
    """Compose's ``${VAR}``, ``${VAR:-default}`` and ``${VAR:?error}`` against ``env``."""

    def replace(match: re.Match[str]) -> str:
        name, rest = match["name"], match["rest"]
        value = env.get(name, "")
        if rest.startswith((":-", "-")):
            return value or rest.split("-", 1)[1]
        if rest.startswith((":?", "?")) and not value:
            raise AssertionError(f"{name} is required: {rest.split('?', 1)[1]}")
        return value

    return INTERPOLATION.sub(replace, text)


def walk(node: Any, path: str = "") -> Iterator[tuple[str, Any]]:
    """Every (path, scalar) in a YAML document."""
    if isinstance(node, Mapping):
        for key, value in node.items():
            yield from walk(value, f"{path}/{key}")
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from walk(value, f"{path}/{index}")
    else:
        yield path, node


def as_argv(command: str | list[str]) -> list[str]:
    return shlex.split(command) if isinstance(command, str) else [str(arg) for arg in command]


def option_names(command: click.Command) -> set[str]:
    names: set[str] = set()
    for param in command.params:
        if isinstance(param, click.Option):
            names.update(param.opts, param.secondary_opts)
    return names | set(command.get_help_option_names(click.Context(command)))


def unknown_options(argv: list[str]) -> list[str]:
    """Options in an ``imgsync ...`` argv that the command does not have."""
    command: click.Command = cli
    tokens = list(argv)
    if tokens and not tokens[0].startswith("-"):
        sub = cli.commands.get(tokens[0])
        if sub is None:
            return [f"no such command: {tokens[0]}"]
        command, tokens = sub, tokens[1:]
    known = option_names(command)
    return [
        token
        for token in tokens
        if token.startswith("-") and token != "-" and token.split("=", 1)[0] not in known
    ]


def imgsync_invocations(script: str) -> list[list[str]]:
    """The literal ``imgsync ...`` command lines of a shell script (up to a redirection or pipe)."""
    found = []
    for line in script.replace("\\\n", " ").splitlines():
        try:
            lexer = shlex.shlex(line, posix=True, punctuation_chars=True)
            lexer.whitespace_split = True
            tokens = list(lexer)
        except ValueError:
            continue
        if "imgsync" not in tokens:
            continue
        argv = []
        for token in tokens[tokens.index("imgsync") + 1 :]:
            if set(token) <= set("();<>|&"):
                break
            argv.append(token)
        found.append(argv)
    return found


def run_scripts(document: Mapping[str, Any]) -> Iterator[str]:
    for path, value in walk(document):
        if path.endswith("/run") and isinstance(value, str):
            yield value


# --------------------------------------------------------------------------- compose


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return load_yaml(COMPOSE)


@pytest.fixture(scope="module")
def env_example() -> dict[str, str]:
    """The ``.env.example`` assignments, commented-out ones included (``# NAME=value``)."""
    values = {}
    for line in ENV_EXAMPLE.read_text(encoding="utf-8").splitlines():
        match = re.match(r"^#?\s*([A-Z][A-Z0-9_]*)=(.*)$", line)
        if match:
            values[match[1]] = match[2]
    return values


def services_from_our_image(compose: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    return {name: svc for name, svc in compose["services"].items() if "build" in svc}


def test_compose_file_matches_the_compose_specification(compose: dict[str, Any]) -> None:
    assert schema_errors(compose, "compose-spec") == []


def test_compose_file_still_matches_once_interpolated(env_example: dict[str, str]) -> None:
    env = {**env_example, "REDIS_PASSWORD": "example-password"}
    interpolated = yaml.load(
        interpolate(COMPOSE.read_text(encoding="utf-8"), env), Loader=_Yaml12Loader
    )
    assert schema_errors(interpolated, "compose-spec") == []
    broker = interpolated["services"]["worker"]["environment"]["IMGSYNC_BROKER_URL"]
    assert broker == "redis://:example-password@redis:6379/0"


def test_the_compose_schema_rejects_what_compose_would_reject(compose: dict[str, Any]) -> None:
    broken = json.loads(json.dumps(compose))
    broken["services"]["worker"]["comand"] = ["worker"]
    assert any("comand" in error for error in schema_errors(broken, "compose-spec"))


def test_every_service_built_from_our_image_runs_a_real_imgsync_command(
    compose: dict[str, Any],
) -> None:
    services = services_from_our_image(compose)
    assert set(services) >= {"worker", "producer"}
    runner = CliRunner()
    for name, service in services.items():
        argv = as_argv(service["command"])
        result = runner.invoke(cli, [*argv, "--help"])
        assert result.exit_code == 0, f"{name}: {argv}: {result.output}"
        command = cli.commands[argv[0]]
        command.make_context(argv[0], argv[1:])  # parses and converts every value


def test_workers_are_scalable_and_wait_for_a_healthy_redis(compose: dict[str, Any]) -> None:
    worker = compose["services"]["worker"]
    assert as_argv(worker["command"]) == ["worker", "--concurrency", "2"]
    assert "container_name" not in worker
    assert "ports" not in worker
    assert worker["depends_on"]["redis"]["condition"] == "service_healthy"
    assert worker["env_file"] in (".env", [".env"])
    broker = worker["environment"]["IMGSYNC_BROKER_URL"]
    assert broker.startswith("redis://:${REDIS_PASSWORD")
    assert broker.endswith("@redis:6379/0")


def test_redis_is_persistent_password_protected_and_not_published(
    compose: dict[str, Any],
) -> None:
    redis = compose["services"]["redis"]
    assert redis["image"].startswith("redis:7")
    assert "ports" not in redis
    command = as_argv(redis["command"])
    assert command[command.index("--appendonly") + 1] == "yes"
    assert ONLY_INTERPOLATION.match(command[command.index("--requirepass") + 1])
    assert "redis-cli ping" in " ".join(redis["healthcheck"]["test"])
    volume = redis["volumes"][0].split(":")[0]
    assert volume in compose["volumes"], "Redis data lives on a named volume"


def test_the_producer_is_a_one_shot_sync_writing_its_report_to_a_volume(
    compose: dict[str, Any],
) -> None:
    producer = compose["services"]["producer"]
    assert "producer" in producer.get("profiles", []) or producer.get("restart") == "no"
    argv = as_argv(producer["command"])
    assert argv[0] == "sync"
    report = Path(argv[argv.index("--report") + 1])
    mounts = [volume.split(":")[1] for volume in producer["volumes"]]
    assert any(report.is_relative_to(mount) for mount in mounts)
    assert producer["env_file"] in (".env", [".env"])


def test_flower_listens_on_loopback_only(compose: dict[str, Any]) -> None:
    flower = compose["services"]["flower"]
    assert flower["ports"], "Flower publishes its dashboard"
    for port in flower["ports"]:
        assert str(port).startswith("127.0.0.1:"), port
    assert "5555" in str(flower["ports"][0])


def test_only_flower_publishes_a_port(compose: dict[str, Any]) -> None:
    published = {name for name, svc in compose["services"].items() if svc.get("ports")}
    assert published == {"flower"}


def literal_secrets(document: Any) -> list[str]:
    """Paths of secret-named keys, and of URLs, whose secret is not a ``${...}`` interpolation."""
    found = []
    for path, value in walk(document):
        key = path.rsplit("/", 1)[-1]
        if SECRET_NAME.search(key) and not ONLY_INTERPOLATION.match(str(value)):
            found.append(path)
        for match in URL_PASSWORD.finditer(str(value)):
            if not ONLY_INTERPOLATION.match(match["password"]):
                found.append(path)
    previous = None
    for path, value in walk(document):
        if previous == "--requirepass" and not ONLY_INTERPOLATION.match(str(value)):
            found.append(path)
        previous = value
    return found


def test_compose_file_holds_no_literal_secret(compose: dict[str, Any]) -> None:
    assert literal_secrets(compose) == []


def test_the_secret_check_finds_literal_secrets() -> None:
    document = {
        "environment": {
            "DOCKERHUB_TOKEN": "dckr_pat_123",
            "WPUSH_KEY": "${WPUSH_KEY}",
            "BROKER": "redis://:hunter2@redis:6379/0",
            "OK_BROKER": "redis://:${REDIS_PASSWORD:?set it}@redis:6379/0",
        },
        "command": ["redis-server", "--requirepass", "hunter2"],
    }
    assert literal_secrets(document) == [
        "/environment/DOCKERHUB_TOKEN",
        "/environment/BROKER",
        "/command/2",
    ]


def test_env_example_lists_every_variable_imgsync_and_compose_read(
    env_example: dict[str, str],
) -> None:
    text = COMPOSE.read_text(encoding="utf-8")
    referenced = {match["name"] for match in INTERPOLATION.finditer(text)}
    missing = (set(ENV_VARS) | referenced) - set(env_example)
    assert not missing, f".env.example lacks {sorted(missing)}"


def test_env_example_has_no_secret_values(env_example: dict[str, str]) -> None:
    for name, value in env_example.items():
        if SECRET_NAME.search(name) or name in {"IMGSYNC_BROKER_URL", "IMGSYNC_NOTIFY"}:
            assert value == "", f"{name} must be empty in .env.example"


# --------------------------------------------------------------------------- Dockerfile


def test_dockerfile_builds_a_non_root_imgsync_image_with_skopeo() -> None:
    text = DOCKERFILE.read_text(encoding="utf-8")
    instructions = [line for line in text.splitlines() if line and not line.startswith("#")]
    assert instructions[0] == "FROM python:3.11-slim-bookworm"
    assert re.search(r"apt-get install [^\n]*\bskopeo\b", text)
    assert re.search(r"useradd [^\n]*imgsync", text)
    users = [line.split()[1] for line in instructions if line.startswith("USER ")]
    assert users and users[-1] == "imgsync", "the last USER is the non-root imgsync user"
    assert re.search(r"pip install /tmp/imgsync-src", text)
    assert 'ENTRYPOINT ["imgsync"]' in instructions


def test_dockerignore_lets_in_what_pip_install_needs_and_nothing_else() -> None:
    lines = [
        line.strip()
        for line in DOCKERIGNORE.read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.startswith("#")
    ]
    assert lines[0] == "*", "an allow-list: secrets like .env never reach the build context"
    assert {"!pyproject.toml", "!src/"} <= set(lines)
    assert (ROOT / "pyproject.toml").is_file()
    assert (ROOT / "src" / "imgsync").is_dir()


# --------------------------------------------------------------------------- workflows


@pytest.fixture(scope="module")
def sync_workflow() -> dict[str, Any]:
    return load_yaml(SYNC_WORKFLOW)


def _action_step(workflow: Mapping[str, Any]) -> dict[str, Any]:
    steps = [step for job in workflow["jobs"].values() for step in job.get("steps", [])]
    (step,) = [step for step in steps if step.get("uses") == "./"]
    return step


@pytest.mark.parametrize(
    "path", [SYNC_WORKFLOW, CI_WORKFLOW, REQUEST_WORKFLOW], ids=lambda p: p.name
)
def test_workflow_matches_the_github_workflow_schema(path: Path) -> None:
    assert schema_errors(load_yaml(path), "github-workflows") == []


def test_sync_workflow_runs_nightly_and_on_demand_with_mappings(
    sync_workflow: dict[str, Any],
) -> None:
    triggers = sync_workflow["on"]
    assert "sync_mappings" in triggers["workflow_dispatch"]["inputs"]
    assert triggers["schedule"] and all("cron" in entry for entry in triggers["schedule"])
    assert sync_workflow["concurrency"]["group"]
    assert sync_workflow["concurrency"].get("cancel-in-progress") is False


def test_sync_workflow_uses_the_local_action_and_its_secrets(
    sync_workflow: dict[str, Any],
) -> None:
    text = SYNC_WORKFLOW.read_text(encoding="utf-8")
    for secret in ("DOCKERHUB_USERNAME", "DOCKERHUB_TOKEN", "WPUSH_KEY", "IMGSYNC_BROKER_URL"):
        assert f"secrets.{secret}" in text
    step = _action_step(sync_workflow)
    mappings = step["with"]["mappings"].replace(" ", "")
    assert "inputs.sync_mappings||vars.DOCKER_SYNC_MAPPINGS" in mappings, "input overrides var"
    assert "secrets.IMGSYNC_BROKER_URL" in step["with"]["broker-url"]
    assert set(step["with"]) <= set(load_yaml(ACTION)["inputs"])


def test_sync_workflow_uploads_the_report_even_when_the_run_failed(
    sync_workflow: dict[str, Any],
) -> None:
    steps = [step for job in sync_workflow["jobs"].values() for step in job["steps"]]
    (upload,) = [s for s in steps if str(s.get("uses", "")).startswith("actions/upload-artifact")]
    assert "always()" in upload["if"]
    assert "steps.sync.outputs.report-path" in upload["with"]["path"]


def test_ci_workflow_runs_the_ci_script() -> None:
    workflow = load_yaml(CI_WORKFLOW)
    for job in workflow["jobs"].values():
        assert any(step.get("run") == "bash .ci/run" for step in job["steps"])


# --------------------------------------------------------------------------- action


@pytest.fixture(scope="module")
def action() -> dict[str, Any]:
    return load_yaml(ACTION)


def _sync_step(action: Mapping[str, Any]) -> dict[str, Any]:
    (step,) = [step for step in action["runs"]["steps"] if step.get("id") == "sync"]
    return step


def test_action_matches_the_github_action_schema(action: dict[str, Any]) -> None:
    assert schema_errors(action, "github-actions") == []


def test_action_is_composite_with_the_documented_inputs_and_outputs(
    action: dict[str, Any],
) -> None:
    assert action["runs"]["using"] == "composite"
    expected_inputs = {
        "mappings",
        "dest-prefix",
        "notify-on",
        "broker-url",
        "concurrency",
        "dry-run",
        "insecure-registries",
        "python-version",
        "version",
        "install-from",
    }
    assert expected_inputs <= set(action["inputs"])
    assert {"report-path", "synced", "skipped", "failed"} <= set(action["outputs"])
    for name, output in action["outputs"].items():
        assert output["value"] == f"${{{{ steps.sync.outputs.{name} }}}}"


def test_action_scripts_read_inputs_only_through_the_environment(action: dict[str, Any]) -> None:
    for script in run_scripts(action):
        assert not GITHUB_EXPRESSION_ON_INPUTS.search(script), script


def test_action_masks_the_broker_url(action: dict[str, Any]) -> None:
    scripts = "\n".join(run_scripts(action))
    assert '::add-mask::$IN_BROKER_URL"' in scripts
    sync_script = _sync_step(action)["run"]
    assert "--broker" not in sync_script, "the broker URL goes through the environment"


def test_action_calls_imgsync_only_with_options_that_exist(action: dict[str, Any]) -> None:
    script = _sync_step(action)["run"]
    arrays = re.findall(r"\bargs(\+?)=\(([^)]*)\)", script)
    assert arrays and arrays[0][0] == "", "the script starts an args=(...) array"
    argv = [token for _, body in arrays for token in shlex.split(body)]
    assert argv[0] == "sync"
    assert unknown_options([t for t in argv if not t.startswith("$")]) == []
    for script in run_scripts(action):
        for invocation in imgsync_invocations(script):
            literal = [t for t in invocation if not t.startswith("$")]
            assert unknown_options(literal) == [], invocation


@pytest.fixture
def fake_imgsync(tmp_path: Path) -> Path:
    """An ``imgsync`` that records its argv, writes a report when asked, and exits as told."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    script = bin_dir / "imgsync"
    script.write_text(
        f"#!{sys.executable}\n"
        "import json, os, sys\n"
        "args = sys.argv[1:]\n"
        "with open(os.environ['FAKE_ARGV'], 'w') as f: json.dump(args, f)\n"
        "with open(os.environ['FAKE_ENV'], 'w') as f:\n"
        "    json.dump({k: os.environ.get(k) for k in ('IMGSYNC_BROKER_URL',)}, f)\n"
        "if os.environ.get('FAKE_WRITE_REPORT') == '1':\n"
        "    summary = {'synced': 2, 'skipped': 3, 'failed': 1, 'would_sync': 0}\n"
        "    path = args[args.index('--report') + 1]\n"
        "    with open(path, 'w') as f: json.dump({'summary': summary, 'results': []}, f)\n"
        "sys.exit(int(os.environ['FAKE_EXIT']))\n",
        encoding="utf-8",
    )
    script.chmod(0o755)
    # The action's `python` (actions/setup-python provides one on a runner).
    python = bin_dir / "python"
    python.write_text(f'#!/bin/sh\nexec "{sys.executable}" "$@"\n', encoding="utf-8")
    python.chmod(0o755)
    return bin_dir


def _run_sync_step(
    action: Mapping[str, Any],
    tmp_path: Path,
    bin_dir: Path,
    inputs: Mapping[str, str],
    *,
    exit_code: int,
    write_report: bool,
) -> tuple[subprocess.CompletedProcess[str], dict[str, str], list[str], dict[str, Any]]:
    """Run the action's Sync step as the runner would (bash -e), with ``imgsync`` faked."""
    step = _sync_step(action)
    script = tmp_path / "sync.sh"
    script.write_text(step["run"], encoding="utf-8")
    output_file = tmp_path / "github_output"
    output_file.touch()
    runner_temp = tmp_path / "runner_temp"
    runner_temp.mkdir(exist_ok=True)
    defaults = {name: str(spec.get("default", "")) for name, spec in action["inputs"].items()}
    given = {**defaults, **inputs}
    env = {
        "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}",
        "RUNNER_TEMP": str(runner_temp),
        "GITHUB_RUN_ID": "42",
        "GITHUB_RUN_ATTEMPT": "1",
        "GITHUB_OUTPUT": str(output_file),
        "FAKE_ARGV": str(tmp_path / "argv.json"),
        "FAKE_ENV": str(tmp_path / "env.json"),
        "FAKE_EXIT": str(exit_code),
        "FAKE_WRITE_REPORT": "1" if write_report else "0",
    }
    for name, value in step["env"].items():
        match = re.fullmatch(r"\$\{\{ inputs\.([a-z-]+) \}\}", value)
        assert match, f"{name} is set from one input: {value}"
        env[name] = given[match[1]]
    completed = subprocess.run(
        ["bash", "--noprofile", "--norc", "-eo", "pipefail", str(script)],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    outputs = dict(
        line.split("=", 1) for line in output_file.read_text(encoding="utf-8").splitlines()
    )
    argv = json.loads((tmp_path / "argv.json").read_text(encoding="utf-8"))
    seen_env = json.loads((tmp_path / "env.json").read_text(encoding="utf-8"))
    return completed, outputs, argv, seen_env


def test_action_sets_its_outputs_before_failing_with_imgsyncs_exit_code(
    action: dict[str, Any], tmp_path: Path, fake_imgsync: Path
) -> None:
    inputs = {
        "mappings": "nginx=myuser/nginx,redis:7=myuser/redis",
        "dest-prefix": "registry.example.com/mirror",
        "notify-on": "failure",
        "concurrency": "4",
        "dry-run": "true",
        "insecure-registries": "localhost:5000, 127.0.0.1:5001",
        "broker-url": "rediss://:s3cret@broker.example.com:6380/0?ssl_cert_reqs=required",
    }
    completed, outputs, argv, seen_env = _run_sync_step(
        action, tmp_path, fake_imgsync, inputs, exit_code=1, write_report=True
    )
    assert completed.returncode == 1, completed.stderr
    assert outputs["exit-code"] == "1"
    assert (outputs["synced"], outputs["skipped"], outputs["failed"]) == ("2", "3", "1")
    assert Path(outputs["report-path"]).is_file()
    # What the action passed is a valid `imgsync sync` command line, values included.
    assert argv[0] == "sync"
    context = cli.commands["sync"].make_context("sync", argv[1:])
    assert context.params["mappings"] == inputs["mappings"]
    assert context.params["dry_run"] is True
    assert context.params["insecure_registries"] == ("localhost:5000", "127.0.0.1:5001")
    assert "s3cret" not in " ".join(argv), "the broker URL never reaches argv"
    assert seen_env["IMGSYNC_BROKER_URL"] == inputs["broker-url"]


def test_action_without_a_report_sets_zero_counts_and_keeps_the_exit_code(
    action: dict[str, Any], tmp_path: Path, fake_imgsync: Path
) -> None:
    completed, outputs, argv, seen_env = _run_sync_step(
        action, tmp_path, fake_imgsync, {}, exit_code=2, write_report=False
    )
    assert completed.returncode == 2
    assert outputs["report-path"] == ""
    assert (outputs["synced"], outputs["skipped"], outputs["failed"]) == ("0", "0", "0")
    assert argv[:1] == ["sync"] and "--mappings" not in argv, "empty inputs add no options"
    assert seen_env["IMGSYNC_BROKER_URL"] is None, "no broker input: embedded mode"


def test_a_successful_run_exits_zero(
    action: dict[str, Any], tmp_path: Path, fake_imgsync: Path
) -> None:
    completed, outputs, _, _ = _run_sync_step(
        action, tmp_path, fake_imgsync, {}, exit_code=0, write_report=True
    )
    assert completed.returncode == 0, completed.stderr
    assert outputs["exit-code"] == "0"


# --------------------------------------------------------------------------- docs


def _doc_blocks(language: str) -> list[str]:
    text = DEPLOYMENT_DOC.read_text(encoding="utf-8")
    return re.findall(rf"^```{language}\n(.*?)^```$", text, flags=re.MULTILINE | re.DOTALL)


def test_deployment_doc_covers_compose_tls_and_the_three_actions_variants() -> None:
    text = DEPLOYMENT_DOC.read_text(encoding="utf-8")
    assert "docker compose up -d --scale worker=" in text
    assert "rediss://:PASSWORD@host:6380/0?ssl_cert_reqs=required" in text
    for heading in ("Embedded", "Producer only", "cluster inside one job"):
        assert re.search(rf"^### \d\. .*{heading}", text, flags=re.MULTILINE), heading


def test_the_docs_workflow_snippet_is_a_valid_workflow_using_real_commands() -> None:
    workflows = [
        doc
        for doc in (yaml.load(b, Loader=_Yaml12Loader) for b in _doc_blocks("yaml"))
        if isinstance(doc, dict) and "jobs" in doc
    ]
    assert workflows, "docs/deployment.md shows a workflow with background workers"
    for workflow in workflows:
        assert schema_errors(workflow, "github-workflows") == []
        invocations = [i for s in run_scripts(workflow) for i in imgsync_invocations(s)]
        assert any(argv[:1] == ["worker"] for argv in invocations)
        for argv in invocations:
            assert unknown_options(argv) == [], argv


def test_the_docs_shell_examples_use_real_imgsync_options() -> None:
    for block in _doc_blocks("sh"):
        for line in block.splitlines():
            match = re.search(r"(?:imgsync|producer)\s+((?:validate|sync|status|worker)\b.*)", line)
            if match:
                argv = shlex.split(match[1], comments=True)
                assert unknown_options(argv) == [], line
