"""Registry faults injected by a real proxy, with the real skopeo and registries behind it.

Retryable faults (429 with ``Retry-After``, bursts of 502/503, connections reset in the
middle of a blob upload or download, answers stalled past the timeout) must end in
``synced`` within the retry bounds; permanent ones (401, 403, 404, unknown manifest) must
fail at once with the right category. Each mapping of a run meets its own fault (rules
match its repository), so one run covers many faults; every run is bounded, so a hang
fails the test instead of the suite.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests

from imgsync.adapters.skopeo import classify_stderr
from tests.celery_rig import fresh_redis_db, seed_sized
from tests.cli_run import Ran, base_env, run_imgsync
from tests.reliability_rig import assert_exactly_once, proxy_authfile, running_cluster
from tests.reliability_stats import Figures, mapping_counts, record
from tests.rig.fault_proxy import (
    Fault,
    FaultProxy,
    ResetDownload,
    ResetUpload,
    Respond,
    Rule,
    Stall,
    registry_error,
    retry_after,
)
from tests.rig.inspect import MANIFEST_ACCEPT, get_manifest, head_digest
from tests.rig.redis_server import RedisServer
from tests.rig.registry import Registry

pytestmark = pytest.mark.registry

SeedImage = Callable[..., str]
KB = 1024
BIG_LAYER = 256 * KB
CUT_AFTER = 64 * KB
#: Seconds: a digest request stalled longer than this is abandoned and retried.
REGISTRY_TIMEOUT = 2
#: Seconds: a copy stalled longer than this is killed (category ``timeout``) and retried.
COPY_TIMEOUT = 12
MAX_RETRIES = 3
#: No run may take longer than this, whatever it meets (the "no hang" bound).
RUN_BOUND = 150.0


@dataclass(frozen=True)
class Case:
    """One mapping's fault: which side, which request, how often; what the result must be."""

    name: str
    side: str  # "src" (reads) or "dst" (writes)
    fault: Fault
    method: str
    part: str  # "manifests", "blobs", "blobs/uploads" or "layer" (the big layer's blob)
    times: int | None
    status: str = "synced"
    category: str | None = None
    big: bool = False
    min_length: int = 0


RETRYABLE = [
    Case("429-retry-after-on-digest-head", "src", retry_after(2), "HEAD", "manifests", 2),
    Case("429-on-skopeo-manifest-get", "src", retry_after(1), "GET", "manifests", 1),
    Case("503-burst-on-digest-head", "src", Respond(503), "HEAD", "manifests", 3),
    Case("502-burst-on-blob-get", "src", Respond(502), "GET", "blobs", 2),
    Case("503-on-blob-upload", "dst", Respond(503), "PUT", "blobs/uploads", 1),
    Case("503-on-manifest-put", "dst", Respond(503), "PUT", "manifests", 1),
    Case("reset-mid-upload", "dst", ResetUpload(CUT_AFTER), "PATCH", "blobs/uploads", 1,
         big=True, min_length=BIG_LAYER // 2),
    Case("reset-mid-download", "src", ResetDownload(CUT_AFTER), "GET", "layer", 1, big=True),
    Case("stall-on-digest-head", "src", Stall(REGISTRY_TIMEOUT * 4), "HEAD", "manifests", 1),
    Case("stall-on-blob-get", "src", Stall(COPY_TIMEOUT * 5), "GET", "layer", 1, big=True),
]  # fmt: skip

PERMANENT = [
    Case("401-on-digest-head", "src", Respond(401, {"WWW-Authenticate": 'Basic realm="x"'}),
         "HEAD", "manifests", None, "failed", "auth"),
    Case("403-on-blob-get", "src", registry_error(403, "DENIED", "access denied"),
         "GET", "blobs", None, "failed", "auth"),
    Case("403-on-manifest-put", "dst", registry_error(403, "DENIED", "requested access denied"),
         "PUT", "manifests", None, "failed", "auth"),
    Case("404-on-digest-head", "src", Respond(404), "HEAD", "manifests", None,
         "failed", "not_found"),
    Case("manifest-unknown-on-skopeo-get", "src",
         registry_error(404, "MANIFEST_UNKNOWN", "manifest unknown"), "GET", "manifests", None,
         "failed", "not_found"),
]  # fmt: skip


@pytest.fixture
def source_proxy(anon_registry: Registry) -> Iterator[FaultProxy]:
    with FaultProxy.in_front_of(anon_registry.host) as proxy:
        yield proxy


@pytest.fixture
def dest_proxy(basic_registry: Registry) -> Iterator[FaultProxy]:
    with FaultProxy.in_front_of(basic_registry.host) as proxy:
        yield proxy


@pytest.fixture
def env(
    tmp_path: Path,
    anon_registry: Registry,
    basic_registry: Registry,
    source_proxy: FaultProxy,
    dest_proxy: FaultProxy,
) -> dict[str, str]:
    """Embedded mode through both proxies, with short timeouts so stalls cost seconds."""
    auth = proxy_authfile(tmp_path / "auth.json", basic_registry, dest_proxy)
    hosts = [anon_registry.host, basic_registry.host, source_proxy.host, dest_proxy.host]
    return base_env(
        tmp_path / "home",
        REGISTRY_AUTH_FILE=str(auth),
        IMGSYNC_INSECURE_REGISTRIES=",".join(hosts),
        IMGSYNC_MAX_RETRIES=str(MAX_RETRIES),
        IMGSYNC_REGISTRY_TIMEOUT=str(REGISTRY_TIMEOUT),
        IMGSYNC_COPY_TIMEOUT=str(COPY_TIMEOUT),
    )


@dataclass(frozen=True)
class Planned:
    """A case bound to its repositories and mapping, with the rule that injects it."""

    case: Case
    mapping: str
    digest: str
    dest_repo: str
    rule: Rule


def layer_digests(registry: Registry, repo: str, tag: str) -> list[str]:
    """The layer blobs of every platform of ``repo:tag`` (an index)."""
    index = get_manifest(registry, repo, tag)
    platforms = [get_manifest(registry, repo, m["digest"]) for m in index["manifests"]]
    return [layer["digest"] for p in platforms for layer in p["layers"]]


def plan_case(
    case: Case,
    *,
    repo: str,
    anon: Registry,
    seed: Callable[[str], str],
    proxies: tuple[FaultProxy, FaultProxy],
) -> Planned:
    """Seed the case's own image (own blobs: nothing is mounted from elsewhere), add its rule."""
    src_repo, dest_repo = f"{repo}/s-{case.name}", f"{repo}/d-{case.name}"
    digest = seed(src_repo)
    target = src_repo if case.side == "src" else dest_repo
    if case.part == "layer":
        layers = "|".join(d.split(":")[1] for d in layer_digests(anon, src_repo, "v"))
        path = f"^/v2/{re.escape(target)}/blobs/sha256:({layers})"
    else:
        path = f"^/v2/{re.escape(target)}/{case.part}/"
    rule = Rule(
        case.fault, path=path, method=case.method, times=case.times, min_length=case.min_length
    )
    (proxies[0] if case.side == "src" else proxies[1]).add(rule)
    mapping = f"{proxies[0].host}/{src_repo}:v={proxies[1].host}/{dest_repo}:v"
    return Planned(case, mapping, digest, dest_repo, rule)


@pytest.fixture
def plan(
    anon_registry: Registry,
    seed_image: SeedImage,
    source_proxy: FaultProxy,
    dest_proxy: FaultProxy,
    tmp_path: Path,
    unique_repo: str,
) -> Callable[[list[Case]], list[Planned]]:
    def seed(case: Case) -> Callable[[str], str]:
        if case.big:
            return lambda repo: seed_sized(
                anon_registry, repo, "v", tmp_path=tmp_path, layer_size=BIG_LAYER
            )
        return lambda repo: seed_image(anon_registry, repo, "v", name=repo)

    def _plan(cases: list[Case]) -> list[Planned]:
        proxies = (source_proxy, dest_proxy)
        return [
            plan_case(c, repo=unique_repo, anon=anon_registry, seed=seed(c), proxies=proxies)
            for c in cases
        ]

    return _plan


def timed_sync(env: dict[str, str], report: Path, mappings: list[str]) -> tuple[Ran, float]:
    started = time.monotonic()
    ran = run_imgsync(["sync", *mappings], env, report=report, timeout=RUN_BOUND)
    return ran, time.monotonic() - started


def record_run(name: str, planned: list[Planned], ran: Ran, *proxies: FaultProxy) -> None:
    faults: dict[str, int] = {}
    for proxy in proxies:
        for kind, count in proxy.injected.items():
            faults[kind] = faults.get(kind, 0) + count
    expected = [tuple(p.mapping.split("=")) for p in planned]
    lost, doubled = mapping_counts(ran.report, [(a, b) for a, b in expected])
    mappings = len(planned)
    record(Figures(name, mappings=mappings, faults=faults, lost=lost, double_counted=doubled))


@dataclass(frozen=True)
class FaultRun:
    """One run's cases, what it printed and reported, and how long it took."""

    planned: list[Planned]
    ran: Ran
    elapsed: float

    def results(self) -> dict[str, dict[str, Any]]:
        """Each case's result by case name, once every mapping was reported exactly once."""
        return by_destination(self.ran, self.planned)


@dataclass(frozen=True)
class Faulty:
    """The rig of these tests: both proxies, the destination behind one, and a planner."""

    env: dict[str, str]
    plan: Callable[[list[Case]], list[Planned]]
    destination: Registry
    proxies: tuple[FaultProxy, FaultProxy]
    tmp_path: Path

    def run_embedded(self, name: str, cases: list[Case]) -> FaultRun:
        """Plan ``cases``, sync them in one embedded run, record the figures as ``name``."""
        planned = self.plan(cases)
        mappings = [p.mapping for p in planned]
        ran, elapsed = timed_sync(self.env, self.tmp_path / "report.json", mappings)
        record_run(name, planned, ran, *self.proxies)
        return FaultRun(planned, ran, elapsed)


@pytest.fixture
def faulty(
    env: dict[str, str],
    plan: Callable[[list[Case]], list[Planned]],
    basic_registry: Registry,
    source_proxy: FaultProxy,
    dest_proxy: FaultProxy,
    tmp_path: Path,
) -> Faulty:
    return Faulty(env, plan, basic_registry, (source_proxy, dest_proxy), tmp_path)


def by_destination(ran: Ran, planned: list[Planned]) -> dict[str, dict[str, Any]]:
    assert ran.report is not None, ran.output
    assert_exactly_once(ran.report, [p.mapping for p in planned])
    return {p.case.name: ran.result_for(f"/{p.dest_repo}:") for p in planned}


@pytest.mark.timeout(300)
def test_retryable_faults_end_synced_within_the_retry_bounds(faulty: Faulty) -> None:
    run = faulty.run_embedded("faults: retryable (embedded)", RETRYABLE)

    assert run.ran.returncode == 0, run.ran.output
    results = run.results()
    for item in run.planned:
        result = results[item.case.name]
        assert result["status"] == "synced", (item.case.name, result)
        assert 1 <= result["attempts"] <= MAX_RETRIES + 1, (item.case.name, result)
        assert result["destination_digest"] == item.digest
        assert head_digest(faulty.destination, item.dest_repo, "v") == item.digest
        assert item.rule.exhausted, f"{item.case.name}: injected {item.rule.injected} times"
    # Retry-After was honoured: two 2 s waits inside one attempt's digest check
    assert results["429-retry-after-on-digest-head"]["duration_s"] >= 3.5
    # a skopeo copy stalled past IMGSYNC_COPY_TIMEOUT was killed and tried again
    assert results["stall-on-blob-get"]["attempts"] >= 2
    assert run.elapsed < RUN_BOUND


@pytest.mark.timeout(200)
def test_permanent_faults_fail_at_once_with_their_category(faulty: Faulty) -> None:
    run = faulty.run_embedded("faults: permanent (embedded)", PERMANENT)

    assert run.ran.returncode == 1, run.ran.output
    results = run.results()
    for item in run.planned:
        result = results[item.case.name]
        assert result["status"] == "failed", (item.case.name, result)
        assert result["error"]["category"] == item.case.category, (item.case.name, result)
        assert result["attempts"] == 1, (item.case.name, result)
        assert item.rule.injected >= 1, item.case.name
        if item.case.side == "dst":
            assert head_digest(faulty.destination, item.dest_repo, "v") is None
    # "at once": no mapping-level retry and no backoff; copies that fail take seconds
    assert run.elapsed < 60, run.elapsed
    assert "Traceback" not in run.ran.output


#: A sample for the Celery path: task retries instead of the embedded retry loop.
CELERY_CASES = [
    RETRYABLE[0],  # 429 + Retry-After on the digest HEAD
    RETRYABLE[3],  # 502 burst on blob GETs: skopeo fails, the task is retried
    RETRYABLE[6],  # reset mid-upload
    PERMANENT[0],  # 401
    PERMANENT[4],  # manifest unknown
]


@pytest.mark.celery
@pytest.mark.timeout(240)
def test_faults_on_celery_workers_end_as_in_embedded_mode(
    faulty: Faulty, redis_server: RedisServer
) -> None:
    planned = faulty.plan(CELERY_CASES)
    env = faulty.env
    settings = {k: v for k, v in env.items() if k.startswith("IMGSYNC_") and "INSECURE" not in k}
    hosts = env["IMGSYNC_INSECURE_REGISTRIES"].split(",")
    auth = Path(env["REGISTRY_AUTH_FILE"])
    with (
        fresh_redis_db(redis_server) as url,
        running_cluster(
            faulty.tmp_path / "c", broker=url, auth=auth, insecure=hosts, settings=settings
        ) as c,
    ):
        ran = c.sync([p.mapping for p in planned], timeout=RUN_BOUND)
    record_run("faults: mixed (celery)", planned, ran, *faulty.proxies)

    assert ran.returncode == 1, ran.output
    results = by_destination(ran, planned)
    for item in planned:
        result = results[item.case.name]
        assert result["status"] == item.case.status, (item.case.name, result)
        assert (result["error"] or {}).get("category") == item.case.category, result
        assert item.rule.injected >= 1, item.case.name
        if item.case.status == "synced":
            assert head_digest(faulty.destination, item.dest_repo, "v") == item.digest
            assert 1 <= result["attempts"] <= MAX_RETRIES + 1, result
        else:
            assert result["attempts"] == 1, result
    assert results["502-burst-on-blob-get"]["attempts"] >= 2


#: What skopeo 1.9.3 printed in these tests, for faults the rules above inject.
OBSERVED_SKOPEO_FAILURES = [
    ("reading blob sha256:1f: Error fetching blob: invalid status code from registry 502 "
     "(Bad Gateway)", "network"),
    ("pinging container registry 127.0.0.1:1: invalid status code from registry 503 "
     "(Service Unavailable)", "network"),
    ("failed to read from destination repository e/out5: 503 (Service Unavailable)", "network"),
    ("writing blob: uploading layer chunked: received unexpected HTTP status: 502 Bad Gateway",
     "network"),
    ('writing blob: Patch "http://127.0.0.1:1/v2/e/out/blobs/uploads/x": read tcp '
     "127.0.0.1:2->127.0.0.1:1: read: connection reset by peer", "network"),
    ("Error fetching blob: invalid status code from registry 403 (Forbidden)", "auth"),
    ("initializing image from source docker://127.0.0.1:1/e/img@sha256:1c: unsupported schema "
     "version 2", "unsupported"),
]  # fmt: skip


@pytest.mark.parametrize(("message", "category"), OBSERVED_SKOPEO_FAILURES)
def test_observed_skopeo_fault_messages_are_classified(message: str, category: str) -> None:
    stderr = f'time="2026-11-29T06:16:26Z" level=fatal msg="{message}"\n'
    assert classify_stderr(stderr) == category


def test_the_fault_proxy_injects_what_its_rules_say(
    source_proxy: FaultProxy, anon_registry: Registry, tmp_path: Path, unique_repo: str
) -> None:
    """The rig itself: counts, skips, resets that need their bytes, stalls, relayed answers."""
    seed_sized(anon_registry, unique_repo, "v", tmp_path=tmp_path, layer_size=BIG_LAYER)
    layer = layer_digests(anon_registry, unique_repo, "v")[0]
    base = f"http://{source_proxy.host}/v2/{unique_repo}"
    source_proxy.add(
        Rule(retry_after(7), path="/manifests/", method="HEAD", times=1, skip=1),
        Rule(ResetDownload(CUT_AFTER), path="/blobs/", times=2),
        Rule(Stall(5), path="/tags/list", times=1),
    )
    head = f"{base}/manifests/v"
    accept = {"Accept": MANIFEST_ACCEPT}
    assert requests.head(head, headers=accept, timeout=5).status_code == 200  # skipped once
    limited = requests.head(head, headers=accept, timeout=5)
    assert (limited.status_code, limited.headers["Retry-After"]) == (429, "7")
    assert requests.head(head, headers=accept, timeout=5).status_code == 200  # times=1: spent
    with pytest.raises(requests.exceptions.RequestException):
        requests.get(f"{base}/blobs/{layer}", timeout=5).content  # noqa: B018
    index = get_manifest(anon_registry, unique_repo, "v")
    small = get_manifest(anon_registry, unique_repo, index["manifests"][0]["digest"])
    config = requests.get(f"{base}/blobs/{small['config']['digest']}", timeout=5)
    assert config.status_code == 200  # shorter than the cut: relayed whole, not counted
    with pytest.raises(requests.exceptions.ReadTimeout):
        requests.get(f"{base}/tags/list", timeout=1)
    assert dict(source_proxy.injected) == {"http_429": 1, "reset_download": 1, "stall": 1}
    assert [rule.injected for rule in source_proxy.rules()] == [1, 1, 1]
    # The log appends each exchange when it ends: under load a relayed answer can land
    # after the next, injected one, so the order checked is the order they started in.
    started = sorted(source_proxy.log(), key=lambda seen: seen.started)[:5]
    statuses = [(seen.method, seen.status, seen.fault) for seen in started]
    assert statuses == [
        ("HEAD", 200, None),
        ("HEAD", 429, "http_429"),
        ("HEAD", 200, None),
        ("GET", 0, "reset_download"),
        ("GET", 200, None),
    ]
