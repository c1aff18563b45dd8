"""Worker processes SIGKILLed at random points, run after run: nothing lost, nothing twice.

Each run sends a few mappings (fresh images, copied through a slow proxy so copies last
seconds) to a cluster of two workers and then kills, at a random moment, one of:

* ``pool-mid-copy``: a pool process while its skopeo copy runs (requeued at once);
* ``pool-any``: any pool process, busy or idle;
* ``worker``: a whole worker, main process and pool (its tasks come back after the
  visibility timeout, when a replacement worker starts).

After every run: the report names every mapping exactly once, all synced; every
destination has the image; no tag was pushed twice; no skopeo outlived its killer.

``IMGSYNC_SOAK_RUNS`` sets the number of runs (default 4: CI and `make test`; 20 on demand);
``IMGSYNC_SOAK_SEED`` replays a schedule. The full soak::

    IMGSYNC_SOAK_RUNS=20 IMGSYNC_RELIABILITY_LOG=soak.jsonl pytest -m slow tests/test_soak.py
"""

from __future__ import annotations

import contextlib
import os
import random
import signal
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.celery_rig import (
    Cluster,
    WorkerProcess,
    alive,
    fresh_redis_db,
    skopeo_processes,
    unique_name,
    wait_until,
)
from tests.cli_run import Ran, authfile_for
from tests.reliability_rig import celery_limits, running_cluster
from tests.reliability_stats import Figures, mapping_counts, record
from tests.rig.inspect import head_digest
from tests.rig.redis_server import RedisServer
from tests.rig.registry import Registry
from tests.rig.slow_proxy import SlowProxy

pytestmark = [pytest.mark.celery, pytest.mark.registry, pytest.mark.slow]

SeedImage = Callable[..., str]
RUNS = int(os.environ.get("IMGSYNC_SOAK_RUNS") or 4)
SEED = int(os.environ.get("IMGSYNC_SOAK_SEED") or random.randrange(1 << 30))
MAPPINGS = 4
KINDS = ("pool-mid-copy", "pool-mid-copy", "pool-any", "worker")
#: Short limits, so a whole worker's tasks come back within seconds (visibility timeout).
LIMITS = celery_limits(soft=10, hard=12, visibility=14)
VISIBILITY = float(LIMITS["IMGSYNC_VISIBILITY_TIMEOUT"])


@dataclass
class Kill:
    """What one run's kill hit."""

    kind: str
    started: float = field(default_factory=time.monotonic)
    at_s: float = 0.0
    victims: list[int] = field(default_factory=list)
    copies_hit: list[int] = field(default_factory=list)

    def hit(self, victims: list[int]) -> None:
        """Note the victims and when they died, seconds after the producer started."""
        self.victims = victims
        self.at_s = round(time.monotonic() - self.started, 2)


@dataclass
class Outcome:
    """One run's figures; every counter must stay 0."""

    number: int
    kill: Kill
    lost: int = 0
    doubled: int = 0
    orphans: int = 0
    wrong: list[str] = field(default_factory=list)


@pytest.fixture(scope="module")
def soak_cluster(
    tmp_path_factory: pytest.TempPathFactory,
    redis_server: RedisServer,
    anon_registry: Registry,
    basic_registry: Registry,
) -> Iterator[tuple[Cluster, SlowProxy]]:
    workdir = tmp_path_factory.mktemp("soak")
    auth = authfile_for(workdir / "auth.json", [basic_registry])
    with SlowProxy.in_front_of(anon_registry.host, delay_s=0.12) as proxy:
        hosts = [anon_registry.host, basic_registry.host, proxy.host]
        with (
            fresh_redis_db(redis_server) as url,
            running_cluster(
                workdir, broker=url, auth=auth, insecure=hosts, workers=2, settings=LIMITS
            ) as cluster,
        ):
            yield cluster, proxy


# ---------------------------------------------------------------------- killing


def live_workers(cluster: Cluster) -> list[WorkerProcess]:
    return [w for w in cluster.workers if w.running()]


def copies_of(cluster: Cluster, repo: str) -> dict[int, int]:
    """``{skopeo pid: pool pid}`` of this run's running copies, over all workers."""
    return {pid: pool for w in live_workers(cluster) for pid, pool in w.skopeo_pids(repo).items()}


def kill_pool_mid_copy(cluster: Cluster, repo: str, rng: random.Random, kill: Kill) -> None:
    found: dict[int, int] = {}

    def copying() -> bool:
        found.update(copies_of(cluster, repo))
        return bool(found)

    with contextlib.suppress(TimeoutError):  # all copies done before we looked: kill any pool
        wait_until(copying, 30, "a copy to start", interval=0.02)
    time.sleep(rng.uniform(0.0, 1.0))
    running = copies_of(cluster, repo) or found
    if not running:
        kill.kind = "pool-any"
        kill_any_pool(cluster, rng, kill)
        return
    pool = rng.choice(sorted(set(running.values())))
    kill.copies_hit = [pid for pid, owner in running.items() if owner == pool]
    _sigkill(pool)
    kill.hit([pool])


def kill_any_pool(cluster: Cluster, rng: random.Random, kill: Kill) -> None:
    pools = [pid for w in live_workers(cluster) for pid in w.pool_pids()]
    if pools:
        victim = rng.choice(pools)
        kill.copies_hit = [pid for pid in skopeo_processes() if _parent(pid) == victim]
        _sigkill(victim)
        kill.hit([victim])


def kill_whole_worker(cluster: Cluster, rng: random.Random, kill: Kill) -> None:
    """SIGKILL a worker's main and pool processes; start a replacement once its tasks are due."""
    victim = rng.choice(live_workers(cluster))
    pools = set(victim.pool_pids())
    kill.copies_hit = [pid for pid in skopeo_processes() if _parent(pid) in pools]
    kill.hit(victim.kill())
    killed_at = time.monotonic()
    time.sleep(max(0.0, killed_at + VISIBILITY + 1 - time.monotonic()))
    cluster.start_workers(unique_name("fresh"), concurrency=2)


def _sigkill(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)


def _parent(pid: int) -> int:
    try:
        return int(Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[1])
    except (OSError, IndexError, ValueError):
        return 0


KILLERS: dict[str, Callable[..., None]] = {
    "pool-mid-copy": lambda c, repo, rng, k: kill_pool_mid_copy(c, repo, rng, k),
    "pool-any": lambda c, repo, rng, k: kill_any_pool(c, rng, k),
    "worker": lambda c, repo, rng, k: kill_whole_worker(c, rng, k),
}


# ---------------------------------------------------------------------- one run


@dataclass(frozen=True)
class Planned:
    repo: str
    mappings: list[str]
    digests: list[str]
    destinations: list[str]


def plan_run(
    number: int, repo: str, anon: Registry, basic: Registry, proxy: SlowProxy, seed: SeedImage
) -> Planned:
    """Fresh images (nothing to mount from earlier runs), fresh destinations."""
    run_repo = f"{repo}/r{number:02d}"
    sources = [f"{run_repo}/src-{i}" for i in range(MAPPINGS)]
    digests = [seed(anon, s, "v", name=s) for s in sources]
    destinations = [f"{run_repo}/dst-{i}" for i in range(MAPPINGS)]
    mappings = [
        f"{proxy.host}/{s}:v={basic.host}/{d}:v" for s, d in zip(sources, destinations, strict=True)
    ]
    return Planned(run_repo, mappings, digests, destinations)


def judge(outcome: Outcome, ran: Ran, planned: Planned, basic: Registry, mark: int) -> None:
    """Fill in what went wrong in this run (nothing, when all holds)."""
    pairs = [(m.split("=")[0], m.split("=")[1]) for m in planned.mappings]
    outcome.lost, outcome.doubled = mapping_counts(ran.report, pairs)
    if ran.returncode != 0 or ran.report is None:
        outcome.wrong.append(f"exit {ran.returncode}: {ran.output[-1500:]}")
        return
    for result, digest, dest in zip(
        ran.report["results"], planned.digests, planned.destinations, strict=False
    ):
        if result["status"] not in ("synced", "skipped") or result["destination_digest"] != digest:
            outcome.wrong.append(f"{dest}: {result}")
        if head_digest(basic, dest, "v") != digest:
            outcome.wrong.append(f"{dest}: registry does not hold {digest}")
        puts = basic.count("PUT", path_contains=f"/v2/{dest}/manifests/v", since=mark)
        if puts != 1:
            outcome.wrong.append(f"{dest}: tag pushed {puts} times")
            outcome.doubled += max(0, puts - 1)


def count_orphans(kill: Kill, repo: str) -> int:
    """skopeo copies of the killed process, and of this run, still alive after a grace period."""
    with contextlib.suppress(TimeoutError):
        wait_until(lambda: not any(map(alive, kill.copies_hit)), 10, "killed copies to die")
    with contextlib.suppress(TimeoutError):
        wait_until(lambda: not skopeo_processes(repo), 20, "the run's copies to end")
    return sum(map(alive, kill.copies_hit)) + len(skopeo_processes(repo))


def soak_run(
    number: int,
    rng: random.Random,
    cluster: Cluster,
    planned: Planned,
    basic: Registry,
) -> Outcome:
    kind = rng.choice(KINDS)
    mark = basic.mark()
    producer = cluster.start_producer(planned.mappings)
    kill = Kill(kind)
    if kill.kind != "pool-mid-copy":
        time.sleep(rng.uniform(0.3, 4.0))
    KILLERS[kill.kind](cluster, planned.repo, rng, kill)
    ran = producer.wait(timeout=150)
    outcome = Outcome(number, kill)
    judge(outcome, ran, planned, basic, mark)
    outcome.orphans = count_orphans(kill, planned.repo)
    return outcome


def record_outcome(outcome: Outcome) -> None:
    kill = outcome.kill
    notes = (
        f"seed {SEED}, run {outcome.number}: {kill.kind} at {kill.at_s}s, "
        f"{len(kill.copies_hit)} copies hit; {'; '.join(outcome.wrong)[:500]}"
    )
    record(
        Figures(
            "soak: SIGKILL workers",
            mappings=MAPPINGS,
            faults={f"sigkill_{kill.kind}": 1, "copies_killed": len(kill.copies_hit)},
            lost=outcome.lost,
            double_counted=outcome.doubled,
            orphans=outcome.orphans,
            notes=notes,
        )
    )


@pytest.mark.timeout(120 + RUNS * 60)
def test_random_sigkills_lose_nothing_and_count_nothing_twice(
    soak_cluster: tuple[Cluster, SlowProxy],
    anon_registry: Registry,
    basic_registry: Registry,
    seed_image: SeedImage,
    unique_repo: str,
) -> None:
    cluster, proxy = soak_cluster
    rng = random.Random(SEED)
    outcomes: list[Outcome] = []
    for number in range(RUNS):
        planned = plan_run(number, unique_repo, anon_registry, basic_registry, proxy, seed_image)
        outcome = soak_run(number, rng, cluster, planned, basic_registry)
        record_outcome(outcome)
        outcomes.append(outcome)
        assert live_workers(cluster), cluster.logs(tail=3000)

    bad = [o for o in outcomes if o.lost or o.doubled or o.orphans or o.wrong]
    summary: dict[str, Any] = {
        "seed": SEED,
        "runs": len(outcomes),
        "kills": [o.kill.kind for o in outcomes],
        "copies_hit": sum(len(o.kill.copies_hit) for o in outcomes),
    }
    assert bad == [], (summary, bad)
    assert len(outcomes) == RUNS
