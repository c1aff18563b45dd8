"""The import rules of the house plan, checked on the source, and start-up staying light."""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.rig.registry import Registry

SRC = Path(__file__).resolve().parent.parent / "src" / "imgsync"


def modules(under: str = "") -> list[Path]:
    return sorted((SRC / under).rglob("*.py"))


def imported_names(path: Path) -> set[str]:
    """Top-level package names and full dotted names a module imports."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names | {name.split(".")[0] for name in names}


def relative(path: Path) -> str:
    return str(path.relative_to(SRC.parent))


def offenders(paths: list[Path], forbidden: set[str]) -> dict[str, set[str]]:
    found = {relative(p): imported_names(p) & forbidden for p in paths}
    return {name: bad for name, bad in found.items() if bad}


def test_core_does_no_io_and_imports_no_adapter() -> None:
    forbidden = {
        "requests",
        "subprocess",
        "celery",
        "click",
        "redis",
        "socket",
        "imgsync.adapters",
        "imgsync.workers",
        "imgsync.producer",
        "imgsync.config",
    }
    assert offenders(modules("core"), forbidden) == {}


def test_only_workers_import_celery() -> None:
    others = [p for p in modules() if "workers" not in p.parts]
    assert offenders(others, {"celery", "kombu"}) == {}


def test_only_the_producer_imports_click() -> None:
    others = [p for p in modules() if "producer" not in p.parts]
    assert offenders(others, {"click", "rich"}) == {}


def test_adapters_never_import_celery_or_click() -> None:
    assert offenders(modules("adapters"), {"celery", "click", "imgsync.producer"}) == {}


# Only config/ reads the environment: tests/test_environment_rule.py (on the syntax tree).


#: What start-up must not pay for on commands that talk to no registry and no broker:
#: each costs 20-120 ms of the 0.3 s start-up budget (docs/benchmarks.md).
HEAVY = ("celery", "kombu", "redis", "requests", "rich", "imgsync.adapters.skopeo")


@pytest.mark.parametrize("argv", [["--help"], ["validate", "nginx=myrepo/nginx"]])
def test_cli_paths_that_need_no_broker_import_nothing_heavy(argv: list[str]) -> None:
    probe = (
        "import sys, runpy; sys.argv = ['imgsync', *sys.argv[1:]]\n"
        "try:\n    runpy.run_module('imgsync', run_name='__main__')\n"
        "except SystemExit:\n    pass\n"
        f"print('LOADED', [m for m in {HEAVY!r} if m in sys.modules], file=sys.stderr)"
    )
    ran = subprocess.run([sys.executable, "-c", probe, *argv], capture_output=True, text=True)
    assert "LOADED []" in ran.stderr, ran.stderr


def test_an_embedded_sync_imports_neither_the_broker_client_nor_celery(
    tmp_path: Path, anon_registry: Registry
) -> None:
    """Embedded mode talks to no broker: redis, celery and kombu stay out of its start-up;
    requests (only notifiers use it) stays out of a run that notifies no one, and rich (the
    bar) out of one that logs lines, and the sync-file reader (YAML) out of a run without one."""
    probe = (
        "import sys, runpy; sys.argv = ['imgsync', *sys.argv[1:]]\n"
        "try:\n    runpy.run_module('imgsync', run_name='__main__')\n"
        "except SystemExit:\n    pass\n"
        "names = ('celery', 'kombu', 'redis', 'requests', 'urllib3', 'rich', 'yaml')\n"
        "print('LOADED', [m for m in names if m in sys.modules], file=sys.stderr)"
    )
    host = anon_registry.host
    argv = ["sync", "--dry-run", f"{host}/absent/a:1={host}/absent/b:1"]
    env = {**os.environ, "HOME": str(tmp_path), "IMGSYNC_MAX_RETRIES": "0"}
    env["IMGSYNC_INSECURE_REGISTRIES"] = host
    env.pop("IMGSYNC_BROKER_URL", None)
    ran = subprocess.run(
        [sys.executable, "-c", probe, *argv], capture_output=True, text=True, env=env
    )
    assert "LOADED []" in ran.stderr, ran.stderr[-2000:]
