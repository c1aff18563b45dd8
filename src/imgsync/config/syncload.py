"""Load a sync file: YAML with lines → validated schema → the core's image rules.

Why a module of its own: pydantic reports errors by location (``images.2.tags``),
users think in lines. This module joins the two (through the line map of
:mod:`imgsync.config.yamllines`) and hands the core plain rules that still know
their line, so errors found while expanding (a destination written twice) can
point at the file too.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from imgsync.config.syncfile import (
    AccountSpec,
    Defaults,
    ImageSpec,
    RegistrySpec,
    RepositoriesSpec,
    SyncFileSpec,
    TagSpec,
)
from imgsync.config.yamllines import KeyPath, dotted, line_of, load_yaml
from imgsync.core.destination_rules import DestinationRules
from imgsync.core.path_template import optional_template, parse_path_template
from imgsync.core.plan import ImageRule, Where
from imgsync.core.platforms import Platform, parse_platform
from imgsync.core.reference import ImageReference
from imgsync.core.refparse import parse_reference
from imgsync.core.registry_profile import ProfileTable, RegistryProfile, overridden
from imgsync.core.repo_selection import RepositorySelection
from imgsync.core.semrange import parse_range
from imgsync.core.tagselect import TagSelector, compile_pattern
from imgsync.errors import ConfigError

_MODELS: dict[tuple[str, ...], type[BaseModel]] = {
    (): SyncFileSpec,
    ("defaults",): Defaults,
    ("registries", "*"): RegistrySpec,
    ("registries", "*", "accounts", "#"): AccountSpec,
    ("images", "#"): ImageSpec,
    ("images", "#", "tags"): TagSpec,
    ("images", "#", "repositories"): RepositoriesSpec,
}


@dataclass(frozen=True, slots=True)
class SyncFile:
    """A validated sync file: the schema (for settings) and the rules (for the plan).

    ``destinations``: the file's registry profiles and templates, ``defaults.dest_template``
    as the fallback (the command line's template serves when that is unset).
    """

    path: Path
    spec: SyncFileSpec
    rules: tuple[ImageRule, ...]
    destinations: DestinationRules = field(default_factory=DestinationRules)

    def entry_rules(self, command_line_template: str | None) -> DestinationRules:
        """For the file's entries: ``defaults.dest_template``, else the command line's."""
        if self.destinations.fallback is not None:
            return self.destinations
        return replace(self.destinations, fallback=optional_template(command_line_template))


def command_line_rules(
    sync_file: SyncFile | None, command_line_template: str | None
) -> DestinationRules:
    """For command-line mappings: the file's registries, the command line's template."""
    base = sync_file.destinations if sync_file is not None else DestinationRules()
    return base.with_fallback(command_line_template)


def load_sync_file(path: Path) -> SyncFile:
    """Read and validate ``path``; any problem is one ConfigError naming file, line and field."""
    data, lines = load_yaml(path)
    if not isinstance(data, dict):
        raise ConfigError(f"{path}:1: the file must be a mapping with at least 'images:'")
    try:
        spec = SyncFileSpec.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(describe(exc, path, lines)) from None
    spec = _resolve_authfiles(spec, path.absolute().parent)
    rules = tuple(_rule(spec, index, path, lines) for index in range(len(spec.images)))
    return SyncFile(path, spec, rules, destination_rules(spec))


def destination_rules(spec: SyncFileSpec) -> DestinationRules:
    """Per-registry profiles and templates, with the defaults' template as fallback."""
    registries = spec.registries.items()
    profiles = {
        host.lower(): _with_deletes(overridden(host, r.profile, r.max_depth), r.deletes)
        for host, r in registries
        if r.profile or r.max_depth or r.deletes
    }
    templates = {
        host.lower(): parse_path_template(r.dest_template)
        for host, r in registries
        if r.dest_template
    }
    fallback = optional_template(spec.defaults.dest_template)
    formats = {host.lower(): r.manifest_format for host, r in registries if r.manifest_format}
    return DestinationRules(
        ProfileTable(profiles),
        templates,
        fallback,
        formats=formats,
        format_fallback=spec.defaults.manifest_format,
    )


def _with_deletes(profile: RegistryProfile, deletes: str | None) -> RegistryProfile:
    """The profile with the file's ``deletes`` over its own (a stand-in, a custom domain)."""
    return replace(profile, deletes=deletes) if deletes else profile


def describe(exc: ValidationError, path: Path, lines: dict[KeyPath, int]) -> str:
    """One ``file:line: field: problem`` line per error, in file order.

    A missing key beside an unknown one is the same typo seen twice
    (``image:`` for ``images:``), so only the unknown key is reported.
    """
    errors = exc.errors()
    typo_at = {tuple(e["loc"][:-1]) for e in errors if e["type"] == "extra_forbidden"}
    found = []
    for error in errors:
        if error["type"] == "missing" and tuple(error["loc"][:-1]) in typo_at:
            continue
        at = tuple(part for part in error["loc"] if part != "[key]")
        line = line_of(lines, at) or 1
        found.append((line, f"{path}:{line}: {dotted(at)}: {_message(error, at)}"))
    return "\n".join(text for _, text in sorted(found))


def _message(error: Any, at: KeyPath) -> str:
    kind, message = error["type"], str(error["msg"])
    if kind == "extra_forbidden":
        allowed = ", ".join(_allowed(at[:-1]))
        return f"unknown key {at[-1]!r}" + (f" (allowed: {allowed})" if allowed else "")
    if kind == "missing":
        return f"missing key {at[-1]!r}"
    if kind == "value_error":
        return message.removeprefix("Value error, ")
    return f"{message} (got {_shown(error.get('input'))})"


def _allowed(at: KeyPath) -> list[str]:
    shape = tuple("#" if isinstance(p, int) else p for p in at)
    if shape[:1] == ("registries",) and len(shape) >= 2:
        shape = ("registries", "*", *shape[2:])
    model = _MODELS.get(shape)
    if model is None:
        return []
    return [field.alias or name for name, field in model.model_fields.items()]


def _shown(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _resolve_authfiles(spec: SyncFileSpec, base: Path) -> SyncFileSpec:
    """Relative auth file paths are relative to the sync file, not to where imgsync runs."""
    registries = {
        host: registry.model_copy(update={"authfile": base / registry.authfile})
        if registry.authfile is not None and not registry.authfile.is_absolute()
        else registry
        for host, registry in spec.registries.items()
    }
    return spec.model_copy(update={"registries": registries})


def _rule(spec: SyncFileSpec, index: int, path: Path, lines: dict[KeyPath, int]) -> ImageRule:
    image, defaults = spec.images[index], spec.defaults
    where = _where(path, lines, ("images", index))
    prune = defaults.prune if image.prune is None else image.prune
    template = optional_template(image.dest_template)
    if image.mapping is not None:
        return ImageRule(
            where,
            mapping=image.mapping,
            prune=prune,
            dest_prefix=defaults.dest_prefix,
            dest_template=template,
        )
    platforms = image.platforms if image.platforms is not None else defaults.platforms
    source, tag = _source(image)
    return ImageRule(
        where,
        source=source,
        selector=_selector(image.tags, tag),
        destinations=tuple(_destinations(image, index, path, lines)),
        repositories=_repositories(image.repositories),
        platforms=platform_tuple(platforms),
        prune=prune,
        dest_prefix=defaults.dest_prefix,
        dest_template=template,
    )


def _source(image: ImageSpec) -> tuple[ImageReference | None, str | None]:
    """The entry's source without its tag (kept when pinned by digest), and that tag."""
    if image.source is None:
        return None, None
    source = parse_reference(str(image.source), default_tag=None)
    kept = source if source.digest else ImageReference(source.registry, source.repository)
    return kept, source.tag


def _repositories(spec: RepositoriesSpec | None) -> RepositorySelection | None:
    if spec is None:
        return None
    return RepositorySelection(
        spec.registry,
        spec.prefix,
        include=tuple(compile_pattern(text) for text in spec.include),
        exclude=tuple(compile_pattern(text) for text in spec.exclude),
        maximum=spec.max,
    )


def _destinations(
    image: ImageSpec, index: int, path: Path, lines: dict[KeyPath, int]
) -> Iterator[tuple[str, Where]]:
    for position, text in enumerate(image.destinations):
        yield text, _where(path, lines, ("images", index, "destinations", position))


def _where(path: Path, lines: dict[KeyPath, int], at: KeyPath) -> Where:
    return Where(str(path), line_of(lines, at) or 1, dotted(at))


def _selector(tags: TagSpec | None, source_tag: str | None) -> TagSelector:
    """The entry's selection; no ``tags:`` means the source's own tag, else ``latest``."""
    if tags is None:
        return TagSelector(names=(source_tag or "latest",))
    return TagSelector(
        names=tags.names,
        include=compile_pattern(tags.regex) if tags.regex else None,
        exclude=compile_pattern(tags.exclude) if tags.exclude else None,
        semver=parse_range(tags.semver) if tags.semver else None,
        latest=tags.latest,
        immutable=compile_pattern(tags.immutable) if tags.immutable else None,
    )


def platform_tuple(texts: tuple[str, ...] | None) -> tuple[Platform, ...] | None:
    """``None`` or ``()`` (every platform) → None; otherwise the parsed platforms."""
    return tuple(parse_platform(text) for text in texts) if texts else None
