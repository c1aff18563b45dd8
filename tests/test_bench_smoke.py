"""The benchmark harness: its latency proxy really adds the configured latency, and it runs.

The proxy is checked against a real ``docker-registry``: the cheapest request through it
must cost one emulated round trip more than the same request direct, and the first
request on a new connection the handshake round trips on top. Minimums over several
samples are compared, because other load can only make requests slower, never faster.
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path

import pytest
import requests
from bench.latency_proxy import LatencyProxy, ProxyConfig

from tests.rig.binaries import need_binary
from tests.rig.registry import Registry
from tests.rig.tls import make_tls_files

REPO_ROOT = Path(__file__).resolve().parent.parent
DELAY_S = 0.015
RTT_S = 2 * DELAY_S
HANDSHAKE_RTTS = 2
SAMPLES = 12
#: What the proxy may add beyond the configured delay (event-loop wake-ups, a busy machine).
SLACK_S = 0.012


@pytest.fixture(scope="module")
def registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Registry]:
    need_binary("docker-registry")
    with Registry("anonymous", workdir=tmp_path_factory.mktemp("bench-registry")) as reg:
        yield reg


def _proxy_for(registry: Registry, **extra: Path) -> LatencyProxy:
    host, _, port = registry.host.rpartition(":")
    config = ProxyConfig((host, int(port)), delay_s=DELAY_S, handshake_rtts=HANDSHAKE_RTTS)
    return LatencyProxy(replace(config, **extra)).start()


def _timed(call: Callable[[], requests.Response]) -> float:
    started = time.perf_counter()
    response = call()
    elapsed = time.perf_counter() - started
    assert response.status_code == 200
    return elapsed


def _keepalive_min(url: str, verify: str | bool = True) -> float:
    """Fastest of several requests on one kept-alive connection (after the first)."""
    session = requests.Session()
    session.trust_env = False
    session.verify = verify
    session.get(url, timeout=10)
    return min(_timed(lambda: session.get(url, timeout=10)) for _ in range(SAMPLES))


def _new_connection_min(url: str, verify: str | bool = True) -> float:
    """Fastest first request over a fresh connection each time."""
    times = []
    for _ in range(SAMPLES // 2):
        session = requests.Session()
        session.trust_env = False
        session.verify = verify
        times.append(_timed(lambda s=session: s.get(url, timeout=10)))  # type: ignore[misc]
        session.close()
    return min(times)


@pytest.mark.registry
def test_proxy_adds_one_round_trip_per_request(registry: Registry) -> None:
    proxy = _proxy_for(registry)
    try:
        direct = _keepalive_min(f"{registry.url}/v2/")
        proxied = _keepalive_min(f"http://{proxy.host}/v2/")
    finally:
        proxy.stop()
    added = proxied - direct
    assert RTT_S - 0.002 <= added <= RTT_S + SLACK_S, (direct, proxied)


@pytest.mark.registry
def test_proxy_adds_the_handshake_round_trips_to_a_new_connection(registry: Registry) -> None:
    proxy = _proxy_for(registry)
    try:
        direct = _new_connection_min(f"{registry.url}/v2/")
        proxied = _new_connection_min(f"http://{proxy.host}/v2/")
    finally:
        proxy.stop()
    expected = (1 + HANDSHAKE_RTTS) * RTT_S
    added = proxied - direct
    assert expected - 0.002 <= added <= expected + SLACK_S, (direct, proxied)


@pytest.mark.registry
def test_proxy_terminates_tls_that_clients_verify(registry: Registry, tmp_path: Path) -> None:
    tls = make_tls_files(tmp_path / "tls")
    proxy = _proxy_for(registry, tls_cert=tls.cert, tls_key=tls.key)
    try:
        proxied = _keepalive_min(f"https://{proxy.host}/v2/", verify=str(tls.ca))
    finally:
        proxy.stop()
    assert RTT_S - 0.002 <= proxied <= RTT_S + 0.05


@pytest.mark.registry
def test_proxy_overlaps_concurrent_requests(registry: Registry) -> None:
    """Latency, not a throughput cap: 8 parallel connections take about one round trip, not 8."""
    from concurrent.futures import ThreadPoolExecutor

    proxy = _proxy_for(registry)
    sessions = [requests.Session() for _ in range(8)]
    url = f"http://{proxy.host}/v2/"
    try:
        for session in sessions:
            session.trust_env = False
            session.get(url, timeout=10)
        started = time.perf_counter()
        for session in sessions:
            session.get(url, timeout=10)
        one_by_one = time.perf_counter() - started
        with ThreadPoolExecutor(8) as pool:
            started = time.perf_counter()
            list(pool.map(lambda s: s.get(url, timeout=10), sessions))
            elapsed = time.perf_counter() - started
    finally:
        proxy.stop()
    # Side by side with the same 8 requests one after another, so a loaded machine slows
    # both: a proxy that serialised connections would take about as long in parallel.
    assert elapsed < 4 * RTT_S or elapsed < one_by_one / 3, (elapsed, one_by_one)


@pytest.mark.bench
@pytest.mark.celery
@pytest.mark.registry
@pytest.mark.timeout(600)
def test_quick_benchmark_runs_end_to_end(tmp_path: Path) -> None:
    """``python -m bench --quick`` on a subset: every run succeeds and the files appear.

    The Celery row runs one worker of two pool processes: its label says so, and so does
    the pool the harness counted below the running worker.
    """
    for binary in ("docker-registry", "skopeo", "redis-server"):
        need_binary(binary)
    out = tmp_path / "out"
    argv = [
        sys.executable, "-m", "bench", "--quick",
        "--scenarios", "a,b",
        "--competitors", "loop,skopeo-sync,embedded-default,celery-w1x2",
        "--celery-concurrency", "2",
        "--enqueue-n", "200",
        "--out", str(out),
    ]  # fmt: skip
    proc = subprocess.run(argv, cwd=REPO_ROOT, capture_output=True, text=True, timeout=540)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    data = json.loads((out / "benchmarks.json").read_text())
    runs = data["measurements"]
    assert runs and all(m["ok"] for m in runs), [m["error"] for m in runs if not m["ok"]]
    skip_gets = {
        m["competitor"]: m["src_manifest_gets"] for m in runs if m["scenario"] == "in-sync"
    }
    assert skip_gets["embedded-default"] == 0 and skip_gets["celery-w1x2"] == 0
    celery = [m for m in runs if m["competitor"] == "celery-w1x2"]
    assert celery and all(m["worker_pool_sizes"] == [2] for m in celery)
    assert data["meta"]["labels"]["celery-w1x2"] == "imgsync Celery, 1 worker(s) × 2 processes"
    assert skip_gets["loop"] > 0 and skip_gets["skopeo-sync"] > 0
    assert statistics.median(m["wall_s"] for m in runs) > 0
    assert (out / "benchmarks.md").read_text().startswith("# Benchmarks")
    assert data["extras"]["enqueue"]["imgsync"]["runs"][0]["queued"] == 200
