"""A real `docker-registry serve` process on loopback, with request counting from its log.

The access log (Apache combined format on stdout) lists every HTTP request the registry
served, including 401 challenges, so tests can assert exactly what a client sent.
"""

from __future__ import annotations

import json
import re
import secrets
import shutil
import subprocess
import tempfile
import time
from pathlib import Path
from typing import IO, Any, Literal, NamedTuple

import bcrypt

from .ports import HOST, free_port, wait_for_port
from .proc import require_binary, spawn, stop_process
from .token_server import TokenServer

AuthKind = Literal["anonymous", "htpasswd", "token"]
AUTH_KINDS: tuple[AuthKind, ...] = ("anonymous", "htpasswd", "token")
_ACCESS_LINE = re.compile(
    r'^\S+ \S+ \S+ \[[^\]]*\] "(?P<method>[A-Z]+) (?P<path>\S+) [^"]*" (?P<status>\d{3}) '
)


class Request(NamedTuple):
    """One HTTP request as the registry's access log recorded it (path includes query)."""

    method: str
    path: str
    status: int


def parse_access_log(text: str) -> list[Request]:
    """Parse combined-format access lines; other lines are ignored."""
    found = (_ACCESS_LINE.match(line) for line in text.splitlines())
    return [Request(m["method"], m["path"], int(m["status"])) for m in found if m]


def htpasswd_line(username: str, password: str) -> str:
    """A bcrypt htpasswd entry; cost 4 keeps per-request verification fast in tests."""
    hashed = bcrypt.hashpw(password.encode("utf-8"), bcrypt.gensalt(rounds=4))
    return f"{username}:{hashed.decode('ascii')}\n"


class Registry:
    """docker-registry 2.8 with its own storage, port and one of three auth kinds."""

    def __init__(
        self,
        kind: AuthKind = "anonymous",
        workdir: Path | None = None,
        username: str = "tester",
        password: str | None = None,
    ) -> None:
        if kind not in AUTH_KINDS:
            raise ValueError(f"unknown auth kind {kind!r}")
        self.kind: AuthKind = kind
        self.port = free_port()
        self.host = f"{HOST}:{self.port}"
        self.url = f"http://{self.host}"
        self.username: str | None = None if kind == "anonymous" else username
        self.password: str | None = None
        if self.username is not None:
            self.password = password or secrets.token_urlsafe(12)
        self._own_dir = workdir is None
        self.workdir = (
            Path(tempfile.mkdtemp(prefix="rig-registry-")) if workdir is None else workdir
        )
        self.access_log = self.workdir / "access.log"
        self.server_log = self.workdir / "registry.log"
        self.token_server: TokenServer | None = None
        self._proc: subprocess.Popen[bytes] | None = None
        self._files: list[IO[bytes]] = []

    def __repr__(self) -> str:
        return f"Registry(kind={self.kind!r}, host={self.host!r})"

    @property
    def needs_auth(self) -> bool:
        """True when pushes need credentials (htpasswd and token kinds)."""
        return self.username is not None

    @property
    def credentials(self) -> tuple[str, str] | None:
        """(username, password) for Basic auth or auth files; None when anonymous."""
        if self.username is None or self.password is None:
            return None
        return self.username, self.password

    @property
    def pid(self) -> int | None:
        """Process id while running (for tests that check cleanup)."""
        return self._proc.pid if self.running and self._proc else None

    @property
    def running(self) -> bool:
        """True while the registry process is alive."""
        return self._proc is not None and self._proc.poll() is None

    def start(self, timeout: float = 10.0) -> Registry:
        """Write the config and launch; restarts keep port, storage and log."""
        binary = require_binary("docker-registry")
        self.workdir.mkdir(parents=True, exist_ok=True)
        self._start_token_server()
        config = self._write_config()
        self._files = [self.access_log.open("ab"), self.server_log.open("ab")]
        self._proc = spawn([binary, "serve", str(config)], self.workdir, *self._files)
        self._wait_ready(timeout)
        return self

    def stop(self) -> None:
        """Terminate (then kill) the registry and its token server."""
        stop_process(self._proc)
        self._proc = None
        for handle in self._files:
            handle.close()
        self._files = []
        if self.token_server is not None:
            self.token_server.stop()

    def cleanup(self) -> None:
        """Stop and remove the work dir if this object created it."""
        self.stop()
        if self._own_dir:
            shutil.rmtree(self.workdir, ignore_errors=True)

    def __enter__(self) -> Registry:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.cleanup()

    def _wait_ready(self, timeout: float) -> None:
        """Wait for the port, failing fast with the log if the process died."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._proc is None or self._proc.poll() is not None:
                log = self.server_log.read_text(errors="replace")[-2000:]
                raise RuntimeError(f"docker-registry exited early:\n{log}")
            try:
                wait_for_port(self.port, timeout=0.2)
                return
            except TimeoutError:
                continue
        self.stop()
        raise TimeoutError(f"docker-registry did not listen on {self.host}")

    def _start_token_server(self) -> None:
        """Token kind: (re)start the token service on its own port."""
        if self.kind != "token":
            return
        if self.token_server is None:
            users = {str(self.username): str(self.password)}
            self.token_server = TokenServer(users=users, service=f"registry-{self.port}")
        self.token_server.start()

    def _write_config(self) -> Path:
        """YAML is a superset of JSON, so the config is written as JSON."""
        config: dict[str, Any] = {
            "version": 0.1,
            "log": {"level": "info", "formatter": "json", "accesslog": {"disabled": False}},
            "storage": {
                "filesystem": {"rootdirectory": str(self.workdir / "data")},
                "delete": {"enabled": True},
                "maintenance": {"uploadpurging": {"enabled": False}},
            },
            "http": {"addr": self.host, "secret": "imgsync-rig-secret"},
        }
        auth = self._auth_config()
        if auth:
            config["auth"] = auth
        path = self.workdir / "config.yml"
        path.write_text(json.dumps(config, indent=2))
        return path

    def _auth_config(self) -> dict[str, Any]:
        """The `auth:` section for this kind (empty for anonymous)."""
        if self.kind == "htpasswd":
            htpasswd = self.workdir / "htpasswd"
            htpasswd.write_text(htpasswd_line(str(self.username), str(self.password)))
            return {"htpasswd": {"realm": "imgsync-test", "path": str(htpasswd)}}
        if self.kind == "token":
            ts = self.token_server
            assert ts is not None
            bundle = ts.cert.write_cert(self.workdir / "token-cert.pem")
            return {
                "token": {
                    "realm": ts.realm,
                    "service": ts.service,
                    "issuer": ts.issuer,
                    "rootcertbundle": str(bundle),
                }
            }
        return {}

    def _read_requests(self) -> list[Request]:
        """Parse the whole access log as it is on disk right now."""
        if not self.access_log.exists():
            return []
        return parse_access_log(self.access_log.read_text(errors="replace"))

    def requests(self, since: int = 0, settle: float = 0.05) -> list[Request]:
        """All requests served after `since`, once the log has stopped growing.

        The registry writes the access line after the response, so a client can finish
        before its last line lands; re-reading until two reads agree closes that gap.
        """
        current = self._read_requests()
        deadline = time.monotonic() + 2.0
        while time.monotonic() < deadline:
            time.sleep(settle)
            again = self._read_requests()
            if len(again) == len(current):
                break
            current = again
        return current[since:]

    def mark(self) -> int:
        """Position in the request log; pass it as `since` to see only later requests."""
        return len(self.requests())

    def count(
        self,
        method: str,
        path_contains: str = "/manifests/",
        since: int = 0,
        status: int | None = None,
    ) -> int:
        """Count requests by method, path fragment and optionally status."""
        return sum(
            1
            for r in self.requests(since)
            if r.method == method.upper()
            and path_contains in r.path
            and (status is None or r.status == status)
        )
