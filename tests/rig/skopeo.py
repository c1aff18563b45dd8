"""Thin test-side wrapper around `skopeo copy`, returning output for assertions."""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path

from .proc import require_binary


class SkopeoError(RuntimeError):
    """skopeo exited non-zero; the message carries its stderr tail."""


@dataclass(frozen=True)
class SkopeoResult:
    """Exit code and output of one skopeo run."""

    args: tuple[str, ...]
    returncode: int
    stdout: str
    stderr: str

    @property
    def ok(self) -> bool:
        """True when skopeo exited 0."""
        return self.returncode == 0

    def check(self) -> SkopeoResult:
        """Raise SkopeoError unless skopeo succeeded."""
        if not self.ok:
            raise SkopeoError(f"skopeo {' '.join(self.args[1:3])} failed: {self.stderr[-1500:]}")
        return self


def copy_args(
    src: str, dest: str, dest_authfile: Path | None, src_authfile: Path | None
) -> list[str]:
    """Argument list for an --all --preserve-digests copy over plain http."""
    args = [require_binary("skopeo"), "--insecure-policy", "copy", "--all", "--preserve-digests"]
    args += ["--src-tls-verify=false", "--dest-tls-verify=false"]
    if dest_authfile is not None:
        args += ["--dest-authfile", str(dest_authfile)]
    if src_authfile is not None:
        args += ["--src-authfile", str(src_authfile)]
    return [*args, src, dest]


def skopeo_copy(
    src: str,
    dest: str,
    *,
    dest_authfile: Path | None = None,
    src_authfile: Path | None = None,
    timeout: float = 120.0,
) -> SkopeoResult:
    """Run `skopeo copy` and capture its output (never raises on a failed copy)."""
    args = copy_args(src, dest, dest_authfile, src_authfile)
    proc = subprocess.run(args, capture_output=True, text=True, timeout=timeout, check=False)
    return SkopeoResult(tuple(args), proc.returncode, proc.stdout, proc.stderr)
