"""Child processes that never outlive the call that started them.

A skopeo copy can hang on a stalled registry for hours. It runs in its own
session (process group), so one ``killpg`` reaches it and anything it spawns;
the group is killed on timeout and whenever the waiting thread is interrupted
(``KeyboardInterrupt``, Celery's soft time limit). That does not help when our
own process is SIGKILLed (Celery's hard time limit, the OOM killer): there
Linux's ``PR_SET_PDEATHSIG`` makes the kernel SIGKILL the child for us.

PDEATHSIG fires when the *thread* that forked the child ends, so start the
child from the thread that waits for it (as :func:`run` does).
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import subprocess
import sys
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass

#: How long a child gets between SIGTERM and SIGKILL.
GRACE_S = 5.0
_PR_SET_PDEATHSIG = 1
#: What a child may see of our environment: enough to run and reach a proxy, no tokens.
_PASSED_ENV = (
    "PATH",
    "HOME",
    "LANG",
    "LC_ALL",
    "TMPDIR",
    "XDG_RUNTIME_DIR",
    "SSL_CERT_FILE",
    "SSL_CERT_DIR",
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "NO_PROXY",
    "http_proxy",
    "https_proxy",
    "no_proxy",
    "CONTAINERS_REGISTRIES_CONF",
    "CONTAINERS_POLICY_JSON",
)


def child_env() -> dict[str, str]:
    """Our environment minus everything not listed: DOCKERHUB_TOKEN and friends stay here."""
    return {name: os.environ[name] for name in _PASSED_ENV if name in os.environ}


def inherited_env(hidden: Collection[str]) -> dict[str, str]:
    """Our whole environment minus ``hidden``: for programs that need the user's own
    settings to work (credential helpers read ``AWS_*``, ``CLOUDSDK_*``, ``DBUS_*``)."""
    return {name: value for name, value in os.environ.items() if name not in hidden}


def _load_prctl() -> Callable[..., int] | None:
    """Resolve ``prctl`` before any fork: loading a library in a forked child can deadlock."""
    if not sys.platform.startswith("linux"):
        return None
    prctl: Callable[..., int] = ctypes.CDLL(None, use_errno=True).prctl
    return prctl


_PRCTL = _load_prctl()


@dataclass(frozen=True, slots=True)
class Finished:
    """A child that exited on its own, with everything it printed."""

    returncode: int
    stdout: str
    stderr: str


def run(
    argv: Sequence[str],
    timeout: float,
    *,
    stdin: str | None = None,
    env: Mapping[str, str] | None = None,
) -> Finished:
    """Run ``argv`` to completion; kill its process group on timeout or interrupt.

    ``stdin`` is written to the child (none by default); ``env`` replaces
    :func:`child_env`. Raises :class:`subprocess.TimeoutExpired` (with the output
    so far) after ``timeout`` seconds, once the group is dead; ``FileNotFoundError``
    if the program does not exist.
    """
    child = _spawn(argv, stdin is not None, env if env is not None else child_env())
    try:
        stdout, stderr = child.communicate(stdin, timeout=timeout)
    except subprocess.TimeoutExpired:
        stdout, stderr = _stop(child)
        raise subprocess.TimeoutExpired(argv, timeout, stdout, stderr) from None
    except BaseException:
        _stop(child)
        raise
    return Finished(child.returncode, stdout, stderr)


def _spawn(argv: Sequence[str], piped: bool, env: Mapping[str, str]) -> subprocess.Popen[str]:
    return subprocess.Popen(
        list(argv),
        stdin=subprocess.PIPE if piped else subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        encoding="utf-8",
        errors="replace",
        start_new_session=True,
        env=dict(env),
        preexec_fn=_die_with_parent_hook(),  # noqa: PLW1509 - nothing else can set PDEATHSIG
    )


def _die_with_parent_hook() -> Callable[[], None] | None:
    """A ``preexec_fn`` asking the kernel to SIGKILL the child when this thread dies."""
    prctl = _PRCTL
    if prctl is None:
        return None
    parent = os.getpid()

    def hook() -> None:
        prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        if os.getppid() != parent:  # the parent died before prctl took effect
            os.kill(os.getpid(), signal.SIGKILL)

    return hook


def _stop(child: subprocess.Popen[str]) -> tuple[str, str]:
    """SIGTERM the child's group, SIGKILL it after :data:`GRACE_S`; return the output left."""
    _signal_group(child, signal.SIGTERM)
    try:
        return child.communicate(timeout=GRACE_S)
    except subprocess.TimeoutExpired:
        _signal_group(child, signal.SIGKILL)
        return child.communicate()


def _signal_group(child: subprocess.Popen[str], sig: signal.Signals) -> None:
    """Signal the whole group; the leader is not reaped yet, so its id cannot be reused."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(child.pid, sig)
