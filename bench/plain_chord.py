"""Reference point for enqueueing: a plain Celery chord of N trivial tasks, timed.

The issue's yardstick ("a plain Celery chord of 10,000 tasks enqueues in about 4 s
here") measured on this machine, against this Redis, in this run, so imgsync's
producer can be compared with what Celery itself costs.

Usage: ``python -m bench.plain_chord REDIS_URL QUEUE N`` prints a JSON line.
"""

from __future__ import annotations

import json
import sys
import time

from celery import Celery, chord, group

from bench.rss_launch import peak_rss_kb


def _noop(i: int) -> int:
    return i


def _collect(results: list[int]) -> int:
    return len(results)


def main(argv: list[str]) -> int:
    broker, queue, n = argv[0], argv[1], int(argv[2])
    app = Celery("bench-plain", broker=broker, backend=broker)
    app.conf.update(task_default_queue=queue, task_serializer="json", result_serializer="json")

    noop = app.task(name="bench.noop")(_noop)
    collect = app.task(name="bench.collect")(_collect)
    started = time.perf_counter()
    chord(group(noop.s(i) for i in range(n)))(collect.s())
    elapsed = time.perf_counter() - started
    rss_kb = peak_rss_kb()
    print(json.dumps({"n": n, "enqueue_s": elapsed, "maxrss_kb": rss_kb}))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
