"""Turn raw measurements into the figures the report shows: medians, ratios, bounds, targets.

Sequential tools measured at a capped N are extrapolated linearly (per-image cost × N);
every such number carries ``extrapolated_from`` so the report can label it.
"""

from __future__ import annotations

import itertools
import statistics
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from bench.model import Measurement

SKIP_SCENARIOS = ("in-sync", "skip-scaling")


@dataclass
class Row:
    """One competitor in one scenario at one N (the scenario's N, even if measured lower)."""

    scenario: str
    competitor: str
    n: int
    measured_n: int
    runs: int
    ok_runs: int
    median_s: float
    min_s: float
    max_s: float
    median_run_phase_s: float | None
    median_startup_s: float | None
    src_manifest_gets: float
    src_manifest_heads: float
    dst_manifest_puts: float
    token_requests: float
    new_connections: float
    imgsync_rss_kb: int | None
    worker_rss_kb: int | None
    tool_cpu_s: float | None
    other_cpu_s: float | None
    extrapolated_from: int | None = None
    check_concurrency: int | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def images_per_s(self) -> float:
        return self.n / self.median_s if self.median_s else 0.0

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "images_per_s": self.images_per_s}


def _median(values: Iterable[float | None]) -> float | None:
    found = [v for v in values if v is not None]
    return statistics.median(found) if found else None


def extrapolate(wall_s: float, startup_s: float | None, measured_n: int, n: int) -> float:
    """Wall time at ``n`` from a run at ``measured_n``: start-up once, the rest scales with N."""
    fixed = min(startup_s or 0.0, wall_s)
    return fixed + (wall_s - fixed) * n / measured_n


def _row(group: Sequence[Measurement], scenario_n: int, concurrency: dict[str, int]) -> Row:
    first = group[0]
    ok = [m for m in group if m.ok] or list(group)
    factor = scenario_n / first.n
    walls = [extrapolate(m.wall_s, m.startup_s, m.n, scenario_n) for m in ok]
    rss = [m.imgsync_rss_kb for m in group if m.imgsync_rss_kb]
    workers = [kb for m in group for kb in m.worker_rss_kb]
    return Row(
        scenario=first.scenario,
        competitor=first.competitor,
        n=scenario_n,
        measured_n=first.n,
        runs=len(group),
        ok_runs=sum(1 for m in group if m.ok),
        median_s=statistics.median(walls),
        min_s=min(walls),
        max_s=max(walls),
        median_run_phase_s=_scaled(_median(m.run_phase_s for m in ok), factor),
        median_startup_s=_median(m.startup_s for m in ok),
        src_manifest_gets=(_median(m.src_manifest_gets for m in ok) or 0) * factor,
        src_manifest_heads=(_median(m.src_manifest_heads for m in ok) or 0) * factor,
        dst_manifest_puts=(_median(m.dst_manifest_puts for m in ok) or 0) * factor,
        token_requests=(_median(m.token_requests for m in ok) or 0) * factor,
        new_connections=(_median(sum(m.new_connections.values()) for m in ok) or 0) * factor,
        imgsync_rss_kb=max(rss) if rss else None,
        worker_rss_kb=max(workers) if workers else None,
        tool_cpu_s=_scaled(_median(m.tool_cpu_s for m in ok), factor),
        other_cpu_s=_median(m.other_cpu_s for m in ok),
        extrapolated_from=first.n if first.n != scenario_n else None,
        check_concurrency=concurrency.get(first.competitor),
    )


def _scaled(value: float | None, factor: float) -> float | None:
    return None if value is None else value * factor


Key = tuple[str, int, str]


def build_rows(measurements: Sequence[Measurement], concurrency: dict[str, int]) -> list[Row]:
    """One row per (scenario, scenario N, competitor); a capped run stands for several Ns.

    Order: scenarios and competitors as they first ran, N ascending.
    """
    groups: dict[Key, list[Measurement]] = defaultdict(list)
    for m in measurements:
        for n in m.extra.get("stands_for") or [m.n]:
            groups[(m.scenario, int(n), m.competitor)].append(m)
    scenarios = list(dict.fromkeys(m.scenario for m in measurements))
    tools = list(dict.fromkeys(m.competitor for m in measurements))

    def order(key: Key) -> tuple[int, int, int]:
        return scenarios.index(key[0]), key[1], tools.index(key[2])

    return [_row(groups[key], key[1], concurrency) for key in sorted(groups, key=order)]


def find(rows: Sequence[Row], scenario: str, competitor: str, n: int | None = None) -> Row | None:
    for row in rows:
        if row.scenario == scenario and row.competitor == competitor and n in (None, row.n):
            return row
    return None


def lower_bound_s(n: int, concurrency: int, rtt_s: float, handshake_rtts: float) -> float:
    """The issue's skip-path bound: 2 × RTT × N / concurrency, plus one connection set-up."""
    return 2 * rtt_s * n / concurrency + handshake_rtts * rtt_s


def ratio(numerator: float | None, denominator: float | None) -> float | None:
    if not numerator or not denominator:
        return None
    return numerator / denominator


def loop_time(rows: Sequence[Row], scenario: str, n: int) -> float | None:
    """The bash loop's (possibly extrapolated) median at this N, from any N measured."""
    row = find(rows, scenario, "loop", n) or find(rows, scenario, "loop")
    return row.median_s / row.n * n if row else None


def per_image_spread(rows: Sequence[Row], competitor: str, use_run_phase: bool) -> float | None:
    """max/min of the per-image cost across the scaling scenario's Ns (1.0 = perfectly flat)."""
    costs = []
    for row in rows:
        if row.scenario == "skip-scaling" and row.competitor == competitor:
            total = row.median_run_phase_s if use_run_phase else row.median_s
            if total:
                costs.append(total / row.n)
    return max(costs) / min(costs) if len(costs) > 1 else None


def per_image_growth(rows: Sequence[Row], competitor: str) -> float | None:
    """The largest factor by which the per-image cost (wall) rises from one N to the next.

    Below 1.0 the cost per image falls as N grows (fixed costs spread thinner);
    above 1.25 something grows faster than N.
    """
    mine = sorted(
        (r for r in rows if r.scenario == "skip-scaling" and r.competitor == competitor),
        key=lambda r: r.n,
    )
    steps = [(b.median_s / b.n) / (a.median_s / a.n) for a, b in itertools.pairwise(mine)]
    return max(steps) if steps else None


def marginal_costs(rows: Sequence[Row], competitor: str) -> list[tuple[int, int, float]]:
    """Seconds per extra image between consecutive Ns of the scaling scenario.

    Fixed costs (start-up, connection and token set-up) cancel out, so this is what
    each further image costs; flat means no growth with N.
    """
    mine = sorted(
        (r for r in rows if r.scenario == "skip-scaling" and r.competitor == competitor),
        key=lambda r: r.n,
    )
    return [
        (a.n, b.n, (b.median_s - a.median_s) / (b.n - a.n))
        for a, b in itertools.pairwise(mine)
        if b.n > a.n
    ]
