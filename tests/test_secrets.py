"""No configured token or password appears in anything a run produces — embedded and Celery.

Collected while (and after) a run: stdout and stderr (``-vv``, the most talkative
level), every worker log, the JSON report, the Markdown summary and the GitHub step
summary, every notification body the fake endpoints received (minus the one field that
must carry that channel's own key), every Redis key and value with queued message bodies
decoded (scanned over and over during the run), and the argv of every process the test
started (sampled from ``/proc``; skopeo's environment too). The run includes failures
(a wrong password, a missing tag), because error paths are where secrets slip out.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import secrets
import threading
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.celery_rig import all_pids, cmdline, comm, redis_texts, wait_until
from tests.cli_run import Ran, base_env, run_imgsync
from tests.reliability_rig import assert_exactly_once, running_cluster
from tests.reliability_stats import Figures, record
from tests.rig.authfile import write_auths
from tests.rig.binaries import need_binary
from tests.rig.fake_notify import WPUSH_OK, WXPUSHER_OK, FakeNotifyServer, Recorded, Reply
from tests.rig.fault_proxy import FaultProxy
from tests.rig.ports import HOST
from tests.rig.redis_server import RedisServer
from tests.rig.registry import Registry

SeedImage = Callable[..., str]


def _secret(prefix: str) -> str:
    return f"{prefix}{secrets.token_hex(10)}"


#: Fresh for every session, so nothing else on the machine can contain them by chance.
DOCKERHUB_TOKEN = _secret("dckr_pat_")
WPUSH_KEY = _secret("WPUSH")
WXPUSHER_APP_TOKEN = _secret("AT_")
WXPUSHER_SPT = _secret("SPT_")
APPRISE_PASSWORD = _secret("apprisePw")
WRONG_PASSWORD = _secret("wrongPw")
REDIS_PASSWORD = _secret("redisPw")
#: The field of each endpoint's request body that must carry that channel's own key.
OWN_FIELDS = {"apikey": WPUSH_KEY, "appToken": WXPUSHER_APP_TOKEN, "spt": WXPUSHER_SPT}


class PasswordRedis(RedisServer):
    """redis-server with ``requirepass`` read from a 0600 config file (not from its argv)."""

    def __init__(self, workdir: Path, password: str) -> None:
        super().__init__(workdir=workdir)
        self.config = workdir / "redis.conf"
        workdir.mkdir(parents=True, exist_ok=True)
        self.config.touch(mode=0o600)
        self.config.write_text(f"requirepass {password}\n")
        self.url = f"redis://:{password}@{HOST}:{self.port}/0"

    def _args(self) -> list[str]:
        binary, *rest = super()._args()
        return [binary, str(self.config), *rest]


@dataclass
class ProcessSampler:
    """Every process below this one that was not there at the start: argv, skopeo's env."""

    baseline: set[int] = field(default_factory=lambda: set(all_pids()))
    argv: dict[int, set[str]] = field(default_factory=dict)
    environ: dict[int, str] = field(default_factory=dict)
    skopeo_seen: int = 0
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def __enter__(self) -> ProcessSampler:
        self._thread = threading.Thread(target=self._loop, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)

    def _loop(self) -> None:
        while not self._stop.wait(0.02):
            for pid in _descendants_of_us() - self.baseline:
                self._sample(pid)

    def _sample(self, pid: int) -> None:
        line = cmdline(pid)
        if line:
            self.argv.setdefault(pid, set()).add(line)
        if comm(pid) == "skopeo" and pid not in self.environ:
            with contextlib.suppress(OSError):
                raw = Path(f"/proc/{pid}/environ").read_bytes()
                self.environ[pid] = raw.replace(b"\0", b"\n").decode(errors="replace")
                self.skopeo_seen += 1

    def texts(self) -> Iterator[tuple[str, str]]:
        for pid, lines in self.argv.items():
            for line in lines:
                yield f"argv of pid {pid}", line
        for pid, env in self.environ.items():
            yield f"environment of skopeo pid {pid}", env


def _descendants_of_us() -> set[int]:
    """Pids whose parent chain leads to this pytest process (one /proc snapshot)."""
    parents: dict[int, int] = {}
    for pid in all_pids():
        with contextlib.suppress(OSError, IndexError, ValueError):
            stat = Path(f"/proc/{pid}/stat").read_text()
            parents[pid] = int(stat.rpartition(")")[2].split()[1])
    ours, me = set(), os.getpid()
    for pid in parents:
        chain: list[int] = []
        current = pid
        while current in parents and current not in ours and current != me and len(chain) < 64:
            chain.append(current)
            current = parents[current]
        if current == me or current in ours:
            ours.update(chain)
    return ours


class RedisWatcher:
    """Reads every key and value of a Redis database over and over while a run goes on."""

    def __init__(self, url: str) -> None:
        import redis

        self.client = redis.Redis.from_url(url, socket_timeout=10)
        self.seen: dict[str, set[str]] = {}
        self.scans = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def __enter__(self) -> RedisWatcher:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=30)
        self.scan()
        self.client.close()

    def _loop(self) -> None:
        while not self._stop.wait(0.05):
            self.scan()

    def scan(self) -> None:
        for key, text in redis_texts(self.client):
            self.seen.setdefault(key, set()).add(text)
        self.scans += 1

    def texts(self) -> Iterator[tuple[str, str]]:
        for key, texts in self.seen.items():
            for text in texts:
                yield f"redis key {key}", text


# ---------------------------------------------------------------------- what is collected


@dataclass
class Collected:
    """Everything one run produced, as (where, text) pairs."""

    items: list[tuple[str, str]] = field(default_factory=list)

    def add(self, where: str, text: str) -> None:
        self.items.append((where, text))

    def add_all(self, found: Iterable[tuple[str, str]]) -> None:
        self.items.extend(found)

    def leaks(self, secrets_: Iterable[str]) -> list[tuple[str, str]]:
        wanted = [s for s in secrets_ if s]
        return sorted({(where, s) for where, text in self.items for s in wanted if s in text})


def notification_texts(servers: dict[str, FakeNotifyServer]) -> Iterator[tuple[str, str]]:
    """Each request body without the one field that must hold the channel's own key."""
    for name, server in servers.items():
        for number, request in enumerate(server.requests):
            yield f"{name} request {number} body", _without_own_key(request)
            path = request.path.replace(WPUSH_KEY, "")  # no key belongs in a URL
            yield f"{name} request {number} path", path


def _without_own_key(request: Recorded) -> str:
    if not isinstance(request.json, dict):
        return request.body.decode(errors="replace")
    body = dict(request.json)
    for key, own in OWN_FIELDS.items():
        if body.get(key) == own:
            body.pop(key)
    return json.dumps(body, ensure_ascii=False)


def secret_forms(values: Iterable[str], registries: Iterable[Registry]) -> list[str]:
    """Every secret raw, plus each registry's ``user:password`` in base64 (auth files, Basic)."""
    found = list(values)
    for registry in registries:
        found += [str(registry.password)]
        raw = f"{registry.username}:{registry.password}".encode()
        found.append(base64.b64encode(raw).decode())
    return found


# ---------------------------------------------------------------------- the run


@dataclass
class Scene:
    """Registries, a relaying proxy (whose host gets a wrong password) and fake endpoints."""

    anon: Registry
    basic: Registry
    token: Registry
    wrong: FaultProxy
    endpoints: dict[str, FakeNotifyServer]
    repo: str

    def mappings(self, label: str) -> list[str]:
        repo = self.repo
        return [
            f"{self.basic.host}/{repo}/src:v={self.token.host}/{repo}/{label}-a:v",
            f"{self.anon.host}/{repo}/src:v={self.basic.host}/{repo}/{label}-b:v",
            f"{self.anon.host}/{repo}/src:v={self.wrong.host}/{repo}/{label}-wrong:v",
            f"{self.basic.host}/{repo}/src:gone={self.anon.host}/{repo}/{label}-gone:v",
        ]

    def env(self, tmp_path: Path) -> dict[str, str]:
        creds = {r.host: r.credentials for r in (self.basic, self.token) if r.credentials}
        creds[self.wrong.host] = (str(self.token.username), WRONG_PASSWORD)
        auth = write_auths(tmp_path / "auth.json", creds)
        hosts = [self.anon.host, self.basic.host, self.token.host, self.wrong.host]
        return {
            "REGISTRY_AUTH_FILE": str(auth),
            "IMGSYNC_INSECURE_REGISTRIES": ",".join(hosts),
            "DOCKERHUB_USERNAME": "secrets-tester",
            "DOCKERHUB_TOKEN": DOCKERHUB_TOKEN,
            "WPUSH_KEY": WPUSH_KEY,
            "IMGSYNC_WPUSH_API": self.endpoints["wpush"].url,
            "WXPUSHER_APP_TOKEN": WXPUSHER_APP_TOKEN,
            "WXPUSHER_UIDS": "UID_secrets",
            "WXPUSHER_SPT": WXPUSHER_SPT,
            "IMGSYNC_WXPUSHER_API": self.endpoints["wxpusher"].url,
            "IMGSYNC_NOTIFY": f"json://bot:{APPRISE_PASSWORD}@{HOST}:"
            f"{self.endpoints['webhook'].port}/hook",
            "IMGSYNC_MAX_RETRIES": "0",
        }

    def secrets(self) -> list[str]:
        values = [DOCKERHUB_TOKEN, WPUSH_KEY, WXPUSHER_APP_TOKEN, WXPUSHER_SPT, APPRISE_PASSWORD]
        wrong = f"{self.token.username}:{WRONG_PASSWORD}".encode()
        values += [WRONG_PASSWORD, base64.b64encode(wrong).decode(), REDIS_PASSWORD]
        return secret_forms(values, [self.basic, self.token])


@pytest.fixture
def scene(
    anon_registry: Registry,
    basic_registry: Registry,
    token_registry: Registry,
    seed_image: SeedImage,
    unique_repo: str,
) -> Iterator[Scene]:
    seed_image(basic_registry, f"{unique_repo}/src", "v", name=unique_repo)
    seed_image(anon_registry, f"{unique_repo}/src", "v", name=unique_repo)
    with (
        FaultProxy.in_front_of(token_registry.host) as wrong,
        FakeNotifyServer(Reply(200, WPUSH_OK)) as wpush,
        FakeNotifyServer(Reply(200, WXPUSHER_OK)) as wxpusher,
        FakeNotifyServer(Reply(200, {"ok": True})) as webhook,
    ):
        endpoints = {"wpush": wpush, "wxpusher": wxpusher, "webhook": webhook}
        yield Scene(anon_registry, basic_registry, token_registry, wrong, endpoints, unique_repo)


def run_outputs(ran: Ran, tmp_path: Path, label: str) -> Iterator[tuple[str, str]]:
    yield f"{label} stdout", ran.stdout
    yield f"{label} stderr", ran.stderr
    for name in ("report.json", "summary.md", "step-summary.md"):
        path = tmp_path / f"{label}-{name}"
        assert path.exists(), f"{path} was not written"
        yield f"{label} {name}", path.read_text()


def sync_args(tmp_path: Path, label: str, mappings: list[str]) -> list[str]:
    return [
        "-vv",
        "sync",
        "--report",
        str(tmp_path / f"{label}-report.json"),
        "--summary-markdown",
        str(tmp_path / f"{label}-summary.md"),
        *mappings,
    ]


def check_run(ran: Ran, report_path: Path, mappings: list[str]) -> None:
    """The run did what it should: two synced, a wrong password (auth), a missing tag."""
    assert ran.returncode == 1, ran.output
    report = json.loads(report_path.read_text())
    assert_exactly_once(report, mappings)
    statuses = [(r["status"], (r["error"] or {}).get("category")) for r in report["results"]]
    assert statuses == [
        ("synced", None),
        ("synced", None),
        ("failed", "auth"),
        ("failed", "not_found"),
    ], report["results"]
    assert [n["ok"] for n in report["notifications"]] == [True] * 4, report["notifications"]


def assert_the_search_can_see(scene: Scene, tmp_path: Path) -> None:
    """Control: the same search finds the secrets where they belong (auth file, raw bodies)."""
    control = Collected()
    control.add("auth file", (tmp_path / "auth.json").read_text())
    for server in scene.endpoints.values():
        control.add("raw body", b"".join(r.body for r in server.requests).decode())
    seen = {secret for _, secret in control.leaks(scene.secrets())}
    basic = f"{scene.basic.username}:{scene.basic.password}".encode()
    wrong = f"{scene.token.username}:{WRONG_PASSWORD}".encode()
    expected = {WPUSH_KEY, WXPUSHER_APP_TOKEN, WXPUSHER_SPT}
    assert expected | {base64.b64encode(x).decode() for x in (basic, wrong)} <= seen, seen


def assert_nothing_leaked(
    found: Collected, scene: Scene, sampler: ProcessSampler, test: str
) -> None:
    leaks = found.leaks(scene.secrets())
    record(Figures(test, mappings=4, secrets_leaked=len(leaks), notes=f"{len(found.items)} texts"))
    assert sampler.skopeo_seen >= 2, "the sampler never saw skopeo running"
    assert {name for name, s in scene.endpoints.items() if s.requests} == set(scene.endpoints)
    assert leaks == []


@pytest.mark.timeout(150)
def test_embedded_run_leaks_no_secret_anywhere(scene: Scene, tmp_path: Path) -> None:
    step = tmp_path / "embedded-step-summary.md"
    env = base_env(tmp_path / "home", GITHUB_STEP_SUMMARY=str(step), **scene.env(tmp_path))
    mappings = scene.mappings("emb")

    with ProcessSampler() as sampler:
        ran = run_imgsync(sync_args(tmp_path, "embedded", mappings), env, timeout=120)

    check_run(ran, tmp_path / "embedded-report.json", mappings)
    found = Collected()
    found.add_all(run_outputs(ran, tmp_path, "embedded"))
    found.add_all(notification_texts(scene.endpoints))
    found.add_all(sampler.texts())
    assert_the_search_can_see(scene, tmp_path)
    assert_nothing_leaked(found, scene, sampler, "secrets (embedded)")


@pytest.fixture
def password_redis(tmp_path: Path) -> Iterator[PasswordRedis]:
    need_binary("redis-server")
    server = PasswordRedis(tmp_path / "redis", REDIS_PASSWORD)
    with server:
        yield server


@pytest.mark.celery
@pytest.mark.timeout(200)
def test_celery_run_leaks_no_secret_anywhere(
    scene: Scene, password_redis: PasswordRedis, tmp_path: Path
) -> None:
    step = tmp_path / "celery-step-summary.md"
    settings = {**scene.env(tmp_path), "GITHUB_STEP_SUMMARY": str(step)}
    mappings = scene.mappings("cel")
    auth = Path(settings.pop("REGISTRY_AUTH_FILE"))
    hosts = settings.pop("IMGSYNC_INSECURE_REGISTRIES").split(",")

    with (
        ProcessSampler() as sampler,
        running_cluster(
            tmp_path / "cluster",
            broker=password_redis.url,
            auth=auth,
            insecure=hosts,
            settings=settings,
        ) as cluster,
        RedisWatcher(password_redis.url) as watcher,
    ):
        ran = run_imgsync(sync_args(tmp_path, "celery", mappings), cluster.env, timeout=150)
        idle = lambda: watcher.client.hlen("unacked") == 0  # noqa: E731
        wait_until(idle, 15, "every message to be acked")
        logs = cluster.logs()

    check_run(ran, tmp_path / "celery-report.json", mappings)
    assert watcher.scans > 3 and any(key.startswith("imgsync:run:") for key in watcher.seen)
    assert "unacked" in watcher.seen, "no message body was ever read"
    found = Collected()
    found.add_all(run_outputs(ran, tmp_path, "celery"))
    found.add("worker logs", logs)
    found.add_all(notification_texts(scene.endpoints))
    found.add_all(sampler.texts())
    found.add_all(watcher.texts())
    assert_the_search_can_see(scene, tmp_path)
    assert_nothing_leaked(found, scene, sampler, "secrets (celery)")
