"""Which task messages a Redis broker still holds: queued, or delivered and not yet acked.

kombu keeps a queue as Redis lists (one per priority step: ``queue``, ``queue\\x06\\x163``…)
and a delivered message in the ``unacked`` hash until it is acknowledged. It moves a
message from the list to the hash in two steps, so a Redis restart between them loses
the message: its task never runs and the run's chord never completes. A task id that is
in neither place, has no result, and stays so for a while, was lost that way.
"""

from __future__ import annotations

import json

import redis

PRIORITY_SEPARATOR = "\x06\x16"
#: kombu's default priority steps; step 0 is the bare queue name.
PRIORITY_STEPS = (0, 3, 6, 9)
UNACKED_KEY = "unacked"


def held_task_ids(client: redis.Redis, queue: str) -> set[str]:
    """Ids of the tasks whose messages are queued on ``queue`` or delivered unacked.

    Read in one transaction, so a message moving between the two is not missed by
    this read (a message lost in kombu's own two-step move is not in Redis at all).
    """
    lists = [queue, *(f"{queue}{PRIORITY_SEPARATOR}{step}" for step in PRIORITY_STEPS[1:])]
    pipe = client.pipeline(transaction=True)
    for name in lists:
        pipe.lrange(name, 0, -1)
    pipe.hvals(UNACKED_KEY)
    *queued, unacked = pipe.execute()
    messages = [_decoded(m) for found in queued for m in found]
    messages += [_first(_decoded(entry)) for entry in unacked]  # [message, exchange, key]
    return {task_id for task_id in map(_task_id, messages) if task_id}


def _decoded(raw: bytes) -> object:
    try:
        return json.loads(raw)
    except ValueError:
        return None


def _first(entry: object) -> object:
    return entry[0] if isinstance(entry, list) and entry else None


def _task_id(message: object) -> str | None:
    """The task id in a message's headers (Celery's message protocol 2)."""
    headers = message.get("headers") if isinstance(message, dict) else None
    found = headers.get("id") if isinstance(headers, dict) else None
    return found if isinstance(found, str) else None
