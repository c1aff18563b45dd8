"""``.github/workflows/request.yml`` and the README's setup hold together and stay safe.

There is no GitHub runner here: the workflow is checked against SchemaStore's workflow
schema (in tests/test_deployment_files.py, with the others) and here against the rules a
public issue tracker needs: no issue text spliced into a script, minimal permissions, one
run per issue, a time bound, bots ignored, and only options ``imgsync request`` has.
"""

from __future__ import annotations

import re
import shlex
import textwrap
from pathlib import Path
from typing import Any

import click
import pytest

from imgsync.config.allowlist_file import load_allowlist
from imgsync.core.request_comment import LABELS
from imgsync.producer.cli import cli
from tests.test_deployment_files import load_yaml, schema_errors

ROOT = Path(__file__).resolve().parents[1]
WORKFLOW = ROOT / ".github" / "workflows" / "request.yml"
README = (ROOT / "README.md").read_text(encoding="utf-8")
EVENT_EXPRESSION = re.compile(r"\$\{\{[^}]*github\.event")


@pytest.fixture(scope="module")
def workflow() -> dict[str, Any]:
    data: dict[str, Any] = load_yaml(WORKFLOW)
    return data


def steps(workflow: dict[str, Any]) -> list[dict[str, Any]]:
    return [step for job in workflow["jobs"].values() for step in job["steps"]]


def test_it_runs_on_new_issues_and_new_comments_only(workflow: dict[str, Any]) -> None:
    assert workflow["on"] == {
        "issues": {"types": ["opened"]},
        "issue_comment": {"types": ["created"]},
    }


def test_its_token_can_write_issues_and_read_contents_nothing_more(
    workflow: dict[str, Any],
) -> None:
    assert workflow["permissions"] == {"contents": "read", "issues": "write"}
    assert all("permissions" not in job for job in workflow["jobs"].values())


def test_one_run_at_a_time_per_issue_each_with_a_time_bound(workflow: dict[str, Any]) -> None:
    assert "github.event.issue.number" in workflow["concurrency"]["group"]
    assert workflow["concurrency"]["cancel-in-progress"] is False
    assert all(0 < job["timeout-minutes"] <= 60 for job in workflow["jobs"].values())


def test_bots_pull_requests_and_other_comments_do_not_start_it(workflow: dict[str, Any]) -> None:
    (job,) = workflow["jobs"].values()
    condition = " ".join(job["if"].split())
    for part in (
        "!github.event.issue.pull_request",
        "startsWith(github.event.comment.body, '/sync')",
        "github.event.comment.user.type != 'Bot'",
        "github.event.comment.user.login != 'github-actions[bot]'",
        "vars.IMGSYNC_DEST_PREFIX != ''",
    ):
        assert part in condition


def test_no_script_splices_an_expression_about_the_event(workflow: dict[str, Any]) -> None:
    """``${{ github.event.issue.title }}`` in a script is shell injection; env and files only."""
    for step in steps(workflow):
        assert not EVENT_EXPRESSION.search(step.get("run", "")), step["name"]
        assert "${{" not in step.get("run", ""), step["name"]


def test_imgsync_is_called_with_options_it_has_and_its_token_through_the_environment(
    workflow: dict[str, Any],
) -> None:
    (step,) = [s for s in steps(workflow) if "imgsync request" in s.get("run", "")]
    argv = shlex.split(step["run"])
    command = cli.commands["request"]
    known = {opt for p in command.params if isinstance(p, click.Option) for opt in p.opts}
    given = [arg for arg in argv[2:] if arg.startswith("--")]
    assert given and set(given) <= known
    assert step["env"]["GITHUB_TOKEN"] == "${{ secrets.GITHUB_TOKEN }}"
    assert "GITHUB_TOKEN" not in step["run"]


def test_the_schema_check_catches_a_broken_request_workflow(workflow: dict[str, Any]) -> None:
    broken = {**workflow, "permissions": {"issues": "admin"}}
    assert schema_errors(broken, "github-workflows") != []


def _readme_section() -> str:
    return README.split("## Self-service mirror", 1)[1].split("\n## ", 1)[0]


def test_the_readme_allowlist_example_is_a_valid_allowlist(tmp_path: Path) -> None:
    found = re.search(
        r"```yaml\n( *# \.github/mirror-allowlist\.yaml\n.*?) *```", _readme_section(), re.S
    )
    assert found is not None
    path = tmp_path / "mirror-allowlist.yaml"
    path.write_text(textwrap.dedent(found[1]))
    allowlist = load_allowlist(path)
    assert len(allowlist.allow) == 3 and allowlist.deny and allowlist.max_per_issue == 10


def test_the_readme_names_the_workflow_its_settings_and_every_label() -> None:
    section = _readme_section()
    for needed in ("request.yml", "IMGSYNC_DEST_PREFIX", "MIRROR_PASSWORD", "/sync", *LABELS):
        assert needed in section, needed
