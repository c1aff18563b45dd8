"""SkopeoCopier against real skopeo and real docker-registry processes (no mocks).

The fixtures here are deliberately small and module-local: an OCI layout built
in Python (a two-platform index over one tiny layer), an anonymous registry, an
htpasswd registry and a TCP server that accepts and never answers.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import io
import json
import os
import signal
import socket
import subprocess
import sys
import tarfile
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import bcrypt
import pytest

from imgsync.adapters.credentials import Credential, CredentialStore
from imgsync.adapters.skopeo import MISSING_SKOPEO, SkopeoCopier, classify_stderr, fatal_message
from imgsync.core.reference import ImageReference
from imgsync.errors import CopyError

USER = "alice"
PASSWORD = "pa:ss w0rd$'\"-Zq9"  # colons, quotes and spaces survive the auth file
ACCEPT = ", ".join(
    [
        "application/vnd.oci.image.index.v1+json",
        "application/vnd.docker.distribution.manifest.list.v2+json",
        "application/vnd.oci.image.manifest.v1+json",
        "application/vnd.docker.distribution.manifest.v2+json",
    ]
)
registry = pytest.mark.registry


# ---------------------------------------------------------------- classification


def _fatal(msg: str) -> str:
    quoted = msg.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return f'time="2026-11-29T05:11:29Z" level=fatal msg="{quoted}"\n'


CLASSIFY = [
    # the messages listed in /work/shared/facts.md
    ("reading manifest v1 in HOST/REPO: manifest unknown: manifest unknown", "not_found"),
    ("initializing source docker://h/r:v1: unauthorized: authentication required", "auth"),
    (
        "unable to retrieve auth token: invalid username/password: unauthorized: bad creds",
        "auth",
    ),
    ("pinging container registry h: dial tcp 127.0.0.1:1: connect: connection refused", "network"),
    ("dial tcp: lookup nonexistent.invalid on 10.0.0.53:53: no such host", "network"),
    (
        'Get "https://127.0.0.1:5000/v2/": http: server gave HTTP response to HTTPS client',
        "unsupported",
    ),
    ("reading manifest latest in h/r: StatusCode: 429, too many", "rate_limited"),
    (
        "toomanyrequests: You have reached your pull rate limit. "
        "You may increase the limit by authenticating and upgrading",
        "rate_limited",
    ),
    # order decisions
    ("requested access to the resource is denied", "auth"),
    ("unauthorized: project library not found", "auth"),
    ("name unknown: repository name not known to registry", "not_found"),
    ('open /tmp/x/digest: permission denied"', "other"),
    ("received unexpected HTTP status: 503 Service Unavailable", "network"),
    ("writing manifest: StatusCode: 502, <html>", "network"),
    ("reading blob sha256:429abc: unexpected EOF", "network"),
    ("net/http: TLS handshake timeout", "network"),
    ("read tcp 1.2.3.4:5->6.7.8.9:443: read: connection reset by peer", "network"),
    ("dial tcp 1.2.3.4:443: i/o timeout", "network"),
    ("unsupported manifest type application/vnd.foo", "unsupported"),
    ('invalid media type "application/x-bogus"', "unsupported"),
    (
        "tls: failed to verify certificate: x509: certificate signed by unknown authority",
        "unsupported",
    ),
    ("Digest did not match, expected sha256:aa, got sha256:bb", "digest_mismatch"),
    ("something nobody anticipated", "other"),
]


@pytest.mark.parametrize(("message", "category"), CLASSIFY)
def test_classify_fatal_line(message: str, category: str) -> None:
    stderr = "Getting image source signatures\nCopying blob sha256:0123\n" + _fatal(message)
    assert classify_stderr(stderr) == category


def test_the_final_fatal_message_beats_earlier_retry_warnings() -> None:
    stderr = (
        'time="t" level=warning msg="Failed, retrying in 1s ... (1/3). Error: connection refused"\n'
        + _fatal("reading manifest v1 in h/r: manifest unknown: manifest unknown")
    )
    assert classify_stderr(stderr) == "not_found"


def test_earlier_lines_count_when_the_fatal_line_says_nothing() -> None:
    stderr = 'level=warning msg="StatusCode: 429"\n' + _fatal("giving up")
    assert classify_stderr(stderr) == "rate_limited"


def test_fatal_message_unquotes_and_falls_back_to_the_last_line() -> None:
    quoted = _fatal('getting creds: 1 error:\n\t* reading "/x": bad')
    assert fatal_message("noise\n" + quoted) == 'getting creds: 1 error: * reading "/x": bad'
    assert fatal_message("first\nError: flag provided but not defined\n\n") == (
        "Error: flag provided but not defined"
    )
    assert fatal_message("") == ""


# ---------------------------------------------------------------- command line


def test_argv_flags() -> None:
    copier = SkopeoCopier(
        CredentialStore(), insecure=["127.0.0.1:5000", "docker.io"], retry_times=5
    )
    src = ImageReference("docker.io", "library/alpine", "3.20", "sha256:" + "a" * 64)
    dst = ImageReference("127.0.0.1:5000", "mirror/alpine", "3.20", "sha256:" + "a" * 64)
    argv = copier.argv(src, dst, None, Path("/tmp/d/auth.json"), Path("/tmp/d/digest"))
    assert argv == [
        *("skopeo", "copy", "--all", "--preserve-digests", "--retry-times", "5"),
        *("--digestfile", "/tmp/d/digest", "--src-no-creds"),
        *("--dest-tls-verify=false", "--dest-authfile", "/tmp/d/auth.json"),
        "docker://docker.io/library/alpine@sha256:" + "a" * 64,
        "docker://127.0.0.1:5000/mirror/alpine:3.20",
    ]


def test_missing_skopeo_binary() -> None:
    copier = SkopeoCopier(CredentialStore(), skopeo="skopeo-that-does-not-exist")
    with pytest.raises(CopyError) as caught:
        copier.copy(ImageReference("h:1", "a", "v1"), ImageReference("h:2", "a", "v1"))
    assert caught.value.category == "other"
    assert MISSING_SKOPEO in str(caught.value)


# ---------------------------------------------------------------- fixtures


def _blob(root: Path, data: bytes, media_type: str, **extra: Any) -> dict[str, Any]:
    digest = hashlib.sha256(data).hexdigest()
    (root / "blobs" / "sha256" / digest).write_bytes(data)
    return {"mediaType": media_type, "digest": f"sha256:{digest}", "size": len(data), **extra}


def _layer() -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.USTAR_FORMAT) as tar:
        info = tarfile.TarInfo("hello.txt")
        info.size = 6
        tar.addfile(info, io.BytesIO(b"hello\n"))
    return buffer.getvalue()


def _platform_manifest(root: Path, layer: dict[str, Any], diff_id: str, arch: str) -> bytes:
    config = {"architecture": arch, "os": "linux", "config": {}}
    config["rootfs"] = {"type": "layers", "diff_ids": [diff_id]}
    config_blob = _blob(
        root, json.dumps(config).encode(), "application/vnd.oci.image.config.v1+json"
    )
    manifest = {"schemaVersion": 2, "config": config_blob, "layers": [layer]}
    manifest["mediaType"] = "application/vnd.oci.image.manifest.v1+json"
    return json.dumps(manifest).encode()


def build_oci_layout(root: Path, tag: str) -> str:
    """A two-platform OCI index over one tiny layer; returns the index digest."""
    (root / "blobs" / "sha256").mkdir(parents=True)
    (root / "oci-layout").write_text('{"imageLayoutVersion": "1.0.0"}')
    raw = _layer()
    layer = _blob(root, gzip.compress(raw, mtime=0), "application/vnd.oci.image.layer.v1.tar+gzip")
    diff_id = f"sha256:{hashlib.sha256(raw).hexdigest()}"
    manifests = [
        _blob(
            root,
            _platform_manifest(root, layer, diff_id, arch),
            "application/vnd.oci.image.manifest.v1+json",
            platform={"architecture": arch, "os": "linux"},
        )
        for arch in ("amd64", "arm64")
    ]
    index_type = "application/vnd.oci.image.index.v1+json"
    index = {"schemaVersion": 2, "mediaType": index_type, "manifests": manifests}
    entry = _blob(
        root,
        json.dumps(index).encode(),
        index_type,
        annotations={"org.opencontainers.image.ref.name": tag},
    )
    (root / "index.json").write_text(json.dumps({"schemaVersion": 2, "manifests": [entry]}))
    return str(entry["digest"])


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _registry_config(root: Path, port: int, htpasswd: Path | None) -> Path:
    auth = f"auth:\n  htpasswd:\n    realm: test\n    path: {htpasswd}\n" if htpasswd else ""
    config = root / "config.yml"
    config.write_text(
        "version: 0.1\nlog:\n  level: error\n  accesslog:\n    disabled: true\n"
        f"storage:\n  filesystem:\n    rootdirectory: {root / 'data'}\n"
        f"http:\n  addr: 127.0.0.1:{port}\n  secret: test-only\n{auth}"
    )
    return config


def _wait_ready(host: str, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline and process.poll() is None:
        try:
            urllib.request.urlopen(f"http://{host}/v2/", timeout=1)
            return
        except urllib.error.HTTPError:
            return  # 401 from the htpasswd registry: it is up
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"docker-registry on {host} did not start")


@pytest.fixture(scope="module")
def registry_factory(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    processes: list[subprocess.Popen[bytes]] = []

    def start(users: dict[str, str] | None = None) -> str:
        root = tmp_path_factory.mktemp("registry")
        htpasswd = None
        if users:
            htpasswd = root / "htpasswd"
            lines = [
                f"{u}:{bcrypt.hashpw(p.encode(), bcrypt.gensalt(4)).decode()}\n"
                for u, p in users.items()
            ]
            htpasswd.write_text("".join(lines))
        port = _free_port()
        config = _registry_config(root, port, htpasswd)
        log = (root / "registry.log").open("wb")
        process = subprocess.Popen(
            ["docker-registry", "serve", str(config)], stdout=log, stderr=log
        )
        processes.append(process)
        _wait_ready(f"127.0.0.1:{port}", process)
        return f"127.0.0.1:{port}"

    yield start
    for process in processes:
        process.terminate()
        process.wait(timeout=10)


@pytest.fixture(scope="module")
def anon_registry(registry_factory: Any) -> str:
    return str(registry_factory())


@pytest.fixture(scope="module")
def auth_registry(registry_factory: Any) -> str:
    return str(registry_factory({USER: PASSWORD}))


@pytest.fixture(scope="module")
def source_image(
    tmp_path_factory: pytest.TempPathFactory, anon_registry: str
) -> tuple[ImageReference, str]:
    """``anon_registry/src/app:v1``, pushed from the OCI layout; and its index digest."""
    layout = tmp_path_factory.mktemp("oci")
    digest = build_oci_layout(layout, "v1")
    push = ["skopeo", "copy", "--all", "--preserve-digests", "--dest-tls-verify=false"]
    subprocess.run(
        [*push, f"oci:{layout}:v1", f"docker://{anon_registry}/src/app:v1"],
        check=True,
        capture_output=True,
    )
    return ImageReference(anon_registry, "src/app", "v1"), digest


@pytest.fixture(scope="module")
def stall_server() -> Iterator[str]:
    """A TCP server that accepts connections and never says a word."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(64)
    held: list[socket.socket] = []

    def accept() -> None:
        while True:
            try:
                held.append(server.accept()[0])
            except OSError:
                return

    threading.Thread(target=accept, daemon=True).start()
    yield f"127.0.0.1:{server.getsockname()[1]}"
    server.close()
    for conn in held:
        conn.close()


def _store(registry_host: str, password: str = PASSWORD) -> CredentialStore:
    return CredentialStore({registry_host: Credential(USER, password)})


def _manifest_digest(host: str, repository: str, tag: str) -> str | None:
    request = urllib.request.Request(
        f"http://{host}/v2/{repository}/manifests/{tag}", method="HEAD"
    )
    request.add_header("Accept", ACCEPT)
    basic = base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
    request.add_header("Authorization", f"Basic {basic}")
    with urllib.request.urlopen(request, timeout=10) as response:
        digest: str | None = response.headers.get("Docker-Content-Digest")
        return digest


# ---------------------------------------------------------------- /proc helpers


def _cmdline(pid: int) -> list[str]:
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return []
    return raw.decode(errors="replace").split("\0")


def skopeo_pids(marker: str) -> list[int]:
    """Live skopeo processes whose command line contains ``marker``."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            argv = _cmdline(int(entry.name))
            if argv and argv[0].endswith("skopeo") and marker in "\0".join(argv):
                found.append(int(entry.name))
    return [pid for pid in found if alive(pid)]


def alive(pid: int) -> bool:
    """True while ``pid`` exists and is not a zombie waiting for a reaper."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rpartition(")")[2].split()[0] != "Z"


def wait_for(predicate: Any, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.02)
    return bool(predicate())


class ProcSampler(threading.Thread):
    """Records the command line and environment of every skopeo process seen."""

    def __init__(self, marker: str) -> None:
        super().__init__(daemon=True)
        self.marker = marker
        self.seen: dict[int, tuple[str, bytes]] = {}
        self.stop = threading.Event()

    def run(self) -> None:
        while not self.stop.is_set():
            for pid in skopeo_pids(self.marker):
                self._record(pid)

    def _record(self, pid: int) -> None:
        try:
            environ = Path(f"/proc/{pid}/environ").read_bytes()
        except OSError:
            environ = b""
        self.seen.setdefault(pid, ("\0".join(_cmdline(pid)), environ))

    def __enter__(self) -> ProcSampler:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.join(timeout=5)


# ---------------------------------------------------------------- real copies


@registry
def test_copy_to_htpasswd_registry(
    source_image: tuple[ImageReference, str], auth_registry: str, anon_registry: str
) -> None:
    source, source_digest = source_image
    destination = ImageReference(auth_registry, "mirror/app", "v1")
    store = _store(auth_registry)
    copier = SkopeoCopier(store, insecure=[anon_registry, auth_registry])
    with ProcSampler("mirror/app") as sampler:
        digest = copier.copy(source, destination)
    assert digest == source_digest
    assert _manifest_digest(auth_registry, "mirror/app", "v1") == source_digest
    assert sampler.seen, "the sampler never saw skopeo running"
    for cmdline, environ in sampler.seen.values():
        assert "--dest-authfile" in cmdline
        assert "creds" not in cmdline.replace("-no-creds", "")
        for secret in store.secrets():
            assert secret not in cmdline
            assert secret.encode() not in environ


@registry
def test_copy_by_source_digest(
    source_image: tuple[ImageReference, str], auth_registry: str, anon_registry: str
) -> None:
    source, source_digest = source_image
    pinned = ImageReference(source.registry, source.repository, "v1", source_digest)
    destination = ImageReference(auth_registry, "mirror/pinned", "v1")
    copier = SkopeoCopier(_store(auth_registry), insecure=[anon_registry, auth_registry])
    assert copier.copy(pinned, destination) == source_digest


@registry
def test_wrong_password_is_auth_and_redacted(
    source_image: tuple[ImageReference, str], auth_registry: str, anon_registry: str
) -> None:
    wrong = "Wr0ng-Secret-Value"
    store = _store(auth_registry, wrong)
    copier = SkopeoCopier(store, insecure=[anon_registry, auth_registry])
    with pytest.raises(CopyError) as caught:
        copier.copy(source_image[0], ImageReference(auth_registry, "mirror/denied", "v1"))
    error = caught.value
    assert error.category == "auth"
    assert error.returncode == 1
    assert "authentication required" in str(error)
    assert any(arg == "--dest-authfile" for arg in error.argv)
    texts = [str(error), error.stderr, " ".join(error.argv), repr(error)]
    for secret in store.secrets():
        assert all(secret not in text for text in texts)


@registry
def test_missing_tag_is_not_found(
    source_image: tuple[ImageReference, str], auth_registry: str, anon_registry: str
) -> None:
    copier = SkopeoCopier(_store(auth_registry), insecure=[anon_registry, auth_registry])
    missing = source_image[0].with_tag("no-such-tag")
    with pytest.raises(CopyError) as caught:
        copier.copy(missing, ImageReference(auth_registry, "mirror/missing", "v1"))
    assert caught.value.category == "not_found"
    assert "manifest unknown" in str(caught.value)
    assert "level=fatal" in caught.value.stderr


@registry
def test_unreachable_registry_is_network(auth_registry: str) -> None:
    copier = SkopeoCopier(_store(auth_registry), insecure=["127.0.0.1:1", auth_registry])
    with pytest.raises(CopyError) as caught:
        copier.copy(
            ImageReference("127.0.0.1:1", "src/app", "v1"),
            ImageReference(auth_registry, "mirror/unreachable", "v1"),
        )
    assert caught.value.category == "network"
    assert "connection refused" in str(caught.value)


@registry
def test_plain_http_registry_not_listed_as_insecure(
    source_image: tuple[ImageReference, str], auth_registry: str
) -> None:
    copier = SkopeoCopier(_store(auth_registry), insecure=[auth_registry])
    with pytest.raises(CopyError) as caught:
        copier.copy(source_image[0], ImageReference(auth_registry, "mirror/https", "v1"))
    assert caught.value.category == "unsupported"
    assert f"{source_image[0].registry} speaks plain HTTP: add it to --insecure-registry" in str(
        caught.value
    )


@registry
def test_timeout_kills_skopeo(stall_server: str, auth_registry: str) -> None:
    marker = f"timeout-{uuid.uuid4().hex}"
    copier = SkopeoCopier(_store(auth_registry), insecure=[stall_server, auth_registry], timeout=2)
    started = time.monotonic()
    with ProcSampler(marker) as sampler, pytest.raises(CopyError) as caught:
        copier.copy(
            ImageReference(stall_server, marker, "v1"),
            ImageReference(auth_registry, "mirror/timeout", "v1"),
        )
    elapsed = time.monotonic() - started
    assert caught.value.category == "timeout"
    assert 2 <= elapsed < 10
    assert sampler.seen, "the sampler never saw skopeo running"
    for pid in sampler.seen:
        assert not Path(f"/proc/{pid}").exists()
    assert skopeo_pids(marker) == []


CHILD = """
import sys, time
from imgsync.adapters.credentials import CredentialStore
from imgsync.adapters.skopeo import SkopeoCopier
from imgsync.core.reference import ImageReference
stall, marker = sys.argv[1], sys.argv[2]
copier = SkopeoCopier(CredentialStore(), insecure=[stall, "127.0.0.1:2"], timeout=600)
try:
    copier.copy(ImageReference(stall, marker, "v1"), ImageReference("127.0.0.1:2", "x", "v1"))
except KeyboardInterrupt:
    print("interrupted", flush=True)
    time.sleep(60)
"""


def _start_child(stall: str, marker: str) -> tuple[subprocess.Popen[str], int]:
    """A Python process running a copy that hangs on ``stall``, and its skopeo child's pid."""
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, stall, marker], stdout=subprocess.PIPE, text=True
    )
    assert wait_for(lambda: skopeo_pids(marker), 15), "skopeo never started"
    (pid,) = skopeo_pids(marker)
    status = Path(f"/proc/{pid}/status").read_text()
    assert f"PPid:\t{child.pid}\n" in status
    return child, pid


@registry
def test_skopeo_dies_with_a_sigkilled_parent(stall_server: str) -> None:
    marker = f"pdeathsig-{uuid.uuid4().hex}"
    child, pid = _start_child(stall_server, marker)
    try:
        time.sleep(0.3)  # let skopeo settle into its stalled request
        os.kill(child.pid, signal.SIGKILL)
        child.wait(timeout=10)
        assert wait_for(lambda: not alive(pid), 5), "skopeo outlived its SIGKILLed parent"
    finally:
        child.kill()
        child.wait()


@registry
def test_interrupt_kills_skopeo_before_the_parent_exits(stall_server: str) -> None:
    marker = f"interrupt-{uuid.uuid4().hex}"
    child, pid = _start_child(stall_server, marker)
    try:
        os.kill(child.pid, signal.SIGINT)
        assert child.stdout is not None
        assert child.stdout.readline().strip() == "interrupted"
        assert child.poll() is None, "the parent must still be alive for this check"
        assert not alive(pid), "skopeo survived KeyboardInterrupt in its caller"
    finally:
        child.kill()
        child.wait()
