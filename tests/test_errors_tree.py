"""One error tree: every exception imgsync defines is an ImgsyncError, and the docs say so.

The classes are found by importing every module of the package, so a new exception
class anywhere fails here until it joins the tree (or is a documented private one).
"""

from __future__ import annotations

import importlib
import inspect
import json
import pkgutil
import re
from pathlib import Path

import pytest

import imgsync
from imgsync import errors
from imgsync.core.pipeline import describe_exception
from imgsync.core.result import Category as ResultCategory
from imgsync.errors import (
    Busy,
    Category,
    DestinationBusy,
    ImgsyncError,
    InputError,
    NotifyError,
    RepositoryBusy,
)

ROOT = Path(__file__).parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")
SCHEMA = json.loads((ROOT / "tests" / "data" / "report.schema.json").read_text())

#: Control flow inside core's parsers, never raised past them; named in errors.py and README.
INTERNAL = {"imgsync.core.refgrammar.GrammarViolation", "imgsync.core.mapping._ItemError"}


def _exception_classes() -> dict[str, type[BaseException]]:
    """Every exception class defined in imgsync, by its dotted name."""
    found: dict[str, type[BaseException]] = {}
    for info in pkgutil.walk_packages(imgsync.__path__, "imgsync."):
        if info.name == "imgsync.__main__":
            continue
        module = importlib.import_module(info.name)
        for name, value in vars(module).items():
            is_exception = inspect.isclass(value) and issubclass(value, BaseException)
            if is_exception and value.__module__ == info.name:
                found[f"{info.name}.{name}"] = value
    return found


CLASSES = _exception_classes()


def _tree(text: str) -> list[str]:
    """The tree's lines, from ``ImgsyncError`` to the last leaf, without the comments."""
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.strip() == "ImgsyncError")
    indent = len(lines[start]) - len(lines[start].lstrip())
    tree = [lines[start][indent:]]
    for line in lines[start + 1 :]:
        if not re.match(r"[│├└ ]*[├└]── ", line[indent:]):
            break
        tree.append(line[indent:].rstrip())
    return tree


def _parents(tree: list[str]) -> dict[str, str]:
    """Each class name in the tree and the name of the class drawn above it."""
    parents: dict[str, str] = {}
    stack = ["ImgsyncError"]
    for line in tree[1:]:
        match = re.match(r"([│ ]*)[├└]── (\w+)", line)
        assert match is not None, line
        depth = len(match[1]) // 4 + 1
        del stack[depth:]
        parents[match[2]] = stack[-1]
        stack.append(match[2])
    return parents


def test_every_exception_class_in_the_package_is_an_imgsync_error() -> None:
    strays = [
        name
        for name, cls in CLASSES.items()
        if not issubclass(cls, ImgsyncError) and name not in INTERNAL
    ]
    assert strays == []


def test_internal_control_flow_exceptions_are_documented_and_not_exported() -> None:
    for name in INTERNAL:
        assert name in CLASSES, f"{name} is gone: drop it from INTERNAL and the docs"
        short = name.rsplit(".", 1)[1]
        assert short in (errors.__doc__ or "") and short in README
        assert not hasattr(errors, short)


def test_the_documented_tree_is_complete_and_drawn_as_the_classes_inherit() -> None:
    parents = _parents(_tree(errors.__doc__ or ""))
    public = {cls.__name__: cls for cls in CLASSES.values() if issubclass(cls, ImgsyncError)}
    assert set(parents) == set(public) - {"ImgsyncError"}
    for name, parent in parents.items():
        assert public[name].__bases__[0].__name__ == parent, name


def test_readme_tree_is_the_docstring_tree() -> None:
    assert _tree(README) == _tree(errors.__doc__ or "")


def _readme_categories() -> list[str]:
    sentence = README.split("A failure's `error.category` is", 1)[1].split("The JSON Schema", 1)[0]
    listed = re.split(r"\s\(", sentence.replace("\n", " "), maxsplit=1)[0]
    return re.findall(r"`(\w+)`", listed)


def test_categories_agree_in_code_readme_and_report_schema() -> None:
    error = SCHEMA["properties"]["results"]["items"]["properties"]["error"]["oneOf"][1]
    schema = error["properties"]["category"]["enum"]
    assert set(schema) == {c.value for c in Category} == set(_readme_categories())
    assert len(schema) == len(Category) == len(_readme_categories())


@pytest.mark.parametrize(
    "cls", [c for c in CLASSES.values() if issubclass(c, ImgsyncError)], ids=lambda c: c.__name__
)
def test_every_error_names_a_report_category(cls: type[ImgsyncError]) -> None:
    assert isinstance(cls.category, Category)


def test_category_lives_in_errors_and_stays_importable_from_results() -> None:
    assert ResultCategory is Category
    assert InputError.category is Category.INPUT
    assert NotifyError.category is Category.OTHER


def test_lock_errors_keep_their_meaning() -> None:
    busy = RepositoryBusy("another copy into r.io/m/nginx took longer than 60s")
    assert isinstance(busy, Busy) and isinstance(busy, TimeoutError)
    assert not isinstance(DestinationBusy("r.io/m/nginx:1"), TimeoutError)
    info = describe_exception(busy)
    assert info.category is Category.TIMEOUT
    assert info.message == "another copy into r.io/m/nginx took longer than 60s"
