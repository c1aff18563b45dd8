"""Bad input gets one clear line naming the culprit: exit 2 for configuration, or ``failed``.

Configuration problems (a malformed auth file, an unreadable ``--file``, an unknown option
value, a broker that cannot be reached) stop the run before any request, with exit 2 and
no traceback. A registry that answers HTML, or serves a manifest of a media type nobody
can copy, fails only its own mappings (category ``unsupported``); the others go on.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import redis

from tests.celery_rig import fresh_redis_db
from tests.cli_run import Ran, authfile_for, base_env, run_imgsync
from tests.reliability_rig import assert_exactly_once
from tests.reliability_stats import Figures, record
from tests.rig.fault_proxy import FaultProxy, Respond, Rule
from tests.rig.inspect import head_digest
from tests.rig.ports import free_port
from tests.rig.redis_server import RedisServer
from tests.rig.registry import Registry

SeedImage = Callable[..., str]
BROKER_PASSWORD = "brokerPW-never-shown-4711"
#: An unreachable broker must be reported within this many seconds (it must not hang).
FAST = 30.0
CAPTIVE_PORTAL = b"<!DOCTYPE html><html><body><h1>Please sign in to the Wi-Fi</h1></body></html>"
WEIRD_TYPE = "application/vnd.example.weird.manifest.v1+json"


def assert_one_error_line(ran: Ran, *needles: str) -> str:
    """Exit 2, nothing on stdout, no traceback, one error line holding every needle."""
    assert ran.returncode == 2, ran.output
    assert ran.stdout == ""
    assert "Traceback" not in ran.stderr, ran.stderr
    errors = [
        line for line in ran.stderr.splitlines() if re.match(r"(imgsync: )?error: ", line, re.I)
    ]
    assert len(errors) == 1, ran.stderr
    for needle in needles:
        assert needle in errors[0], (needle, errors[0])
    return errors[0]


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    return base_env(tmp_path / "home")


# ---------------------------------------------------------------------- auth file


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        pytest.param('{"auths": {', "not valid JSON at line 1", id="truncated-json"),
        pytest.param('["auths"]', "the top level is not a JSON object", id="not-an-object"),
        pytest.param('{"auths": ["x"]}', "'auths' is not a JSON object", id="auths-a-list"),
        pytest.param(
            '{"auths": {"HOST": {"auth": "c2VjcmV0LW5vLWNvbG9u"}}}',
            "'auth' is not base64 of 'user:password'",
            id="auth-without-colon",
        ),
        pytest.param(
            '{"auths": {"HOST": {"username": "u"}}}',
            "needs both username and password",
            id="half-a-credential",
        ),
    ],
)
def test_malformed_auth_file_is_named_before_any_request(
    env: dict[str, str],
    tmp_path: Path,
    anon_registry: Registry,
    basic_registry: Registry,
    unique_repo: str,
    content: str,
    problem: str,
) -> None:
    authfile = tmp_path / "auth.json"
    authfile.write_text(content.replace("HOST", basic_registry.host))
    mapping = f"{anon_registry.host}/{unique_repo}:1={basic_registry.host}/{unique_repo}:1"
    marks = anon_registry.mark(), basic_registry.mark()

    ran = run_imgsync(["sync", mapping], {**env, "REGISTRY_AUTH_FILE": str(authfile)})

    line = assert_one_error_line(ran, str(authfile), problem)
    assert "c2VjcmV0" not in line and "secret-no-colon" not in line
    assert anon_registry.requests(marks[0]) == [] and basic_registry.requests(marks[1]) == []


# ---------------------------------------------------------------------- --file and options


def unreadable_files(tmp_path: Path) -> list[tuple[Path, str]]:
    """Files ``--file`` cannot read, each with the reason the error must give."""
    directory = tmp_path / "a-directory"
    directory.mkdir()
    binary = tmp_path / "latin1.txt"
    binary.write_bytes(b"nginx=mirror/nginx\n\xff\xfe caf\xe9\n")
    found = [(directory, "Is a directory"), (binary, "can't decode")]
    if os.geteuid() != 0:  # root reads a mode-000 file anyway
        private = tmp_path / "private.txt"
        private.write_text("nginx=mirror/nginx\n")
        private.chmod(0)
        found.append((private, "Permission denied"))
    return found


def test_unreadable_mapping_file_exits_2_naming_it(env: dict[str, str], tmp_path: Path) -> None:
    for path, reason in unreadable_files(tmp_path):
        for command in ("sync", "validate"):
            ran = run_imgsync([command, "--file", str(path)], env)
            assert_one_error_line(ran, f"cannot read mappings file {path}", reason)


@pytest.mark.parametrize(
    ("args", "needles"),
    [
        (["--notify-on", "sometimes"], ["'--notify-on'", "'sometimes'"]),
        (["--concurrency", "0"], ["'--concurrency'", "0 is not in the range"]),
        (["--check-concurrency", "many"], ["'--check-concurrency'", "'many'"]),
        (["--colour", "always"], ["--colour"]),
    ],
    ids=["bad-choice", "out-of-range", "not-a-number", "unknown-option"],
)
def test_unknown_option_value_exits_2_naming_the_option(
    env: dict[str, str], args: list[str], needles: list[str]
) -> None:
    ran = run_imgsync(["sync", *args, "nginx=mirror/nginx"], env)
    assert_one_error_line(ran, *needles)


# ---------------------------------------------------------------------- unreachable broker


@pytest.fixture
def backend(redis_server: RedisServer) -> Iterator[str]:
    with fresh_redis_db(redis_server) as url:
        yield url


@pytest.mark.timeout(120)
@pytest.mark.parametrize(
    ("scheme", "shown", "with_backend"),
    [
        ("redis", "127.0.0.1:{port}", False),
        ("amqp", "amqp://127.0.0.1", True),
        ("redis", "redis://127.0.0.1", True),
    ],
    ids=["redis-broker-and-backend", "amqp-broker-backend-up", "redis-broker-backend-up"],
)
def test_unreachable_broker_exits_2_fast_with_one_line_naming_it(
    env: dict[str, str], backend: str, scheme: str, shown: str, with_backend: bool
) -> None:
    port = free_port()  # nothing listens there: refused at once
    suffix = "//" if scheme == "amqp" else "/0"
    broker = f"{scheme}://user:{BROKER_PASSWORD}@127.0.0.1:{port}{suffix}"
    extra = {"IMGSYNC_RESULT_BACKEND": backend} if with_backend else {}

    started = time.monotonic()
    ran = run_imgsync(["sync", "--broker", broker, "nginx=mirror/nginx"], {**env, **extra})
    elapsed = time.monotonic() - started

    assert_one_error_line(ran, "cannot reach the broker", shown.format(port=port))
    assert BROKER_PASSWORD not in ran.output
    assert elapsed < FAST, elapsed
    if with_backend:  # the plan it stored first is gone again: no run "running, 0 done"
        with redis.Redis.from_url(backend) as client:
            assert client.zcard("imgsync:runs") == 0
            assert client.keys("imgsync:run:*") == []
    record(Figures(f"bad input: unreachable {scheme} broker", runs=1, hung=int(elapsed >= FAST)))


# ---------------------------------------------------------------------- registries talking nonsense


@pytest.fixture
def nonsense(anon_registry: Registry) -> Iterator[FaultProxy]:
    """The anonymous registry behind a proxy that answers some repositories with nonsense."""
    with FaultProxy.in_front_of(anon_registry.host) as proxy:
        yield proxy


def weird_manifest() -> tuple[bytes, str]:
    """A manifest of a media type no image tool knows, and its digest."""
    body = json.dumps({"schemaVersion": 2, "mediaType": WEIRD_TYPE, "blobs": []}).encode()
    return body, "sha256:" + hashlib.sha256(body).hexdigest()


@pytest.mark.timeout(120)
def test_html_answers_and_unknown_media_types_fail_only_their_mapping(
    env: dict[str, str],
    tmp_path: Path,
    nonsense: FaultProxy,
    anon_registry: Registry,
    basic_registry: Registry,
    seed_image: SeedImage,
    unique_repo: str,
) -> None:
    digest = seed_image(anon_registry, f"{unique_repo}/good", "v", name=unique_repo)
    body, weird_digest = weird_manifest()
    weird_headers = {"Content-Type": WEIRD_TYPE, "Docker-Content-Digest": weird_digest}
    nonsense.add(
        Rule(Respond(200, {"Content-Type": "text/html"}, CAPTIVE_PORTAL, label="html_page"),
             path=f"^/v2/{unique_repo}/portal/", times=None),
        Rule(Respond(200, weird_headers, body, label="unknown_media_type"),
             path=f"^/v2/{unique_repo}/weird/manifests/", times=None),
    )  # fmt: skip
    dest = f"{basic_registry.host}/{unique_repo}"
    mappings = [
        f"{nonsense.host}/{unique_repo}/portal:v={dest}/portal:v",
        f"{nonsense.host}/{unique_repo}/weird:v={dest}/weird:v",
        f"{nonsense.host}/{unique_repo}/good:v={dest}/good:v",
    ]
    env = {
        **env,
        "REGISTRY_AUTH_FILE": str(authfile_for(tmp_path / "auth.json", [basic_registry])),
        "IMGSYNC_INSECURE_REGISTRIES": f"{nonsense.host},{basic_registry.host}",
    }

    ran = run_imgsync(["sync", *mappings], env, report=tmp_path / "report.json", timeout=100)

    assert ran.returncode == 1, ran.output
    assert ran.report is not None and "Traceback" not in ran.output
    assert_exactly_once(ran.report, mappings)
    portal, weird, good = ran.report["results"]
    assert portal["status"] == weird["status"] == "failed"
    assert portal["error"]["category"] == weird["error"]["category"] == "unsupported"
    assert "non-JSON body (text/html)" in portal["error"]["message"]
    assert "unsupported schema version" in weird["error"]["message"]
    assert portal["attempts"] == weird["attempts"] == 1
    assert good["status"] == "synced" and good["destination_digest"] == digest
    for name in ("portal", "weird"):
        assert head_digest(basic_registry, f"{unique_repo}/{name}", "v") is None
        # the console summary carries one line per failed mapping, naming it
        lines = [line for line in ran.stdout.splitlines() if f"{unique_repo}/{name}:v" in line]
        assert len(lines) == 1 and "unsupported" in lines[0], ran.stdout
    record(
        Figures(
            "bad input: HTML and unknown media type", mappings=3, faults=dict(nonsense.injected)
        )
    )
