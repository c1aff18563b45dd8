"""Secrets stay out of logged tracebacks and stacks: in the CLI and in Celery workers.

A log filter masks a record's message only; a traceback is formatted later, from the
exception itself. These tests put configured secrets inside exceptions that a
*library* raises (``int()``, ``ipaddress`` and ``urllib3`` quote what they reject) and
read what the formatter wrote: ``log.exception``, ``exc_info=True``, a chained cause,
``stack_info=True``, uncaught exceptions, Celery's own formatters.

The end-to-end runs (a real ``imgsync sync`` process, a real worker) need a fault
that today's adapters do not produce on their own (they wrap every library error they
know in a redacted ``ImgsyncError``): a small launcher, :data:`PLANT`, replaces one
method before running the real command so that it fails the way an unforeseen
library error would, with the secrets in the exception's text.
"""

from __future__ import annotations

import contextlib
import importlib.util
import io
import ipaddress
import json
import logging
import secrets
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import urllib3
from celery import Celery
from celery.app.log import TaskFormatter
from celery.utils.log import ColorFormatter

from imgsync.adapters.log_redaction import SecretSet, wear_redaction
from imgsync.adapters.redact import MASK
from imgsync.producer.logs import cli_handler
from tests.celery_rig import (
    Cluster,
    WorkerProcess,
    _die_with_parent,
    fresh_redis_db,
    unique_name,
)
from tests.cli_run import Ran, base_env
from tests.reliability_rig import celery_env
from tests.rig.authfile import write_auths
from tests.rig.redis_server import RedisServer

SECRET = f"tok{secrets.token_hex(12)}"
MAPPING = "127.0.0.1:1/src/app=127.0.0.1:2/dst/app"

LibraryCall = Callable[[str], object]
#: Library calls that quote the text they reject in their exception.
LIBRARY_FAILURES: dict[str, LibraryCall] = {
    "int": int,
    "ipaddress": ipaddress.ip_address,
    "urllib3": lambda text: urllib3.util.parse_url(f"http://[{text}"),
}


def _library_error(call: LibraryCall, text: str) -> Exception:
    """The exception ``call`` raises for ``text``; it must quote the text, or the test is moot."""
    try:
        call(text)
    except Exception as exc:
        assert text in str(exc)
        return exc
    raise AssertionError(f"{call} accepted {text!r}")


@contextlib.contextmanager
def captured(
    known: SecretSet, *more: logging.Handler
) -> Iterator[tuple[logging.Logger, io.StringIO]]:
    """A logger wearing the CLI's handler (writing to a buffer), plus ``more`` handlers."""
    stream = io.StringIO()
    log = logging.getLogger(f"test.redaction.{uuid.uuid4().hex}")
    log.propagate, log.handlers = False, [cli_handler(known, stream), *more]
    log.setLevel(logging.DEBUG)
    try:
        yield log, stream
    finally:
        log.handlers = []


def assert_masked(text: str, *secrets_: str) -> None:
    assert MASK in text
    for secret in secrets_:
        assert secret not in text


# ------------------------------------------------------------------ the formatter


def _log_exception(log: logging.Logger, exc: Exception) -> None:
    try:
        raise exc
    except Exception:
        log.exception("lookup failed")


def _log_exc_info(log: logging.Logger, exc: Exception) -> None:
    try:
        raise exc
    except Exception:
        log.error("lookup failed", exc_info=True)


def _log_chained(log: logging.Logger, exc: Exception) -> None:
    """The adapters' own pattern: a clean message, the library's error as the cause."""
    try:
        try:
            raise exc
        except Exception as cause:
            raise RuntimeError("registry lookup failed") from cause
    except RuntimeError as wrapped:
        log.warning("lookup failed", exc_info=wrapped)


@pytest.mark.parametrize("library", sorted(LIBRARY_FAILURES))
@pytest.mark.parametrize("emit", [_log_exception, _log_exc_info, _log_chained])
def test_a_secret_in_a_library_exception_is_masked_in_the_logged_traceback(
    library: str, emit: Callable[[logging.Logger, Exception], None]
) -> None:
    exc = _library_error(LIBRARY_FAILURES[library], SECRET)
    with captured(SecretSet([SECRET])) as (log, stream):
        emit(log, exc)
    assert "Traceback (most recent call last)" in stream.getvalue()
    assert_masked(stream.getvalue(), SECRET)


def test_a_secret_in_a_message_argument_is_masked() -> None:
    with captured(SecretSet([SECRET])) as (log, stream):
        log.warning("answer from %s", {"token": SECRET})
    assert_masked(stream.getvalue(), SECRET)


def test_a_secret_on_a_line_of_the_logged_stack_is_masked(tmp_path: Path) -> None:
    """``stack_info`` prints source lines; the secret is a broker URL's password alone."""
    password = f"pw{secrets.token_hex(8)}"
    module = tmp_path / "connects.py"
    module.write_text(
        f"def connect(log):\n    log.info('connecting', stack_info=True); password = {password!r}\n"
    )
    spec = importlib.util.spec_from_file_location("connects", module)
    assert spec is not None and spec.loader is not None
    connects = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(connects)
    with captured(SecretSet([f"redis://:{password}@127.0.0.1:6379/0"])) as (log, stream):
        connects.connect(log)
    assert "Stack (most recent call last)" in stream.getvalue()
    assert_masked(stream.getvalue(), password)


def test_the_cached_exception_text_other_handlers_reuse_is_masked() -> None:
    """``record.exc_text`` is formatted once and reused by every later handler."""
    plain = io.StringIO()
    later = logging.StreamHandler(plain)
    later.setFormatter(logging.Formatter("%(message)s"))
    with captured(SecretSet([SECRET]), later) as (log, stream):
        _log_exc_info(log, _library_error(int, SECRET))
    assert_masked(stream.getvalue(), SECRET)
    assert_masked(plain.getvalue(), SECRET)


def test_a_traceback_cached_unmasked_by_a_foreign_handler_is_still_masked_in_ours() -> None:
    foreign = logging.StreamHandler(io.StringIO())
    foreign.setFormatter(logging.Formatter("%(message)s"))
    stream = io.StringIO()
    log = logging.getLogger(f"test.redaction.{uuid.uuid4().hex}")
    log.propagate, log.handlers = False, [foreign, cli_handler(SecretSet([SECRET]), stream)]
    _log_exc_info(log, _library_error(int, SECRET))
    assert_masked(stream.getvalue(), SECRET)


def test_secrets_learnt_later_are_masked_by_handlers_made_earlier() -> None:
    known = SecretSet()
    with captured(known) as (log, stream):
        known.add([SECRET])  # a --config file's credentials, an auth file read per run
        _log_exc_info(log, _library_error(int, SECRET))
    assert_masked(stream.getvalue(), SECRET)


@pytest.mark.parametrize("formatter", ["ColorFormatter", "TaskFormatter"])
def test_celerys_own_formatters_mask_once_wrapped(formatter: str) -> None:
    """What the worker's signal receivers do to the handlers Celery installs."""
    conf = Celery("imgsync-test", set_as_current=False).conf
    made = {
        "ColorFormatter": lambda: ColorFormatter(conf.worker_log_format, use_color=True),
        "TaskFormatter": lambda: TaskFormatter(conf.worker_task_log_format, use_color=True),
    }[formatter]()
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(made)
    wear_redaction(handler, SecretSet([SECRET]))
    log = logging.getLogger(f"test.redaction.{uuid.uuid4().hex}")
    log.propagate, log.handlers = False, [handler]
    _log_chained(log, _library_error(ipaddress.ip_address, SECRET))
    assert "Traceback" in stream.getvalue()
    assert_masked(stream.getvalue(), SECRET)


# ------------------------------------------------------------------ real processes

#: Runs ``imgsync ARGS`` after planting a library failure that quotes the configured
#: secrets (listed in the file ``PLANTED_SECRETS``), where ``PLANT_AT`` says.
PLANT = """
import ipaddress, json, os, runpy, sys

from celery.utils.log import get_task_logger

from imgsync.adapters import registry
from imgsync.producer import sync_command

with open(os.environ["PLANTED_SECRETS"]) as handle:
    SECRETS = json.load(handle)


def library_failure(quoted=SECRETS):
    ipaddress.ip_address(" ".join(quoted))


def head_digest(self, ref, *, push=False):
    try:
        library_failure()
    except ValueError as exc:
        get_task_logger("imgsync.planted").error("planted", exc_info=True)
        if os.environ.get("PLANT_RAW"):
            raise  # unwrapped: the failed result's message quotes the secrets
        raise RuntimeError("registry lookup failed") from exc


def run_sync_command(*args, **kwargs):
    library_failure(SECRETS[:1])  # no auth file is read before the run: the token only


if os.environ["PLANT_AT"] == "registry":
    registry.RegistryClient.head_digest = head_digest
else:
    sync_command.run_sync_command = run_sync_command
sys.argv = ["imgsync", *sys.argv[1:]]
runpy.run_module("imgsync", run_name="__main__")
"""


class Planted:
    """The launcher, the secrets it quotes, and the settings that configure them."""

    def __init__(self, workdir: Path) -> None:
        workdir.mkdir(parents=True, exist_ok=True)
        self.token, self.password = f"dckr_pat_{SECRET}", f"authPw{secrets.token_hex(10)}"
        self.launcher = workdir / "planted_imgsync.py"
        self.launcher.write_text(PLANT)
        listed = workdir / "planted-secrets.json"
        listed.write_text(json.dumps(self.secrets))
        self.authfile = workdir / "auth.json"
        write_auths(self.authfile, {"127.0.0.1:1": ("mirror", self.password)})
        self.env = {
            "DOCKERHUB_USERNAME": "mirror",
            "DOCKERHUB_TOKEN": self.token,
            "REGISTRY_AUTH_FILE": str(self.authfile),
            "PLANTED_SECRETS": str(listed),
            "PLANT_RAW": "1",
        }

    @property
    def secrets(self) -> list[str]:
        return [self.token, self.password]

    def run(self, args: list[str], at: str, home: Path) -> Ran:
        env = base_env(home, **self.env, PLANT_AT=at, IMGSYNC_INSECURE_REGISTRIES="127.0.0.1:1")
        argv = [sys.executable, str(self.launcher), *args]
        proc = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=120)
        return Ran(proc.returncode, proc.stdout, proc.stderr, None)


def test_the_cli_masks_a_logged_traceback_of_an_unexpected_library_error(tmp_path: Path) -> None:
    """Embedded ``sync``: the pipeline logs the unforeseen error with its traceback."""
    planted = Planted(tmp_path)
    ran = planted.run(["sync", "--quiet", "--dry-run", MAPPING], "registry", tmp_path)
    assert ran.returncode == 1, ran.output
    assert "unexpected error" in ran.stderr and "Traceback" in ran.stderr, ran.stderr
    assert "does not appear to be an IPv4 or IPv6 address" in ran.stderr
    assert_masked(ran.output, *planted.secrets)


def test_the_failed_result_quoting_the_error_is_masked_in_every_output(tmp_path: Path) -> None:
    """The result's message quotes the exception: summary, progress line and report too."""
    planted = Planted(tmp_path)
    report = tmp_path / "report.json"
    ran = planted.run(["sync", "--dry-run", "--report", str(report), MAPPING], "registry", tmp_path)
    assert ran.returncode == 1, ran.output
    written = report.read_text()
    assert "does not appear to be an IPv4 or IPv6 address" in written, written
    assert "does not appear to be an IPv4 or IPv6 address" in ran.stdout, ran.stdout
    assert_masked(written + ran.output, *planted.secrets)


def test_the_cli_masks_the_traceback_of_an_uncaught_exception(tmp_path: Path) -> None:
    """Python would print it to stderr itself, past every formatter."""
    planted = Planted(tmp_path)
    ran = planted.run(["sync", "--dry-run", MAPPING], "top", tmp_path)
    assert ran.returncode == 1, ran.output
    assert "CRITICAL imgsync.uncaught: uncaught ValueError" in ran.stderr, ran.stderr
    assert "does not appear to be an IPv4 or IPv6 address" in ran.stderr
    assert_masked(ran.stderr, planted.token)


def _planted_worker(cluster: Cluster, planted: Planted) -> WorkerProcess:
    """Like :meth:`Cluster.spawn_worker`, through the launcher (the pool forks with the plant)."""
    name = unique_name("wplant")
    log_path = cluster.workdir / f"worker-{name}.log"
    handle = log_path.open("wb")
    argv = [sys.executable, str(planted.launcher), "worker", "-c", "1", "-n", f"{name}@%h"]
    proc = subprocess.Popen(
        [*argv, "--loglevel", "INFO"],
        env={**cluster.env, **planted.env, "PLANT_AT": "registry"},
        cwd=cluster.workdir,
        stdin=subprocess.DEVNULL,
        stdout=handle,
        stderr=subprocess.STDOUT,
        start_new_session=True,
        preexec_fn=_die_with_parent,
    )
    worker = WorkerProcess(name, proc, log_path, handle)
    cluster.workers.append(worker)
    return worker


def test_a_worker_masks_tracebacks_in_celerys_own_log_handlers(
    tmp_path: Path, redis_server: RedisServer
) -> None:
    """Celery replaces the CLI's handler in a worker; its root and task handlers must mask."""
    planted = Planted(tmp_path / "plant")
    with fresh_redis_db(redis_server) as url:
        env = celery_env(
            tmp_path / "home",
            broker=url,
            queue=unique_name("q"),
            auth=planted.authfile,
            insecure=["127.0.0.1:1", "127.0.0.1:2"],
        )
        cluster = Cluster(tmp_path, {**env, **planted.env})
        try:
            _planted_worker(cluster, planted).wait_ready()
            ran = cluster.sync(["--dry-run", MAPPING])
        finally:
            cluster.stop()
    log = cluster.logs()
    assert ran.returncode == 1, ran.output + log
    assert "does not appear to be an IPv4 or IPv6 address" in ran.stdout, ran.stdout
    assert_masked(ran.output, *planted.secrets)  # the result the worker stored and reported
    assert "] unexpected error" in log and "]: planted" in log, log  # root and task handlers
    assert "does not appear to be an IPv4 or IPv6 address" in log, log
    assert_masked(log, *planted.secrets)
