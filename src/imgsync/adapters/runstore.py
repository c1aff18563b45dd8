"""Run state kept in Redis (the result backend): plan, per-mapping results, final report.

The producer writes the plan, each task adds its result as it finishes, the chord
body (or its errback) writes the report. Progress, ``imgsync status`` and the
errback's "which mappings never finished" all read the same keys, which expire
after ``result_expires``. Nothing here holds a credential. Every value is written
with :func:`~imgsync.core.codec.encode_json` and read back, validated, with
:func:`~imgsync.core.codec.decode_json`.
"""

from __future__ import annotations

from collections.abc import Sequence, Set
from dataclasses import asdict, dataclass
from typing import Any

import redis
from redis.backoff import ExponentialBackoff
from redis.retry import Retry

from imgsync.core.codec import decode_json, encode_json
from imgsync.core.result import RunReport, SyncResult
from imgsync.errors import ConfigError

PREFIX = "imgsync:run:"
RUNS_INDEX = "imgsync:runs"


@dataclass(frozen=True, slots=True)
class RunPlan:
    """What the producer enqueued: the mappings in order and the Celery ids to follow.

    ``items`` are the task messages as sent (``SyncItem.to_dict()``). Only their
    ``source`` and ``destination`` text is checked here: the worker that runs one
    decodes it as a ``SyncItem``, and parsing 10,000 items' references on every
    read of the plan would cost a good part of a second.
    """

    run_id: str
    started_at: str
    items: tuple[dict[str, Any], ...]
    task_ids: tuple[str, ...]
    body_id: str
    dry_run: bool = False

    def __post_init__(self) -> None:
        for index, item in enumerate(self.items):
            if not all(isinstance(item.get(key), str) for key in ("source", "destination")):
                raise ValueError(f"items.{index}: source and destination must be strings")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


#: The key part a saved report pushes to, for a producer blocked on it.
REPORTED_SIGNAL = "reported-signal"

#: Retries of a patient client: 0.2, 0.4 … 2 s apart, about a minute in all.
PATIENT_RETRIES = 30


def is_redis_url(url: str) -> bool:
    """Whether ``url`` names a Redis server (plain, TLS or a unix socket)."""
    return url.startswith(("redis://", "rediss://", "unix://"))


def connect(url: str | None, *, patient: bool = False) -> redis.Redis:
    """A Redis client for the result backend; other backends cannot hold run state.

    ``patient`` (workers): a refused or dropped connection is retried for about a
    minute, so a Redis restart does not fail the copy that was running meanwhile
    (its lock release and result would be lost). The producer checks at once.
    """
    if url is None or not is_redis_url(url):
        raise ConfigError(
            "distributed mode needs a Redis result backend "
            "(IMGSYNC_RESULT_BACKEND=redis://… or a redis:// broker URL)"
        )
    if patient:
        return redis.Redis.from_url(
            url,
            socket_timeout=30,
            health_check_interval=10,
            retry=Retry(
                ExponentialBackoff(cap=2.0, base=0.1), PATIENT_RETRIES, (redis.ConnectionError,)
            ),
        )
    return redis.Redis.from_url(url, socket_timeout=30, health_check_interval=10)


class RunStore:
    """Typed access to one Redis for run plans, results and reports."""

    def __init__(self, client: redis.Redis, *, expires: float) -> None:
        self.client = client
        self.expires = int(expires)

    def _key(self, run_id: str, part: str) -> str:
        return f"{PREFIX}{run_id}:{part}"

    def save_plan(self, plan: RunPlan) -> None:
        pipe = self.client.pipeline()
        pipe.set(self._key(plan.run_id, "plan"), encode_json(plan), ex=self.expires)
        pipe.zadd(RUNS_INDEX, {plan.run_id: _epoch(plan.started_at)})
        pipe.execute()

    def forget(self, run_id: str) -> None:
        """Drop a run whose tasks never reached the broker, so no one waits for it."""
        pipe = self.client.pipeline()
        pipe.delete(self._key(run_id, "plan"))
        pipe.zrem(RUNS_INDEX, run_id)
        pipe.execute()

    def plan(self, run_id: str) -> RunPlan | None:
        raw = self.client.get(self._key(run_id, "plan"))
        return decode_json(RunPlan, raw) if raw else None

    def has_plan(self, run_id: str) -> bool:
        """Whether Redis still knows the run, without reading (and decoding) its plan."""
        return bool(self.client.exists(self._key(run_id, "plan")))

    def add_result(self, run_id: str, index: int, result: SyncResult) -> None:
        """Record (or replace, on redelivery) the result of mapping ``index``."""
        key = self._key(run_id, "results")
        pipe = self.client.pipeline()
        pipe.hset(key, str(index), encode_json(result))
        pipe.expire(key, self.expires)
        pipe.execute()

    def results(self, run_id: str) -> dict[int, SyncResult]:
        raw = self.client.hgetall(self._key(run_id, "results"))
        return {int(k): decode_json(SyncResult, v) for k, v in raw.items()}

    def new_results(self, run_id: str, seen: Set[int]) -> dict[int, SyncResult]:
        """The results not in ``seen``: a waiting producer decodes each result once, not
        every result on every poll (which grew with the square of a run's length)."""
        key = self._key(run_id, "results")
        if self.client.hlen(key) <= len(seen):
            return {}
        fresh = [k for k in self.client.hkeys(key) if int(k) not in seen]
        raw = self.client.hmget(key, fresh) if fresh else []
        return {int(k): decode_json(SyncResult, v) for k, v in zip(fresh, raw, strict=True) if v}

    def count_results(self, run_id: str) -> int:
        return int(self.client.hlen(self._key(run_id, "results")))

    def claim_report(self, run_id: str) -> bool:
        """True for the first caller only: who may notify (chord body, errback, salvage)."""
        claimed = self.client.set(self._key(run_id, "reported"), "1", nx=True, ex=self.expires)
        return bool(claimed)

    def save_report(self, report: RunReport) -> None:
        """Store the report and wake a producer waiting for it (:meth:`wait_reported`)."""
        signal, pipe = self._key(report.run_id, REPORTED_SIGNAL), self.client.pipeline()
        pipe.set(self._key(report.run_id, "report"), encode_json(report), ex=self.expires)
        pipe.rpush(signal, "1")
        pipe.expire(signal, self.expires)
        pipe.execute()

    def wait_reported(self, run_id: str, timeout: float) -> None:
        """Return once the run's report is saved, or after ``timeout`` seconds: a producer
        learns of the end at once instead of at its next poll."""
        self.client.blpop([self._key(run_id, REPORTED_SIGNAL)], timeout=timeout)

    def report(self, run_id: str) -> RunReport | None:
        raw = self.client.get(self._key(run_id, "report"))
        return decode_json(RunReport, raw) if raw else None

    def recent_runs(self, limit: int) -> Sequence[str]:
        found = self.client.zrevrange(RUNS_INDEX, 0, limit - 1)
        return [r.decode() if isinstance(r, bytes) else str(r) for r in found]


def _epoch(iso: str) -> float:
    from datetime import datetime

    return datetime.fromisoformat(iso).timestamp()
