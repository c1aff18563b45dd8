"""Start-up and enqueue figures: what a user feels before any image is touched.

* ``imgsync --help`` and ``imgsync validate`` of one mapping, run as the console script
  users call (median of several runs), with a check that Celery was not imported;
* the producer enqueuing 10,000 mappings (``sync --broker … --no-wait``) with nothing
  consuming them: wall time, time inside the run function, peak RSS; and, as the yardstick,
  a plain Celery chord of as many trivial tasks, on the same Redis.
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import uuid
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import redis

from bench.measure import run_measured

IMGSYNC_SCRIPT = Path(sys.executable).with_name("imgsync")
#: Runs the CLI like the console script does, then reports whether Celery got imported
#: and the process's peak RSS (``VmHWM``, see :mod:`bench.rss_launch`).
CELERY_PROBE = (
    "import atexit, sys\n"
    "from bench.rss_launch import peak_rss_kb\n"
    "def report():\n"
    "    print('CELERY_IMPORTED=' + str('celery' in sys.modules), file=sys.stderr)\n"
    "    print('VMHWM_KB=' + str(peak_rss_kb()), file=sys.stderr)\n"
    "atexit.register(report)\n"
    "from imgsync.producer.cli import main\n"
    "sys.argv[0] = 'imgsync'\n"
    "main()\n"
)
STARTUP_COMMANDS: dict[str, list[str]] = {
    "help": ["--help"],
    "validate": ["validate", "docker.io/library/nginx:1.25=registry.example.com/mirror/nginx"],
}


def _median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def startup(env: Mapping[str, str], workdir: Path, reps: int = 9) -> dict[str, Any]:
    """Median wall time and peak RSS of each start-up command, and the Celery check."""
    out: dict[str, Any] = {}
    for key, args in STARTUP_COMMANDS.items():
        runs = [
            run_measured([str(IMGSYNC_SCRIPT), *args], env, workdir / key, timeout=60)
            for _ in range(reps)
        ]
        probe = subprocess.run(
            [sys.executable, "-c", CELERY_PROBE, *args],
            env=dict(env),
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        out[key] = {
            "command": f"imgsync {' '.join(args)}",
            "median_s": _median([r.wall_s for r in runs]),
            "min_s": min(r.wall_s for r in runs),
            "runs_s": [r.wall_s for r in runs],
            "ok": all(r.returncode == 0 for r in runs),
            "maxrss_kb": _probe_value(probe.stderr, "VMHWM_KB="),
            "celery_imported": "CELERY_IMPORTED=True" in probe.stderr,
        }
    return out


def _probe_value(stderr: str, prefix: str) -> int | None:
    found = [line[len(prefix) :] for line in stderr.splitlines() if line.startswith(prefix)]
    return int(found[-1]) if found and found[-1].isdigit() else None


def _mappings(path: Path, n: int, src_host: str, dst_host: str) -> Path:
    path.write_text(
        "".join(
            f"{src_host}/bench/img-{i:05d}={dst_host}/mirror/bench/img-{i:05d}\n" for i in range(n)
        )
    )
    return path


def _flush(redis_url: str) -> None:
    """Drop the queued messages and run state so the next measurement starts empty."""
    client = redis.Redis.from_url(redis_url)
    try:
        client.flushdb()
    finally:
        client.close()


def enqueue(
    env: Mapping[str, str],
    redis_url: str,
    workdir: Path,
    *,
    n: int = 10_000,
    reps: int = 3,
    hosts: tuple[str, str] = ("127.0.0.1:5000", "127.0.0.1:5001"),
) -> dict[str, Any]:
    """imgsync's producer against a plain Celery chord, ``reps`` times each, alternating."""
    workdir.mkdir(parents=True, exist_ok=True)
    mappings = _mappings(workdir / "mappings.txt", n, *hosts)
    imgsync_runs: list[dict[str, Any]] = []
    plain_runs: list[dict[str, Any]] = []
    for rep in range(reps):
        imgsync_runs.append(_imgsync_enqueue(env, redis_url, mappings, workdir / f"imgsync-{rep}"))
        _flush(redis_url)
        plain_runs.append(_plain_chord(env, redis_url, n))
        _flush(redis_url)
    return {
        "n": n,
        "imgsync": _summary(imgsync_runs),
        "plain_chord": _summary(plain_runs),
    }


def _imgsync_enqueue(
    env: Mapping[str, str], redis_url: str, mappings: Path, workdir: Path
) -> dict[str, Any]:
    queue = f"bench-enqueue-{uuid.uuid4().hex[:8]}"
    run_env = {**env, "IMGSYNC_QUEUE": queue}
    argv = [sys.executable, "-m", "bench.rss_launch", "sync", "--broker", redis_url]
    argv += ["--no-wait", "-q", "--file", str(mappings)]
    ran = run_measured(argv, run_env, workdir, timeout=600, probe=True)
    queued = redis.Redis.from_url(redis_url).llen(queue)
    return {
        "wall_s": ran.wall_s,
        "run_phase_s": ran.run_phase_s,
        "maxrss_kb": ran.self_maxrss_kb,
        "queued": queued,
        "ok": ran.returncode == 0,
        "error": "" if ran.returncode == 0 else ran.stderr[-600:],
    }


def _plain_chord(env: Mapping[str, str], redis_url: str, n: int) -> dict[str, Any]:
    queue = f"bench-plain-{uuid.uuid4().hex[:8]}"
    proc = subprocess.run(
        [sys.executable, "-m", "bench.plain_chord", redis_url, queue, str(n)],
        env=dict(env),
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    if proc.returncode != 0:
        return {"ok": False, "error": proc.stderr[-600:]}
    data: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    return {"wall_s": data["enqueue_s"], "maxrss_kb": data["maxrss_kb"], "ok": True}


def _summary(runs: list[dict[str, Any]]) -> dict[str, Any]:
    good = [r for r in runs if r.get("ok")]

    def med(key: str) -> float | None:
        values = [float(r[key]) for r in good if r.get(key) is not None]
        return statistics.median(values) if values else None

    return {
        "median_wall_s": med("wall_s"),
        "median_run_phase_s": med("run_phase_s"),
        "max_rss_kb": max((int(r["maxrss_kb"]) for r in good if r.get("maxrss_kb")), default=None),
        "runs": runs,
    }
