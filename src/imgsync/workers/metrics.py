"""Prometheus metrics of the workers, safe under Celery's prefork pool.

prometheus-client picks single- or multi-process mode when it is first imported
(from ``PROMETHEUS_MULTIPROC_DIR``), so nothing here imports it at module level:
``imgsync worker --metrics-port`` must set that directory first. The metrics are
built on first use in each pool process; the main process only serves them.
"""

from __future__ import annotations

import functools
import logging
import shutil
import tempfile
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from imgsync.config.settings import export_metrics_dir

if TYPE_CHECKING:
    from prometheus_client import Counter, Gauge, Histogram

    from imgsync.core.quota import AccountQuota
    from imgsync.core.result import SyncResult

log = logging.getLogger(__name__)

#: Seconds: a HEAD-only skip takes well under one, a large copy many minutes.
DURATION_BUCKETS = (0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600)


@dataclass(frozen=True, slots=True)
class WorkerMetrics:
    """The metric objects one pool process records into."""

    mappings: Counter
    mapping_seconds: Histogram
    retries: Counter
    lock_waits: Counter
    rate_limit_remaining: Gauge


@functools.cache
def worker_metrics() -> WorkerMetrics:
    """This process's metrics, registered once (the pipeline times a mapping as a whole)."""
    from prometheus_client import Counter, Gauge, Histogram

    return WorkerMetrics(
        mappings=Counter("imgsync_mappings", "Mappings finished, by status.", ["status"]),
        mapping_seconds=Histogram(
            "imgsync_mapping_seconds",
            "Time to check and (if needed) copy one mapping, by status.",
            ["status"],
            buckets=DURATION_BUCKETS,
        ),
        retries=Counter("imgsync_retries", "Task retries after a fault that may pass."),
        lock_waits=Counter(
            "imgsync_lock_waits", "Task retries because the destination was locked."
        ),
        rate_limit_remaining=Gauge(
            "imgsync_rate_limit_remaining",
            "Pulls left on a registry, as it last reported them.",
            ["registry"],
            multiprocess_mode="mostrecent",
        ),
    )


def record_result(result: SyncResult, remaining: Mapping[str, int]) -> None:
    """Count a mapping's final result and set the pulls left per registry."""
    metrics = worker_metrics()
    metrics.mappings.labels(status=result.status.value).inc()
    metrics.mapping_seconds.labels(status=result.status.value).observe(result.duration_s)
    for registry, pulls in remaining.items():
        metrics.rate_limit_remaining.labels(registry=registry).set(pulls)


def remaining_by_registry(observed: Iterable[AccountQuota]) -> dict[str, int]:
    """Pulls left per registry, summed over its accounts, as the run report shows them.

    Read from the shared quota board rather than this process's registry clients:
    the board also holds what skopeo's copies (and the other workers) last saw.
    """
    found: dict[str, int] = {}
    for quota in observed:
        if quota.remaining is not None:
            found[quota.registry] = found.get(quota.registry, 0) + quota.remaining
    return found


def record_retry() -> None:
    worker_metrics().retries.inc()


def record_lock_wait() -> None:
    worker_metrics().lock_waits.inc()


@contextmanager
def metrics_directory(configured: Path | None) -> Iterator[Path]:
    """The multiprocess directory: the user's, or a fresh one of this worker (removed after).

    A private directory per worker keeps two workers on one host from mixing (or
    wiping) each other's samples.
    """
    path = configured or Path(tempfile.mkdtemp(prefix="imgsync-metrics-"))
    path.mkdir(parents=True, exist_ok=True)
    export_metrics_dir(path)
    try:
        yield path
    finally:
        if configured is None:
            shutil.rmtree(path, ignore_errors=True)


def serve_metrics(port: int) -> None:
    """Serve /metrics from this (main) process, summing every pool process's samples."""
    from prometheus_client import CollectorRegistry, start_http_server
    from prometheus_client.multiprocess import MultiProcessCollector

    registry = CollectorRegistry()
    MultiProcessCollector(registry)  # type: ignore[no-untyped-call]  # (untyped upstream)
    start_http_server(port, registry=registry)
    log.info("serving Prometheus metrics on :%d/metrics", port)


def mark_dead(pid: int, **_: Any) -> None:
    """Drop a finished pool process's live gauges (counters and histograms stay summed)."""
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(pid)  # type: ignore[no-untyped-call]
