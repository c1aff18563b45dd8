"""Scale row: a 10,000-image in-sync list, embedded and with two Celery workers.

The benchmark rig (token-auth source, htpasswd destination, both behind the latency
proxies) holds one two-platform image under many tags of a few repositories, at the
source and at the destination alike (:func:`bench.seed.seed_tags`: one push per
repository, then only index PUTs), so every mapping is in sync and a run is the skip path
N times. Measured per mode: wall time, CPU of every process involved (the producer, and
for Celery each worker's main and pool processes during the run) per image, and peak RSS
(``VmHWM``) of the producer and of each worker process.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

from tests.rig.redis_server import RedisServer

from bench.code_state import code_state
from bench.competitors import Celery, Competitor, Embedded
from bench.measure import loadavg
from bench.model import Case, Measurement
from bench.rig import Latency, Rig
from bench.scale_report import peak_kb
from bench.scenarios import Meter
from bench.seed import build_image, seed_tags

Progress = Callable[[str], None]
TAGS_PER_REPO = 100
DEST_PREFIX = "scale-mirror"
#: Peak RSS any one process may reach (issue 15's scale target).
RSS_GOAL_KB = 200 * 1024


@dataclass(frozen=True)
class Settings:
    """How many mappings, and the shape of the Celery cluster."""

    n: int = 10_000
    workers: int = 2
    worker_concurrency: int = 4
    reps: int = 1
    tags_per_repo: int = TAGS_PER_REPO

    @classmethod
    def quick(cls) -> Settings:
        return cls(n=30, worker_concurrency=2, tags_per_repo=10)


@dataclass(frozen=True)
class ScaleCase(Case):
    """A case of ``repo:tag`` references instead of one ``latest`` per repository."""

    refs: tuple[str, ...] = ()

    def pairs(self) -> list[tuple[str, str]]:
        return [
            (f"{self.src_host}/{ref}", f"{self.dst_host}/{self.dest_prefix}/{ref}")
            for ref in self.refs
        ]


def layout(settings: Settings) -> dict[str, list[str]]:
    """Repository → tags, ``tags_per_repo`` each, ``n`` references in all."""
    count = math.ceil(settings.n / settings.tags_per_repo)
    found: dict[str, list[str]] = {}
    for i in range(settings.n):
        found.setdefault(f"scale/r-{i % count:03d}", []).append(f"t-{i // count:04d}")
    return found


def seed(rig: Rig, shape: dict[str, list[str]], progress: Progress) -> None:
    """The same image under every tag at the source and at the destination."""
    assert rig.source is not None and rig.dest is not None
    image, ca = build_image("scale", "1"), str(rig.bundle)
    pushed = seed_tags(rig.source, shape, image, verify=ca)
    pushed += seed_tags(rig.dest, {f"{DEST_PREFIX}/{r}": t for r, t in shape.items()},
                        image, verify=ca)  # fmt: skip
    progress(f"scale: seeded {pushed} references")


def make_case(rig: Rig, shape: dict[str, list[str]], name: str, rep: int) -> ScaleCase:
    workdir = rig.workdir / "scale" / f"{name}-{rep}"
    workdir.mkdir(parents=True)
    refs = tuple(f"{repo}:{tag}" for repo, tags in shape.items() for tag in tags)
    return ScaleCase("scale", len(refs), rig.src_host, rig.dst_host, tuple(shape), DEST_PREFIX,
                     workdir, rig.env(), refs=refs)  # fmt: skip


def run_one(rig: Rig, meter: Meter, case: ScaleCase, tool: Competitor, rep: int) -> dict[str, Any]:
    """One run of one mode; the registries' logs and the processes say what it cost."""
    before = meter.marks(None)
    outcome = tool.run(case)
    ran = outcome.ran
    m = Measurement(tool.name, "scale", case.n, rep, ran.wall_s, outcome.ok, outcome.counts,
                    ran.run_phase_s, ran.startup_s)  # fmt: skip
    meter.fill(m, before, None)
    producer_cpu = ran.cpu_user_s + ran.cpu_sys_s
    workers_cpu = outcome.worker_cpu_s or 0.0
    expected = {"skipped": case.n}
    error = "" if outcome.counts == expected else f"reported {outcome.counts}, expected {expected}"
    return {
        "mode": tool.name, "label": tool.label, "n": case.n, "rep": rep,
        "ok": outcome.ok and not error, "error": error or ran.stderr.strip()[-400:],
        "wall_s": ran.wall_s, "run_phase_s": ran.run_phase_s,
        "producer_cpu_s": producer_cpu, "worker_cpu_s": outcome.worker_cpu_s,
        "cpu_ms_per_image": (producer_cpu + workers_cpu) / case.n * 1000,
        "producer_rss_kb": ran.self_maxrss_kb, "worker_rss_kb": outcome.worker_rss_kb,
        "pool_sizes": outcome.pool_sizes, "src_manifest_gets": m.src_manifest_gets,
        "src_manifest_heads": m.src_manifest_heads, "token_requests": m.token_requests,
        "counts": outcome.counts,
    }  # fmt: skip


def measure(settings: Settings, latency: Latency, progress: Progress = print) -> dict[str, Any]:
    """Seed once, then each mode ``reps`` times; the dict the report renders."""
    started, at = loadavg(), dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    shape = layout(settings)
    runs: list[dict[str, Any]] = []
    with Rig(latency=latency) as rig, RedisServer() as redis_server:
        seed(rig, shape, progress)
        meter = Meter(rig)
        tools = [Embedded(None), Celery(settings.workers, redis_server.url,
                                        settings.worker_concurrency)]  # fmt: skip
        for rep in range(settings.reps):
            for tool in tools:
                run = run_one(rig, meter, make_case(rig, shape, tool.name, rep), tool, rep)
                runs.append(run)
                progress(_line(run))
    return {
        "started_at": at,
        "code": code_state(),
        "settings": asdict(settings),
        "repositories": len(shape),
        "latency": asdict(latency),
        "loadavg": {"start": started, "end": loadavg()},
        "rss_goal_kb": RSS_GOAL_KB,
        "runs": runs,
    }


def _line(run: dict[str, Any]) -> str:
    status = "ok" if run["ok"] else f"FAILED: {run['error'][:200]}"
    return (f"  scale N={run['n']} {run['mode']:17s} {run['wall_s']:7.1f} s, "
            f"{run['cpu_ms_per_image']:.2f} ms CPU/image, peak RSS "
            f"{peak_kb(run) / 1024:.0f} MB, {status}")  # fmt: skip
