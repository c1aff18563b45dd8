"""The benchmark's vocabulary: a case (what to sync) and a measurement (what one run cost)."""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from tests.rig.registry import Request, parse_access_log

TAG = "latest"


@dataclass(frozen=True)
class Case:
    """One run's input: ``n`` source repositories mirrored under ``dest_prefix``.

    Every tool gets the same mapping: ``SRC/<repo>:latest`` → ``DST/<prefix>/<repo>:latest``,
    the layout ``skopeo sync`` produces, so all competitors write the same destinations.
    """

    scenario: str
    n: int
    src_host: str
    dst_host: str
    src_repos: tuple[str, ...]
    dest_prefix: str
    workdir: Path
    env: dict[str, str]
    expect_copies: int = 0

    def pairs(self) -> list[tuple[str, str]]:
        """``(source, destination)`` references, in order."""
        return [
            (f"{self.src_host}/{repo}:{TAG}", f"{self.dst_host}/{self.dest_prefix}/{repo}:{TAG}")
            for repo in self.src_repos
        ]

    def write_mappings(self) -> Path:
        """``SRC=DST`` lines: imgsync's mapping syntax and the loop's input."""
        path = self.workdir / "mappings.txt"
        path.write_text("".join(f"{src}={dst}\n" for src, dst in self.pairs()))
        return path


@dataclass
class Measurement:
    """Everything recorded about one run of one competitor (the JSON keeps all of it)."""

    competitor: str
    scenario: str
    n: int
    rep: int
    wall_s: float
    ok: bool
    counts: dict[str, int] = field(default_factory=dict)
    run_phase_s: float | None = None
    startup_s: float | None = None
    src_manifest_gets: int = 0
    src_manifest_heads: int = 0
    src_requests: int = 0
    dst_requests: int = 0
    dst_manifest_puts: int = 0
    token_requests: int = 0
    new_connections: dict[str, int] = field(default_factory=dict)
    imgsync_rss_kb: int | None = None
    worker_rss_kb: list[int] = field(default_factory=list)
    #: Pool processes each Celery worker node ran (counted, not what was asked for).
    worker_pool_sizes: list[int] = field(default_factory=list)
    tool_cpu_s: float | None = None
    other_cpu_s: float | None = None
    loadavg_1m: float | None = None
    error: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class LogCursor:
    """Reads a registry access log from a byte offset, so each run parses only its own lines."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def mark(self) -> int:
        return self.path.stat().st_size if self.path.exists() else 0

    def since(self, offset: int, settle: float = 0.05) -> list[Request]:
        """Requests logged after ``offset``, once the log stopped growing.

        The registry writes a line after its response, so wait until two reads agree.
        """
        size = self.mark()
        deadline = time.monotonic() + 2.0
        while time.monotonic() < deadline:
            time.sleep(settle)
            again = self.mark()
            if again == size:
                break
            size = again
        with self.path.open("rb") as handle:
            handle.seek(offset)
            text = handle.read(size - offset).decode(errors="replace")
        return parse_access_log(text)


def count(requests: list[Request], method: str, fragment: str = "/manifests/") -> int:
    """How many requests used ``method`` on a path containing ``fragment``."""
    return sum(1 for r in requests if r.method == method and fragment in r.path)
