"""``python -m bench``: the whole benchmark in one command (``--quick`` for a smoke run).

Starts the rig (registries, token service, latency proxies, Redis), seeds it, runs every
scenario with every competitor interleaved, measures start-up and enqueueing, and writes
``docs/benchmarks.md`` + ``.json`` + PNG plots. A full run takes about half an hour on
two cores; ``--help`` lists the knobs to run a part of it.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import shlex
import subprocess
import sys
import tempfile
import time
from dataclasses import fields, replace
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

from tests.rig.redis_server import RedisServer

from bench import extras, http_stacks, metered, pools, report, scale
from bench.competitors import Competitor, all_competitors
from bench.measure import loadavg
from bench.model import Measurement
from bench.rig import REPO_ROOT, Latency, Rig
from bench.runner import Plan, run_plan
from bench.scenarios import Scenario, World, default_scenarios
from bench.summary import build_rows

SCENARIO_KEYS = {"a": "in-sync", "b": "cold", "c": "changed", "d": "skip-scaling"}


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    p.add_argument("--quick", action="store_true", help="tiny N, one repetition (smoke test)")
    p.add_argument("--scenarios", default="a,b,c,d", help="comma list of a,b,c,d")
    p.add_argument("--competitors", default="", help="comma list of names (default: all)")
    p.add_argument("--reps", type=int, help="repetitions per tool and N (default 3; quick 1)")
    p.add_argument(
        "--cap-scale",
        type=float,
        help="multiply the per-tool N caps (bench/runner.py CAPS; default 1, quick 0.2)",
    )
    p.add_argument("--n-sync", type=int, help="N of scenario (a)")
    p.add_argument("--n-cold", type=int, help="N of scenario (b)")
    p.add_argument("--n-changed", type=int, help="N of scenario (c)")
    p.add_argument("--n-scaling", help="comma list of N for scenario (d)")
    p.add_argument("--rtt-ms", type=float, default=30.0, help="emulated round-trip time")
    p.add_argument("--handshake-rtts", type=float, default=2.0)
    p.add_argument("--celery-concurrency", type=int, default=1, help="processes per worker")
    p.add_argument("--no-extras", action="store_true", help="skip start-up and enqueue figures")
    p.add_argument("--enqueue-n", type=int, help="mappings to enqueue (default 10000)")
    p.add_argument("--out", type=Path, help="output directory (default docs/; quick: a temp dir)")
    p.add_argument("--keep", action="store_true", help="keep the rig's work directory")
    p.add_argument(
        "--no-http-stacks",
        action="store_true",
        help="full run without the HTTP stacks for registry calls (bench/http_stacks.py)",
    )
    p.add_argument(
        "--only",
        choices=["http-stacks", "metered", "scale", "pools"],
        help="run only this section and merge it into OUT/benchmarks.json if there is one",
    )
    p.add_argument("--no-metered", action="store_true", help="full run without the metered source")
    p.add_argument("--no-scale", action="store_true", help="full run without the scale row")
    p.add_argument("--no-pools", action="store_true", help="full run without the pools section")
    p.add_argument("--pools-n", type=int, nargs="+", help="N of the pools section (400 2000)")
    p.add_argument("--pools-reps", type=int, help="repetitions of the pools section (3)")
    p.add_argument("--metered-reps", type=int, help="repetitions per tool and budget (default 1)")
    p.add_argument("--scale-n", type=int, help="in-sync mappings of the scale row (10000)")
    p.add_argument("--scale-workers", type=int, help="Celery worker nodes of the scale row (2)")
    p.add_argument(
        "--scale-worker-concurrency", type=int, help="pool processes per node, scale row (4)"
    )
    p.add_argument("--http-ns", help="small,large N of HEADs per stack (default 300,3000)")
    p.add_argument("--http-reps", type=int, help="repetitions per stack and N, and skip runs (3)")
    p.add_argument("--skip-ns", help="small,large N of the skip-path CPU figure (100,1000)")
    p.add_argument(
        "--report-only",
        type=Path,
        metavar="JSON",
        help="re-write the Markdown and plots from an earlier run's JSON (no measuring)",
    )
    return p.parse_args(argv)


def choose_scenarios(args: argparse.Namespace) -> list[Scenario]:
    """The scenarios asked for, with N overrides applied."""
    wanted = {SCENARIO_KEYS[k.strip()] for k in args.scenarios.split(",") if k.strip()}
    overrides: dict[str, tuple[int, ...] | None] = {
        "in-sync": (args.n_sync,) if args.n_sync else None,
        "cold": (args.n_cold,) if args.n_cold else None,
        "changed": (args.n_changed,) if args.n_changed else None,
        "skip-scaling": tuple(int(x) for x in args.n_scaling.split(","))
        if args.n_scaling
        else None,
    }
    found = []
    for scenario in default_scenarios(args.quick):
        if scenario.name in wanted:
            ns = overrides[scenario.name]
            found.append(replace(scenario, ns=ns) if ns else scenario)
    return found


def choose_competitors(args: argparse.Namespace, broker_url: str) -> list[Competitor]:
    every = all_competitors(broker_url, args.celery_concurrency)
    if not args.competitors:
        return every
    names = {n.strip() for n in args.competitors.split(",") if n.strip()}
    unknown = names - {c.name for c in every}
    if unknown:
        raise SystemExit(f"unknown competitor(s): {', '.join(sorted(unknown))}")
    return [c for c in every if c.name in names]


# ---------------------------------------------------------------------- meta


def _command_version(argv: list[str]) -> str:
    try:
        out = subprocess.run(argv, capture_output=True, text=True, timeout=10, check=False)
    except OSError:
        return "missing"
    text = (out.stdout or out.stderr).strip().splitlines()
    return text[0] if text else "?"


def _package(name: str) -> str:
    try:
        return version(name)
    except PackageNotFoundError:
        return "missing"


def _git_state() -> str:
    def git(*args: str) -> str:
        return subprocess.run(
            ["git", *args], cwd=REPO_ROOT, capture_output=True, text=True, check=False
        ).stdout.strip()

    dirty = " + uncommitted changes" if git("status", "--porcelain", "--", "src") else ""
    return f"{git('rev-parse', '--short', 'HEAD')}{dirty}"


def machine() -> dict[str, Any]:
    cpuinfo = Path("/proc/cpuinfo").read_text()
    model = next((ln.split(":", 1)[1].strip() for ln in cpuinfo.splitlines()
                  if ln.startswith("model name")), platform.processor())  # fmt: skip
    mem_kb = next(int(ln.split()[1]) for ln in Path("/proc/meminfo").read_text().splitlines()
                  if ln.startswith("MemTotal"))  # fmt: skip

    return {
        "cpus": os.cpu_count(),
        "cpu_model": model,
        "memory_gb": mem_kb / 1024 / 1024,
        "kernel": f"{platform.system()} {platform.release()}",
    }


def versions() -> dict[str, str]:
    return {
        "imgsync": f"{_package('imgsync')} ({_git_state()})",
        "python": platform.python_version(),
        "skopeo": _command_version(["skopeo", "--version"]).replace("skopeo version ", ""),
        "docker-registry": _command_version(["docker-registry", "--version"]).split()[-1],
        "redis-server": _command_version(["redis-server", "--version"]).split()[2],
        "celery": _package("celery"),
        "requests": _package("requests"),
    }


def meta(args: argparse.Namespace, latency: Latency, plan: Plan) -> dict[str, Any]:
    return {
        "command": "python -m bench " + shlex.join(sys.argv[1:]),
        "started_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "machine": machine(),
        "versions": versions(),
        "latency": {
            "delay_ms": latency.delay_ms,
            "rtt_ms": latency.rtt_s * 1000,
            "handshake_rtts": latency.handshake_rtts,
        },
        "reps": plan.reps,
        "caps": {k: v for k, v in plan.caps.items()},
        "cap_scale": plan.cap_scale,
        "quick": args.quick,
        "loadavg": {"start": loadavg()},
    }


# ---------------------------------------------------------------------- main


def _log(message: str) -> None:
    print(message, flush=True)


def _plan(args: argparse.Namespace, broker_url: str) -> Plan:
    return Plan(
        scenarios=choose_scenarios(args),
        competitors=choose_competitors(args, broker_url),
        reps=args.reps or (1 if args.quick else 3),
        cap_scale=args.cap_scale or (0.2 if args.quick else 1.0),
    )


def _pair(text: str | None) -> tuple[int, int] | None:
    if not text:
        return None
    small, large = (int(x) for x in text.split(","))
    return small, large


def _http_stacks(args: argparse.Namespace) -> dict[str, Any]:
    """The HTTP-stack section: its own registry and rig, so it runs alone or after the rest."""
    base = http_stacks.Settings.quick() if args.quick else http_stacks.Settings()
    settings = replace(
        base,
        ns=_pair(args.http_ns) or base.ns,
        reps=args.http_reps or base.reps,
        skip_reps=args.http_reps or base.skip_reps,
        skip_ns=_pair(args.skip_ns) or base.skip_ns,
        latency=Latency(delay_ms=args.rtt_ms / 2, handshake_rtts=args.handshake_rtts),
    )
    _log(
        f"HTTP stacks: N = {settings.ns}, {settings.reps} rep(s); skip path N = {settings.skip_ns}"
    )
    return http_stacks.measure(settings, _log)


def _metered(args: argparse.Namespace) -> dict[str, Any]:
    """The metered-source section: its own registries and meters (bench/metered.py)."""
    budgets = metered.QUICK_BUDGETS if args.quick else metered.BUDGETS
    _log(f"metered source: budgets {[(b.images, b.pulls) for b in budgets]}")
    return metered.measure(budgets, _latency(args), args.metered_reps or 1, _log)


def _scale(args: argparse.Namespace) -> dict[str, Any]:
    """The scale row: its own rig, seeded with one image under many tags (bench/scale.py)."""
    base = scale.Settings.quick() if args.quick else scale.Settings()
    settings = replace(
        base,
        n=args.scale_n or base.n,
        workers=args.scale_workers or base.workers,
        worker_concurrency=args.scale_worker_concurrency or base.worker_concurrency,
    )
    _log(f"scale: N = {settings.n}, {settings.workers} × {settings.worker_concurrency} workers")
    return scale.measure(settings, _latency(args), _log)


def _pools(args: argparse.Namespace) -> dict[str, Any]:
    """The distributed skip path: one worker per pool type against embedded (bench/pools.py)."""
    ns, reps = ((20,), 1) if args.quick else (pools.FULL_NS, 3)
    settings = pools.Settings(ns=tuple(args.pools_n or ns), reps=args.pools_reps or reps)
    _log(f"distributed skip: N = {settings.ns}, pools {settings.pools}, {settings.reps} rep(s)")
    return pools.measure(settings, _latency(args), _log)


def _latency(args: argparse.Namespace) -> Latency:
    return Latency(delay_ms=args.rtt_ms / 2, handshake_rtts=args.handshake_rtts)


#: ``--only`` sections: the key under ``extras`` and the function that measures it.
SECTIONS = {"http-stacks": ("http_stacks", _http_stacks), "metered": ("metered", _metered),
            "scale": ("scale", _scale), "pools": ("pools", _pools)}  # fmt: skip


def run_only(args: argparse.Namespace) -> Path:
    """Measure one section and put it into the document an earlier run wrote."""
    out_dir = args.out or (
        Path(tempfile.mkdtemp(prefix="bench-quick-")) if args.quick else REPO_ROOT / "docs"
    )
    key, measure = SECTIONS[args.only]
    section = measure(args)
    earlier = out_dir / "benchmarks.json"
    if earlier.exists():
        data = json.loads(earlier.read_text())
    else:
        info = meta(args, _latency(args), Plan([], [], 0))
        info.update(finished_at=info["started_at"], duration_s=0.0, loadavg=section["loadavg"])
        data = {"meta": info, "measurements": [], "extras": {}}
    data["extras"][key] = section
    return _write_from_json(data, out_dir)


def _extras(args: argparse.Namespace, rig: Rig, redis_url: str) -> dict[str, Any]:
    if args.no_extras:
        return {}
    _log("start-up figures …")
    out: dict[str, Any] = {"startup": extras.startup(rig.env(), rig.workdir / "startup",
                                                    reps=3 if args.quick else 9)}  # fmt: skip
    n = args.enqueue_n or (500 if args.quick else 10_000)
    _log(f"enqueueing {n} mappings …")
    out["enqueue"] = extras.enqueue(
        rig.env(), redis_url, rig.workdir / "enqueue", n=n, reps=1 if args.quick else 3,
        hosts=(rig.src_host, rig.dst_host),
    )  # fmt: skip
    return out


def run(args: argparse.Namespace) -> Path:
    """Everything, in order; returns the output directory."""
    latency = Latency(delay_ms=args.rtt_ms / 2, handshake_rtts=args.handshake_rtts)
    out_dir = args.out or (
        Path(tempfile.mkdtemp(prefix="bench-quick-")) if args.quick else REPO_ROOT / "docs"
    )
    started = time.perf_counter()
    with Rig(latency=latency, keep=args.keep) as rig, RedisServer() as redis_server:
        plan = _plan(args, redis_server.url)
        info = meta(args, latency, plan)
        _log(f"rig in {rig.workdir}; plan: {len(plan.scenarios)} scenario(s), "
             f"{len(plan.competitors)} competitor(s), {plan.reps} rep(s)")  # fmt: skip
        max_n = max((n for s in plan.scenarios for n in s.ns), default=0)
        changed_n = max((max(s.ns) for s in plan.scenarios if s.name == "changed"), default=0)
        world = World(rig, max_n=max_n, changed_n=changed_n, progress=_log)
        world.seed()
        measurements = run_plan(world, plan, _log)
        extra = _extras(args, rig, redis_server.url)
    if not (args.quick or args.no_http_stacks):
        extra["http_stacks"] = _http_stacks(args)
    if not (args.quick or args.no_metered):
        extra["metered"] = _metered(args)
    if not (args.quick or args.no_scale):
        extra["scale"] = _scale(args)
    if not (args.quick or args.no_pools):
        extra["pools"] = _pools(args)
    info["finished_at"] = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    info["duration_s"] = time.perf_counter() - started
    info["loadavg"]["end"] = loadavg()
    concurrency = {c.name: c.check_concurrency for c in plan.competitors}
    labels = {c.name: c.label for c in plan.competitors}
    info["labels"], info["check_concurrency"] = labels, concurrency
    result = report.Report(info, measurements, build_rows(measurements, concurrency), extra, labels)
    paths = report.write(result, out_dir)
    _log(f"wrote {paths['markdown']} and {paths['json']}")
    failed = [m for m in measurements if not m.ok]
    if failed:
        _log(f"{len(failed)} run(s) failed; see the JSON for their errors")
    return out_dir


def rewrite(json_path: Path, out_dir: Path | None) -> Path:
    """The document again from raw numbers (after editing ``bench/analysis.md``, say)."""
    return _write_from_json(json.loads(json_path.read_text()), out_dir or json_path.parent)


def _write_from_json(data: dict[str, Any], out_dir: Path) -> Path:
    """Summaries, Markdown and plots from a run's raw JSON (as ``benchmarks.json`` keeps it)."""
    known = {f.name for f in fields(Measurement)}
    measurements = [
        Measurement(**{k: v for k, v in m.items() if k in known}) for m in data["measurements"]
    ]
    labels = data["meta"].get("labels", {})
    concurrency = data["meta"].get("check_concurrency", {})
    rows = build_rows(measurements, concurrency)
    result = report.Report(data["meta"], measurements, rows, data["extras"], labels)
    paths = report.write(result, out_dir)
    _log(f"wrote {paths['markdown']}")
    return paths["markdown"].parent


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.report_only:
        rewrite(args.report_only, args.out)
    elif args.only:
        run_only(args)
    else:
        run(args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
