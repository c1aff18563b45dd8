"""The one way imgsync reads its own values back after they crossed a process boundary.

Everything read from Redis, a Celery message or a report file goes through
:func:`decode` or :func:`decode_json`: a pydantic ``TypeAdapter`` over the frozen
dataclass itself, built once per type. It validates with JSON's own types in strict
mode (``"3"`` is not an integer, ``"yes"`` not a boolean, ``"bogus"`` not a status)
and fails with one :class:`~imgsync.errors.DecodeError` naming each wrong field by
its path. Fields that cross as text (image references, platforms) say so with
:class:`FromText` and are read back by the same parsers the command line uses.

Encoding is each type's ``to_dict``, written next to its fields, because the JSON
shape is part of the type's contract (the report schema, stored runs). Encoding
trusts the value, so it needs no pydantic; decoding imports it on first use, so
``imgsync --help`` and ``validate``, which decode nothing, never pay for it.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from imgsync.errors import DecodeError

if TYPE_CHECKING:
    from pydantic import TypeAdapter
    from pydantic_core import CoreSchema, ErrorDetails

T = TypeVar("T")

#: How much of a wrong value an error message shows: enough to recognise it.
SHOWN_CHARS = 40

_ADAPTERS: dict[type[Any], TypeAdapter[Any]] = {}


class Encodable(Protocol):
    """A value with a JSON form of its own."""

    def to_dict(self) -> Mapping[str, Any]: ...


def encode(value: Encodable) -> dict[str, Any]:
    """The JSON object for ``value``, exactly as reports and messages carry it."""
    return dict(value.to_dict())


def encode_json(value: Encodable) -> str:
    """``value`` as JSON text, for Redis."""
    return json.dumps(value.to_dict())


def decode(kind: type[T], data: object) -> T:
    """A validated ``kind`` from data JSON already parsed (a Celery message's argument).

    The data is written back to JSON text first (in Rust, a fraction of the validation's
    cost) so that it is judged by exactly the strict JSON rules :func:`decode_json` applies.
    """
    from pydantic_core import PydanticSerializationError, to_json

    try:
        text = to_json(data)
    except PydanticSerializationError as exc:
        raise DecodeError(kind.__name__, [f"(top level): not JSON data ({exc})"]) from None
    return decode_json(kind, text)


def decode_json(kind: type[T], raw: str | bytes) -> T:
    """A validated ``kind`` from JSON text (a Redis value, a report file)."""
    from pydantic import ValidationError

    try:
        return _adapter(kind).validate_json(raw, strict=True)
    except ValidationError as exc:
        problems = [describe(error) for error in exc.errors(include_url=False)]
        raise DecodeError(kind.__name__, problems) from None


def prepare(*kinds: type[Any]) -> None:
    """Build the decoders of ``kinds`` now: a worker does so once before it forks its pool
    processes, instead of each of them on its first task."""
    for kind in kinds:
        _adapter(kind)


def _adapter(kind: type[T]) -> TypeAdapter[T]:
    """Built once per type: building the schema costs far more than one validation."""
    found: TypeAdapter[T] | None = _ADAPTERS.get(kind)
    if found is None:
        from pydantic import TypeAdapter

        found = TypeAdapter(kind)
        _ADAPTERS[kind] = found
    return found


def describe(error: ErrorDetails) -> str:
    """``results.3.attempts: Input should be a valid integer (got 'x')``.

    The value is shown clipped and never for a missing field or an object, whose
    "value" would be the whole enclosing payload.
    """
    path = ".".join(str(part) for part in error["loc"]) or "(top level)"
    if error["type"] == "value_error":  # our own parser's reason, which names the value
        return f"{path}: {error.get('ctx', {}).get('error', error['msg'])}"
    if error["type"] == "missing":
        return f"{path}: missing"
    return f"{path}: {error['msg']} (got {_shown(error['input'])})"


def _shown(value: object) -> str:
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, list):
        return "a list"
    text = repr(value)
    return text if len(text) <= SHOWN_CHARS else text[: SHOWN_CHARS - 1] + "…"


@dataclass(frozen=True, slots=True)
class FromText:
    """Marks a field that crosses as a string: ``Annotated[ImageReference, FromText(parse)]``.

    pydantic asks the marker for the field's schema (a string, then ``parse``), so the
    module declaring the dataclass needs no pydantic import. A ``ValueError`` from
    ``parse`` (``InvalidReference`` is one) becomes the field's problem.
    """

    parse: Callable[[str], object]

    def __get_pydantic_core_schema__(self, source: object, handler: object) -> CoreSchema:
        from pydantic_core import core_schema

        return core_schema.no_info_after_validator_function(self.parse, core_schema.str_schema())
