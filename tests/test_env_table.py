"""The variables imgsync reads, the ones ``--help`` shows, and the README's table: one list."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import click

from imgsync.config.settings import ENV_VARS, Settings
from imgsync.config.variables import VARIABLES
from imgsync.producer.cli import cli

ROOT = Path(__file__).resolve().parent.parent
README_ROW = re.compile(r"^\| `([A-Z][A-Z0-9_]+)` \|", re.MULTILINE)


def click_envvars() -> dict[str, str]:
    """``{variable: "command --option"}`` for every option that names a variable."""
    found = {}
    for name, command in cli.commands.items():
        for param in command.params:
            if isinstance(param, click.Option) and param.envvar:
                found[str(param.envvar)] = f"{name} {param.opts[0]}"
                assert param.show_envvar, f"{name} {param.opts[0]} hides {param.envvar}"
    return found


def readme_table() -> str:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text.split("## Environment variables", 1)[1].split("\n## ", 1)[0]
    return section


def test_readme_table_is_the_one_the_script_writes() -> None:
    script = ROOT / "scripts" / "env_table.py"
    ran = subprocess.run(
        [sys.executable, str(script), "--check"], capture_output=True, text=True, timeout=60
    )
    assert ran.returncode == 0, ran.stderr


def test_readme_lists_exactly_the_variables_the_code_reads() -> None:
    listed = README_ROW.findall(readme_table())
    assert sorted(listed) == sorted(set(listed)), "a variable is listed twice"
    assert set(listed) == set(ENV_VARS) | set(click_envvars())


def test_every_variable_click_shows_is_one_the_settings_read() -> None:
    shown = click_envvars()
    assert not set(shown) - set(ENV_VARS), {v: shown[v] for v in set(shown) - set(ENV_VARS)}


def test_every_variable_names_a_settings_field_once() -> None:
    fields = [variable.field for variable in VARIABLES]
    assert len(fields) == len(set(fields))
    assert set(fields) <= set(Settings.model_fields)


def test_a_shown_default_stands_in_only_for_one_worked_out_elsewhere() -> None:
    for variable in VARIABLES:
        if variable.shown_default is not None:
            assert Settings.model_fields[variable.field].default is None, variable.name


def test_readme_defaults_are_the_settings_defaults() -> None:
    rows = dict(re.findall(r"^\| `([A-Z0-9_]+)` \| .* \| (.+) \|$", readme_table(), re.MULTILINE))
    assert rows["IMGSYNC_CONCURRENCY"] == str(Settings().concurrency)
    assert rows["IMGSYNC_TASK_TIME_LIMIT"] == f"{Settings().task_time_limit:g}"
    assert rows["IMGSYNC_QUEUE"] == f"`{Settings().queue}`"
