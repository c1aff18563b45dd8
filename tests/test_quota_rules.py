"""Quota rules and settings: pull costs, admission, shared board, accounts, report, message."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import pytest
import redis

from imgsync.adapters.quota_board import QUOTA_KEY, RESERVED_KEY, MemoryQuotaBoard, RedisQuotaBoard
from imgsync.adapters.ratelimit import RateLimit
from imgsync.config.secrets import settings_secrets
from imgsync.config.settings import Settings
from imgsync.core.codec import decode
from imgsync.core.quota import AccountQuota, admits, pull_cost, quota_usage
from imgsync.core.render import render_console, render_message
from imgsync.core.result import ErrorInfo, RunReport, Status, SyncResult
from imgsync.errors import ConfigError
from imgsync.runtime.services import account_lists
from tests.rig.redis_server import RedisServer

INDEX = "application/vnd.oci.image.index.v1+json"
MANIFEST = "application/vnd.oci.image.manifest.v1+json"
SRC = "docker.io/library/nginx:1"


def quota(remaining: int | None, *, at: float = 0.0, window: int | None = 21600) -> AccountQuota:
    return AccountQuota("docker.io", "alice", 20, remaining, window, at)


@pytest.mark.parametrize(
    ("media_type", "platforms", "cost"), [(MANIFEST, 0, 1), (INDEX, 3, 4), (INDEX, 1, 2)]
)
def test_a_copy_costs_its_manifest_or_its_index_plus_each_platform(
    media_type: str, platforms: int, cost: int
) -> None:
    assert pull_cost(media_type, platforms) == cost


@pytest.mark.parametrize(
    ("observed", "reserved", "admitted"),
    [
        (None, 0, True),  # nothing known: the registry meters nothing yet
        (quota(10), 0, True),  # 10 - 0 - 4 = 6 >= 5
        (quota(9), 0, True),  # exactly the minimum afterwards
        (quota(8), 0, False),  # would end at 4
        (quota(12), 4, False),  # running copies hold 4 of the 12
        (quota(3, at=-30000.0), 0, True),  # measured in a window that has passed
    ],
)
def test_a_copy_starts_only_if_the_minimum_stays_untouched(
    observed: AccountQuota | None, reserved: int, admitted: bool
) -> None:
    assert admits(observed, reserved=reserved, cost=4, minimum=5, now=0.0) is admitted


def test_workers_share_quotas_and_reservations_through_redis(redis_server: RedisServer) -> None:
    client = redis.Redis.from_url(redis_server.url)
    client.delete(QUOTA_KEY, RESERVED_KEY)
    one, two = (RedisQuotaBoard(client, ttl=60, clock=lambda: 100.0) for _ in range(2))

    one.record("docker.io", "alice", RateLimit(20, 7, 21600, "alice"))
    assert one.reserve("docker.io", "alice", 4) == 4

    assert two.latest("docker.io", "alice") == AccountQuota(
        "docker.io", "alice", 20, 7, 21600, 100.0
    )
    assert two.reserve("docker.io", "alice", 1) == 5
    two.release("docker.io", "alice", 1)
    one.release("docker.io", "alice", 4)
    assert two.reserve("docker.io", "alice", 0) == 0
    assert 0 < client.ttl(RESERVED_KEY) <= 60


BoardFactory = Callable[[], MemoryQuotaBoard | RedisQuotaBoard]


@pytest.fixture(params=["memory", "redis"])
def boards(request: pytest.FixtureRequest) -> BoardFactory:
    """Boards that share their state: one process's board, or two workers' on one Redis."""
    if request.param == "memory":
        board = MemoryQuotaBoard()
        return lambda: board
    server: RedisServer = request.getfixturevalue("redis_server")
    client = redis.Redis.from_url(server.url)
    return lambda: RedisQuotaBoard(client, ttl=60, serial_ttl=5)


def test_one_copier_at_a_time_decides_on_an_account(boards: BoardFactory) -> None:
    """The serial section: a second copier enters once the first has left; another account
    is not held up meanwhile."""
    one, two = boards(), boards()
    order: list[str] = []
    inside = threading.Event()

    def first() -> None:
        with one.serial("docker.io", "alice"):
            order.append("first in")
            inside.set()
            time.sleep(0.2)
            order.append("first out")

    thread = threading.Thread(target=first)
    thread.start()
    inside.wait(5)
    with two.serial("docker.io", "bob"):
        order.append("bob")
    with two.serial("docker.io", "alice"):
        order.append("second in")
    thread.join()
    assert order == ["first in", "bob", "first out", "second in"]


def test_the_memory_board_keeps_the_latest_value_per_account() -> None:
    board = MemoryQuotaBoard(clock=lambda: 5.0)
    board.record("docker.io", "alice", RateLimit(20, 9, None, None))
    board.record("docker.io", "alice", RateLimit(20, 8, None, None))
    board.record("docker.io", "bob", RateLimit(20, 20, None, None))
    assert sorted((q.account, q.remaining) for q in board.observed()) == [("alice", 8), ("bob", 20)]


def test_dockerhub_accounts_and_minimums_come_from_the_environment() -> None:
    env = {
        "DOCKERHUB_ACCOUNTS": "alice:tok-a, bob:tok-b",
        "IMGSYNC_RATE_LIMIT_MIN": "docker.io=20,ghcr.io=5",
    }
    settings = Settings.from_env(env)
    hub = account_lists(settings)["docker.io"]
    assert [(c.username, c.secret) for c in hub] == [("alice", "tok-a"), ("bob", "tok-b")]
    assert settings.rate_limit_min == {"docker.io": 20, "ghcr.io": 5}
    assert {"tok-a", "tok-b"} <= set(settings_secrets(settings))


def test_a_malformed_account_list_is_a_config_error_that_shows_no_secret() -> None:
    with pytest.raises(ConfigError) as caught:
        Settings.from_env({"DOCKERHUB_ACCOUNTS": "alice:tok-a,bob-without-token"})
    assert "DOCKERHUB_ACCOUNTS" in str(caught.value)
    assert "tok-a" not in str(caught.value) and "bob" not in str(caught.value)


def test_a_minimum_without_a_number_is_a_config_error_naming_the_item() -> None:
    with pytest.raises(ConfigError, match=r"IMGSYNC_RATE_LIMIT_MIN.*'docker.io' is not HOST=N"):
        Settings.from_env({"IMGSYNC_RATE_LIMIT_MIN": "docker.io"})


def _report() -> RunReport:
    results = (
        SyncResult(SRC, "r.example/m/nginx:1", Status.SYNCED, pulls=4),
        SyncResult(
            "docker.io/library/redis:7",
            "r.example/m/redis:7",
            Status.DEFERRED,
            error=ErrorInfo("rate_limited", "docker.io: pulls left 5, below rate_limit_min 5"),
        ),
    )
    observed = [AccountQuota("docker.io", "alice", 20, 5, 21600, 0.0)]
    return RunReport("r1", "embedded", "t0", "t1", results, quota=quota_usage(results, observed))


def test_pulls_a_deferral_spent_reading_an_index_count_as_used_and_a_dry_run_as_needed() -> None:
    results = [
        SyncResult(SRC, "r.example/m/nginx:1", Status.SYNCED, pulls=3),
        SyncResult("docker.io/library/redis:7", "r.example/m/redis:7", Status.DEFERRED, pulls=1),
        SyncResult("docker.io/library/mongo:8", "r.example/m/mongo:8", Status.WOULD_SYNC, pulls=3),
    ]
    (usage,) = quota_usage(results, [])
    assert (usage.used, usage.needed) == (4, 3)


def test_report_counts_deferred_and_shows_pulls_used_and_left_per_registry() -> None:
    data = _report().to_dict()
    assert data["summary"] == {
        "synced": 1,
        "skipped": 0,
        "failed": 0,
        "would_sync": 0,
        "deferred": 1,
    }
    assert data["quota"] == [
        {
            "registry": "docker.io",
            "used": 4,
            "needed": 0,
            "remaining": 5,
            "limit": 20,
            "accounts": [{"account": "alice", "remaining": 5, "limit": 20}],
        }
    ]
    assert decode(RunReport, data) == _report()
    assert "pulls" not in data["results"][1]


def test_message_and_console_show_the_deferred_section_and_the_quota_line() -> None:
    body = render_message(_report()).body
    assert body.startswith(
        "共 2 项：同步 1，跳过 0，失败 0，延后 1\n📊 docker.io 拉取：本次 4，剩余 5/20"
    )
    assert "⏳ 配额不足，延后同步：\n⏳ `docker.io/library/redis:7` → `r.example/m/redis:7`" in body
    assert "⏳ docker.io/library/redis:7 → r.example/m/redis:7" in render_console(_report())


def test_a_deferred_result_is_not_retried() -> None:
    deferred = _report().results[1]
    failed = SyncResult(SRC, "r.example/m/nginx:1", Status.FAILED, error=deferred.error)
    assert not deferred.retryable and failed.retryable
