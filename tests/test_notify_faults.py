"""Notification endpoints down, slow or failing change nothing but the notification lines.

One run goes out with healthy fake endpoints, an identical one (other destinations) with
every channel broken at once: WPush refused, WxPusher standard push slower than the
notification timeout, WxPusher simple push and an Apprise JSON webhook answering errors.
Results, categories, digests and the exit code must be the same; the summary and the
report must name each failed channel. Embedded and Celery mode alike.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.celery_rig import fresh_redis_db
from tests.cli_run import Ran, authfile_for, base_env, run_imgsync
from tests.reliability_rig import assert_exactly_once, running_cluster
from tests.reliability_stats import Figures, mapping_counts, record
from tests.rig.fake_notify import (
    WPUSH_OK,
    WXPUSHER_OK,
    FakeNotifyServer,
    Recorded,
    Reply,
    closed_port_url,
)
from tests.rig.redis_server import RedisServer
from tests.rig.registry import Registry

SeedImage = Callable[..., str]
#: imgsync's notification timeout is 10 s; the slow endpoint answers well after it.
SLOW_S = 25.0
SIMPLE_PUSH = "/api/send/message/simple-push"
WXPUSHER_ERROR = {"code": 1001, "msg": "appToken is invalid", "data": None, "success": False}


@dataclass
class Endpoints:
    """Fake WPush, WxPusher and webhook servers; ``broken`` makes each fail its own way."""

    wpush: FakeNotifyServer
    wxpusher: FakeNotifyServer
    webhook: FakeNotifyServer
    broken: bool = False

    def env(self) -> dict[str, str]:
        wpush = closed_port_url() if self.broken else self.wpush.url
        return {
            "WPUSH_KEY": "WPUSHnotifyFaultsKey",
            "IMGSYNC_WPUSH_API": wpush,
            "WXPUSHER_APP_TOKEN": "AT_notifyFaults",
            "WXPUSHER_UIDS": "UID_a",
            "WXPUSHER_SPT": "SPT_notifyFaults",
            "IMGSYNC_WXPUSHER_API": self.wxpusher.url,
            "IMGSYNC_NOTIFY": f"json://127.0.0.1:{self.webhook.port}/hook",
        }

    def wxpusher_reply(self, request: Recorded) -> Reply:
        if not self.broken:
            return Reply(200, WXPUSHER_OK)
        if request.path == SIMPLE_PUSH:
            return Reply(200, WXPUSHER_ERROR)
        return Reply(200, WXPUSHER_OK, delay=SLOW_S)  # standard push: slow

    def webhook_reply(self, request: Recorded) -> Reply:
        if self.broken:
            return Reply(500, raw="<html><body>502 upstream exploded</body></html>")
        return Reply(200, {"ok": True})


@pytest.fixture
def endpoints() -> Iterator[Endpoints]:
    with (
        FakeNotifyServer(Reply(200, WPUSH_OK)) as wpush,
        FakeNotifyServer() as wxpusher,
        FakeNotifyServer() as webhook,
    ):
        found = Endpoints(wpush, wxpusher, webhook)
        wxpusher.responder = found.wxpusher_reply
        webhook.responder = found.webhook_reply
        yield found


#: How each broken channel must be described in the summary and the report.
EXPECTED_FAILURES = {
    "wpush": "cannot connect",
    "wxpusher": "timed out",
    "wxpusher-spt": "appToken is invalid",
    "apprise:json": "Apprise reported a failed delivery",
}


def mappings_for(anon: Registry, basic: Registry, repo: str, label: str) -> list[str]:
    """One mapping that syncs and one whose source tag does not exist (exit code 1)."""
    return [
        f"{anon.host}/{repo}:v={basic.host}/{repo}/{label}-ok:v",
        f"{anon.host}/{repo}:missing={basic.host}/{repo}/{label}-gone:v",
    ]


def outcome(ran: Ran) -> list[tuple[Any, ...]]:
    """What must not depend on the notifications: per result, all but names and timings."""
    assert ran.report is not None, ran.output
    return [
        (r["status"], (r["error"] or {}).get("category"), r["source_digest"], r["attempts"])
        for r in ran.report["results"]
    ]


def assert_failures_shown(ran: Ran) -> None:
    assert ran.report is not None
    notes = {n["channel"]: n for n in ran.report["notifications"]}
    assert set(notes) == set(EXPECTED_FAILURES), notes
    for channel, detail in EXPECTED_FAILURES.items():
        assert notes[channel]["ok"] is False, notes[channel]
        assert detail in notes[channel]["detail"], notes[channel]
        shown = [line for line in ran.stdout.splitlines() if line.startswith(f"notify {channel}:")]
        assert shown == [f"notify {channel}: FAILED ({notes[channel]['detail']})"], ran.stdout


def compare_runs(
    sync: Callable[[list[str], Endpoints], Ran],
    endpoints: Endpoints,
    mappings: Callable[[str], list[str]],
    test: str,
) -> None:
    """A healthy run, then the same with every channel broken: only the notifications differ."""
    healthy = sync(mappings("healthy"), endpoints)
    assert healthy.report is not None, healthy.output
    assert all(n["ok"] for n in healthy.report["notifications"]), healthy.report
    endpoints.broken = True
    started = time.monotonic()
    broken = sync(mappings("broken"), endpoints)
    elapsed = time.monotonic() - started

    assert healthy.returncode == 1, healthy.output  # one mapping fails on purpose
    assert broken.returncode == healthy.returncode, broken.output
    assert outcome(broken) == outcome(healthy)
    assert_exactly_once(broken.report or {}, mappings("broken"))
    assert_failures_shown(broken)
    assert [r.path for r in endpoints.wxpusher.requests[-2:]] == ["/api/send/message", SIMPLE_PUSH]
    assert elapsed < SLOW_S + 60, elapsed  # the slow endpoint was given up on, not waited out
    expected = [tuple(m.split("=")) for m in mappings("broken")]
    lost, doubled = mapping_counts(broken.report, [(a, b) for a, b in expected])
    faults = {"notify_refused": 1, "notify_slow": 1, "notify_error": 2}
    record(Figures(test, runs=2, mappings=4, faults=faults, lost=lost, double_counted=doubled))


@pytest.mark.timeout(150)
def test_broken_notifications_leave_embedded_results_and_exit_code_alone(
    tmp_path: Path,
    endpoints: Endpoints,
    anon_registry: Registry,
    basic_registry: Registry,
    seed_image: SeedImage,
    unique_repo: str,
) -> None:
    seed_image(anon_registry, unique_repo, "v", name=unique_repo)
    env = base_env(
        tmp_path / "home",
        REGISTRY_AUTH_FILE=str(authfile_for(tmp_path / "auth.json", [basic_registry])),
        IMGSYNC_INSECURE_REGISTRIES=f"{anon_registry.host},{basic_registry.host}",
    )

    def sync(mappings: list[str], found: Endpoints) -> Ran:
        report = tmp_path / f"report-{found.broken}.json"
        return run_imgsync(["sync", *mappings], {**env, **found.env()}, report=report, timeout=120)

    compare_runs(
        sync,
        endpoints,
        lambda label: mappings_for(anon_registry, basic_registry, unique_repo, label),
        "notify faults (embedded)",
    )


@pytest.mark.celery
@pytest.mark.timeout(200)
def test_broken_notifications_leave_celery_results_and_exit_code_alone(
    tmp_path: Path,
    endpoints: Endpoints,
    redis_server: RedisServer,
    anon_registry: Registry,
    basic_registry: Registry,
    seed_image: SeedImage,
    unique_repo: str,
) -> None:
    """The chord body notifies from a worker: its notification settings come from its env."""
    seed_image(anon_registry, unique_repo, "v", name=unique_repo)
    auth = authfile_for(tmp_path / "auth.json", [basic_registry])
    hosts = [anon_registry.host, basic_registry.host]
    with fresh_redis_db(redis_server) as url:
        clusters = {}
        for broken in (False, True):  # workers read the endpoints when they start
            endpoints.broken = broken
            settings = endpoints.env()
            clusters[broken] = running_cluster(
                tmp_path / f"cluster-{broken}",
                broker=url,
                auth=auth,
                insecure=hosts,
                settings=settings,
            )
        endpoints.broken = False
        with clusters[False] as healthy, clusters[True] as broken_cluster:

            def sync(mappings: list[str], found: Endpoints) -> Ran:
                cluster = broken_cluster if found.broken else healthy
                return cluster.sync(mappings, timeout=120)

            compare_runs(
                sync,
                endpoints,
                lambda label: mappings_for(anon_registry, basic_registry, unique_repo, label),
                "notify faults (celery)",
            )
