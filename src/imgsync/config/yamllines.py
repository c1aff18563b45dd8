"""Read YAML into plain data plus the line of every key and item, for errors that point somewhere.

Why not ``yaml.safe_load``: a schema error must name the file *and line*, and
plain data has no positions. So the document is composed into nodes (which
carry marks), constructed from those nodes, and the nodes are walked once to
map each path (``("images", 2, "tags")``) to the line where it is written.

Two YAML 1.1 surprises are switched off: numbers and dates stay strings
(``tags: [1.20]`` means the tag ``1.20``, not the float 1.2; pydantic still
turns ``"8"`` into 8 where a number is wanted), and a key given twice is an
error instead of silently keeping the last value.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml

from imgsync.errors import ConfigError

KeyPath = tuple[str | int, ...]
_DROPPED_TAGS = frozenset(
    {"tag:yaml.org,2002:int", "tag:yaml.org,2002:float", "tag:yaml.org,2002:timestamp"}
)


class _Loader(yaml.SafeLoader):
    """SafeLoader without implicit numbers and dates: scalars that look like them stay strings."""


_Loader.yaml_implicit_resolvers = {
    first: [(tag, regex) for tag, regex in resolvers if tag not in _DROPPED_TAGS]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def load_yaml(path: Path) -> tuple[Any, dict[KeyPath, int]]:
    """The document's data and ``path → 1-based line``; ConfigError with file:line if malformed."""
    text = _read(path)
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None, {}
        lines = dict(_walk(node, (), path))
        return loader.construct_document(node), lines
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = f":{mark.line + 1}" if mark is not None else ""
        raise ConfigError(f"{path}{line}: not valid YAML: {exc.problem or exc}") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {exc}") from None
    finally:
        loader.dispose()


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise ConfigError(f"cannot read config file {path}: {reason}") from None


def _walk(node: yaml.Node, at: KeyPath, file: Path) -> Iterator[tuple[KeyPath, int]]:
    """Yield the line of ``at`` (where it is written) and of everything below it."""
    yield at, node.start_mark.line + 1
    yield from _below(node, at, file)


def _below(node: yaml.Node, at: KeyPath, file: Path) -> Iterator[tuple[KeyPath, int]]:
    """A key's line is the key's own (a block value starts on the next line)."""
    if isinstance(node, yaml.SequenceNode):
        for index, child in enumerate(node.value):
            yield from _walk(child, (*at, index), file)
    elif isinstance(node, yaml.MappingNode):
        seen: set[str] = set()
        for key_node, value_node in node.value:
            key = str(key_node.value)
            if key in seen:
                line = key_node.start_mark.line + 1
                raise ConfigError(f"{file}:{line}: {dotted((*at, key))}: key given twice")
            seen.add(key)
            yield (*at, key), key_node.start_mark.line + 1
            yield from _below(value_node, (*at, key), file)


def line_of(lines: dict[KeyPath, int], at: KeyPath) -> int | None:
    """The line of ``at``, or of its nearest ancestor that has one."""
    for end in range(len(at), -1, -1):
        found = lines.get(at[:end])
        if found is not None:
            return found
    return None


def dotted(at: KeyPath) -> str:
    """``("images", 2, "tags")`` → ``images[2].tags``, the way errors name a field."""
    text = ""
    for part in at:
        text += f"[{part}]" if isinstance(part, int) else f".{part}" if text else str(part)
    return text or "(top level)"
