"""RegistryClient / RegistryPool against real registries, and a scripted misbehaving one.

Real docker-registry processes (anonymous, htpasswd, token) prove the digest, auth
and HEAD-only behaviour. What a real registry cannot be made to do (429 with
Retry-After, 503 bursts, a 200 without a digest header, an HTML body) comes from
``ScriptedRegistry``, a small stdlib HTTP server that plays a misbehaving registry.
An injected ``sleep`` records the requested delays, so retries cost no time.
"""

from __future__ import annotations

import hashlib
import json
import logging
import random
import socket
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from imgsync.adapters.challenge import Challenge, parse_challenges
from imgsync.adapters.credentials import Credential, CredentialStore
from imgsync.adapters.http_client import HttpClient
from imgsync.adapters.http_response import Headers
from imgsync.adapters.ratelimit import Backoff, RateLimit, parse_rate_limit, parse_retry_after
from imgsync.adapters.registry import MANIFEST_TYPES, OCI_ARTIFACT, RegistryClient, base_url
from imgsync.adapters.registry_auth import TokenCache
from imgsync.adapters.registry_pool import RegistryPool
from imgsync.core.reference import ImageReference
from imgsync.errors import (
    AuthError,
    RateLimited,
    RegistryError,
    RegistryUnavailable,
    UnexpectedResponse,
)
from tests.rig.ports import free_port
from tests.rig.registry import Registry

SeedImage = Callable[..., str]
OCI_INDEX = "application/vnd.oci.image.index.v1+json"


class Sleeps(list[float]):
    """An injected ``sleep`` that records the delays instead of waiting."""

    def __call__(self, seconds: float) -> None:
        self.append(seconds)


def credential_for(registry: Registry) -> Credential | None:
    if registry.username is None or registry.password is None:
        return None
    return Credential(registry.username, registry.password)


def client_for(registry: Registry, **kwargs: Any) -> RegistryClient:
    kwargs.setdefault("credential", credential_for(registry))
    return RegistryClient(registry.host, insecure=True, **kwargs)


def ref(host: str, repo: str, tag: str = "latest") -> ImageReference:
    return ImageReference(host, repo, tag)


# --------------------------------------------------------------------------- real registries


def test_head_digest_equals_pushed_digest(
    each_registry: Registry, seed_image: SeedImage, unique_repo: str
) -> None:
    pushed = seed_image(each_registry, unique_repo, "v1")
    client = client_for(each_registry)
    try:
        assert client.head_digest(ref(each_registry.host, unique_repo, "v1")) == pushed
    finally:
        client.close()


def test_pool_reads_digest_with_credentials_from_store(
    each_registry: Registry, seed_image: SeedImage, unique_repo: str
) -> None:
    pushed = seed_image(each_registry, unique_repo, "v1")
    cred = credential_for(each_registry)
    store = CredentialStore({each_registry.host: cred} if cred else {})
    with RegistryPool(store, insecure=[each_registry.host]) as pool:
        assert pool.head_digest(ref(each_registry.host, unique_repo, "v1")) == pushed
        by_digest = ImageReference(each_registry.host, unique_repo, digest=pushed)
        assert pool.head_digest(by_digest) == pushed
        assert pool.client(each_registry.host) is pool.client(each_registry.host)


def test_missing_tag_and_missing_repo_are_none(
    each_registry: Registry, seed_image: SeedImage, unique_repo: str
) -> None:
    seed_image(each_registry, unique_repo, "v1")
    client = client_for(each_registry)
    assert client.head_digest(ref(each_registry.host, unique_repo, "nope")) is None
    assert client.head_digest(ref(each_registry.host, f"{unique_repo}-absent", "v1")) is None
    client.close()


def test_manifest_checks_are_head_only(
    each_registry: Registry, seed_image: SeedImage, unique_repo: str
) -> None:
    seed_image(each_registry, unique_repo, "v1")
    since = each_registry.mark()
    client = client_for(each_registry)
    for _ in range(3):
        client.head_digest(ref(each_registry.host, unique_repo, "v1"))
    client.head_digest(ref(each_registry.host, unique_repo, "missing"))
    client.close()
    assert each_registry.count("GET", "/manifests/", since=since) == 0
    assert each_registry.count("HEAD", "/manifests/", since=since, status=200) == 3
    assert each_registry.count("HEAD", "/manifests/", since=since, status=404) == 1


@pytest.mark.parametrize("fixture", ["basic_registry", "token_registry"])
def test_wrong_password_is_auth_error_without_secret(
    fixture: str, request: pytest.FixtureRequest, caplog: pytest.LogCaptureFixture
) -> None:
    registry: Registry = request.getfixturevalue(fixture)
    secret = "wrong-Pa55word-that-must-not-leak"
    wrong = Credential(str(registry.username), secret)
    client = client_for(registry, credential=wrong, sleep=Sleeps())
    caplog.set_level(logging.DEBUG)
    with pytest.raises(AuthError) as caught:
        client.head_digest(ref(registry.host, "t/anything", "v1"))
    client.close()
    assert secret not in str(caught.value)
    assert secret not in repr(caught.value.args)
    assert secret not in caught.value.url
    assert secret not in caplog.text
    assert wrong.auth not in caplog.text


def test_basic_registry_without_credentials_is_auth_error(basic_registry: Registry) -> None:
    client = client_for(basic_registry, credential=None)
    with pytest.raises(AuthError):
        client.head_digest(ref(basic_registry.host, "t/anything"))
    client.close()


def test_token_is_cached_per_scope(
    token_registry: Registry, seed_image: SeedImage, unique_repo: str
) -> None:
    seed_image(token_registry, unique_repo, "v1")
    tokens = token_registry.token_server
    assert tokens is not None
    since = tokens.mark()
    client = client_for(token_registry)
    for _ in range(10):
        assert client.head_digest(ref(token_registry.host, unique_repo, "v1")) is not None
    assert tokens.count(since) == 1
    client.head_digest(ref(token_registry.host, f"{unique_repo}-other", "v1"))
    assert tokens.count(since) == 2
    client.close()


def test_push_asks_for_pull_push_scope(
    token_registry: Registry, seed_image: SeedImage, unique_repo: str
) -> None:
    pushed = seed_image(token_registry, unique_repo, "v1")
    tokens = token_registry.token_server
    assert tokens is not None
    since = tokens.mark()
    client = client_for(token_registry)
    assert client.head_digest(ref(token_registry.host, unique_repo, "v1"), push=True) == pushed
    assert client.head_digest(ref(token_registry.host, unique_repo, "v1")) == pushed
    client.close()
    scopes = [scope for r in tokens.requests(since) for scope in r.scopes]
    assert scopes == [f"repository:{unique_repo}:pull,push", f"repository:{unique_repo}:pull"]
    assert all(r.account == token_registry.username for r in tokens.requests(since))


def test_anonymous_token_for_public_pull(
    token_registry: Registry, seed_image: SeedImage, unique_repo: str
) -> None:
    pushed = seed_image(token_registry, unique_repo, "v1")
    tokens = token_registry.token_server
    assert tokens is not None
    since = tokens.mark()
    client = client_for(token_registry, credential=None)
    assert client.head_digest(ref(token_registry.host, unique_repo, "v1")) == pushed
    client.close()
    assert [r.account for r in tokens.requests(since)] == [None]


def test_concurrent_heads_share_one_client_and_keep_connections_alive(
    token_registry: Registry, seed_image: SeedImage, unique_repo: str
) -> None:
    pushed = seed_image(token_registry, unique_repo, "v1")
    tokens = token_registry.token_server
    assert tokens is not None
    since = tokens.mark()
    http = HttpClient()
    client = client_for(token_registry, http=http)
    target = ref(token_registry.host, unique_repo, "v1")
    with ThreadPoolExecutor(max_workers=32) as pool:
        digests = list(pool.map(lambda _: client.head_digest(target), range(320)))
    assert set(digests) == {pushed}
    assert tokens.count(since) == 1  # the first thread fetched it, the other 31 waited
    # 320 HEADs (and one token fetch) over kept-alive sockets: a handle per thread
    assert 1 <= http.connections <= 32 + 1
    http.close()


def test_connection_refused_is_unavailable_after_retries() -> None:
    sleeps = Sleeps()
    client = RegistryClient(f"127.0.0.1:{free_port()}", insecure=True, retries=2, sleep=sleeps)
    with pytest.raises(RegistryUnavailable) as caught:
        client.head_digest(ref(client.registry, "library/alpine"))
    assert len(sleeps) == 2
    assert "cannot reach" in str(caught.value)


def test_timeout_is_unavailable() -> None:
    with socket.create_server(("127.0.0.1", 0)) as silent:  # accepts, never answers
        host = f"127.0.0.1:{silent.getsockname()[1]}"
        client = RegistryClient(host, insecure=True, timeout=0.2, retries=1, sleep=Sleeps())
        with pytest.raises(RegistryUnavailable):
            client.head_digest(ref(host, "library/alpine"))
        client.close()


# --------------------------------------------------------------------------- scripted registry


@dataclass
class Reply:
    """One canned answer; ``body`` is sent for GET and counted in Content-Length for HEAD."""

    status: int
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""


@dataclass(frozen=True)
class Seen:
    method: str
    path: str
    headers: dict[str, str]


class ScriptedRegistry:
    """Answers each path from a script (the last reply repeats) and records every request."""

    def __init__(self) -> None:
        self.script: dict[str, list[Reply]] = {}
        self.seen: list[Seen] = []
        self._lock = threading.Lock()
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        self._httpd.daemon_threads = True
        self.host = f"127.0.0.1:{self._httpd.server_address[1]}"
        threading.Thread(target=self._httpd.serve_forever, daemon=True).start()

    def on(self, path: str, *replies: Reply) -> None:
        self.script[path] = list(replies)

    def reply(self, method: str, path: str, headers: dict[str, str]) -> Reply:
        with self._lock:
            self.seen.append(Seen(method, path, headers))
            queue = self.script.get(path.partition("?")[0], [Reply(404)])
            return queue.pop(0) if len(queue) > 1 else queue[0]

    def count(self, method: str | None = None) -> int:
        return sum(1 for s in self.seen if method is None or s.method == method)

    def close(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()


def _handler_for(server: ScriptedRegistry) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:
            pass

        def _answer(self, send_body: bool) -> None:
            reply = server.reply(self.command, self.path, dict(self.headers.items()))
            self.send_response(reply.status)
            for key, value in reply.headers.items():
                self.send_header(key, value)
            self.send_header("Content-Length", str(len(reply.body)))
            self.end_headers()
            if send_body:
                self.wfile.write(reply.body)

        def do_HEAD(self) -> None:
            self._answer(send_body=False)

        def do_GET(self) -> None:
            self._answer(send_body=True)

    return Handler


@pytest.fixture
def scripted() -> Iterator[ScriptedRegistry]:
    server = ScriptedRegistry()
    yield server
    server.close()


MANIFEST_PATH = "/v2/t/app/manifests/v1"
INDEX_BODY = json.dumps(
    {"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": []}, sort_keys=True
).encode()
INDEX_DIGEST = "sha256:" + hashlib.sha256(INDEX_BODY).hexdigest()
OK = Reply(200, {"Docker-Content-Digest": INDEX_DIGEST, "Content-Type": OCI_INDEX}, INDEX_BODY)


def scripted_client(server: ScriptedRegistry, **kwargs: Any) -> tuple[RegistryClient, Sleeps]:
    sleeps = Sleeps()
    return RegistryClient(server.host, insecure=True, sleep=sleeps, **kwargs), sleeps


def app(server: ScriptedRegistry) -> ImageReference:
    return ref(server.host, "t/app", "v1")


def test_head_sends_accept_list_and_no_get(scripted: ScriptedRegistry) -> None:
    scripted.on(MANIFEST_PATH, OK)
    client, _ = scripted_client(scripted)
    assert client.head_digest(app(scripted)) == INDEX_DIGEST
    (seen,) = scripted.seen
    assert seen.method == "HEAD"
    accepted = [t.strip() for t in seen.headers["Accept"].split(",")]
    assert accepted == [*MANIFEST_TYPES, OCI_ARTIFACT]  # artifacts too: present, not 404


def test_429_honours_retry_after_then_succeeds(scripted: ScriptedRegistry) -> None:
    scripted.on(MANIFEST_PATH, Reply(429, {"Retry-After": "7"}), OK)
    client, sleeps = scripted_client(scripted)
    assert client.head_digest(app(scripted)) == INDEX_DIGEST
    assert sleeps == [7.0]


def test_429_retry_after_http_date_and_cap(scripted: ScriptedRegistry) -> None:
    soon = format_datetime(datetime.now(UTC) + timedelta(seconds=20), usegmt=True)
    later = format_datetime(datetime.now(UTC) + timedelta(hours=2), usegmt=True)
    scripted.on(
        MANIFEST_PATH,
        Reply(429, {"Retry-After": soon}),
        Reply(429, {"Retry-After": "3600"}),
        Reply(429, {"Retry-After": later}),
        OK,
    )
    client, sleeps = scripted_client(scripted, max_backoff=30.0)
    assert client.head_digest(app(scripted)) == INDEX_DIGEST
    assert 17.0 <= sleeps[0] <= 20.0
    assert sleeps[1:] == [30.0, 30.0]


def test_429_forever_is_rate_limited_with_retry_after(scripted: ScriptedRegistry) -> None:
    scripted.on(MANIFEST_PATH, Reply(429, {"Retry-After": "5"}))
    client, sleeps = scripted_client(scripted, retries=3)
    with pytest.raises(RateLimited) as caught:
        client.head_digest(app(scripted))
    assert caught.value.retry_after == 5.0
    assert caught.value.status == 429
    assert sleeps == [5.0, 5.0, 5.0]
    assert scripted.count() == 4


def test_429_without_retry_after_backs_off(scripted: ScriptedRegistry) -> None:
    scripted.on(MANIFEST_PATH, Reply(429), Reply(429), OK)
    client, sleeps = scripted_client(scripted, backoff=1.0)
    assert client.head_digest(app(scripted)) == INDEX_DIGEST
    assert len(sleeps) == 2
    assert 0 <= sleeps[0] <= 1.0
    assert 0 <= sleeps[1] <= 2.0


def test_503_twice_then_digest(scripted: ScriptedRegistry) -> None:
    scripted.on(MANIFEST_PATH, Reply(503), Reply(503), OK)
    client, sleeps = scripted_client(scripted, backoff=0.5)
    assert client.head_digest(app(scripted)) == INDEX_DIGEST
    assert scripted.count("HEAD") == 3
    assert len(sleeps) == 2
    assert 0 <= sleeps[0] <= 0.5
    assert 0 <= sleeps[1] <= 1.0


def test_503_forever_is_unavailable_after_retries(scripted: ScriptedRegistry) -> None:
    scripted.on(MANIFEST_PATH, Reply(503, body=b"<html>down</html>"))
    client, sleeps = scripted_client(scripted, retries=4, backoff=0.5, max_backoff=3.0)
    with pytest.raises(RegistryUnavailable) as caught:
        client.head_digest(app(scripted))
    assert caught.value.status == 503
    assert scripted.count() == 5
    ceilings = [0.5, 1.0, 2.0, 3.0]  # exponential, capped at max_backoff
    assert len(sleeps) == 4
    assert all(0 <= s <= c for s, c in zip(sleeps, ceilings, strict=True))


def test_backoff_grows_exponentially_with_bounded_jitter(scripted: ScriptedRegistry) -> None:
    scripted.on(MANIFEST_PATH, Reply(502))
    client, sleeps = scripted_client(scripted, retries=6, backoff=1.0, max_backoff=100.0)
    runs = []
    for _ in range(25):
        sleeps.clear()
        with pytest.raises(RegistryUnavailable):
            client.head_digest(app(scripted))
        runs.append(list(sleeps))
    ceilings = [1.0, 2.0, 4.0, 8.0, 16.0, 32.0]
    per_attempt = list(zip(*runs, strict=True))
    for delays, ceiling in zip(per_attempt, ceilings, strict=True):
        assert all(0 <= d <= ceiling for d in delays)
    assert max(per_attempt[5]) > ceilings[4]  # grows: P(false) = 2**-25
    assert len(set(per_attempt[5])) > 1  # jittered, not a fixed schedule


def test_backoff_schedule_is_exponential_and_capped() -> None:
    class Highest(random.Random):
        def uniform(self, a: float, b: float) -> float:
            return b

    backoff = Backoff(0.5, 5.0, rng=Highest())
    assert [backoff.delay(n) for n in range(6)] == [0.5, 1.0, 2.0, 4.0, 5.0, 5.0]
    assert backoff.honour(12.0, 0) == 5.0
    assert backoff.honour(None, 2) == 2.0


@pytest.mark.parametrize(
    ("reply", "error"),
    [
        (Reply(404), None),
        (Reply(401, {"WWW-Authenticate": 'Basic realm="r"'}), AuthError),
        (Reply(401), AuthError),
        (Reply(403), AuthError),
    ],
)
def test_404_401_403_never_retried(
    scripted: ScriptedRegistry, reply: Reply, error: type[Exception] | None
) -> None:
    scripted.on(MANIFEST_PATH, reply)
    client, sleeps = scripted_client(scripted)
    if error is None:
        assert client.head_digest(app(scripted)) is None
    else:
        with pytest.raises(error):
            client.head_digest(app(scripted))
    assert scripted.count() == (2 if reply.status == 403 else 1)  # a 403 HEAD: GET reads why
    assert sleeps == []


def test_basic_challenge_is_answered_once(scripted: ScriptedRegistry) -> None:
    challenge = Reply(401, {"WWW-Authenticate": 'Basic realm="r"'})
    scripted.on(MANIFEST_PATH, challenge, OK)
    client, _ = scripted_client(scripted, credential=Credential("u", "s3cret"))
    assert client.head_digest(app(scripted)) == INDEX_DIGEST
    assert client.head_digest(app(scripted)) == INDEX_DIGEST  # Basic sent up front now
    sent_auth = [s.headers.get("Authorization") is not None for s in scripted.seen]
    assert sent_auth == [False, True, True]
    scripted.on(MANIFEST_PATH, challenge)
    with pytest.raises(AuthError) as caught:
        client.head_digest(app(scripted))
    assert "s3cret" not in str(caught.value)


def test_200_without_digest_falls_back_to_one_get(scripted: ScriptedRegistry) -> None:
    scripted.on(MANIFEST_PATH, Reply(200, {"Content-Type": OCI_INDEX}, INDEX_BODY))
    client, _ = scripted_client(scripted)
    assert client.head_digest(app(scripted)) == "sha256:" + hashlib.sha256(INDEX_BODY).hexdigest()
    assert [s.method for s in scripted.seen] == ["HEAD", "GET"]


def test_html_body_on_fallback_is_unexpected(scripted: ScriptedRegistry) -> None:
    html = b"<html><body>Welcome to our CDN</body></html>"
    scripted.on(MANIFEST_PATH, Reply(200, {"Content-Type": "text/html"}, html))
    client, sleeps = scripted_client(scripted)
    with pytest.raises(UnexpectedResponse) as caught:
        client.head_digest(app(scripted))
    assert caught.value.url == f"http://{scripted.host}{MANIFEST_PATH}"
    assert "text/html" in str(caught.value)
    assert sleeps == []


def test_unknown_media_type_on_fallback_is_unexpected(scripted: ScriptedRegistry) -> None:
    body = json.dumps({"schemaVersion": 2, "mediaType": "application/x-nope"}).encode()
    scripted.on(MANIFEST_PATH, Reply(200, {}, body))
    client, _ = scripted_client(scripted)
    with pytest.raises(UnexpectedResponse, match="application/x-nope"):
        client.head_digest(app(scripted))


def test_malformed_digest_header_is_unexpected(scripted: ScriptedRegistry) -> None:
    scripted.on(MANIFEST_PATH, Reply(200, {"Docker-Content-Digest": "sha256:zz"}))
    client, _ = scripted_client(scripted)
    with pytest.raises(UnexpectedResponse):
        client.head_digest(app(scripted))


def test_rate_limit_headers_are_recorded(scripted: ScriptedRegistry) -> None:
    quota = {
        "RateLimit-Limit": "100;w=21600",
        "RateLimit-Remaining": "76;w=21600",
        "docker-ratelimit-source": "203.0.113.9",
    }
    scripted.on(MANIFEST_PATH, Reply(200, {**OK.headers, **quota}))
    pool = RegistryPool(CredentialStore(), insecure=[scripted.host])
    assert pool.rate_limits() == {}
    assert pool.head_digest(app(scripted)) == INDEX_DIGEST
    expected = RateLimit(limit=100, remaining=76, window_s=21600, source="203.0.113.9")
    assert pool.client(scripted.host).rate_limit == expected
    assert pool.rate_limits() == {scripted.host: expected}
    scripted.on(MANIFEST_PATH, Reply(404))  # no headers: the last quota stays
    assert pool.head_digest(app(scripted)) is None
    assert pool.rate_limits() == {scripted.host: expected}
    pool.close()


def bearer(server: ScriptedRegistry, **extra: str) -> Reply:
    params = {"realm": f"http://{server.host}/token", "service": "svc, with comma", **extra}
    value = ",".join(f'{k}="{v}"' for k, v in params.items())
    return Reply(401, {"WWW-Authenticate": f"Bearer {value}"})


def token_reply(body: dict[str, Any]) -> Reply:
    return Reply(200, {"Content-Type": "application/json"}, json.dumps(body).encode())


def test_bearer_flow_with_access_token_and_default_expiry(scripted: ScriptedRegistry) -> None:
    scripted.on(MANIFEST_PATH, bearer(scripted), OK)
    scripted.on("/token", token_reply({"access_token": "tok-1"}))
    client, _ = scripted_client(scripted, credential=Credential("u", "pw"))
    assert client.head_digest(app(scripted)) == INDEX_DIGEST
    head_1, token_get, head_2 = scripted.seen
    assert "service=svc%2C+with+comma" in token_get.path
    assert "scope=repository%3At%2Fapp%3Apull" in token_get.path
    assert token_get.headers["Authorization"].startswith("Basic ")
    assert "Authorization" not in head_1.headers
    assert head_2.headers["Authorization"] == "Bearer tok-1"


def test_second_401_after_fresh_token_is_auth_error(scripted: ScriptedRegistry) -> None:
    scripted.on(MANIFEST_PATH, bearer(scripted, error="insufficient_scope"))
    scripted.on("/token", token_reply({"token": "tok", "expires_in": 300}))
    client, sleeps = scripted_client(scripted)
    with pytest.raises(AuthError, match=r"does not exist or you have no access \(anonymous;"):
        client.head_digest(app(scripted))
    assert [s.method for s in scripted.seen] == ["HEAD", "GET", "HEAD"]
    assert sleeps == []


@pytest.mark.parametrize(
    ("reply", "error"),
    [
        (Reply(401, {"Content-Type": "application/json"}, b'{"details":"bad"}'), AuthError),
        (Reply(403), AuthError),
        (Reply(200, {"Content-Type": "text/html"}, b"<html>login</html>"), UnexpectedResponse),
        (token_reply({"nothing": "here"}), UnexpectedResponse),
    ],
)
def test_token_endpoint_failures(
    scripted: ScriptedRegistry, reply: Reply, error: type[RegistryError]
) -> None:
    scripted.on(MANIFEST_PATH, bearer(scripted))
    scripted.on("/token", reply)
    client, _ = scripted_client(scripted, credential=Credential("u", "hunter2-secret"))
    with pytest.raises(error) as caught:
        client.head_digest(app(scripted))
    assert "hunter2-secret" not in str(caught.value)
    assert caught.value.url.startswith(f"http://{scripted.host}/token")


def test_token_endpoint_503_is_retried(scripted: ScriptedRegistry) -> None:
    scripted.on(MANIFEST_PATH, bearer(scripted), OK)
    scripted.on("/token", Reply(503), token_reply({"token": "t"}))
    client, sleeps = scripted_client(scripted)
    assert client.head_digest(app(scripted)) == INDEX_DIGEST
    assert len(sleeps) == 1


# --------------------------------------------------------------------------- pure helpers


def test_base_url() -> None:
    assert base_url("docker.io") == "https://registry-1.docker.io"
    assert base_url("ghcr.io") == "https://ghcr.io"
    assert base_url("127.0.0.1:5000", insecure=True) == "http://127.0.0.1:5000"


def test_pool_uses_http_only_for_insecure_hosts() -> None:
    with RegistryPool(CredentialStore(), insecure=["localhost:5000"]) as pool:
        assert pool.client("localhost:5000").base_url == "http://localhost:5000"
        assert pool.client("docker.io").base_url == "https://registry-1.docker.io"


def test_parse_challenges_handles_quotes_commas_and_several_schemes() -> None:
    header = (
        'Bearer realm="https://auth.example/token?a=1,b=2",service="reg",'
        'scope="repository:x/y:pull,push", error="insufficient_scope", '
        'Basic realm="say \\"hi\\""'
    )
    assert parse_challenges(header) == (
        Challenge(
            "bearer",
            {
                "realm": "https://auth.example/token?a=1,b=2",
                "service": "reg",
                "scope": "repository:x/y:pull,push",
                "error": "insufficient_scope",
            },
        ),
        Challenge("basic", {"realm": 'say "hi"'}),
    )


@pytest.mark.parametrize(
    ("header", "parsed"),
    [
        ("", ()),
        (",,,", ()),
        ('"', ()),
        ("=x", ()),  # a parameter before any scheme belongs to nothing
        ('Bearer realm="unterminated', (Challenge("bearer", {"realm": "unterminated"}),)),
        ('Bearer realm="a\\', (Challenge("bearer", {"realm": "a"}),)),  # dangling escape
        ('\t Bearer  ,  realm = "r" ', (Challenge("bearer", {"realm": "r"}),)),
        ('Bearer =,, realm="a"', ()),  # "Bearer =" reads as a parameter named Bearer
        ("Bearer realm", (Challenge("bearer", {}), Challenge("realm", {}))),
        (
            "Negotiate abc==, Basic realm=r",  # a token68 reads as a parameter; harmless
            (Challenge("negotiate", {"abc": ""}), Challenge("basic", {"realm": "r"})),
        ),
        (
            'Basic realm="x" "junk" charset=utf-8',  # a stray quote is stepped over
            (Challenge("basic", {"realm": "x"}), Challenge("junk", {"charset": "utf-8"})),
        ),
    ],
)
def test_parse_challenges_reads_junk_leniently_and_predictably(
    header: str, parsed: tuple[Challenge, ...]
) -> None:
    assert parse_challenges(header) == parsed


def test_parse_challenges_is_linear_on_hostile_input() -> None:
    hostile = "Bearer " + 'a="\\' * 50_000 + ", " * 50_000 + "=" * 50_000
    started = time.monotonic()
    parse_challenges(hostile)
    assert time.monotonic() - started < 2.0


def test_parse_rate_limit_and_retry_after() -> None:
    headers = Headers([("ratelimit-remaining", "0;w=60")])
    assert parse_rate_limit(headers) == RateLimit(None, 0, 60, None)
    assert parse_rate_limit(Headers()) is None
    now = datetime(2026, 1, 1, tzinfo=UTC)
    assert parse_retry_after("Thu, 01 Jan 2026 00:00:42 GMT", now=now) == 42.0
    assert parse_retry_after("Wed, 31 Dec 2025 00:00:00 GMT", now=now) == 0.0
    assert parse_retry_after("soon") is None
    assert parse_retry_after(None) is None


def test_token_cache_expires_before_the_token_does() -> None:
    clock = [1000.0]
    cache = TokenCache(lambda: clock[0])
    key = ("realm", "svc", "repository:a:pull")
    cache.put(key, "t", 60.0)
    clock[0] += 47.0
    assert cache.get(key) == "t"
    clock[0] += 2.0  # 49 s: inside the 12 s safety margin
    assert cache.get(key) is None
    fetched = cache.get_or_fetch(key, lambda: ("t2", 300.0))
    assert fetched == "t2"
    cache.discard(key, "other")
    assert cache.get(key) == "t2"
    cache.discard(key, "t2")
    assert cache.get(key) is None
