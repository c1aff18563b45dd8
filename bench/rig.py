"""The benchmark's world: two real registries and a token service, each behind a latency proxy.

* source: ``docker-registry`` with bearer-token auth (like Docker Hub), its token service
  behind its own proxy (Docker Hub's ``auth.docker.io`` is across the internet too);
* destination: ``docker-registry`` with htpasswd (like a private mirror);
* every client reaches them only through :mod:`bench.latency_proxy` processes that
  terminate TLS, so all tools pay the same round trips and handshakes.

The registries come from the test rig (:mod:`tests.rig`), with two changes: relative
``Location`` URLs (behind a TLS proxy the registry would otherwise hand out ``http://``
upload URLs) and a token realm that points at the token service's proxy.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from tests.cli_run import SCRUBBED
from tests.rig.authfile import write_auths
from tests.rig.ports import free_port, wait_for_port
from tests.rig.registry import AuthKind, Registry
from tests.rig.tls import TlsFiles, make_tls_files
from tests.rig.token_server import TokenServer

from bench.latency_proxy import DEFAULT_HANDSHAKE_RTTS, HOST

REPO_ROOT = Path(__file__).resolve().parent.parent
PROXY_START_TIMEOUT = 10.0


class BenchRegistry(Registry):
    """A rig registry serving HTTPS itself (so Go clients get HTTP/2, as from Docker Hub).

    Relative ``Location`` URLs keep uploads on the address the client used (the proxy).
    """

    def __init__(self, kind: AuthKind, workdir: Path, tls: TlsFiles) -> None:
        super().__init__(kind, workdir=workdir)
        self.tls = tls
        self.url = f"https://{self.host}"

    def _write_config(self) -> Path:
        path = super()._write_config()
        config = json.loads(path.read_text())
        config["http"]["relativeurls"] = True
        config["http"]["tls"] = {"certificate": str(self.tls.cert), "key": str(self.tls.key)}
        path.write_text(json.dumps(config, indent=2))
        return path


@dataclass
class BenchTokenServer(TokenServer):
    """The rig's token service, announced at its proxy's ``https`` URL."""

    public_realm: str = ""

    @property
    def realm(self) -> str:
        return self.public_realm or super().realm


@dataclass
class ProxyProcess:
    """One ``python -m bench.latency_proxy`` process; counts new connections via its log."""

    proc: subprocess.Popen[str]
    port: int
    conn_log: Path

    @property
    def host(self) -> str:
        return f"{HOST}:{self.port}"

    def connections(self) -> int:
        """New connections accepted so far (one line each in the log)."""
        try:
            return self.conn_log.read_text().count("\n")
        except FileNotFoundError:
            return 0

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)


@dataclass(frozen=True)
class Latency:
    """The WAN the proxies emulate."""

    delay_ms: float = 15.0
    handshake_rtts: float = DEFAULT_HANDSHAKE_RTTS

    @property
    def rtt_s(self) -> float:
        return 2 * self.delay_ms / 1000


def start_proxy(
    target: str, latency: Latency, tls: TlsFiles | None, conn_log: Path
) -> ProxyProcess:
    """Start a proxy process in front of ``target`` (``host:port``) and wait for its port.

    With ``tls`` the proxy terminates TLS on loopback, so both handshakes are emulated
    by the gate; without it TLS (if any) passes through and its round trip is real, so
    the gate emulates only the TCP handshake.
    """
    handshakes = latency.handshake_rtts if tls is not None else max(0.0, latency.handshake_rtts - 1)
    argv = [
        sys.executable, "-m", "bench.latency_proxy",
        "--target", target,
        "--delay-ms", str(latency.delay_ms),
        "--handshake-rtts", str(handshakes),
        "--conn-log", str(conn_log),
    ]  # fmt: skip
    if tls is not None:
        argv += ["--tls-cert", str(tls.cert), "--tls-key", str(tls.key)]
    proc = subprocess.Popen(argv, cwd=REPO_ROOT, stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    line = proc.stdout.readline().strip()
    if not line.isdigit():
        proc.kill()
        raise RuntimeError(f"latency proxy for {target} did not start: {line!r}")
    wait_for_port(int(line), PROXY_START_TIMEOUT)
    return ProxyProcess(proc, int(line), conn_log)


@dataclass
class Rig:
    """Registries, proxies, CA bundle, auth file and the environment every tool runs with."""

    latency: Latency = field(default_factory=Latency)
    workdir: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="imgsync-bench-")))
    keep: bool = False
    source: BenchRegistry | None = None
    dest: BenchRegistry | None = None
    tls: TlsFiles | None = None
    proxies: dict[str, ProxyProcess] = field(default_factory=dict)
    _extra: list[ProxyProcess] = field(default_factory=list)

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> Rig:
        """Everything up, in the order the addresses are needed."""
        self.tls = make_tls_files(self.workdir / "tls")
        self._write_bundle()
        self.source = self._token_registry()
        self.dest = BenchRegistry("htpasswd", self.workdir / "dest", self.tls)
        self.dest.start()
        self.proxies["source"] = self._proxy(self.source.host, "source", terminate_tls=False)
        self.proxies["dest"] = self._proxy(self.dest.host, "dest", terminate_tls=False)
        (self.workdir / "home").mkdir(exist_ok=True)
        self.write_authfile()
        return self

    def stop(self) -> None:
        """Stop proxies and registries; remove the work dir unless asked to keep it."""
        for proxy in [*self.proxies.values(), *self._extra]:
            proxy.stop()
        for registry in (self.source, self.dest):
            if registry is not None:
                registry.stop()
        if not self.keep:
            shutil.rmtree(self.workdir, ignore_errors=True)

    def __enter__(self) -> Rig:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _token_registry(self) -> BenchRegistry:
        """Source registry whose token realm is the token service's proxy (https)."""
        assert self.tls is not None
        registry = BenchRegistry("token", self.workdir / "source", self.tls)
        token_port = free_port()
        token_proxy = self._proxy(f"{HOST}:{token_port}", "token", terminate_tls=True)
        self.proxies["token"] = token_proxy
        registry.token_server = BenchTokenServer(
            users={str(registry.username): str(registry.password)},
            service=f"registry-{registry.port}",
            port=token_port,
            public_realm=f"https://{token_proxy.host}/token",
        )
        registry.start()
        return registry

    def _proxy(self, target: str, name: str, *, terminate_tls: bool) -> ProxyProcess:
        """Registries speak TLS themselves; the token service (plain HTTP) gets it here."""
        tls = self.tls if terminate_tls else None
        return start_proxy(target, self.latency, tls, self.workdir / f"conn-{name}.log")

    def _write_bundle(self) -> None:
        """Only our CA: the tools reach nothing else, and the size of the bundle matters.

        With a CA *file* configured, requests/urllib3 parse it again for every new
        connection; the system bundle (~150 certificates) costs about 40 ms of CPU and
        1 MB per connection, which imgsync does not pay with its default (preloaded)
        trust store. One certificate keeps that cost near what users see.
        """
        assert self.tls is not None
        self.bundle.write_bytes(self.tls.ca.read_bytes())

    # ------------------------------------------------------------------ addresses

    @property
    def bundle(self) -> Path:
        return self.workdir / "ca-bundle.pem"

    @property
    def authfile(self) -> Path:
        return self.workdir / "auth.json"

    @property
    def src_host(self) -> str:
        """The source as clients see it: its proxy."""
        return self.proxies["source"].host

    @property
    def dst_host(self) -> str:
        return self.proxies["dest"].host

    def write_authfile(self, extra_dest_hosts: tuple[str, ...] = ()) -> Path:
        """One auth.json for both registries (keyed by proxy host), as users keep one."""
        assert self.source is not None and self.dest is not None
        assert self.source.credentials is not None and self.dest.credentials is not None
        creds = {self.src_host: self.source.credentials, self.dst_host: self.dest.credentials}
        creds.update({host: self.dest.credentials for host in extra_dest_hosts})
        return write_auths(self.authfile, creds)

    def fresh_dest_proxy(self) -> ProxyProcess:
        """A new proxy (new host:port) in front of the destination, for a truly cold copy.

        skopeo remembers where it has seen each blob, per registry host, and mounts blobs
        from there instead of uploading them; a host it has never seen has no such memory.
        """
        assert self.dest is not None
        proxy = self._proxy(self.dest.host, f"dest-{len(self._extra)}", terminate_tls=False)
        self._extra.append(proxy)
        self.write_authfile(tuple(p.host for p in self._extra))
        return proxy

    def retire(self, proxy: ProxyProcess) -> None:
        """Stop an extra proxy once its run is over."""
        proxy.stop()

    def env(self, **extra: str) -> dict[str, str]:
        """The environment of every tool: clean HOME, our auth file, our CA trusted."""
        env = {k: v for k, v in os.environ.items() if k not in SCRUBBED}
        bundle = str(self.bundle)
        env.update(
            HOME=str(self.workdir / "home"),
            REGISTRY_AUTH_FILE=str(self.authfile),
            REQUESTS_CA_BUNDLE=bundle,
            CURL_CA_BUNDLE=bundle,
            SSL_CERT_FILE=bundle,
            PYTHONPATH=os.pathsep.join(filter(None, [str(REPO_ROOT), env.get("PYTHONPATH")])),
        )
        env.update(extra)
        return env
