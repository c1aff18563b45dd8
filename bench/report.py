"""Write ``docs/benchmarks.md``, ``docs/benchmarks.json`` and the PNG plots from one run."""

from __future__ import annotations

import json
import statistics
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench import http_stacks_report, metered_report, pools_report, scale_report
from bench.markdown import table
from bench.model import Measurement
from bench.summary import (
    SKIP_SCENARIOS,
    Row,
    find,
    loop_time,
    lower_bound_s,
    marginal_costs,
    per_image_growth,
    per_image_spread,
    ratio,
)

MB = 1024
ANALYSIS = Path(__file__).resolve().parent / "analysis.md"
TIME_PLOT = "benchmarks-time-vs-n.png"
SPEEDUP_PLOT = "benchmarks-speedup-workers.png"
SCENARIO_TITLES = {
    "in-sync": "(a) Everything already in sync",
    "cold": "(b) Cold copy to an empty destination",
    "changed": "(c) 10 % of the sources changed",
    "skip-scaling": "(d) Skip path as N grows",
}


@dataclass
class Target:
    """One of the issue's targets, with what was measured and whether it holds."""

    name: str
    goal: str
    measured: str
    met: bool | None

    @property
    def verdict(self) -> str:
        return {True: "met", False: "**missed**", None: "not measured"}[self.met]


@dataclass
class Report:
    """Everything the document is written from."""

    meta: dict[str, Any]
    measurements: Sequence[Measurement]
    rows: Sequence[Row]
    extras: dict[str, Any]
    labels: dict[str, str]

    @property
    def rtt_s(self) -> float:
        return float(self.meta["latency"]["rtt_ms"]) / 1000

    @property
    def handshake_rtts(self) -> float:
        return float(self.meta["latency"]["handshake_rtts"])

    def bound(self, row: Row) -> float | None:
        if row.scenario not in SKIP_SCENARIOS or not row.check_concurrency:
            return None
        return lower_bound_s(row.n, row.check_concurrency, self.rtt_s, self.handshake_rtts)


# ---------------------------------------------------------------------- formatting


def _s(value: float | None, digits: int = 2) -> str:
    return "—" if value is None else f"{value:.{digits}f}"


def _x(value: float | None) -> str:
    if value is None:
        return "—"
    return f"{value:.0f}×" if value >= 10 else f"{value:.1f}×"


def _mb(kb: int | None) -> str:
    return "—" if not kb else f"{kb / MB:.0f}"


def _median_cell(row: Row) -> str:
    text = _s(row.median_s)
    return f"{text} (est.)" if row.extrapolated_from else text


# ---------------------------------------------------------------------- targets


def targets(report: Report) -> list[Target]:
    """Every target of the issue, evaluated on this run's numbers."""
    return [
        *_skip_targets(report),
        *_cold_targets(report),
        *_resource_targets(report),
        *_skip_cpu_target(report.extras.get("http_stacks")),
        *(Target(*row) for row in metered_report.targets(report.extras.get("metered"))),
        *(Target(*row) for row in scale_report.targets(report.extras.get("scale"))),
        *(Target(*row) for row in pools_report.targets(report.extras.get("pools"))),
    ]


def _skip_cpu_target(section: dict[str, Any] | None) -> list[Target]:
    """Issue 15: CPU of one more unchanged image, whole process (bench/skip_cost.py)."""
    skip = (section or {}).get("skip_path")
    if not skip:
        return []
    small, large = skip["ns"]
    cost = skip["marginal_cpu_ms"]
    name = f"skip path: marginal CPU per unchanged image (N = {small} → {large})"
    return [Target(name, "≤ 2 ms", f"{cost:.2f} ms", cost <= 2.0)]


def _skip_targets(report: Report) -> list[Target]:
    rows, n = report.rows, 200
    row = find(rows, "in-sync", "embedded-default", n)
    if row is None:
        return [Target("skip path, N = 200", "see below", "scenario (a) not run", None)]
    vs_loop = ratio(loop_time(rows, "in-sync", n), row.median_s)
    sync_row = find(rows, "in-sync", "skopeo-sync", n)
    vs_sync = ratio(sync_row.median_s if sync_row else None, row.median_s)
    bound = report.bound(row)
    gets = sum(
        m.src_manifest_gets
        for m in report.measurements
        if m.competitor.startswith(("embedded", "celery")) and m.scenario in SKIP_SCENARIOS
    )
    spread_wall = per_image_spread(rows, "embedded-default", use_run_phase=False)
    spread_run = per_image_spread(rows, "embedded-default", use_run_phase=True)
    return [
        Target("skip N=200: vs original loop", "≥ 60×", _x(vs_loop), _at_least(vs_loop, 60)),
        Target("skip N=200: vs skopeo sync", "≥ 150×", _x(vs_sync), _at_least(vs_sync, 150)),
        Target(
            "skip N=200: vs lower bound (wall, incl. start-up)",
            "≤ 2× of 2·RTT·N/32 + 1 set-up",
            f"{_s(row.median_s)} s vs {_s(bound)} s = {_x(ratio(row.median_s, bound))}",
            _at_most(ratio(row.median_s, bound), 2),
        ),
        Target(
            "skip N=200: vs lower bound (run phase, after start-up)",
            "≤ 2×",
            f"{_s(row.median_run_phase_s)} s = {_x(ratio(row.median_run_phase_s, bound))}",
            _at_most(ratio(row.median_run_phase_s, bound), 2),
        ),
        Target("skip path: manifest GETs on the source", "0", str(gets), gets == 0),
        Target(
            "skip per-image cost, N = 50 → 1000 (wall)",
            "flat within 25 %",
            f"max/min = {_s(spread_wall)}",
            _at_most(spread_wall, 1.25),
        ),
        Target(
            "skip per-image cost, N = 50 → 1000 (run phase)",
            "flat within 25 %",
            f"max/min = {_s(spread_run)}",
            _at_most(spread_run, 1.25),
        ),
        _growth_target(rows),
        _marginal_target(rows),
        _network_bound_target(report),
        _sync_startup_target(report),
    ]


def _growth_target(rows: Sequence[Row]) -> Target:
    growth = per_image_growth(rows, "embedded-default")
    return Target(
        "skip per-image cost (wall) from each N to the next",
        "grows ≤ 25 %",
        f"largest step factor = {_s(growth)} (below 1: falls with N)",
        _at_most(growth, 1.25),
    )


def _marginal_target(rows: Sequence[Row]) -> Target:
    """Cost of each further image between consecutive Ns: does it grow with N?"""
    steps = marginal_costs(rows, "embedded-default")
    costs = [cost for _, _, cost in steps]
    text = ", ".join(f"{a}→{b}: {cost * 1000:.1f} ms" for a, b, cost in steps) or "—"
    growth = costs[-1] / costs[0] if len(costs) > 1 and costs[0] > 0 else None
    return Target(
        "skip marginal cost per image (each further image)",
        "largest-N step ≤ 1.25 × smallest-N step",
        text,
        _at_most(growth, 1.25) if growth is not None else None,
    )


def _cold_targets(report: Report) -> list[Target]:
    rows, n = report.rows, 100
    c8 = find(rows, "cold", "embedded-c8", n)
    w1, w4 = find(rows, "cold", "celery-w1", n), find(rows, "cold", "celery-w4", n)
    vs_loop = ratio(loop_time(rows, "cold", n), c8.median_s if c8 else None)
    scale = ratio(w1.median_s if w1 else None, w4.median_s if w4 else None)
    return [
        Target("cold N=100: embedded c8 vs loop", "≥ 8×", _x(vs_loop), _at_least(vs_loop, 8)),
        Target("cold N=100: Celery 4 workers vs 1", "≥ 3.3×", _x(scale), _at_least(scale, 3.3)),
        _speed_target(rows, ("celery-w1x8", "embedded-c8"), "1 worker × 8 vs embedded -c 8", 0.9),
        _speed_target(rows, ("celery-w4x2", "celery-w1x2"), "4 workers × 2 vs 1 worker × 2", 3.3),
    ]


def _speed_target(rows: Sequence[Row], names: tuple[str, str], what: str, goal: float) -> Target:
    """Cold N = 100: how much faster the first tool is than the second (time ratio)."""
    fast, slow = (find(rows, "cold", name, 100) for name in names)
    speed = ratio(slow.median_s if slow else None, fast.median_s if fast else None)
    measured = _x(speed) if speed is None else f"{speed:.2f}×"
    if fast and slow:
        measured += f" ({_median_cell(fast)} s vs {_median_cell(slow)} s)"
    return Target(f"cold N=100: Celery {what}", f"≥ {goal:g}×", measured, _at_least(speed, goal))


def _network_bound_target(report: Report, n: int = 1000) -> Target:
    """Issue 15: the skip path at N = 1000 within 1.5× of the network bound, plus start-up."""
    row = find(report.rows, "skip-scaling", "embedded-default", n)
    bound = report.bound(row) if row else None
    name = f"skip N={n}: wall vs network bound + start-up"
    goal = "≤ 1.5 × (2·RTT·N/32 + 1 set-up) + start-up"
    if row is None or bound is None or row.median_run_phase_s is None:
        return Target(name, goal, "scenario (d) not run at this N", None)
    start = row.median_s - row.median_run_phase_s
    limit = 1.5 * bound + start
    measured = f"{_s(row.median_s)} s vs 1.5 × {_s(bound)} + {_s(start)} = {_s(limit)} s"
    return Target(name, goal, measured, row.median_s <= limit)


def _sync_startup_target(report: Report) -> Target:
    """``sync``'s start-up in embedded mode: spawn to its run function (the probe's mark)."""
    name, goal = "start-up: sync (embedded, spawn to the run, N = 200)", "≤ 0.3 s"
    starts = [
        m.startup_s
        for m in report.measurements
        if m.scenario == "in-sync" and m.competitor == "embedded-default" and m.n == 200
        and m.ok and m.startup_s is not None
    ]  # fmt: skip
    if not starts:
        return Target(name, goal, "scenario (a) not run", None)
    start = statistics.median(starts)
    return Target(name, goal, f"{_s(start)} s (median of {len(starts)})", start <= 0.3)


def _resource_targets(report: Report) -> list[Target]:
    extras = report.extras
    found: list[Target] = []
    for key in ("help", "validate"):
        item = extras.get("startup", {}).get(key)
        if item:
            celery = ", Celery imported!" if item["celery_imported"] else ", no Celery import"
            found.append(
                Target(
                    f"start-up: {item['command'].split(' ', 2)[:2][-1]}",
                    "< 0.3 s",
                    f"{_s(item['median_s'])} s{celery}",
                    item["median_s"] < 0.3 and not item["celery_imported"],
                )
            )
    workers = [r.worker_rss_kb for r in report.rows if r.worker_rss_kb]
    peak = max(workers) if workers else None
    found.append(Target("worker peak RSS", "≤ 150 MB", f"{_mb(peak)} MB", _at_most(peak, 150 * MB)))
    return found + _enqueue_targets(extras.get("enqueue"))


def _enqueue_targets(enqueue: dict[str, Any] | None) -> list[Target]:
    if not enqueue:
        return [Target("enqueue 10,000 mappings", "< 5 s, ≤ 150 MB", "not run", None)]
    ours, plain = enqueue["imgsync"], enqueue["plain_chord"]
    wall, rss = ours["median_wall_s"], ours["max_rss_kb"]
    return [
        Target(
            f"producer enqueues {enqueue['n']:,} mappings (wall, incl. start-up)",
            "< 5 s (plain chord: " + _s(plain["median_wall_s"]) + " s)",
            f"{_s(wall)} s (run phase {_s(ours['median_run_phase_s'])} s)",
            _at_most(wall, 5.0),
        ),
        Target(
            f"producer peak RSS ({enqueue['n']:,} mappings)",
            "≤ 150 MB",
            f"{_mb(rss)} MB",
            _at_most(rss, 150 * MB),
        ),
    ]


def _at_least(value: float | None, goal: float) -> bool | None:
    return None if value is None else value >= goal


def _at_most(value: float | None, goal: float) -> bool | None:
    return None if value is None else value <= goal


# ---------------------------------------------------------------------- tables


def scenario_table(report: Report, scenario: str, n: int) -> list[str]:
    """One scenario at one N: every competitor with time, ratios, pulls, memory."""
    skip = scenario in SKIP_SCENARIOS
    header = ["tool", "N run", "median s", "min–max s", "images/s", "× loop", "src manifest GETs"]
    header += ["dst manifest PUTs", "token req.", "new conns", "imgsync RSS MB", "worker RSS MB"]
    if skip:
        header += ["lower bound s", "× bound"]
    loop = loop_time(report.rows, scenario, n)
    lines = []
    for row in report.rows:
        if row.scenario != scenario or row.n != n:
            continue
        cells = [
            report.labels.get(row.competitor, row.competitor),
            str(row.measured_n),
            _median_cell(row),
            f"{_s(row.min_s)}–{_s(row.max_s)}",
            _s(row.images_per_s, 1),
            _x(ratio(loop, row.median_s)),
            f"{row.src_manifest_gets:.0f}",
            f"{row.dst_manifest_puts:.0f}",
            f"{row.token_requests:.0f}",
            f"{row.new_connections:.0f}",
            _mb(row.imgsync_rss_kb),
            _mb(row.worker_rss_kb),
        ]
        if skip:
            bound = report.bound(row)
            cells += [_s(bound), _x(ratio(row.median_s, bound))]
        lines.append(cells)
    return table(header, lines)


def scaling_table(report: Report) -> list[str]:
    """Scenario (d): per-image cost at each N, on wall time and on the run phase."""
    header = ["tool", "N", "median s", "run phase s", "ms/image (wall)", "ms/image (run)"]
    header += ["lower bound s", "× bound"]
    lines = []
    for row in report.rows:
        if row.scenario != "skip-scaling":
            continue
        bound = report.bound(row)
        run = row.median_run_phase_s
        lines.append(
            [
                report.labels.get(row.competitor, row.competitor),
                str(row.n),
                _median_cell(row),
                f"{_s(run)} (est.)" if row.extrapolated_from else _s(run),
                _s(row.median_s / row.n * 1000, 1),
                _s(run / row.n * 1000 if run else None, 1),
                _s(bound),
                _x(ratio(row.median_s, bound)),
            ]
        )
    return table(header, lines)


def speedup_table(report: Report) -> list[str]:
    header = ["scenario", "N", "1 worker s", "2 workers s", "4 workers s", "2 vs 1", "4 vs 1"]
    lines = []
    for scenario in ("in-sync", "cold", "changed"):
        times = [find(report.rows, scenario, f"celery-w{w}") for w in (1, 2, 4)]
        if not all(times):
            continue
        one, two, four = (t.median_s for t in times if t)
        n = times[0].n if times[0] else 0
        lines.append([scenario, str(n), _s(one), _s(two), _s(four), _x(one / two), _x(one / four)])
    return table(header, lines)


def memory_table(report: Report) -> list[str]:
    header = ["process", "peak RSS MB", "where measured"]
    producer = [r.imgsync_rss_kb for r in report.rows if r.imgsync_rss_kb]
    embedded = [
        r.imgsync_rss_kb for r in report.rows if r.imgsync_rss_kb and "embedded" in r.competitor
    ]
    celery_prod = [
        r.imgsync_rss_kb for r in report.rows if r.imgsync_rss_kb and "celery" in r.competitor
    ]
    workers = [r.worker_rss_kb for r in report.rows if r.worker_rss_kb]
    lines = [
        ["imgsync embedded (any run)", _mb(max(embedded, default=None)), "VmHWM at exit"],
        ["imgsync producer, Celery runs", _mb(max(celery_prod, default=None)), "VmHWM at exit"],
        ["Celery worker process (main or pool)", _mb(max(workers, default=None)), "VmHWM"],
    ]
    enqueue = report.extras.get("enqueue")
    if enqueue:
        lines.append(
            [
                f"producer enqueueing {enqueue['n']:,} mappings",
                _mb(enqueue["imgsync"]["max_rss_kb"]),
                "VmHWM at exit",
            ]
        )
    return table(header, lines) if producer or workers else []


# ---------------------------------------------------------------------- plots


def plot_time_vs_n(report: Report, path: Path) -> bool:
    """Skip path: wall time against N, log-log, with the bound and the extrapolated tools."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = [r for r in report.rows if r.scenario == "skip-scaling"]
    if not rows:
        return False
    fig, ax = plt.subplots(figsize=(8, 5.5))
    ns = sorted({r.n for r in rows})
    for name in dict.fromkeys(r.competitor for r in rows):
        mine = sorted((r for r in rows if r.competitor == name), key=lambda r: r.n)
        width = 2.5 if name == "embedded-default" else 1.2
        (line,) = ax.plot([r.n for r in mine], [r.median_s for r in mine], marker="o",
                          linewidth=width, label=report.labels.get(name, name))  # fmt: skip
        estimated = [r for r in mine if r.extrapolated_from]
        ax.plot([r.n for r in estimated], [r.median_s for r in estimated], "o",
                color="white", markeredgecolor=line.get_color())  # fmt: skip
    for name, style in (("loop", "--"), ("skopeo-sync", ":")):
        row = find(report.rows, "in-sync", name)
        if row:
            per = row.median_s / row.n
            label = f"{report.labels.get(name, name)} (extrapolated from N={row.measured_n})"
            ax.plot(ns, [per * n for n in ns], style, color="grey", label=label)
    bound = [lower_bound_s(n, 32, report.rtt_s, report.handshake_rtts) for n in ns]
    ax.plot(ns, bound, "-.", color="black", label="lower bound 2·RTT·N/32 + set-up")
    ax.set(xscale="log", yscale="log", xlabel="images (N)", ylabel="wall time, s (median)")
    rtt = report.meta["latency"]["rtt_ms"]
    ax.set_title(f"Skip path (all in sync), {rtt:.0f} ms RTT; hollow markers: estimated")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=7, loc="upper left")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return True


def plot_speedup(report: Report, path: Path) -> bool:
    """Celery: speed-up over one worker, per scenario, with the ideal line."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    workers = [1, 2, 4]
    fig, ax = plt.subplots(figsize=(6.5, 4.5))
    drawn = False
    for scenario in ("in-sync", "cold", "changed"):
        rows = [find(report.rows, scenario, f"celery-w{w}") for w in workers]
        if not all(rows):
            continue
        base = rows[0].median_s if rows[0] else 1.0
        speedups = [base / r.median_s for r in rows if r]
        ax.plot(
            workers, speedups, marker="o", label=f"{scenario} (N={rows[0].n if rows[0] else 0})"
        )
        drawn = True
    if not drawn:
        plt.close(fig)
        return False
    ax.plot(workers, workers, "--", color="grey", label="ideal")
    ax.set(xlabel="worker processes", ylabel="speed-up over 1 worker", xticks=workers)
    ax.set_title("imgsync Celery mode: scaling out")
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return True


# ---------------------------------------------------------------------- document


def _meta_lines(meta: dict[str, Any]) -> list[str]:
    machine, versions, lat = meta["machine"], meta["versions"], meta["latency"]
    load = meta.get("loadavg", {})
    return [
        f"- Run: {meta['started_at']} → {meta['finished_at']} ({meta['duration_s'] / 60:.1f} min), "
        f"command `{meta['command']}`",
        f"- Machine: {machine['cpus']} CPU cores ({machine['cpu_model']}), "
        f"{machine['memory_gb']:.0f} GB RAM, {machine['kernel']}",
        "- Versions: " + ", ".join(f"{k} {v}" for k, v in versions.items()),
        f"- WAN model: {lat['delay_ms']:g} ms one-way per chunk each way "
        f"({lat['rtt_ms']:g} ms RTT), {lat['handshake_rtts']:g} extra round trips before the "
        "first byte of each new connection",
        f"- Load average at start / end: {load.get('start')} / {load.get('end')} (see *Limits*)",
        f"- Repetitions: {meta['reps']} per tool and N (median shown). Tools that would need "
        "many minutes at the full N run at a capped N (`bench/runner.py` `CAPS`, scaled by "
        f"{meta['cap_scale']:g}); their figure at the full N is extrapolated as start-up + "
        "per-image cost × N and marked *est.*",
    ]


def _scenario_sections(report: Report) -> list[str]:
    out: list[str] = []
    for scenario in ("in-sync", "cold", "changed"):
        ns = sorted({r.n for r in report.rows if r.scenario == scenario})
        for n in ns:
            out += ["", f"### {SCENARIO_TITLES[scenario]}, N = {n}", ""]
            out += scenario_table(report, scenario, n)
    if any(r.scenario == "skip-scaling" for r in report.rows):
        out += ["", f"### {SCENARIO_TITLES['skip-scaling']}", ""]
        out += scaling_table(report)
        out += ["", f"![time vs N]({TIME_PLOT})"]
    return out


def _extras_lines(extras: dict[str, Any]) -> list[str]:
    out: list[str] = []
    startup = extras.get("startup")
    if startup:
        rows = [
            [f"`{v['command']}`", _s(v["median_s"], 3), _s(v["min_s"], 3), _mb(v["maxrss_kb"]),
             "yes" if v["celery_imported"] else "no"]
            for v in startup.values()
        ]  # fmt: skip
        out += ["", "### Start-up", ""]
        out += table(["command", "median s", "min s", "peak RSS MB", "imports Celery"], rows)
    enqueue = extras.get("enqueue")
    if enqueue:
        ours, plain = enqueue["imgsync"], enqueue["plain_chord"]
        out += ["", f"### Enqueueing {enqueue['n']:,} mappings (no worker consuming)", ""]
        out += table(
            ["what", "median wall s", "median enqueue s", "peak RSS MB"],
            [
                ["`imgsync sync --broker … --no-wait`", _s(ours["median_wall_s"]),
                 _s(ours["median_run_phase_s"]), _mb(ours["max_rss_kb"])],
                ["plain Celery chord of trivial tasks (same Redis)", "—",
                 _s(plain["median_wall_s"]), _mb(plain["max_rss_kb"])],
            ],
        )  # fmt: skip
    return out


def markdown(report: Report, plots: dict[str, bool]) -> str:
    """The whole document."""
    lines = [
        "# Benchmarks: imgsync vs the original workflow and `skopeo sync`",
        "",
        "Generated by `python -m bench` (see *Reproduce*). Raw numbers: "
        "[benchmarks.json](benchmarks.json).",
        "",
        "## Targets",
        "",
    ]
    lines += table(
        ["target", "goal", "measured", "verdict"],
        [[t.name, t.goal, t.measured, t.verdict] for t in targets(report)],
    )
    lines += ["", "## Set-up", "", *_meta_lines(report.meta), "", "## Results"]
    lines += _scenario_sections(report)
    if plots.get("speedup"):
        lines += ["", "### Celery: speed-up with more workers", "", *speedup_table(report)]
        lines += ["", f"![speed-up vs workers]({SPEEDUP_PLOT})"]
    lines += ["", "### Memory", "", *memory_table(report)]
    lines += _extras_lines(report.extras)
    lines += http_stacks_report.section(report.extras.get("http_stacks"))
    lines += metered_report.section(report.extras.get("metered"))
    lines += scale_report.section(report.extras.get("scale"))
    lines += pools_report.section(report.extras.get("pools"))
    if ANALYSIS.exists():
        lines += ["", ANALYSIS.read_text().strip()]
    return "\n".join(lines) + "\n"


def _drawn(plot: Callable[[Report, Path], bool], report: Report, path: Path) -> bool:
    """A plot, or none where matplotlib (the bench extra) is not installed: the test extra
    alone still writes the document, as the smoke tests in CI do."""
    try:
        return plot(report, path)
    except ModuleNotFoundError as exc:
        print(f"no plot {path.name}: {exc} (pip install -e '.[bench]')", file=sys.stderr)
        return False


def write(report: Report, out_dir: Path) -> dict[str, Path]:
    """Write the JSON, the plots and the Markdown into ``out_dir``; return their paths."""
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = {
        "json": out_dir / "benchmarks.json",
        "markdown": out_dir / "benchmarks.md",
        "time": out_dir / TIME_PLOT,
        "speedup": out_dir / SPEEDUP_PLOT,
    }
    plots = {
        "time": _drawn(plot_time_vs_n, report, paths["time"]),
        "speedup": _drawn(plot_speedup, report, paths["speedup"]),
    }
    data = {
        "meta": report.meta,
        "targets": [t.__dict__ | {"verdict": t.verdict} for t in targets(report)],
        "summary": [r.to_dict() for r in report.rows],
        "extras": report.extras,
        "measurements": [m.to_dict() for m in report.measurements],
    }
    paths["json"].write_text(json.dumps(data, indent=1, default=str) + "\n")
    paths["markdown"].write_text(markdown(report, plots))
    return paths
