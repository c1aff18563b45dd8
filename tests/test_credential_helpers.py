"""Credential helpers (``docker-credential-<name> get``) as the only source of a password.

The helper here is a real program on ``PATH``, written by :class:`FakeHelper`: it reads
the password from a file the test rewrites (a rotation) and logs each call, so the tests
can count calls. The protocol tests run it in-process through the credential store; the
end-to-end tests run ``imgsync sync`` embedded and through one long-lived Celery worker
against the ECR personality, whose passwords expire (tests/rig/personalities/ecr.py).
"""

from __future__ import annotations

import json
import logging
import os
import stat
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from imgsync.adapters.auth_config import WatchedAuthFile
from imgsync.adapters.credential_helper import HelperCache
from imgsync.adapters.credentials import Credential, CredentialStore, private_authfile
from imgsync.adapters.log_redaction import KNOWN_SECRETS, RedactingFormatter
from imgsync.adapters.registry_auth import oauth_token_request
from imgsync.adapters.registry_pool import RegistryPool
from imgsync.adapters.skopeo import SkopeoCopier
from imgsync.config.settings import Settings
from imgsync.core.refparse import parse_reference
from imgsync.errors import AuthError, ConfigError
from imgsync.runtime.services import load_credentials
from tests.celery_rig import Cluster, fresh_redis_db, secrets_in_redis, unique_name
from tests.cli_run import Ran, base_env, run_imgsync
from tests.rig.oci import seed
from tests.rig.personalities.ecr import Ecr
from tests.rig.personalities.fixtures import PersonalityFactory, personality_fixture  # noqa: F401
from tests.rig.poller import Poller
from tests.rig.redis_server import RedisServer
from tests.rig.registry import Registry

HOST = "123456789012.dkr.ecr.us-east-1.amazonaws.com"
#: Life of the first password in the Celery test: enough for one run, then it expires.
FIRST_TTL = 15.0
SCRIPT = """#!{python}
import json, os, pathlib, sys, time
state = pathlib.Path({state!r})
server = sys.stdin.read().strip()
with open(state / "calls.log", "a") as log:
    hub = "yes" if "DOCKERHUB_TOKEN" in os.environ else "no"
    log.write(json.dumps({{"argv": sys.argv[1:], "server": server, "hub_token": hub}}) + "\\n")
mode = (state / "mode").read_text().strip()
password = (state / "password").read_text().strip()
if mode == "notfound":
    print("credentials not found in native keychain")
    sys.exit(1)
if mode == "fail":
    print("ecr: Failed to get authorization token: " + password + " was refused")
    print("a second line on stderr", file=sys.stderr)
    sys.exit(1)
if mode == "badjson":
    print("Username=AWS Secret=" + password)
    sys.exit(0)
if mode == "hang":
    time.sleep(60)
user = (state / "user").read_text().strip()
print(json.dumps({{"ServerURL": server, "Username": user, "Secret": password}}))
"""


@dataclass
class FakeHelper:
    """``docker-credential-<name>`` in ``bin``: answers from files, logs every call."""

    name: str
    bin: Path
    state: Path
    password: str = "first-Pa55word-from-the-helper"
    user: str = "AWS"

    def __post_init__(self) -> None:
        self.state.mkdir(parents=True, exist_ok=True)
        self.bin.mkdir(parents=True, exist_ok=True)
        program = self.bin / f"docker-credential-{self.name}"
        program.write_text(SCRIPT.format(python=sys.executable, state=str(self.state)))
        program.chmod(program.stat().st_mode | stat.S_IXUSR)
        self.answer(self.password, user=self.user)

    def answer(self, password: str, *, user: str = "AWS", mode: str = "ok") -> None:
        """What the next calls answer (a new password is a rotation)."""
        self.password, self.user = password, user
        for name, text in (("password", password), ("user", user), ("mode", mode)):
            (self.state / f"{name}.tmp").write_text(text)
            (self.state / f"{name}.tmp").replace(self.state / name)

    def calls(self) -> list[dict[str, Any]]:
        log = self.state / "calls.log"
        lines = log.read_text().splitlines() if log.exists() else []
        return [json.loads(line) for line in lines]


@pytest.fixture
def helper(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> FakeHelper:
    """A helper named ``imgsynctest`` on this process's ``PATH``."""
    made = FakeHelper("imgsynctest", tmp_path / "bin", tmp_path / "helper-state")
    monkeypatch.setenv("PATH", f"{made.bin}{os.pathsep}{os.environ['PATH']}")
    return made


def _authfile(tmp_path: Path, document: dict[str, Any], name: str = "config.json") -> Path:
    path = tmp_path / name
    path.write_text(json.dumps(document))
    return path


def _store(tmp_path: Path, document: dict[str, Any], **cache: Any) -> CredentialStore:
    helpers = HelperCache(**cache)
    return CredentialStore(authfile=WatchedAuthFile(_authfile(tmp_path, document)), helpers=helpers)


def _inline(user: str, password: str) -> dict[str, str]:
    return {"auth": Credential(user, password).auth}


# --------------------------------------------------------------------------- the protocol


def test_a_helper_entry_answers_for_its_host_with_the_host_on_stdin(
    tmp_path: Path, helper: FakeHelper
) -> None:
    store = _store(tmp_path, {"credHelpers": {HOST: helper.name}})
    assert store.lookup(f"{HOST}/team/app") == Credential("AWS", helper.password)
    assert store.lookup("other.example") is None
    assert [(c["argv"], c["server"]) for c in helper.calls()] == [(["get"], HOST)]


def test_a_missing_helper_is_a_config_error_naming_program_host_and_file(tmp_path: Path) -> None:
    path = _authfile(tmp_path, {"credHelpers": {HOST: "not-installed-anywhere"}})
    store = CredentialStore(authfile=WatchedAuthFile(path), helpers=HelperCache())
    with pytest.raises(ConfigError) as caught:
        store.lookup(HOST)
    message = str(caught.value)
    for part in ("docker-credential-not-installed-anywhere", HOST, str(path), "PATH"):
        assert part in message


def test_credentials_not_found_means_anonymous(tmp_path: Path, helper: FakeHelper) -> None:
    helper.answer("unused", mode="notfound")
    assert _store(tmp_path, {"credHelpers": {HOST: helper.name}}).lookup(HOST) is None


def test_a_failing_helper_is_an_auth_error_that_quotes_no_secret(
    tmp_path: Path, helper: FakeHelper
) -> None:
    secret = "AKIAsecretTokenThatMustNotShow0123456789"
    helper.answer(secret, mode="fail")
    with pytest.raises(AuthError) as caught:
        _store(tmp_path, {"credHelpers": {HOST: helper.name}}).lookup(HOST)
    message = str(caught.value)
    assert "docker-credential-imgsynctest" in message and HOST in message
    assert "exit status 1" in message and "get` where imgsync runs" in message
    assert secret not in message


def test_an_answer_that_is_not_json_is_an_auth_error_that_never_quotes_it(
    tmp_path: Path, helper: FakeHelper
) -> None:
    helper.answer("short-secret", mode="badjson")
    with pytest.raises(AuthError, match="not a JSON object") as caught:
        _store(tmp_path, {"credHelpers": {HOST: helper.name}}).lookup(HOST)
    assert "short-secret" not in str(caught.value)


def test_a_hanging_helper_is_stopped_after_the_time_bound(
    tmp_path: Path, helper: FakeHelper
) -> None:
    helper.answer("unused", mode="hang")
    started = time.monotonic()
    with pytest.raises(AuthError, match=r"no answer within 0\.5 s"):
        _store(tmp_path, {"credHelpers": {HOST: helper.name}}, timeout=0.5).lookup(HOST)
    assert time.monotonic() - started < 10


def test_creds_store_answers_for_every_host_and_falls_back_to_inline_entries(
    tmp_path: Path, helper: FakeHelper
) -> None:
    document = {"credsStore": helper.name, "auths": {"inline.example": _inline("in", "line")}}
    store = _store(tmp_path, document)
    assert store.lookup(HOST) == Credential("AWS", helper.password)
    helper.answer("unused", mode="notfound")
    assert _store(tmp_path, document).lookup("inline.example") == Credential("in", "line")


def test_precedence_settings_then_cred_helpers_then_creds_store_then_auths(
    tmp_path: Path, helper: FakeHelper
) -> None:
    other = FakeHelper("otherstore", helper.bin, tmp_path / "other-state", password="store-pw")
    document = {
        "credHelpers": {HOST: helper.name},
        "credsStore": other.name,
        "auths": {HOST: _inline("in", "line"), "plain.example": _inline("in", "line")},
    }
    store = _store(tmp_path, document)
    assert store.lookup(HOST) == Credential("AWS", helper.password)
    assert store.lookup("plain.example") == Credential("AWS", "store-pw")
    assert store.with_overrides({HOST: Credential("env", "e")}).lookup(HOST) == Credential(
        "env", "e"
    )
    assert store.lookup("docker.io/library/alpine") == Credential("AWS", "store-pw")
    assert other.calls()[-1]["server"] == "https://index.docker.io/v1/"  # docker's key for Hub


def test_dockerhub_settings_beat_a_creds_store(tmp_path: Path, helper: FakeHelper) -> None:
    store = CredentialStore.load(
        dockerhub_username="envuser",
        dockerhub_token="envtoken",
        authfile=_authfile(tmp_path, {"credsStore": helper.name}),
    )
    assert store.lookup("docker.io") == Credential("envuser", "envtoken")
    assert helper.calls() == []


def test_a_token_username_is_an_identity_token_for_skopeo_and_for_oauth(
    tmp_path: Path, helper: FakeHelper
) -> None:
    helper.answer("refresh-token-value", user="<token>")
    found = _store(tmp_path, {"credHelpers": {HOST: helper.name}}).lookup(HOST)
    assert found == Credential("<token>", "refresh-token-value", identity_token=True)
    with private_authfile({HOST: found}) as path:
        assert path is not None
        assert json.loads(path.read_text()) == {
            "auths": {HOST: {"identitytoken": "refresh-token-value"}}
        }
    request = oauth_token_request("https://auth.example/token", "svc", ["repository:a:pull"], "rt")
    assert request.method == "POST" and request.data is not None
    assert b"grant_type=refresh_token" in request.data and b"refresh_token=rt" in request.data
    assert b"scope=repository%3Aa%3Apull" in request.data and b"service=svc" in request.data


# --------------------------------------------------------------------------- caching, rotation


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_answers_are_reused_briefly_then_asked_again(tmp_path: Path, helper: FakeHelper) -> None:
    clock = Clock()
    store = _store(tmp_path, {"credHelpers": {HOST: helper.name}}, ttl=30, clock=clock)
    for _ in range(5):
        store.lookup(f"{HOST}/repo")
    assert len(helper.calls()) == 1
    helper.answer("rotated-password")
    clock.now += 31
    assert store.lookup(HOST) == Credential("AWS", "rotated-password")
    assert len(helper.calls()) == 2


def test_concurrent_lookups_share_one_helper_call(tmp_path: Path, helper: FakeHelper) -> None:
    store = _store(tmp_path, {"credHelpers": {HOST: helper.name}})
    threads = [threading.Thread(target=store.lookup, args=(HOST,)) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(helper.calls()) == 1


def test_a_failure_is_remembered_too(tmp_path: Path, helper: FakeHelper) -> None:
    helper.answer("unused", mode="fail")
    store = _store(tmp_path, {"credHelpers": {HOST: helper.name}})
    for _ in range(3):
        with pytest.raises(AuthError):
            store.lookup(HOST)
    assert len(helper.calls()) == 1


def test_fresh_after_an_auth_failure_asks_again_and_says_whether_a_retry_helps(
    tmp_path: Path, helper: FakeHelper
) -> None:
    store = _store(tmp_path, {"credHelpers": {HOST: helper.name}})
    used = store.lookup(HOST)
    assert store.fresh(HOST, used) is False  # same answer: a retry would not help
    assert len(helper.calls()) == 2
    helper.answer("rotated-password")
    assert store.fresh(HOST, used) is True
    assert store.lookup(HOST) == Credential("AWS", "rotated-password")
    assert store.fresh(HOST, used) is True  # another thread's failure: no third call
    assert len(helper.calls()) == 3


def test_a_rewritten_auth_file_is_read_again_and_a_broken_rewrite_ignored(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = _authfile(tmp_path, {"auths": {HOST: _inline("AWS", "old")}})
    store = CredentialStore(authfile=WatchedAuthFile(path))
    assert store.lookup(HOST) == Credential("AWS", "old")
    _authfile(tmp_path, {"auths": {HOST: _inline("AWS", "new-and-longer")}})
    assert store.lookup(HOST) == Credential("AWS", "new-and-longer")
    path.write_text('{"auths": ')
    with caplog.at_level(logging.WARNING):
        assert store.lookup(HOST) == Credential("AWS", "new-and-longer")
    assert "not valid JSON" in caplog.text


def test_a_broken_helper_does_not_stop_the_warm_up_but_fails_the_check(
    tmp_path: Path, helper: FakeHelper
) -> None:
    helper.answer("unused", mode="fail")
    store = _store(tmp_path, {"credHelpers": {HOST: helper.name}})
    with RegistryPool(store, retries=0) as pool:
        ref = parse_reference(f"{HOST}/team/app:v1")
        pool.warm_up([ref])
        with pytest.raises(AuthError, match="docker-credential-imgsynctest"):
            pool.head_digest(ref)


# --------------------------------------------------------------------------- wiring: mask, env


def test_helper_secrets_join_the_log_mask_and_imgsync_variables_stay_hidden(
    tmp_path: Path, helper: FakeHelper, monkeypatch: pytest.MonkeyPatch
) -> None:
    secret = f"masked-{os.getpid()}-{time.monotonic_ns()}"
    helper.answer(secret)
    monkeypatch.setenv("DOCKERHUB_TOKEN", "not-for-helpers")
    path = _authfile(tmp_path, {"credHelpers": {HOST: helper.name}})
    store = load_credentials(Settings.build({"authfile": path}))
    assert store.lookup(HOST) == Credential("AWS", secret)
    record = logging.LogRecord("t", logging.INFO, __file__, 1, "token %s", (secret,), None)
    assert RedactingFormatter(None).format(record) == "token ***"
    assert KNOWN_SECRETS.redact(Credential("AWS", secret).auth) == "***"
    assert helper.calls()[0]["hub_token"] == "no"


# --------------------------------------------------------------------------- end to end


class SecretWatch(Poller):
    """Every command line on the machine, checked for the secrets while a run goes on."""

    interval = 0.02

    def __init__(self, secrets: list[str]) -> None:
        super().__init__()
        self.secrets = secrets
        self.leaks: list[str] = []
        self.skopeo_seen = 0

    def poll(self) -> None:
        for proc in Path("/proc").iterdir():
            if proc.name.isdigit():
                self._check(proc)

    def _check(self, proc: Path) -> None:
        try:
            line = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            return
        self.skopeo_seen += line.startswith("skopeo copy")
        self.leaks += [line for secret in self.secrets if secret in line]


@dataclass
class Scene:
    """The ECR personality whose only password source is the helper, and a source image."""

    ecr: Ecr
    source: Registry
    helper: FakeHelper
    repo: str
    env: dict[str, str]
    secrets: list[str] = field(default_factory=list)

    def rotate(self, ttl: float = 3600) -> str:
        password = self.ecr.login_password(ttl)
        self.secrets.append(password)
        self.helper.answer(password)
        return password

    def mapping(self, tag: str, name: str = "mirror") -> str:
        return f"{self.source.host}/{self.repo}:{tag}={self.ecr.host}/{self.repo}/{name}:{tag}"

    def assert_no_leak(self, *texts: str) -> None:
        for text in texts:
            for secret in self.secrets:
                assert secret not in text


@pytest.fixture
def scene(
    personality: PersonalityFactory,
    anon_registry: Registry,
    helper: FakeHelper,
    unique_repo: str,
    tmp_path: Path,
) -> Scene:
    ecr = personality("ecr")
    assert isinstance(ecr, Ecr)
    for name in ("mirror", "copy"):
        ecr.create_repository(f"{unique_repo}/{name}")
    for tag in ("v1", "v2"):
        seed(anon_registry, unique_repo, tag, tmp_path=tmp_path, version=tag)
    home = tmp_path / "home"
    home.mkdir()
    auth = _authfile(tmp_path, {"credHelpers": {ecr.host: helper.name}}, "auth.json")
    env = base_env(
        home,
        REGISTRY_AUTH_FILE=str(auth),
        IMGSYNC_INSECURE_REGISTRIES=f"{anon_registry.host},{ecr.host}",
        PATH=f"{helper.bin}{os.pathsep}{os.environ['PATH']}",
    )
    return Scene(ecr, anon_registry, helper, unique_repo, env)


def _expired_then_rotated(scene: Scene, tmp_path: Path) -> CredentialStore:
    """A store whose remembered answer is a password ECR no longer takes; the helper has
    a new one already (a rotation the store has not heard of)."""
    path = _authfile(tmp_path, {"credHelpers": {scene.ecr.host: scene.helper.name}}, "own.json")
    store = CredentialStore(authfile=WatchedAuthFile(path), helpers=HelperCache())
    scene.rotate(ttl=0.5)
    store.lookup(scene.ecr.host)
    time.sleep(0.6)
    scene.rotate()
    return store


@pytest.mark.registry
def test_a_check_refused_right_after_a_rotation_is_retried_once_with_the_new_password(
    scene: Scene, tmp_path: Path
) -> None:
    store = _expired_then_rotated(scene, tmp_path)
    with RegistryPool(store, insecure=[scene.ecr.host], retries=0) as pool:
        assert pool.head_digest(parse_reference(f"{scene.ecr.host}/{scene.repo}/mirror:v1")) is None
    assert len(scene.helper.calls()) == 2


@pytest.mark.registry
def test_a_copy_refused_right_after_a_rotation_is_retried_once_with_the_new_password(
    scene: Scene, tmp_path: Path
) -> None:
    store = _expired_then_rotated(scene, tmp_path)
    copier = SkopeoCopier(store, insecure=[scene.source.host, scene.ecr.host], retry_times=0)
    source = parse_reference(f"{scene.source.host}/{scene.repo}:v1")
    assert copier.copy(source, parse_reference(f"{scene.ecr.host}/{scene.repo}/mirror:v1"))
    assert len(scene.helper.calls()) == 2


def _statuses(ran: Ran) -> list[str]:
    assert ran.report is not None, ran.output
    return [r["status"] for r in ran.report["results"]]


@pytest.mark.registry
def test_embedded_sync_copies_with_the_helpers_password_asking_it_once(
    scene: Scene, tmp_path: Path
) -> None:
    scene.rotate()
    mappings = [scene.mapping("v1"), scene.mapping("v2"), scene.mapping("v1", "copy")]
    report = tmp_path / "report.json"
    with SecretWatch(scene.secrets) as watch:
        ran = run_imgsync(["-vv", "sync", *mappings], scene.env, report=report)
    assert ran.returncode == 0, ran.output
    assert _statuses(ran) == ["synced"] * 3
    assert len(scene.helper.calls()) == 1  # one host, one call: not one per repository
    assert watch.skopeo_seen and watch.leaks == []
    scene.assert_no_leak(ran.output, report.read_text())


@pytest.mark.celery
@pytest.mark.registry
def test_a_rotated_password_reaches_one_long_lived_worker_without_a_restart(
    scene: Scene, tmp_path: Path, redis_server: RedisServer
) -> None:
    with fresh_redis_db(redis_server) as url:
        env = {**scene.env, "IMGSYNC_BROKER_URL": url, "IMGSYNC_QUEUE": unique_name("helper")}
        cluster = Cluster(tmp_path, env)
        try:
            _two_runs(scene, cluster)
            with cluster.redis() as client:
                assert secrets_in_redis(client, scene.secrets) == []
            scene.assert_no_leak(cluster.logs())
        finally:
            cluster.stop()


def _two_runs(scene: Scene, cluster: Cluster) -> None:
    """Run 1 with a password that expires soon; rotate; run 2 once it has expired."""
    (worker,) = cluster.start_workers(unique_name("helper-w"), concurrency=1)
    pool = worker.pool_pids()
    with SecretWatch(scene.secrets) as watch:
        scene.rotate(ttl=FIRST_TTL)
        expires = time.monotonic() + FIRST_TTL
        one = cluster.sync([scene.mapping("v1")])
        assert one.returncode == 0 and _statuses(one) == ["synced"], one.output
        scene.rotate()
        time.sleep(max(0.0, expires - time.monotonic()))
        two = cluster.sync([scene.mapping("v1"), scene.mapping("v2")])
    assert two.returncode == 0, f"{two.output}\n{cluster.logs(tail=4000)}"
    assert _statuses(two) == ["skipped", "synced"]
    assert worker.running() and worker.pool_pids() == pool  # the same process served both
    assert len(scene.helper.calls()) == 2  # once per password: the rotation, no more
    assert watch.skopeo_seen and watch.leaks == []
    for ran in (one, two):
        assert ran.report is not None
        scene.assert_no_leak(ran.output, json.dumps(ran.report))
