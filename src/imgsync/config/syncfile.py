"""The sync file (``imgsync sync --config sync.yaml``): schema, and errors that name file and line.

The schema is strict (unknown keys are errors, with the allowed ones listed)
because a typo such as ``platform:`` for ``platforms:`` would otherwise silently
copy every platform. Regular expressions, semver ranges, platforms and image
references are checked here, so a bad file fails before any request is made.
The README's "Sync file" section documents every key.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, model_validator

from imgsync.core.delete_style import parse_delete_style
from imgsync.core.manifest_format import Format
from imgsync.core.path_template import parse_path_template
from imgsync.core.refparse import parse_reference
from imgsync.core.registry_profile import profile_named
from imgsync.core.repo_selection import DEFAULT_MAX, MAX_LIMIT
from imgsync.core.semrange import parse_range
from imgsync.core.tagselect import compile_pattern
from imgsync.errors import InvalidReference

_TAG = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}")
_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def _regex(text: str) -> str:
    compile_pattern(text)
    return text


def _semver(text: str) -> str:
    parse_range(text)
    return text


def _tag(text: str) -> str:
    if not _TAG.fullmatch(text):
        raise ValueError(f"{text!r} is not a valid tag ([A-Za-z0-9_][A-Za-z0-9_.-]{{0,127}})")
    return text


def _env_name(text: str) -> str:
    if not _ENV_NAME.fullmatch(text):
        raise ValueError(f"{text!r} is not an environment variable name")
    return text


def _platforms(value: object) -> object:
    """``all`` → ``()`` (every platform); a list stays a list; anything else is refused."""
    if value == "all":
        return ()
    if isinstance(value, str):
        raise ValueError("write 'all' or a list such as [linux/amd64, linux/arm64]")
    if isinstance(value, list) and not value:
        raise ValueError("an empty platform list copies nothing; write 'all' or name platforms")
    return value


def _platform(text: str) -> str:
    from imgsync.core.platforms import parse_platform

    return str(parse_platform(text))


def _one_or_many(value: object) -> object:
    return [value] if isinstance(value, str) else value


def _reference(text: str) -> str:
    try:
        parse_reference(text, default_tag=None)
    except InvalidReference as exc:
        raise ValueError(exc.reason) from None
    return text


def _template(text: str) -> str:
    """A destination template, written the one way (``flat`` → ``flat:_``)."""
    return str(parse_path_template(text))


def _profile(text: str) -> str:
    return profile_named(text).name


def _delete_style(text: str) -> str:
    return parse_delete_style(text).value


def _host(text: str) -> str:
    """A registry host as references spell it (``index.docker.io`` → ``docker.io``)."""
    try:
        probe = parse_reference(f"{text}/probe", default_tag=None, hub_namespace=None)
    except InvalidReference as exc:
        raise ValueError(f"{text!r} is not a registry host: {exc.reason}") from None
    if probe.repository != "probe":
        raise ValueError(f"{text!r} is not a registry host (write host[:port], e.g. ghcr.io)")
    return probe.registry


Regex = Annotated[str, AfterValidator(_regex)]
SemverText = Annotated[str, AfterValidator(_semver)]
Tag = Annotated[str, AfterValidator(_tag)]
EnvName = Annotated[str, AfterValidator(_env_name)]
PlatformText = Annotated[str, AfterValidator(_platform)]
Platforms = Annotated[tuple[PlatformText, ...] | None, BeforeValidator(_platforms)]
Reference = Annotated[str, AfterValidator(_reference)]
RegistryHost = Annotated[str, AfterValidator(_host)]
Template = Annotated[str, AfterValidator(_template)]
ProfileName = Annotated[str, AfterValidator(_profile)]
DeleteStyleName = Annotated[str, AfterValidator(_delete_style)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=False)


class Defaults(_Strict):
    """Settings every image entry inherits; the run-wide ones override the environment."""

    dest_prefix: str | None = None
    dest_template: Template | None = None
    manifest_format: Format | None = None
    platforms: Platforms = None
    prune: bool = False
    concurrency: int | None = Field(default=None, ge=1, le=256)
    check_concurrency: int | None = Field(default=None, ge=1, le=512)


class AccountSpec(_Strict):
    """One of several accounts (``accounts:``), by the names of the variables holding it."""

    username_env: EnvName
    password_env: EnvName | None = None
    token_env: EnvName | None = None

    @model_validator(mode="after")
    def _one_secret(self) -> AccountSpec:
        if (self.password_env is None) == (self.token_env is None):
            raise ValueError("an account needs password_env or token_env (one of them)")
        return self


class RegistrySpec(_Strict):
    """How to reach one registry: credentials (by env var name or auth file), TLS, request cap.

    ``rate_limit_min`` keeps that many pulls of the registry's quota untouched
    (copies beyond it end ``deferred``); ``accounts`` spreads copies over several
    accounts, each with its own quota. ``dest_template`` lays out destinations made
    from a prefix on this registry; ``profile`` and ``max_depth`` say what it accepts
    (:mod:`imgsync.core.registry_profile`), for hosts the built-in table does not know;
    ``deletes`` how a prune deletes there (:mod:`imgsync.core.delete_style`);
    ``manifest_format`` what is written there (:mod:`imgsync.core.manifest_format`).
    """

    username_env: EnvName | None = None
    password_env: EnvName | None = None
    token_env: EnvName | None = None
    authfile: Path | None = None
    insecure: bool = False
    concurrency: int | None = Field(default=None, ge=1, le=512)
    rate_limit_min: int | None = Field(default=None, ge=0)
    accounts: tuple[AccountSpec, ...] = ()
    dest_template: Template | None = None
    profile: ProfileName | None = None
    max_depth: int | None = Field(default=None, ge=1, le=64)
    deletes: DeleteStyleName | None = None
    manifest_format: Format | None = None

    @model_validator(mode="after")
    def _pairs(self) -> RegistrySpec:
        if self.password_env and self.token_env:
            raise ValueError("give password_env or token_env, not both")
        secret = self.password_env or self.token_env
        if bool(self.username_env) != bool(secret):
            raise ValueError("username_env needs password_env (or token_env), and the reverse")
        if secret and self.authfile:
            raise ValueError("give credentials by env var names or by authfile, not both")
        return self


class TagSpec(_Strict):
    """``tags:`` as a mapping; a plain list means ``{list: [...]}``."""

    names: tuple[Tag, ...] = Field(default=(), alias="list")
    regex: Regex | None = None
    exclude: Regex | None = None
    semver: SemverText | None = None
    latest: int | None = Field(default=None, ge=1, le=10_000)
    immutable: Regex | None = None

    @model_validator(mode="before")
    @classmethod
    def _list_shorthand(cls, data: Any) -> Any:
        return {"list": data} if isinstance(data, list) else data

    @model_validator(mode="after")
    def _list_or_filters(self) -> TagSpec:
        filters = (self.regex, self.exclude, self.semver, self.latest)
        if self.names and any(f is not None for f in filters):
            raise ValueError("give either list or filters (regex, exclude, semver, latest)")
        return self

    @property
    def single(self) -> bool:
        return len(self.names) == 1


_PATH_PREFIX = re.compile(
    r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*"
)


def _path_prefix(text: str) -> str:
    """Whole path components (``team`` or ``team/ops``), written without the slashes at its ends."""
    stripped = text.strip("/")
    if stripped and not _PATH_PREFIX.fullmatch(stripped):
        raise ValueError(f"{text!r} is not a repository path prefix (e.g. library/ or team/ops)")
    return stripped


class RepositoriesSpec(_Strict):
    """``repositories:``: the registry's catalog under a prefix, filtered, instead of a source."""

    registry: RegistryHost
    prefix: Annotated[str, AfterValidator(_path_prefix)] = ""
    include: Annotated[tuple[Regex, ...], BeforeValidator(_one_or_many)] = ()
    exclude: Annotated[tuple[Regex, ...], BeforeValidator(_one_or_many)] = ()
    max: int = Field(default=DEFAULT_MAX, ge=1, le=MAX_LIMIT)


class ImageSpec(_Strict):
    """One ``images:`` entry; a plain string is a seed mapping (``src=dst``)."""

    source: Reference | None = None
    mapping: str | None = None
    tags: TagSpec | None = None
    destinations: Annotated[tuple[Reference, ...], BeforeValidator(_one_or_many)] = ()
    platforms: Platforms = None
    prune: bool | None = None
    dest_template: Template | None = None
    repositories: RepositoriesSpec | None = None

    @model_validator(mode="before")
    @classmethod
    def _mapping_shorthand(cls, data: Any) -> Any:
        return {"mapping": data} if isinstance(data, str) else data

    @model_validator(mode="after")
    def _consistent(self) -> ImageSpec:
        given = [self.source, self.mapping, self.repositories]
        if sum(value is not None for value in given) != 1:
            raise ValueError(
                "an image needs one of source and repositories (or is a 'src=dst' mapping string)"
            )
        if self.repositories is not None and self.destinations:
            raise ValueError(
                "a repositories entry names its destinations from dest_prefix and "
                "dest_template; it takes no destinations"
            )
        if self.mapping is not None and (self.tags or self.destinations):
            raise ValueError("a mapping string takes no tags or destinations")
        if self.dest_template is not None and self.destinations:
            raise ValueError(
                "dest_template names destinations made from dest_prefix; "
                "this entry lists its destinations"
            )
        if self.source is not None:
            _check_source(self)
        return self


def _check_source(image: ImageSpec) -> None:
    source = parse_reference(str(image.source), default_tag=None)
    if image.tags is not None and (source.tag or source.digest):
        raise ValueError("give the tag in source or in tags, not in both")
    single = image.tags is None or image.tags.single
    for text in image.destinations:
        destination = parse_reference(text, default_tag=None)
        if destination.digest is not None:
            raise ValueError(f"destination {text!r} may not be a digest; give it a tag")
        if destination.tag is not None and not single:
            raise ValueError(f"destination {text!r} has a tag, but more than one tag is selected")


_CRON_FIELD = re.compile(r"^[0-9*/,\-]+$")
_SCHEDULE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")


def _cron(text: str) -> str:
    """Five fields (minute hour day month weekday) of digits, ``*``, ``/``, ``,``, ``-``."""
    fields = text.split()
    if len(fields) != 5 or not all(_CRON_FIELD.match(f) for f in fields):
        raise ValueError(f"{text!r} is not a cron expression 'minute hour day month weekday'")
    return " ".join(fields)


def _schedule_name(text: str) -> str:
    if not _SCHEDULE_NAME.match(text):
        raise ValueError(f"{text!r}: use letters, digits, '.', '_' and '-'")
    return text


class ScheduleSpec(_Strict):
    """When ``imgsync beat`` starts a run of this file's images: a cron line or an interval."""

    name: Annotated[str, AfterValidator(_schedule_name)]
    cron: Annotated[str, AfterValidator(_cron)] | None = None
    every: float | None = Field(default=None, gt=0, description="seconds between runs")
    dry_run: bool = False

    @model_validator(mode="after")
    def _one_timing(self) -> ScheduleSpec:
        if (self.cron is None) == (self.every is None):
            raise ValueError("give exactly one of 'cron' and 'every'")
        return self


class SyncFileSpec(_Strict):
    """The whole file."""

    version: Literal["1"] = "1"
    defaults: Defaults = Defaults()
    registries: dict[RegistryHost, RegistrySpec] = {}
    images: tuple[ImageSpec, ...]
    signatures: bool = False
    schedules: tuple[ScheduleSpec, ...] = ()

    @model_validator(mode="after")
    def _some_images(self) -> SyncFileSpec:
        if not self.images:
            raise ValueError("'images' is empty: list at least one image")
        return self

    @model_validator(mode="after")
    def _unique_schedules(self) -> SyncFileSpec:
        names = [schedule.name for schedule in self.schedules]
        if len(set(names)) != len(names):
            raise ValueError("schedule names must be unique (each has its own overlap lock)")
        return self
