"""The four scenarios, the registry state each needs, and running them interleaved.

(a) everything already in sync; (b) cold copy to a destination never written before;
(c) 10 % of the sources changed since the last sync; (d) the skip path at growing N.

Within a scenario every repetition runs every competitor once, in an order rotated per
repetition, so drift on the machine (other jobs, cache warmth) spreads over all tools.
Sequential tools run at a capped N (:data:`bench.runner.CAPS`): at 30 ms RTT the bash
loop needs 1.5 s per image even when nothing changed, and the report extrapolates them,
labelled as such.
"""

from __future__ import annotations

import itertools
import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import requests

from bench.competitors import Competitor
from bench.measure import cpu_seconds, loadavg
from bench.model import TAG, Case, LogCursor, Measurement, count
from bench.rig import ProxyProcess, Rig
from bench.seed import SeedJob, build_image, seed_many

BASE_VERSION = "1"
CHANGED_EVERY = 10  # one in ten sources changes before each run of scenario (c)
Progress = Callable[[str], None]


@dataclass(frozen=True)
class Scenario:
    """What a scenario is called and at which N it runs."""

    key: str
    name: str
    title: str
    ns: tuple[int, ...]


def default_scenarios(quick: bool = False) -> list[Scenario]:
    """The issue's scenarios; ``quick`` shrinks N for a smoke run."""
    if quick:
        ns: dict[str, tuple[int, ...]] = {
            "in-sync": (6,), "cold": (2,), "changed": (10,), "skip-scaling": (3, 6),
        }  # fmt: skip
    else:
        ns = {"in-sync": (200,), "cold": (100,), "changed": (200,), "skip-scaling": (50, 200, 1000)}
    return [
        Scenario("a", "in-sync", "Everything already in sync", ns["in-sync"]),
        Scenario("b", "cold", "Cold copy (empty destination)", ns["cold"]),
        Scenario("c", "changed", "10 % of sources changed", ns["changed"]),
        Scenario("d", "skip-scaling", "Skip path as N grows", ns["skip-scaling"]),
    ]


def source_repo(scenario: str, index: int) -> str:
    """Scenario (c) mutates its sources, so it has its own; the others share one set."""
    prefix = "changed" if scenario == "changed" else "bench"
    return f"{prefix}/img-{index:04d}"


def dest_prefix(scenario: str) -> str:
    return "mc" if scenario == "changed" else "mirror"


@dataclass
class World:
    """The seeded registries plus what each scenario's next run needs prepared."""

    rig: Rig
    max_n: int
    changed_n: int
    progress: Progress = print
    versions: dict[str, str] = field(default_factory=dict)
    _runs: Iterator[int] = field(default_factory=lambda: itertools.count(1))

    # ------------------------------------------------------------------ seeding

    def seed(self) -> None:
        """Sources and in-sync destinations for every scenario, straight to the registries."""
        assert self.rig.source is not None and self.rig.dest is not None
        started = time.perf_counter()
        shared = [source_repo("in-sync", i) for i in range(self.max_n)]
        changed = [source_repo("changed", i) for i in range(self.changed_n)]
        sources = [SeedJob(r, _name(r), BASE_VERSION) for r in (*shared, *changed)]
        dests = [
            SeedJob(f"{dest_prefix('in-sync')}/{r}", _name(r), BASE_VERSION) for r in shared
        ] + [SeedJob(f"{dest_prefix('changed')}/{r}", _name(r), BASE_VERSION) for r in changed]
        ca = str(self.rig.bundle)
        pushed = seed_many(self.rig.source, sources, verify=ca)
        pushed += seed_many(self.rig.dest, dests, verify=ca)
        self.versions = {r: BASE_VERSION for r in (*shared, *changed)}
        self.progress(f"seeded {pushed} images in {time.perf_counter() - started:.0f} s")

    # ------------------------------------------------------------------ per run

    def case(
        self, scenario: Scenario, n: int, competitor: Competitor
    ) -> tuple[Case, ProxyProcess | None]:
        """Prepare the registries for one run and describe it; a cold run gets its own proxy."""
        run = next(self._runs)
        repos = tuple(source_repo(scenario.name, i) for i in range(n))
        workdir = self.rig.workdir / "runs" / f"{run:04d}-{scenario.name}-{n}-{competitor.name}"
        workdir.mkdir(parents=True, exist_ok=True)
        proxy, prefix, copies = None, dest_prefix(scenario.name), 0
        if scenario.name == "cold":
            proxy, prefix, copies = self.rig.fresh_dest_proxy(), f"cold/r{run:04d}", n
        elif scenario.name == "changed":
            copies = self._change_sources(repos, run)
        dst_host = proxy.host if proxy else self.rig.dst_host
        case = Case(scenario.name, n, self.rig.src_host, dst_host, repos, prefix, workdir,
                    self.rig.env(), expect_copies=copies)  # fmt: skip
        return case, proxy

    def _change_sources(self, repos: tuple[str, ...], run: int) -> int:
        """Push a new version of every tenth source: new digest, new layers."""
        assert self.rig.source is not None
        changed = [r for i, r in enumerate(repos) if i % CHANGED_EVERY == 0]
        version = f"r{run}"
        jobs = [SeedJob(r, _name(r), version) for r in changed]
        seed_many(self.rig.source, jobs, verify=str(self.rig.bundle))
        self.versions.update(dict.fromkeys(changed, version))
        return len(changed)

    def verify(self, case: Case) -> str:
        """After a run that had to copy: does every destination serve the source's digest?"""
        if case.scenario not in ("cold", "changed"):
            return ""
        wrong = [
            repo
            for repo in case.src_repos
            if self._dest_digest(f"{case.dest_prefix}/{repo}") != self._expected(repo)
        ]
        return f"{len(wrong)} destination(s) not in sync, e.g. {wrong[0]}" if wrong else ""

    def _expected(self, repo: str) -> str:
        return build_image(_name(repo), self.versions[repo]).index.digest

    def _dest_digest(self, repo: str) -> str | None:
        """HEAD straight at the destination registry (no proxy: this is not measured)."""
        dest = self.rig.dest
        assert dest is not None
        response = requests.head(
            f"{dest.url}/v2/{repo}/manifests/{TAG}",
            headers={"Accept": "application/vnd.oci.image.index.v1+json"},
            auth=dest.credentials,
            timeout=30,
            verify=str(self.rig.bundle),
        )
        return response.headers.get("Docker-Content-Digest") if response.ok else None


def _name(repo: str) -> str:
    """Image content is keyed by the repository's last component (``img-0042``)."""
    return repo.rsplit("/", 1)[-1]


# ---------------------------------------------------------------------- measuring


@dataclass
class Meter:
    """Counters read before and after a run: registry logs, tokens, connections, CPU."""

    rig: Rig

    def __post_init__(self) -> None:
        assert self.rig.source is not None and self.rig.dest is not None
        self.src_log = LogCursor(self.rig.source.access_log)
        self.dst_log = LogCursor(self.rig.dest.access_log)

    def marks(self, proxy: ProxyProcess | None) -> dict[str, float]:
        assert self.rig.source is not None and self.rig.source.token_server is not None
        proxies = self._proxies(proxy)
        return {
            "src": self.src_log.mark(),
            "dst": self.dst_log.mark(),
            "token": self.rig.source.token_server.mark(),
            **{f"conn:{k}": p.connections() for k, p in proxies.items()},
            "busy": _busy_cpu_s(),
            "servers": cpu_seconds(self._server_pids()),
            "children": _children_cpu_s(),
        }

    def _proxies(self, proxy: ProxyProcess | None) -> dict[str, ProxyProcess]:
        found = dict(self.rig.proxies)
        if proxy is not None:
            found["dest"] = proxy
        return found

    def _server_pids(self) -> list[int]:
        pids = [p.proc.pid for p in self.rig.proxies.values()]
        pids += [r.pid for r in (self.rig.source, self.rig.dest) if r is not None and r.pid]
        return [*pids, os.getpid()]

    def fill(self, m: Measurement, before: dict[str, float], proxy: ProxyProcess | None) -> None:
        """Record what happened since ``before`` into the measurement."""
        assert self.rig.source is not None and self.rig.source.token_server is not None
        src = self.src_log.since(int(before["src"]))
        dst = self.dst_log.since(int(before["dst"]))
        m.src_manifest_gets = count(src, "GET")
        m.src_manifest_heads = count(src, "HEAD")
        m.src_requests = len(src)
        m.dst_requests = len(dst)
        m.dst_manifest_puts = count(dst, "PUT")
        m.token_requests = self.rig.source.token_server.count(int(before["token"]), status=None)
        m.new_connections = {
            k: p.connections() - int(before[f"conn:{k}"]) for k, p in self._proxies(proxy).items()
        }
        ours = (cpu_seconds(self._server_pids()) - before["servers"]) + (
            _children_cpu_s() - before["children"]
        )
        m.other_cpu_s = max(0.0, (_busy_cpu_s() - before["busy"]) - ours)
        m.loadavg_1m = loadavg()[0]


def _busy_cpu_s() -> float:
    """Machine-wide non-idle CPU seconds since boot (all cores)."""
    fields = [int(x) for x in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = fields[3] + fields[4]
    return (sum(fields[:8]) - idle) / os.sysconf("SC_CLK_TCK")


def _children_cpu_s() -> float:
    times = os.times()
    return times.children_user + times.children_system
