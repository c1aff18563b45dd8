"""Settings, read once: the only module that looks at the environment.

Every other module receives a :class:`Settings` (or values taken from it), so tests
and the Celery workers build the same configuration from an explicit mapping.
Command-line options override the environment through :meth:`Settings.merged`.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator

from imgsync.config.variables import ENV_VARS
from imgsync.errors import ConfigError

if TYPE_CHECKING:
    from imgsync.config.syncfile import AccountSpec
    from imgsync.config.syncload import SyncFile

NotifyPolicy = Literal["always", "change", "failure"]

_LIST_FIELDS = frozenset(
    {
        "insecure_registries",
        "notify_urls",
        "wxpusher_uids",
        "wxpusher_topic_ids",
        "wxpusher_spts",
        "dockerhub_accounts",
    }
)


def split_list(text: str) -> tuple[str, ...]:
    """Split a comma (or newline) separated list, dropping blanks."""
    parts = text.replace("\n", ",").split(",")
    return tuple(p.strip() for p in parts if p.strip())


def default_authfile(home: Path, environ: Mapping[str, str] | None = None) -> Path | None:
    """The first auth file that exists where podman, skopeo and docker keep logins.

    The order is containers/image's (``containers-auth.json(5)``): ``podman login``'s
    ``$XDG_RUNTIME_DIR/containers/auth.json``, then ``$XDG_CONFIG_HOME/containers/auth.json``,
    then docker's ``$DOCKER_CONFIG/config.json`` (``~/.docker/config.json``).
    """
    return next(
        (path for path in _authfile_candidates(home, environ or {}) if path.is_file()), None
    )


def _authfile_candidates(home: Path, environ: Mapping[str, str]) -> list[Path]:
    runtime, config = environ.get("XDG_RUNTIME_DIR"), environ.get("XDG_CONFIG_HOME")
    docker = Path(environ["DOCKER_CONFIG"]) if environ.get("DOCKER_CONFIG") else home / ".docker"
    return [
        *([Path(runtime) / "containers" / "auth.json"] if runtime else []),
        (Path(config) if config else home / ".config") / "containers" / "auth.json",
        docker / "config.json",
    ]


def parse_minimums(value: object) -> object:
    """``"docker.io=20,ghcr.io=5"`` (env, CLI) → ``{"docker.io": 20, ...}``; dicts pass through."""
    if not isinstance(value, str | tuple | list):
        return value
    items = split_list(value) if isinstance(value, str) else tuple(value)
    found: dict[str, str] = {}
    for item in items:
        host, sep, number = item.rpartition("=")
        if not sep or not host.strip():
            raise ValueError(f"{item!r} is not HOST=N")
        found[host.strip().lower()] = number.strip()
    return found


class Account(BaseModel):
    """One of several accounts of a registry (pull quotas are per account)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    username: str
    password: SecretStr


class RegistryOptions(BaseModel):
    """One registry's settings from the sync file, with credentials already read from the env."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    username: str | None = None
    password: SecretStr | None = None
    authfile: Path | None = None
    insecure: bool = False
    concurrency: int | None = Field(default=None, ge=1, le=512)
    accounts: tuple[Account, ...] = ()


class Settings(BaseModel):
    """Everything imgsync can be told, with its default. Secrets are ``SecretStr``."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    mappings: str | None = None
    dockerhub_username: str | None = None
    dockerhub_token: SecretStr | None = None
    authfile: Path | None = None
    dest_prefix: str | None = None
    dest_template: str | None = None
    insecure_registries: tuple[str, ...] = ()
    concurrency: int = Field(default=8, ge=1, le=256)
    check_concurrency: int = Field(default=32, ge=1, le=512)
    retry_times: int = Field(default=3, ge=0, le=20)
    copy_timeout: float = Field(default=3600.0, gt=0)
    registry_timeout: float = Field(default=30.0, gt=0)
    notify_urls: tuple[SecretStr, ...] = ()
    notify_on: NotifyPolicy = "always"
    wpush_key: SecretStr | None = None
    wpush_channel: str | None = None
    wpush_api: str = "https://api.wpush.cn"
    wxpusher_app_token: SecretStr | None = None
    wxpusher_uids: tuple[str, ...] = ()
    wxpusher_topic_ids: tuple[int, ...] = ()
    wxpusher_spts: tuple[SecretStr, ...] = ()
    wxpusher_api: str = "https://wxpusher.zjiecode.com"
    broker_url: SecretStr | None = None
    result_backend: SecretStr | None = None
    queue: str = "imgsync"
    task_soft_time_limit: float | None = Field(default=None, gt=0)
    task_time_limit: float = Field(default=3900.0, gt=0)
    visibility_timeout: float = Field(default=7200.0, gt=0)
    result_expires: float = Field(default=7 * 24 * 3600.0, gt=0)
    max_retries: int = Field(default=3, ge=0, le=100)
    lock_retry_delay: float = Field(default=15.0, gt=0)
    lost_check_after: float = Field(default=60.0, gt=0)
    github_step_summary: Path | None = None
    github_event_path: Path | None = None
    github_token: SecretStr | None = None
    github_api_url: str = "https://api.github.com"
    github_repository: str | None = None
    request_allowlist: Path | None = None
    config_file: Path | None = None
    registries: dict[str, RegistryOptions] = Field(default_factory=dict)
    dockerhub_accounts: tuple[SecretStr, ...] = ()
    rate_limit_min: dict[str, int] = Field(default_factory=dict)
    metrics_port: int | None = Field(default=None, ge=1, le=65535)
    metrics_dir: Path | None = None

    @field_validator("rate_limit_min", mode="before")
    @classmethod
    def _minimums(cls, value: object) -> object:
        return parse_minimums(value)

    @field_validator("rate_limit_min")
    @classmethod
    def _non_negative(cls, value: dict[str, int]) -> dict[str, int]:
        if any(number < 0 for number in value.values()):
            raise ValueError("a minimum cannot be negative")
        return value

    @field_validator("dockerhub_accounts")
    @classmethod
    def _pairs(cls, value: tuple[SecretStr, ...]) -> tuple[SecretStr, ...]:
        for pair in value:
            user, colon, token = pair.get_secret_value().partition(":")
            if not (colon and user.strip() and token.strip()):
                raise ValueError("each account must be user:token (values not shown)")
        return value

    @field_validator("dockerhub_username", "dest_prefix", "mappings", "wpush_channel")
    @classmethod
    def _blank_is_none(cls, value: str | None) -> str | None:
        return value.strip() or None if value is not None else None

    @field_validator("dest_template")
    @classmethod
    def _template(cls, value: str | None) -> str | None:
        from imgsync.core.path_template import optional_template

        template = optional_template(value)
        return str(template) if template else None

    @classmethod
    def from_env(
        cls, environ: Mapping[str, str] | None = None, home: Path | None = None
    ) -> Settings:
        """Everything the environment says, the sync file ``IMGSYNC_CONFIG`` names included.

        What a worker runs with. The CLI reads the variables alone and loads the sync
        file only in the commands that use it (a broken file must not stop ``status``).
        """
        return cls.from_variables(environ, home).with_config_file(environ)

    @classmethod
    def from_variables(
        cls, environ: Mapping[str, str] | None = None, home: Path | None = None
    ) -> Settings:
        """The environment variables alone; blank variables count as unset."""
        env = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        for name, field_name in ENV_VARS.items():
            raw = env.get(name, "").strip()
            if raw:
                values[field_name] = split_list(raw) if field_name in _LIST_FIELDS else raw
        if "authfile" not in values:
            values["authfile"] = default_authfile(home or Path.home(), env)
        return cls.build(values)

    def with_config_file(self, environ: Mapping[str, str] | None = None) -> Settings:
        """With the sync file ``config_file`` names laid over; unchanged when none is named."""
        if self.config_file is None:
            return self
        from imgsync.config.syncload import load_sync_file

        return self.with_sync_file(load_sync_file(self.config_file), environ)

    def with_sync_file(
        self, sync_file: SyncFile, environ: Mapping[str, str] | None = None
    ) -> Settings:
        """The sync file's run-wide settings laid over these: defaults and registries.

        Credentials named by ``username_env``/``password_env`` are read here, from
        ``environ`` (the process environment by default), so no other module reads it.
        """
        env = os.environ if environ is None else environ
        defaults = sync_file.spec.defaults
        registries = {
            host: _registry_options(sync_file, host, env) for host in sync_file.spec.registries
        }
        minimums = {
            host: spec.rate_limit_min
            for host, spec in sync_file.spec.registries.items()
            if spec.rate_limit_min is not None
        }
        return self.merged(
            config_file=sync_file.path,
            concurrency=defaults.concurrency,
            check_concurrency=defaults.check_concurrency,
            registries={**self.registries, **registries},
            rate_limit_min={**self.rate_limit_min, **minimums},
        )

    @classmethod
    def build(cls, values: Mapping[str, Any]) -> Settings:
        """Validate ``values``; a bad one becomes a ConfigError naming the variable."""
        try:
            return cls.model_validate(dict(values))
        except ValidationError as exc:
            raise ConfigError(_describe(exc)) from None

    def merged(self, **overrides: Any) -> Settings:
        """These settings with command-line values laid over them (``None`` = not given)."""
        given = {k: v for k, v in overrides.items() if v is not None and v != ()}
        if not given:
            return self
        return Settings.build({**self.model_dump(), **given})

    @property
    def result_backend_url(self) -> str | None:
        """The result backend, defaulting to the broker URL."""
        backend = self.result_backend or self.broker_url
        return backend.get_secret_value() if backend else None

    @property
    def distributed(self) -> bool:
        return self.broker_url is not None


def _registry_options(sync_file: SyncFile, host: str, env: Mapping[str, str]) -> RegistryOptions:
    spec = sync_file.spec.registries[host]
    secret_name = spec.password_env or spec.token_env
    username = _named_env(sync_file, host, spec.username_env, env)
    password = _named_env(sync_file, host, secret_name, env)
    return RegistryOptions(
        username=username,
        password=SecretStr(password) if password is not None else None,
        authfile=spec.authfile,
        insecure=spec.insecure,
        concurrency=spec.concurrency,
        accounts=tuple(_account(sync_file, host, a, env) for a in spec.accounts),
    )


def _account(sync_file: SyncFile, host: str, spec: AccountSpec, env: Mapping[str, str]) -> Account:
    """One ``accounts:`` entry: both variables it names must be set."""
    username = _named_env(sync_file, host, spec.username_env, env)
    password = _named_env(sync_file, host, spec.password_env or spec.token_env, env)
    return Account(username=str(username), password=SecretStr(str(password)))


def _named_env(
    sync_file: SyncFile, host: str, name: str | None, env: Mapping[str, str]
) -> str | None:
    """The value of the variable the sync file names; a named but unset variable is an error."""
    if name is None:
        return None
    value = env.get(name, "").strip()
    if not value:
        raise ConfigError(f"{sync_file.path}: registries.{host}: {name} is not set or empty")
    return value


_FIELD_TO_ENV = {field_name: env for env, field_name in ENV_VARS.items()}


def _describe(exc: ValidationError) -> str:
    """One line per bad setting, naming the environment variable; never the value."""
    lines = []
    for error in exc.errors():
        field_name = str(error["loc"][0]) if error["loc"] else "?"
        env = _FIELD_TO_ENV.get(field_name, field_name)
        lines.append(f"invalid setting {env} ({field_name}): {error['msg']}")
    return "; ".join(lines)


def export_metrics_dir(path: Path) -> None:
    """Hand the metrics directory to prometheus-client, which reads only the environment.

    Set before prometheus-client is first imported, in the worker's main process, so
    every forked pool process writes its samples there. Kept here because this is
    the one module that touches ``os.environ``.
    """
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(path)
