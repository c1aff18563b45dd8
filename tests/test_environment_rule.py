"""Only ``config/`` reads the environment: checked on each module's syntax tree, not its text.

A text search for ``os.environ`` misses ``os.getenv``, ``from os import environ`` and
``import os as o``; it also flags a docstring that merely mentions it. The checker below
follows the names ``os`` is bound to in each module and reports every way of reaching the
environment a reviewer would expect (``environ``, ``environb``, ``getenv``, ``getenvb``,
``putenv``, ``unsetenv``, through ``from os import``, an alias, ``getattr`` or
``importlib``/``__import__``); the table at the end shows it catching each form.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parent.parent / "src" / "imgsync"
ENVIRONMENT = frozenset({"environ", "environb", "getenv", "getenvb", "putenv", "unsetenv"})
OS_MODULES = frozenset({"os", "posix"})
#: Outside config/: the child-process module hands its allow-list of variables to skopeo.
ALLOWED = frozenset({"imgsync/adapters/process.py"})


def os_aliases(tree: ast.AST) -> set[str]:
    """Names bound to ``os``: ``import os``, ``import os as o``, ``import os.path``."""
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                top = alias.name.partition(".")[0]
                if alias.asname is None and top in OS_MODULES:
                    names.add(top)
                elif alias.name in OS_MODULES:
                    names.add(alias.asname or alias.name)
    return names


def _imports_environment(node: ast.ImportFrom) -> bool:
    names = {alias.name for alias in node.names}
    return node.module in OS_MODULES and bool(names & (ENVIRONMENT | {"*"}))


def _imports_os_dynamically(node: ast.Call) -> bool:
    """``importlib.import_module("os")``, ``import_module("os")``, ``__import__("os")``."""
    func = node.func
    name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
    first = node.args[0] if node.args else None
    literal = isinstance(first, ast.Constant) and first.value in OS_MODULES
    return name in {"import_module", "__import__"} and literal


def _getattr_of_os(node: ast.Call, aliases: set[str]) -> bool:
    """``getattr(os, "environ")`` and friends."""
    if not (isinstance(node.func, ast.Name) and node.func.id == "getattr" and len(node.args) > 1):
        return False
    target, name = node.args[0], node.args[1]
    is_os = isinstance(target, ast.Name) and target.id in aliases
    return is_os and isinstance(name, ast.Constant) and name.value in ENVIRONMENT


def _attribute_of_os(node: ast.Attribute, aliases: set[str]) -> bool:
    """``os.environ``, ``o.getenv``: an environment name looked up on ``os`` itself."""
    owner = node.value
    return node.attr in ENVIRONMENT and isinstance(owner, ast.Name) and owner.id in aliases


def _finding(node: ast.AST, aliases: set[str]) -> str | None:
    """What ``node`` does to reach the environment, or ``None``."""
    if isinstance(node, ast.ImportFrom) and _imports_environment(node):
        return f"from {node.module} import {', '.join(a.name for a in node.names)}"
    if isinstance(node, ast.Attribute) and _attribute_of_os(node, aliases):
        return f"{ast.unparse(node.value)}.{node.attr}"
    if isinstance(node, ast.Call) and _imports_os_dynamically(node):
        return "os imported dynamically"
    if isinstance(node, ast.Call) and _getattr_of_os(node, aliases):
        return "getattr of os"
    return None


def environment_reads(source: str) -> list[str]:
    """``"line N: how"`` for each place ``source`` reaches the process environment."""
    tree = ast.parse(source)
    aliases = os_aliases(tree)
    found = ((node, _finding(node, aliases)) for node in ast.walk(tree))
    return sorted(f"line {getattr(node, 'lineno', 0)}: {how}" for node, how in found if how)


def test_only_config_reads_the_environment() -> None:
    readers = {
        str(path.relative_to(SRC.parent)): environment_reads(path.read_text())
        for path in sorted(SRC.rglob("*.py"))
        if "config" not in path.relative_to(SRC).parts
    }
    assert {name: how for name, how in readers.items() if how and name not in ALLOWED} == {}


def test_the_allowed_exceptions_still_need_to_be_allowed() -> None:
    """An entry that no longer reads the environment should leave :data:`ALLOWED`."""
    for name in ALLOWED:
        assert environment_reads((SRC.parent / name).read_text()), name


@pytest.mark.parametrize(
    ("source", "caught"),
    [
        ("import os\nos.environ['X']", "line 2: os.environ"),
        ("import os\nos.environ.get('X')", "line 2: os.environ"),
        ("import os\nos.getenv('X')", "line 2: os.getenv"),
        ("import os\nos.environb[b'X']", "line 2: os.environb"),
        ("import os\nos.getenvb(b'X')", "line 2: os.getenvb"),
        ("import os\nos.putenv('X', '1')", "line 2: os.putenv"),
        ("import os\nos.unsetenv('X')", "line 2: os.unsetenv"),
        ("import os as o\no.environ['X']", "line 2: o.environ"),
        ("import os.path\nos.getenv('X')", "line 2: os.getenv"),
        ("import sys, os\ndef f():\n    return os.environ", "line 3: os.environ"),
        ("def f():\n    import os\n    return os.getenv('X')", "line 3: os.getenv"),
        ("from os import environ", "line 1: from os import environ"),
        ("from os import getenv as ge", "line 1: from os import getenv"),
        ("from os import path, putenv", "line 1: from os import path, putenv"),
        ("from os import *", "line 1: from os import *"),
        ("import posix\nposix.environ", "line 2: posix.environ"),
        ("import os\ngetattr(os, 'environ')", "line 2: getattr of os"),
        ("import importlib\nimportlib.import_module('os')", "line 2: os imported dynamically"),
        ("from importlib import import_module\nimport_module('os')", "line 2: os imported dyna"),
        ("__import__('os').environ", "line 1: os imported dynamically"),
    ],
)
def test_the_checker_catches_every_way_to_the_environment(source: str, caught: str) -> None:
    assert any(found.startswith(caught) for found in environment_reads(source)), environment_reads(
        source
    )


@pytest.mark.parametrize(
    "source",
    [
        "import os\nos.path.join('a', 'b')",
        "import os.path as environ\nenviron.join('a')",
        "environ = {}\nenviron['X']",
        "settings.environ['X']",  # an attribute of something that is not os
        "# os.environ in a comment",
        "'''os.getenv in a docstring'''",
        "from os import path, sep",
        "from os.path import expanduser",
        "import importlib\nimportlib.import_module('json')",
        "import os\ngetattr(os, 'sep')",
    ],
)
def test_the_checker_leaves_everything_else_alone(source: str) -> None:
    assert environment_reads(source) == []
