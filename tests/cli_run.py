"""Run the real ``imgsync`` command as a subprocess, the way users and CI run it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jsonschema

from tests.rig.authfile import write_auths
from tests.rig.oci import SeedImage
from tests.rig.poller import Poller
from tests.rig.registry import Registry

IMGSYNC = [sys.executable, "-m", "imgsync"]
#: The documented format of ``--report``; every report a :class:`Rig` reads is checked against it.
REPORT_SCHEMA = json.loads((Path(__file__).parent / "data" / "report.schema.json").read_text())
#: Environment variables of the developer's shell that must not leak into a test run.
SCRUBBED = (
    "DOCKER_SYNC_MAPPINGS",
    "DOCKERHUB_USERNAME",
    "DOCKERHUB_TOKEN",
    "REGISTRY_AUTH_FILE",
    "IMGSYNC_BROKER_URL",
    "IMGSYNC_RESULT_BACKEND",
    "IMGSYNC_NOTIFY",
    "WPUSH_KEY",
    "WXPUSHER_APP_TOKEN",
    "WXPUSHER_SPT",
    "GITHUB_STEP_SUMMARY",
)


@dataclass(frozen=True)
class Ran:
    """What one run printed and returned, plus its JSON report when one was asked for."""

    returncode: int
    stdout: str
    stderr: str
    report: dict[str, Any] | None

    @property
    def output(self) -> str:
        return self.stdout + self.stderr

    def result_for(self, destination_fragment: str) -> dict[str, Any]:
        assert self.report is not None
        found = [r for r in self.report["results"] if destination_fragment in r["destination"]]
        assert len(found) == 1, (destination_fragment, self.report["results"])
        return found[0]


def base_env(home: Path, **extra: str) -> dict[str, str]:
    """A clean environment: HOME points at an empty dir so no real docker config is read."""
    env = {k: v for k, v in os.environ.items() if k not in SCRUBBED}
    env["HOME"] = str(home)
    env.update(extra)
    return env


def authfile_for(path: Path, registries: Iterable[Registry]) -> Path:
    """An auth.json with the credentials of every registry that has some."""
    write_auths(path, {r.host: r.credentials for r in registries if r.credentials})
    return path


def insecure(*registries: Registry) -> str:
    return ",".join(r.host for r in registries)


def registry_env(
    home: Path, *registries: Registry, hosts: Iterable[str] = (), **extra: str
) -> dict[str, str]:
    """:func:`base_env` that knows ``registries``: their credentials in an auth file under
    ``home``, their hosts and ``hosts`` (proxies in front of them) plain http."""
    home.mkdir(parents=True, exist_ok=True)
    auth = authfile_for(home / "auth.json", registries)
    every_host = ",".join([*(r.host for r in registries), *hosts])
    return base_env(
        home, REGISTRY_AUTH_FILE=str(auth), IMGSYNC_INSECURE_REGISTRIES=every_host, **extra
    )


def run_imgsync(
    args: Sequence[str],
    env: Mapping[str, str],
    *,
    report: Path | None = None,
    timeout: float = 180,
    stdin: str | None = None,
) -> Ran:
    """Run ``python -m imgsync ARGS``; read the report back when ``report`` is given."""
    argv = [*IMGSYNC, *args, *(["--report", str(report)] if report else [])]
    proc = subprocess.run(
        argv, env=dict(env), capture_output=True, text=True, timeout=timeout, input=stdin
    )
    data = json.loads(report.read_text()) if report and report.exists() else None
    return Ran(proc.returncode, proc.stdout, proc.stderr, data)


@dataclass(frozen=True)
class Rig:
    """One test's world: the session registries, a repository of its own, a seeder, and a
    clean environment that knows them all (credentials in an auth file, plain http)."""

    tmp_path: Path
    anon: Registry
    basic: Registry
    token: Registry
    repo: str
    seed_image: SeedImage
    env: dict[str, str]

    def seed(self, registry: Registry, tag: str, **options: Any) -> str:
        """Push the test image to ``registry`` as ``<repo>:tag``; its digest."""
        return self.seed_image(registry, self.repo, tag, **options)

    def sync(
        self,
        *args: str,
        options: Sequence[str] = (),
        timeout: float = 180,
        env: Mapping[str, str] | None = None,
    ) -> Ran:
        """``imgsync OPTIONS sync ARGS`` with the rig's environment plus ``env``, reporting
        to a fresh file; a report it writes must match the documented schema."""
        report = self.tmp_path / "report.json"
        report.unlink(missing_ok=True)
        argv = [*options, "sync", *args]
        ran = run_imgsync(argv, {**self.env, **(env or {})}, report=report, timeout=timeout)
        if ran.report is not None:
            jsonschema.validate(ran.report, REPORT_SCHEMA)
        return ran


class CmdlineSampler(Poller):
    """Samples every process's command line and environment while a run goes on."""

    interval = 0.02

    def __init__(self) -> None:
        super().__init__()
        self.seen: list[str] = []

    def poll(self) -> None:
        for proc in Path("/proc").iterdir():
            if proc.name.isdigit():
                self._sample(proc)

    def _sample(self, proc: Path) -> None:
        try:
            cmdline = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            return
        if "skopeo" in cmdline or "imgsync" in cmdline:
            self.seen.append(cmdline)

    @property
    def skopeo_seen(self) -> bool:
        return any("skopeo copy" in line for line in self.seen)
