"""Metered source: pulls per copy and copies per budget, against a Docker Hub-like meter.

The source is the test rig's ``dockerhub`` personality (:mod:`tests.rig.personalities`):
each manifest GET answered 200 is one pull, HEAD is free, every answer carries
``RateLimit-Limit``/``RateLimit-Remaining``, and a spent budget answers 429
``TOOMANYREQUESTS``. In front of it a real anonymous ``docker-registry`` holds S
two-platform images; the destination (another one) holds their previous version, so every
image changed at the source. Each run gets a fresh meter of B pulls and a fresh
destination prefix; what was copied is read back from the destination, not taken from the
tool's word. Clients reach the meter through the bench's latency proxy, which also serves
it over TLS (skopeo 1.9 takes no registries.conf from the environment, so the loop could
not reach a plain-HTTP source); the destination serves TLS itself. Wall times are
indicative: the figures are counts.
"""

from __future__ import annotations

import datetime as dt
import os
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import requests
from tests.cli_run import SCRUBBED
from tests.rig.authfile import write_auths
from tests.rig.personalities import start
from tests.rig.personalities.proxy import Personality
from tests.rig.registry import Registry
from tests.rig.tls import TlsFiles, make_tls_files

from bench.code_state import code_state
from bench.competitors import Competitor, Embedded, OriginalLoop, SkopeoSync
from bench.measure import loadavg
from bench.model import TAG, Case
from bench.rig import REPO_ROOT, BenchRegistry, Latency, ProxyProcess, start_proxy
from bench.seed import TWO_PLATFORMS, SeedJob, build_image, seed_many

Progress = Callable[[str], None]
PARENT = "metered"
OLD, NEW = "1", "2"
#: Manifest GETs a two-platform ``--all`` copy needs at least: the index, each platform.
MIN_PULLS = 1 + len(TWO_PLATFORMS)


@dataclass(frozen=True)
class Budget:
    """S images changed at the source, B pulls left on the meter."""

    images: int
    pulls: int

    @property
    def fit(self) -> int:
        """Copies the budget pays for at the minimum cost (1 + platforms GETs each)."""
        return min(self.images, self.pulls // MIN_PULLS)


#: The issue's two cases: 13 pulls for 6 images (4 fit), 7 for 4 (2 fit).
BUDGETS = (Budget(6, 13), Budget(4, 7))
QUICK_BUDGETS = (Budget(3, 7),)


def competitors() -> list[Competitor]:
    """imgsync with its defaults and one at a time, the original loop, ``skopeo sync``."""
    return [Embedded(None), Embedded(1), OriginalLoop(), SkopeoSync()]


def repos(n: int) -> tuple[str, ...]:
    return tuple(f"{PARENT}/img-{i:02d}" for i in range(n))


@dataclass
class Meter:
    """One run's meter: the personality and the TLS proxy clients reach it through."""

    hub: Personality
    proxy: ProxyProcess

    def stop(self) -> None:
        self.proxy.stop()
        self.hub.stop()


@dataclass
class MeteredWorld:
    """Source upstream and destination registries, seeded; one meter per run."""

    workdir: Path
    tls: TlsFiles
    source: Registry
    dest: BenchRegistry
    max_images: int
    latency: Latency
    runs: int = 0

    def seed(self) -> None:
        """New versions at the source, once; every run seeds the old ones at its own prefix."""
        jobs = [SeedJob(r, _name(r), NEW) for r in repos(self.max_images)]
        seed_many(self.source, jobs, verify=False)

    def prepare(self, budget: Budget, name: str) -> tuple[Case, Meter]:
        """A fresh meter of ``budget.pulls`` and a destination holding the old versions."""
        self.runs += 1
        workdir = self.workdir / "runs" / f"{self.runs:03d}-{budget.images}-{budget.pulls}-{name}"
        workdir.mkdir(parents=True)
        prefix, chosen = f"m{self.runs:03d}", repos(budget.images)
        old = [SeedJob(f"{prefix}/{r}", _name(r), OLD) for r in chosen]
        seed_many(self.dest, old, verify=str(self.tls.ca))
        meter = self._meter(budget.pulls, workdir)
        case = Case("metered", budget.images, meter.proxy.host, self.dest.host, chosen, prefix,
                    workdir, self._env(workdir), expect_copies=budget.images)  # fmt: skip
        return case, meter

    def _meter(self, pulls: int, workdir: Path) -> Meter:
        hub = start("dockerhub", self.source, workdir / "hub", limit=pulls)
        proxy = start_proxy(hub.host, self.latency, self.tls, workdir / "conn.log")
        return Meter(hub, proxy)

    def _env(self, workdir: Path) -> dict[str, str]:
        """Anonymous pulls, our CA trusted by skopeo and imgsync alike."""
        home = workdir / "home"
        home.mkdir()
        env = {k: v for k, v in os.environ.items() if k not in SCRUBBED}
        ca = str(self.tls.ca)
        env.update(
            HOME=str(home),
            REGISTRY_AUTH_FILE=str(write_auths(workdir / "auth.json", {})),
            REQUESTS_CA_BUNDLE=ca,
            CURL_CA_BUNDLE=ca,
            SSL_CERT_FILE=ca,
            PYTHONPATH=os.pathsep.join(filter(None, [str(REPO_ROOT), env.get("PYTHONPATH")])),
        )
        return env

    def copied(self, case: Case) -> list[str]:
        """Source repositories whose destination now serves the new version's digest."""
        return [r for r in case.src_repos if self._digest(f"{case.dest_prefix}/{r}") == _new(r)]

    def _digest(self, repo: str) -> str | None:
        response = requests.head(
            f"{self.dest.url}/v2/{repo}/manifests/{TAG}",
            headers={"Accept": "application/vnd.oci.image.index.v1+json"},
            timeout=30,
            verify=str(self.tls.ca),
        )
        return response.headers.get("Docker-Content-Digest") if response.ok else None


def _name(repo: str) -> str:
    return repo.rsplit("/", 1)[-1]


def _new(repo: str) -> str:
    return build_image(_name(repo), NEW).index.digest


@dataclass
class MeteredRun:
    """What one tool did with one budget: pulls, 429s, copies (read back), what it said."""

    competitor: str
    images: int
    budget: int
    fit: int
    rep: int
    wall_s: float
    manifest_gets: int
    pulls_served: int
    too_many: int
    manifest_heads: int
    copied: int
    gets_on_copied: int
    gets_on_unsynced: int
    counts: dict[str, int]
    exit_code: int
    error: str = ""

    @property
    def unsynced(self) -> int:
        return self.images - self.copied

    @property
    def gets_per_copy(self) -> float | None:
        return self.manifest_gets / self.copied if self.copied else None


def run_one(world: MeteredWorld, budget: Budget, competitor: Competitor, rep: int) -> MeteredRun:
    """One tool against a fresh meter; the meter's own log says what it cost."""
    case, meter = world.prepare(budget, competitor.name)
    try:
        outcome = competitor.run(case)
    finally:
        meter.stop()
    stats, done = meter.hub.stats, set(world.copied(case))
    per_repo = {r: stats.count("GET", name=r) for r in case.src_repos}
    ran = outcome.ran
    return MeteredRun(
        competitor=competitor.name, images=budget.images, budget=budget.pulls, fit=budget.fit,
        rep=rep, wall_s=ran.wall_s, manifest_gets=stats.count("GET"),
        pulls_served=stats.count("GET", status=200), too_many=stats.count("GET", status=429),
        manifest_heads=stats.count("HEAD"), copied=len(done),
        gets_on_copied=sum(v for r, v in per_repo.items() if r in done),
        gets_on_unsynced=sum(v for r, v in per_repo.items() if r not in done),
        counts=outcome.counts, exit_code=ran.returncode,
        error="" if ran.returncode == 0 else ran.stderr.strip()[-400:],
    )  # fmt: skip


def measure(
    budgets: Sequence[Budget], latency: Latency, reps: int = 1, progress: Progress = print
) -> dict[str, Any]:
    """Every budget, every tool, ``reps`` times; the dict the report renders."""
    started, at = loadavg(), dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    tools = competitors()
    with tempfile.TemporaryDirectory(prefix="imgsync-metered-") as tmp:
        work = Path(tmp)
        tls = make_tls_files(work / "tls")
        with Registry("anonymous", workdir=work / "src") as src, \
                BenchRegistry("anonymous", work / "dst", tls) as dst:  # fmt: skip
            world = MeteredWorld(work, tls, src, dst, max(b.images for b in budgets), latency)
            world.seed()
            runs = [_logged(run_one(world, b, t, rep), progress)
                    for b in budgets for rep in range(reps) for t in tools]  # fmt: skip
    return {
        "started_at": at,
        "code": code_state(),
        "min_pulls": MIN_PULLS,
        "platforms": len(TWO_PLATFORMS),
        "budgets": [asdict(b) | {"fit": b.fit} for b in budgets],
        "latency": asdict(latency),
        "labels": {t.name: t.label for t in tools},
        "loadavg": {"start": started, "end": loadavg()},
        "runs": [
            asdict(r) | {"unsynced": r.unsynced, "gets_per_copy": r.gets_per_copy} for r in runs
        ],
    }


def _logged(run: MeteredRun, progress: Progress) -> MeteredRun:
    progress(f"  metered S={run.images} B={run.budget:<3d} {run.competitor:17s} "
             f"GET {run.manifest_gets:<3d} 429 {run.too_many:<3d} copied {run.copied}/"
             f"{run.images} (fit {run.fit}) exit {run.exit_code} {run.wall_s:.1f} s")  # fmt: skip
    return run
