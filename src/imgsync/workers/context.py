"""Per-process state of a worker: its settings and the adapters built from them.

Adapters are built lazily in each pool process (after the fork), so no HTTP
session or Redis connection is shared between processes.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

import redis

from imgsync.adapters.quota_board import RedisQuotaBoard
from imgsync.adapters.runstore import RunStore, connect
from imgsync.config.settings import Settings

if TYPE_CHECKING:
    from imgsync.runtime.services import Services
    from imgsync.workers.token_warmup import TokenWarmUp

_state: dict[str, object] = {}


def set_settings(settings: Settings) -> None:
    _state.clear()
    _state["settings"] = settings


def get_settings() -> Settings:
    settings = _state.get("settings")
    if not isinstance(settings, Settings):
        settings = Settings.from_env()
        set_settings(settings)
    return settings


def _per_process(name: str) -> str:
    return f"{name}:{os.getpid()}"


def services() -> Services:
    """The registry pool and copier of this process."""
    from imgsync.runtime.services import Services, build_services  # not in the producer

    key = _per_process("services")
    found = _state.get(key)
    if not isinstance(found, Services):
        found = _state[key] = build_services(get_settings(), board=quota_board())
    return found


def token_warm_up() -> TokenWarmUp:
    """This process's token warm-up over its registry pool and the runs' stored plans."""
    from imgsync.workers.token_warmup import TokenWarmUp

    key = _per_process("token-warm-up")
    found = _state.get(key)
    if not isinstance(found, TokenWarmUp):
        found = _state[key] = TokenWarmUp(services().registry, _plan_items)
    return found


def _plan_items(run_id: str) -> tuple[dict[str, object], ...] | None:
    plan = run_store().plan(run_id)
    return plan.items if plan is not None else None


def redis_client() -> redis.Redis:
    """This process's client for the result backend (locks and run state)."""
    key = _per_process("redis")
    found = _state.get(key)
    if not isinstance(found, redis.Redis):
        found = _state[key] = connect(get_settings().result_backend_url, patient=True)
    return found


def run_store() -> RunStore:
    return RunStore(redis_client(), expires=get_settings().result_expires)


def quota_board() -> RedisQuotaBoard:
    """The pull quotas every worker shares, kept in the result backend."""
    settings = get_settings()
    return RedisQuotaBoard(redis_client(), ttl=settings.task_time_limit + 60)
