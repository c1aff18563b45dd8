"""Run the scenarios: every competitor, every repetition, interleaved; one record per run."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field

from bench.competitors import Competitor
from bench.model import Case, Measurement
from bench.scenarios import Meter, Progress, Scenario, World

#: Largest N a competitor runs at, per scenario (0: it sits the scenario out). Sequential
#: or barely parallel tools would need many minutes at the full N (a cold copy costs about
#: 3 s per image at 30 ms RTT); their figure at the full N is extrapolated from the capped
#: run as start-up + per-image cost × N, and the report marks it "est.".
CAPS: dict[str, dict[str, int]] = {
    "loop": {"in-sync": 10, "cold": 3, "changed": 10, "skip-scaling": 0},
    "skopeo-sync": {"in-sync": 10, "cold": 3, "changed": 10, "skip-scaling": 0},
    "embedded-c1": {"in-sync": 25, "cold": 3, "changed": 30, "skip-scaling": 25},
    "embedded-c32": {"cold": 0},  # 32 skopeo copies at once on 2 cores: CPU-bound, slow
    "embedded-default": {"cold": 0},  # copies like -c 8; its checks do not matter there
    "celery-w1": {"in-sync": 25, "cold": 5, "changed": 30, "skip-scaling": 25},
    "celery-w2": {"in-sync": 50, "cold": 10, "changed": 60, "skip-scaling": 50},
    "celery-w4": {"skip-scaling": 200},
    "celery-w1x2": {"in-sync": 50, "cold": 20, "changed": 60, "skip-scaling": 50},
    "celery-w4x2": {"skip-scaling": 200},
}


@dataclass(frozen=True)
class Plan:
    """What to run: scenarios, competitors, repetitions, and how far to scale each tool."""

    scenarios: Sequence[Scenario]
    competitors: Sequence[Competitor]
    reps: int
    caps: dict[str, dict[str, int]] = field(default_factory=lambda: CAPS)
    #: Multiplies every cap (``--quick`` shrinks them; ``--no-caps`` lifts them).
    cap_scale: float = 1.0


def rotated(competitors: Sequence[Competitor], rep: int) -> list[Competitor]:
    """A different starting tool each repetition, so position effects average out."""
    shift = rep % len(competitors) if competitors else 0
    return [*competitors[shift:], *competitors[:shift]]


def effective_n(plan: Plan, competitor: Competitor, scenario: Scenario, n: int) -> int | None:
    """The N a competitor runs at in this scenario, or None when it sits this one out."""
    cap = plan.caps.get(competitor.name, {}).get(scenario.name)
    if cap is None:
        return n
    if cap == 0:
        return None
    return min(n, max(1, round(cap * plan.cap_scale)))


def _jobs(plan: Plan, scenario: Scenario) -> list[tuple[int, Competitor, int]]:
    """(repetition, competitor, N to run) in run order; a capped N runs once per repetition."""
    jobs: list[tuple[int, Competitor, int]] = []
    seen: set[tuple[str, int, int]] = set()
    for n in scenario.ns:
        for rep in range(plan.reps):
            for competitor in rotated(plan.competitors, rep):
                eff = effective_n(plan, competitor, scenario, n)
                if eff is None or (competitor.name, eff, rep) in seen:
                    continue
                seen.add((competitor.name, eff, rep))
                jobs.append((rep, competitor, eff))
    return jobs


def run_plan(world: World, plan: Plan, progress: Progress) -> list[Measurement]:
    """Every (scenario, N, repetition, competitor) once; failures are recorded, not raised.

    A capped run stands for every scenario N it was capped from (``extra["stands_for"]``).
    """
    meter = Meter(world.rig)
    results: list[Measurement] = []
    for scenario in plan.scenarios:
        for rep, competitor, eff in _jobs(plan, scenario):
            m = run_one(world, meter, scenario, eff, rep, competitor)
            m.extra["stands_for"] = [
                other
                for other in scenario.ns
                if effective_n(plan, competitor, scenario, other) == eff
            ]
            results.append(m)
            progress(_line(m))
    return results


def run_one(
    world: World, meter: Meter, scenario: Scenario, n: int, rep: int, competitor: Competitor
) -> Measurement:
    """Prepare, run and measure one competitor once."""
    case, proxy = world.case(scenario, n, competitor)
    before = meter.marks(proxy)
    try:
        outcome = competitor.run(case)
    finally:
        if proxy is not None:
            world.rig.retire(proxy)
    ran = outcome.ran
    m = Measurement(
        competitor=competitor.name,
        scenario=scenario.name,
        n=n,
        rep=rep,
        wall_s=ran.wall_s,
        ok=outcome.ok,
        counts=outcome.counts,
        run_phase_s=ran.run_phase_s,
        startup_s=ran.startup_s,
        imgsync_rss_kb=ran.self_maxrss_kb,
        worker_rss_kb=outcome.worker_rss_kb,
        worker_pool_sizes=outcome.pool_sizes,
        tool_cpu_s=ran.cpu_user_s + ran.cpu_sys_s,
    )
    meter.fill(m, before, proxy)
    problem = (world.verify(case) or _count_problem(case, competitor, m)) if outcome.ok else ""
    if problem or not outcome.ok:
        m.ok = False
        m.error = problem or (ran.stderr.strip()[-600:] or f"exit {ran.returncode}")
    time.sleep(0.2)  # let registries finish writing logs and sockets settle
    return m


def _count_problem(case: Case, competitor: Competitor, m: Measurement) -> str:
    """Did the tool report what the scenario implies: copies where sources changed, skips else?

    ``skopeo sync`` reports nothing per image (it copies everything), so it is not checked.
    """
    if competitor.family == "skopeo-sync":
        return ""
    expected = {"synced": case.expect_copies, "skipped": case.n - case.expect_copies}
    expected = {k: v for k, v in expected.items() if v}
    return "" if m.counts == expected else f"reported {m.counts}, expected {expected}"


def _line(m: Measurement) -> str:
    status = "ok" if m.ok else f"FAILED: {m.error[:200]}"
    return (
        f"  {m.scenario:12s} N={m.n:<5d} rep {m.rep + 1} {m.competitor:17s} "
        f"{m.wall_s:8.2f} s  GET {m.src_manifest_gets:<4d} {status}"
    )
