"""``imgsync sync`` with a broker: real ``imgsync worker`` processes, Redis, registries, skopeo.

Most tests share one module-scoped trio of workers on a queue (and Redis database)
no other test uses. Tests that kill whole workers or need other time limits start
their own. A throttling proxy in front of the source registry makes copies last
seconds, so "kill in the middle of a copy" and "two runs at once" are deterministic.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import re
import signal
import socket
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Self

import pytest
import requests

from tests.celery_rig import (
    Cluster,
    alive,
    delete_amqp_queue,
    fresh_redis_db,
    kombu_messages,
    pairs,
    redis_texts,
    secrets_in_redis,
    seed_sized,
    skopeo_processes,
    statuses,
    unique_name,
    wait_until,
)
from tests.cli_run import Ran, authfile_for, base_env, run_imgsync
from tests.reliability_rig import celery_limits
from tests.rig.binaries import in_ci, need_binary
from tests.rig.fake_notify import FakeNotifyServer, fake_wpush
from tests.rig.inspect import head_digest
from tests.rig.poller import Poller
from tests.rig.redis_server import RedisServer
from tests.rig.registry import Registry
from tests.rig.slow_proxy import SlowProxy

pytestmark = [pytest.mark.celery, pytest.mark.registry]

SeedImage = Callable[..., str]
DOCKERHUB_TOKEN = "dckr_pat_CELERY_marker_never_store_me"
WPUSH_KEY = "WPUSHceleryMarkerKeyNeverStore"
RABBITMQ_URL = "amqp://guest:guest@127.0.0.1:5672//"
MB = 1_000_000
#: Per-connection rate of the throttling proxy: a 2-platform image of 1 MB layers takes ~4 s.
SLOW_RATE = 500_000
#: Settings of the shared trio: limits far above any copy here, retries of a busy lock fast.
TRIO_SETTINGS = celery_limits(soft=50, hard=60, visibility=90)


# --------------------------------------------------------------------------- fixtures


@dataclass
class Slowed:
    """A test's repository on the anonymous registry, read through the throttled proxy."""

    proxy: SlowProxy
    source: Registry
    destination: Registry
    repo: str
    tmp_path: Path

    def seed(self, tag: str, layer_size: int = MB) -> str:
        """An image whose copy through the proxy takes seconds; its digest."""
        return seed_sized(
            self.source, self.repo, tag, tmp_path=self.tmp_path, layer_size=layer_size
        )

    def mapping(self, tag: str, destination: str) -> str:
        """``proxy/repo:tag=destination`` (a full reference on the destination registry)."""
        return f"{self.proxy.host}/{self.repo}:{tag}={destination}"

    def mappings(self, tag: str, prefix: str, count: int) -> list[str]:
        """``count`` copies of ``repo:tag`` to ``repo/<prefix><i>:tag`` on the destination.

        Each reads its own source tag (``tag-<prefix><i>``, the same manifest): copies of
        one source to several destinations would read it once and copy the rest from the
        first destination, and these tests want every copy through the slow proxy.
        """
        names = [f"{prefix}{i}" for i in range(count)]
        for name in names:
            retag(self.source, self.repo, tag, f"{tag}-{name}")
        return [self.mapping(f"{tag}-{name}", self.to(name, tag)) for name in names]

    def to(self, name: str, tag: str) -> str:
        return dest_ref(self.destination, f"{self.repo}/{name}", tag)


def retag(registry: Registry, repo: str, tag: str, new: str) -> None:
    """Point ``new`` at ``repo:tag``'s manifest (a manifest PUT, no blob moves)."""
    url = f"http://{registry.host}/v2/{repo}/manifests"
    accept = "application/vnd.oci.image.index.v1+json, application/vnd.oci.image.manifest.v1+json"
    got = requests.get(f"{url}/{tag}", headers={"Accept": accept}, timeout=10)
    got.raise_for_status()
    headers = {"Content-Type": got.headers["Content-Type"]}
    requests.put(f"{url}/{new}", data=got.content, headers=headers, timeout=10).raise_for_status()


def cluster_env(
    home: Path,
    *,
    broker: str,
    backend: str | None,
    queue: str,
    registries: list[Registry],
    insecure: list[str],
    wpush: FakeNotifyServer,
    **settings: str,
) -> dict[str, str]:
    """What workers and producers of one cluster share: secrets included, on purpose."""
    home.mkdir(parents=True, exist_ok=True)
    auth = authfile_for(home / "auth.json", registries)
    env = base_env(
        home,
        IMGSYNC_BROKER_URL=broker,
        IMGSYNC_QUEUE=queue,
        REGISTRY_AUTH_FILE=str(auth),
        IMGSYNC_INSECURE_REGISTRIES=",".join(insecure),
        DOCKERHUB_USERNAME="celery-tester",
        DOCKERHUB_TOKEN=DOCKERHUB_TOKEN,
        WPUSH_KEY=WPUSH_KEY,
        IMGSYNC_WPUSH_API=wpush.url,
        **settings,
    )
    if backend:
        env["IMGSYNC_RESULT_BACKEND"] = backend
    return env


@pytest.fixture(scope="module")
def wpush() -> Iterator[FakeNotifyServer]:
    with fake_wpush() as server:
        yield server


@pytest.fixture(scope="module")
def proxy(anon_registry: Registry) -> Iterator[SlowProxy]:
    """The anonymous registry behind a proxy the trio knows; tests set its rate."""
    with SlowProxy.in_front_of(anon_registry.host) as slow:
        yield slow


@pytest.fixture
def slow(proxy: SlowProxy) -> Iterator[SlowProxy]:
    """The module proxy throttled to :data:`SLOW_RATE` for one test."""
    proxy.rate_bps = SLOW_RATE
    yield proxy
    proxy.rate_bps = None


@pytest.fixture(scope="module")
def registries(
    anon_registry: Registry, basic_registry: Registry, token_registry: Registry
) -> list[Registry]:
    need_binary("skopeo")
    return [anon_registry, basic_registry, token_registry]


@pytest.fixture(scope="module")
def trio_workers(
    tmp_path_factory: pytest.TempPathFactory,
    redis_server: RedisServer,
    registries: list[Registry],
    proxy: SlowProxy,
    wpush: FakeNotifyServer,
) -> Iterator[Cluster]:
    """Three workers (concurrency 2) on a queue and Redis database of this module only."""
    workdir = tmp_path_factory.mktemp("trio")
    with fresh_redis_db(redis_server) as url:
        env = cluster_env(
            workdir / "home",
            broker=url,
            backend=None,
            queue=unique_name("trio"),
            registries=registries,
            insecure=[r.host for r in registries] + [proxy.host],
            wpush=wpush,
            **TRIO_SETTINGS,
        )
        cluster = Cluster(workdir, env)
        try:
            cluster.start_workers(*(unique_name(f"w{i}") for i in (1, 2, 3)))
            yield cluster
        finally:
            cluster.stop()


@pytest.fixture
def trio(trio_workers: Cluster) -> Iterator[Cluster]:
    """The shared trio; a test must leave its queue empty and no message unacked."""
    yield trio_workers

    def idle(client: Any) -> bool:
        return bool(client.llen(trio_workers.queue) == 0 and client.hlen("unacked") == 0)

    with trio_workers.redis() as client:
        wait_until(lambda: idle(client), 15, "the trio's queue to drain")


ClusterFactory = Callable[..., Cluster]


@pytest.fixture
def make_cluster(
    tmp_path: Path,
    redis_server: RedisServer,
    registries: list[Registry],
    wpush: FakeNotifyServer,
) -> Iterator[ClusterFactory]:
    """Factory for a test's own cluster (fresh Redis database and queue); stopped afterwards."""
    clusters: list[Cluster] = []
    with fresh_redis_db(redis_server) as url:

        def _make(
            *, broker: str | None = None, insecure: tuple[str, ...] = (), **settings: str
        ) -> Cluster:
            workdir = tmp_path / f"cluster-{len(clusters)}"
            workdir.mkdir()
            env = cluster_env(
                workdir / "home",
                broker=broker or url,
                backend=url,
                queue=unique_name("q"),
                registries=registries,
                insecure=[r.host for r in registries] + list(insecure),
                wpush=wpush,
                **settings,
            )
            clusters.append(Cluster(workdir, env))
            return clusters[-1]

        try:
            yield _make
        finally:
            for cluster in clusters:
                cluster.stop()


@pytest.fixture
def slowed(
    slow: SlowProxy,
    anon_registry: Registry,
    basic_registry: Registry,
    tmp_path: Path,
    unique_repo: str,
) -> Slowed:
    return Slowed(slow, anon_registry, basic_registry, unique_repo, tmp_path)


LimitedCluster = Callable[..., tuple[Slowed, Cluster]]


@pytest.fixture
def limited_cluster(
    make_cluster: ClusterFactory,
    slow_proxy: Callable[..., SlowProxy],
    anon_registry: Registry,
    basic_registry: Registry,
    tmp_path: Path,
    unique_repo: str,
) -> LimitedCluster:
    """Factory: a proxy throttled to ``rate_bps`` and a cluster of its own that knows it,
    with the given task time limits and visibility timeout (seconds)."""

    def _make(rate_bps: float, *, soft: int, hard: int, visibility: int) -> tuple[Slowed, Cluster]:
        proxy = slow_proxy(anon_registry, rate_bps=rate_bps)
        cluster = make_cluster(
            insecure=(proxy.host,),
            IMGSYNC_TASK_SOFT_TIME_LIMIT=str(soft),
            IMGSYNC_TASK_TIME_LIMIT=str(hard),
            IMGSYNC_VISIBILITY_TIMEOUT=str(visibility),
        )
        return Slowed(proxy, anon_registry, basic_registry, unique_repo, tmp_path), cluster

    return _make


@pytest.fixture(autouse=True)
def _no_orphaned_skopeo(unique_repo: str) -> Iterator[None]:
    """Whatever a test killed, no skopeo copy of its images may outlive it."""
    yield
    wait_until(lambda: not skopeo_processes(unique_repo), 10, "skopeo copies to end")


# --------------------------------------------------------------------------- helpers


def expect_pairs(mappings: list[str]) -> list[tuple[str, str]]:
    """The (source, destination) pairs of fully spelled-out mappings, in input order."""
    return [(m.split("=")[0], m.split("=")[1]) for m in mappings]


def assert_report(ran: Ran, mappings: list[str], code: int = 0) -> dict[str, Any]:
    """Exit code as expected, a celery report with every mapping exactly once, in order."""
    assert ran.returncode == code, ran.output
    report = ran.report
    assert report is not None, ran.output
    assert report["mode"] == "celery"
    assert pairs(report) == expect_pairs(mappings)
    return report


def manifest_puts(registry: Registry, repo: str, tag: str, since: int) -> int:
    """PUTs of ``repo:tag``'s manifest (by tag: the copy's last, deciding write)."""
    path = f"/v2/{repo}/manifests/{tag}"
    return sum(1 for r in registry.requests(since) if r.method == "PUT" and r.path == path)


def dest_ref(registry: Registry, repo: str, tag: str) -> str:
    return f"{registry.host}/{repo}:{tag}"


def assert_copied_once(registry: Registry, repo: str, tag: str, digest: str, since: int) -> None:
    """``repo:tag`` holds ``digest``, and its manifest was written once after ``since``."""
    assert head_digest(registry, repo, tag) == digest
    assert manifest_puts(registry, repo, tag, since) == 1


def wait_for_copies(
    find: Callable[[], dict[int, int]], count: int = 1, timeout: float = 30
) -> dict[int, int]:
    """Until ``find`` has reported ``count`` running skopeo copies: ``{skopeo: pool pid}``."""
    found: dict[int, int] = {}

    def running() -> bool:
        found.update(find())
        return len(found) >= count

    wait_until(running, timeout, f"{count} skopeo copies to start", interval=0.02)
    return found


def wait_for_copy(find: Callable[[], dict[int, int]]) -> tuple[int, int]:
    """The first running copy ``find`` reports: ``(skopeo pid, pool pid)``."""
    return next(iter(wait_for_copies(find).items()))


# --------------------------------------------------------------------------- tests


@pytest.mark.timeout(120)
def test_three_workers_share_one_queue(
    trio: Cluster,
    anon_registry: Registry,
    basic_registry: Registry,
    seed_image: SeedImage,
    unique_repo: str,
) -> None:
    tags = ["a", "b", "c", "d"]
    digests = {
        t: seed_image(anon_registry, unique_repo, t, name=f"{unique_repo}-{t}") for t in tags
    }
    mappings = [
        f"{anon_registry.host}/{unique_repo}:{tags[i % 4]}"
        f"={dest_ref(basic_registry, f'{unique_repo}/m{i:02d}', tags[i % 4])}"
        for i in range(22)
    ]
    mark = basic_registry.mark()

    report = assert_report(trio.sync(mappings), mappings)

    assert statuses(report) == ["synced"] * 22
    names = {r["worker"].split("@")[0] for r in report["results"]}
    assert len(names) > 1, names
    assert names <= {w.name for w in trio.workers}
    for i, result in enumerate(report["results"]):
        tag = tags[i % 4]
        assert result["source_digest"] == result["destination_digest"] == digests[tag]
        assert_copied_once(basic_registry, f"{unique_repo}/m{i:02d}", tag, digests[tag], mark)


def trio_copies(trio: Cluster, repo: str) -> dict[int, int]:
    """``{skopeo pid: pool pid}`` of the trio's running copies of ``repo``."""
    return {pid: pool for w in trio.workers for pid, pool in w.skopeo_pids(repo).items()}


@pytest.mark.timeout(120)
def test_pool_process_killed_mid_copy_is_redelivered(trio: Cluster, slowed: Slowed) -> None:
    digest = slowed.seed("big")
    mappings = slowed.mappings("big", "k", 3)
    mark = slowed.destination.mark()
    producer = trio.start_producer(mappings)

    skopeo_pid, pool_pid = wait_for_copy(lambda: trio_copies(trio, slowed.repo))
    os.kill(pool_pid, signal.SIGKILL)
    wait_until(lambda: not alive(skopeo_pid), 5, "the killed pool process's skopeo to die")

    report = assert_report(trio.finish(producer), mappings)
    assert statuses(report) == ["synced"] * 3
    for i in range(3):
        assert_copied_once(slowed.destination, f"{slowed.repo}/k{i}", "big", digest, mark)
    assert f"pid:{pool_pid} exited with 'signal 9 (SIGKILL)'" in trio.logs()


@pytest.mark.timeout(150)
def test_whole_worker_killed_and_replaced_finishes_the_run(
    limited_cluster: LimitedCluster,
) -> None:
    """kombu restores unacked messages older than the visibility timeout when a worker starts."""
    visibility = 8
    slowed, cluster = limited_cluster(SLOW_RATE, soft=6, hard=7, visibility=visibility)
    digest = slowed.seed("v", layer_size=MB // 2)
    mappings = slowed.mappings("v", "d", 3)
    (first,) = cluster.start_workers(unique_name("doomed"), concurrency=2)
    mark = slowed.destination.mark()
    producer = cluster.start_producer(mappings)

    copies = wait_for_copies(lambda: first.skopeo_pids(slowed.repo), count=2)
    killed = first.kill()
    killed_at = time.monotonic()
    wait_until(lambda: not any(map(alive, [*copies, *killed])), 5, "the worker to be dead")
    with cluster.redis() as client:  # what the dead worker held, invisible for now
        assert client.hlen("unacked") == 2 and client.llen(cluster.queue) == 1
    time.sleep(max(0.0, killed_at + visibility + 1 - time.monotonic()))
    (fresh,) = cluster.start_workers(unique_name("fresh"), concurrency=2)

    report = assert_report(cluster.finish(producer), mappings)
    assert statuses(report) == ["synced"] * 3
    # the doomed worker finished nothing: all three ran on the fresh one, two of them restored
    assert {r["worker"].split("@")[0] for r in report["results"]} == {fresh.name}
    for i in range(3):
        assert_copied_once(slowed.destination, f"{slowed.repo}/d{i}", "v", digest, mark)
    with cluster.redis() as client:  # the chord body acks just after it wrote the report
        wait_until(lambda: client.hlen("unacked") == 0, 10, "every message to be acked")
        assert client.llen(cluster.queue) == 0


@pytest.mark.timeout(120)
def test_two_producers_same_destination_copy_once(trio: Cluster, slowed: Slowed) -> None:
    digest = slowed.seed("v1")
    destination = slowed.to("same", "v1")
    mapping = [slowed.mapping("v1", destination)]
    mark = slowed.destination.mark()

    first = trio.start_producer(mapping)
    with trio.redis() as client:
        wait_until(lambda: client.exists(f"imgsync:lock:{destination}") == 1, 30, "the lock")
    second = trio.start_producer(mapping)
    reports = [assert_report(trio.finish(p), mapping) for p in (first, second)]

    results = sorted((r["results"][0] for r in reports), key=lambda r: r["status"])
    assert [r["status"] for r in results] == ["skipped", "synced"]
    for result in results:
        assert result["source_digest"] == result["destination_digest"] == digest
        assert result["error"] is None
    assert reports[0]["run_id"] != reports[1]["run_id"]
    assert_copied_once(slowed.destination, f"{slowed.repo}/same", "v1", digest, mark)


@pytest.mark.timeout(90)
def test_failed_mapping_still_runs_the_chord_body_and_notifies_once(
    trio: Cluster,
    wpush: FakeNotifyServer,
    anon_registry: Registry,
    basic_registry: Registry,
    seed_image: SeedImage,
    unique_repo: str,
) -> None:
    digest = seed_image(anon_registry, unique_repo, "ok", name=unique_repo)
    src = f"{anon_registry.host}/{unique_repo}"
    mappings = [
        f"{src}:ok={dest_ref(basic_registry, unique_repo, 'ok')}",
        f"{src}:missing={dest_ref(basic_registry, unique_repo, 'missing')}",
    ]
    seen = len(wpush.requests)

    report = assert_report(trio.sync(mappings), mappings, code=1)

    assert statuses(report) == ["synced", "failed"]
    assert report["results"][0]["destination_digest"] == digest
    assert report["results"][1]["error"]["category"] == "not_found"
    sent = wpush.requests[seen:]
    assert [r.path for r in sent] == ["/api/v1/send"]
    assert sent[0].json["apikey"] == WPUSH_KEY
    assert f"❌ `{src}:missing`" in sent[0].json["content"]
    assert [n["channel"] for n in report["notifications"]] == ["wpush"]
    assert report["notifications"][0]["ok"] is True


@pytest.mark.timeout(120)
def test_hard_time_limit_fails_one_mapping_and_notifies_once(
    limited_cluster: LimitedCluster,
    wpush: FakeNotifyServer,
    anon_registry: Registry,
    basic_registry: Registry,
    seed_image: SeedImage,
    tmp_path: Path,
    unique_repo: str,
) -> None:
    """A copy that ignores the soft limit is killed by the hard one; the errback reports it.

    Celery 5.7 refuses a soft limit above the hard one, so the soft limit fires first
    here; the test SIGSTOPs skopeo (a copy deaf to SIGTERM), which keeps the soft
    handler waiting out its grace period until the hard limit kills the pool process.
    """
    slowed, cluster = limited_cluster(SLOW_RATE / 4, soft=2, hard=4, visibility=10)  # ~16 s copy
    proxy = slowed.proxy
    (worker,) = cluster.start_workers(unique_name("limited"), concurrency=2)
    small = seed_image(anon_registry, unique_repo, "small", name=unique_repo)
    seed_sized(anon_registry, unique_repo, "huge", tmp_path=tmp_path, layer_size=MB)
    src = f"{anon_registry.host}/{unique_repo}"
    mappings = [
        f"{src}:small={dest_ref(basic_registry, unique_repo, 'small')}",
        f"{proxy.host}/{unique_repo}:huge={dest_ref(basic_registry, unique_repo, 'huge')}",
        f"{src}:gone={dest_ref(basic_registry, unique_repo, 'gone')}",
    ]
    seen = len(wpush.requests)

    producer = cluster.start_producer(mappings)
    skopeo_pid, _ = wait_for_copy(lambda: worker.skopeo_pids(f"{unique_repo}:huge"))
    os.kill(skopeo_pid, signal.SIGSTOP)
    report = assert_report(cluster.finish(producer), mappings, code=1)

    ok, slow_one, gone = report["results"]
    assert ok["status"] == "synced" and ok["destination_digest"] == small
    assert slow_one["status"] == "failed"
    assert slow_one["error"]["category"] == "timeout", slow_one
    assert "hard time limit" in slow_one["error"]["message"]
    assert gone["status"] == "failed" and gone["error"]["category"] == "not_found"
    assert head_digest(basic_registry, unique_repo, "huge") is None
    assert [r.path for r in wpush.requests[seen:]] == ["/api/v1/send"]
    assert "Hard time limit (4.0s) exceeded" in worker.log()
    wait_until(lambda: not alive(skopeo_pid), 5, "the stopped skopeo to die with its parent")


def rabbitmq_reachable() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 5672), timeout=1):
            return True
    except OSError:
        return False


@pytest.mark.rabbitmq
@pytest.mark.timeout(120)
def test_rabbitmq_broker_with_redis_result_backend(
    make_cluster: ClusterFactory,
    anon_registry: Registry,
    basic_registry: Registry,
    seed_image: SeedImage,
    unique_repo: str,
) -> None:
    if not rabbitmq_reachable():
        message = "RabbitMQ is not listening on 127.0.0.1:5672 (apt-get install rabbitmq-server)"
        if in_ci():
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    cluster = make_cluster(broker=RABBITMQ_URL)
    try:
        cluster.start_workers(unique_name("rmq1"), unique_name("rmq2"))
        digests = [
            seed_image(anon_registry, unique_repo, t, name=f"{unique_repo}{t}") for t in "xyz"
        ]
        mappings = [
            f"{anon_registry.host}/{unique_repo}:{t}={dest_ref(basic_registry, unique_repo, t)}"
            for t in "xyz"
        ]
        report = assert_report(cluster.sync(mappings), mappings)
    finally:
        cluster.stop()
        delete_amqp_queue(RABBITMQ_URL, cluster.queue)
    assert statuses(report) == ["synced"] * 3
    for tag, digest in zip("xyz", digests, strict=True):
        assert head_digest(basic_registry, unique_repo, tag) == digest
    with cluster.redis() as client:  # the run's state lives in the Redis result backend
        assert client.get(f"imgsync:run:{report['run_id']}:report") is not None
        assert client.llen(cluster.queue) == 0  # and nothing went through Redis as a broker


class RedisWatcher(Poller):
    """Scans every key of a Redis database over and over while a run goes on."""

    def __init__(self, cluster: Cluster, secrets: list[str], marker: str) -> None:
        super().__init__()
        self.cluster, self.secrets, self.marker = cluster, secrets, marker
        self.leaks: set[tuple[str, str]] = set()
        self.keys_with_marker: set[str] = set()
        self.scans = 0
        self._open = contextlib.ExitStack()

    def __enter__(self) -> Self:
        self._client = self._open.enter_context(self.cluster.redis())
        return super().__enter__()

    def __exit__(self, *exc: object) -> None:
        super().__exit__(*exc)
        self._open.close()

    def poll(self) -> None:
        self.scan(self._client)

    def scan(self, client: Any) -> None:
        for key, text in redis_texts(client):
            self.leaks.update((key, s) for s in self.secrets if s in text)
            if self.marker in text:
                self.keys_with_marker.add(key)
        self.scans += 1


@pytest.mark.timeout(120)
def test_no_secret_ever_reaches_redis(
    trio: Cluster, slowed: Slowed, basic_registry: Registry, token_registry: Registry
) -> None:
    unique_repo = slowed.repo
    slowed.seed("s", layer_size=MB // 4)
    targets = [basic_registry, token_registry] * 5
    mappings = [
        slowed.mapping("s", dest_ref(target, f"{unique_repo}/n{i}", "s"))
        for i, target in enumerate(targets)
    ]
    secrets = [DOCKERHUB_TOKEN, WPUSH_KEY, str(basic_registry.password)]
    secrets += [str(token_registry.password)]
    secrets += [
        base64.b64encode(f"{r.username}:{r.password}".encode()).decode()
        for r in (basic_registry, token_registry)
    ]

    with RedisWatcher(trio, secrets, unique_repo) as watcher:
        ran = trio.sync(mappings)
    with trio.redis() as client:
        after = secrets_in_redis(client, secrets)
        watcher.scan(client)

    report = assert_report(ran, mappings)
    assert statuses(report) == ["synced"] * 10
    assert watcher.scans > 3
    assert trio.queue in watcher.keys_with_marker  # queued message bodies were read
    assert "unacked" in watcher.keys_with_marker  # and the ones being worked on
    assert sorted(watcher.leaks) == [] and after == []


@pytest.mark.timeout(120)
def test_no_wait_then_status_follows_the_run(trio: Cluster, slowed: Slowed) -> None:
    unique_repo = slowed.repo
    slowed.proxy.rate_bps = SLOW_RATE / 2  # ~8 s copies: `status` must find the run still going
    digest = slowed.seed("w")
    mappings = [
        slowed.mapping("w", slowed.to("a", "w")),
        slowed.mapping("w", slowed.to("b", "w")),
        slowed.mapping("nope", slowed.to("c", "w")),
    ]

    enqueued = run_imgsync(["sync", "--no-wait", *mappings], trio.env, timeout=60)
    assert enqueued.returncode == 0, enqueued.output
    found = re.search(r"run id: (\S+)", enqueued.stdout)
    assert found, enqueued.output
    run_id = found[1]

    progress = run_imgsync(["status", run_id], trio.env, timeout=60)
    assert progress.returncode == 0, progress.output
    assert re.search(rf"run {run_id}: running, [0-2]/3 mappings done", progress.stdout)
    as_json = run_imgsync(["status", "--json", run_id], trio.env, timeout=60)
    assert as_json.returncode == 0, as_json.output
    state = json.loads(as_json.stdout)
    assert state["run_id"] == run_id and state["state"] == "running" and state["total"] == 3

    final = wait_for_status_report(trio, run_id)
    assert final.returncode == 1, final.output
    report = json.loads(final.stdout)
    assert report["run_id"] == run_id
    assert pairs(report) == expect_pairs(mappings)
    assert statuses(report) == ["synced", "synced", "failed"]
    assert report["results"][2]["error"]["category"] == "not_found"
    assert head_digest(slowed.destination, f"{unique_repo}/b", "w") == digest
    console = run_imgsync(["status", run_id], trio.env, timeout=60)
    assert console.returncode == 1
    assert f"{unique_repo}/c" in console.stdout and "not_found" in console.stdout


def wait_for_status_report(cluster: Cluster, run_id: str, timeout: float = 60) -> Ran:
    """Poll ``imgsync status --json`` until it prints the final report."""
    deadline = time.monotonic() + timeout
    while True:
        ran = run_imgsync(["status", "--json", run_id], cluster.env, timeout=60)
        if "summary" in json.loads(ran.stdout or "{}") or time.monotonic() > deadline:
            return ran
        time.sleep(0.5)


@pytest.mark.timeout(60)
def test_invalid_mapping_with_a_broker_enqueues_nothing(
    make_cluster: ClusterFactory, basic_registry: Registry
) -> None:
    cluster = make_cluster()
    with cluster.redis() as client:
        assert client.dbsize() == 0
        ran = run_imgsync(
            ["sync", f"alpine={basic_registry.host}/ok,Bad=x/y"], cluster.env, timeout=60
        )
        assert ran.returncode == 2, ran.output
        assert "item 2" in ran.stderr
        assert client.llen(cluster.queue) == 0
        assert client.keys("*") == []


@pytest.mark.timeout(30)
def test_redis_scanner_sees_inside_queued_message_bodies(
    make_cluster: ClusterFactory, unique_repo: str
) -> None:
    """The secret scan is only worth something if it reads kombu's base64 message bodies."""
    from kombu import Connection

    cluster = make_cluster()
    hidden = f"{unique_repo}-inside-a-body"
    with Connection(cluster.env["IMGSYNC_BROKER_URL"]) as conn:
        queue = conn.SimpleQueue(cluster.queue)
        queue.put({"kwargs": {"item": {"source": hidden}}}, serializer="json")
        queue.close()
    with cluster.redis() as client:
        raw = client.lindex(cluster.queue, 0)
        assert raw is not None and hidden.encode() not in raw  # the body is base64
        (message,) = kombu_messages(client, cluster.queue)
        assert message["decoded_body"]["kwargs"]["item"]["source"] == hidden
        assert secrets_in_redis(client, [hidden]) == [(cluster.queue, hidden)]


@pytest.mark.timeout(120)
def test_a_message_the_broker_lost_still_ends_the_run_with_one_report(
    make_cluster: ClusterFactory,
    wpush: FakeNotifyServer,
    anon_registry: Registry,
    basic_registry: Registry,
    seed_image: SeedImage,
    unique_repo: str,
) -> None:
    """kombu can drop a message when Redis restarts mid-delivery; the run must still end.

    The loss is made exactly: with no worker up yet, mapping #1's queued message is removed
    from the Redis list, as kombu's two-step move loses it.
    """
    cluster = make_cluster(IMGSYNC_LOST_CHECK_AFTER="2")
    digest = seed_image(anon_registry, unique_repo, "v1", name=unique_repo)
    src = f"{anon_registry.host}/{unique_repo}:v1"
    mappings = [f"{src}={dest_ref(basic_registry, f'{unique_repo}/d{i}', 'v1')}" for i in range(3)]
    seen = len(wpush.requests)
    producer = cluster.start_producer(mappings)
    with cluster.redis() as client:
        wait_until(lambda: client.llen(cluster.queue) == 3, 30, "three queued messages")
        (victim,) = [
            raw
            for raw in client.lrange(cluster.queue, 0, -1)
            if json.loads(raw)["headers"]["kwargsrepr"].startswith("#1 ")
        ]
        assert client.lrem(cluster.queue, 1, victim) == 1
    cluster.start_workers(unique_name("w"))

    ran = cluster.finish(producer)

    report = assert_report(ran, mappings, code=1)
    assert statuses(report) == ["synced", "failed", "synced"]
    assert report["results"][1]["error"]["category"] == "lost"
    assert (
        "broker lost the task message of mapping(s) [1]" in report["results"][1]["error"]["message"]
    )
    assert f"the broker lost the task message of #1 {src}" in ran.stderr
    assert head_digest(basic_registry, f"{unique_repo}/d0", "v1") == digest
    assert head_digest(basic_registry, f"{unique_repo}/d1", "v1") is None
    assert [r.path for r in wpush.requests[seen:]] == ["/api/v1/send"]


@pytest.mark.timeout(120)
def test_locks_live_as_long_as_the_time_limit_the_message_carries(
    trio: Cluster, slowed: Slowed
) -> None:
    """Celery enforces the producer's time limits (they travel in the message), so the
    destination lock must follow them, not the worker's own setting (60 s in the trio)."""
    slowed.seed("big")
    destination = slowed.to("ttl", "big")
    mapping = [slowed.mapping("big", destination)]
    producer = trio.start_producer(
        mapping, IMGSYNC_TASK_TIME_LIMIT="30", IMGSYNC_TASK_SOFT_TIME_LIMIT="25"
    )
    wait_for_copy(lambda: trio_copies(trio, slowed.repo))
    with trio.redis() as client:
        ttl = client.ttl(f"imgsync:lock:{destination}")
    assert 60 < ttl <= 90  # the message's 30 s + 60 s, not the worker's 60 s + 60 s
    assert statuses(assert_report(trio.finish(producer), mapping)) == ["synced"]
