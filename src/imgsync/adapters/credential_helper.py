"""Docker credential helpers (``docker-credential-NAME get``) and their briefly kept answers.

The protocol (github.com/docker/docker-credential-helpers, ``client/client.go``): the
server URL on stdin; on success exit 0 and ``{"ServerURL", "Username", "Secret"}`` on
stdout; on failure a message on stdout and a non-zero exit, where "credentials not
found in native keychain" means the helper holds nothing for that server (anonymous,
not an error). A ``Username`` of ``<token>`` marks ``Secret`` as an identity token
(that project's README), which registries take as an OAuth2 refresh token.

A helper prints the very secret we ask for, and may echo others when it fails, so
its output never reaches a log or an error raw: a failure shows only the helper's
last message line, cut short, with anything token-like masked.
"""

from __future__ import annotations

import json
import re
import subprocess
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field

from imgsync.adapters.credential_keys import Credential
from imgsync.adapters.process import Finished, inherited_env, run
from imgsync.errors import AuthError, ConfigError

PREFIX = "docker-credential-"
#: A cold ``ecr-login`` asks STS and ECR (about a second); ``pass`` may wait for gpg-agent.
HELPER_TIMEOUT = 30.0
#: How long an answer is reused. Long enough that a run asks each host's helper once
#: (a slow helper must not run per repository or per HEAD), short enough that a worker
#: sees a rotated ECR (12 h) or GAR (1 h) token within seconds; an auth failure makes
#: the store ask again at once (:meth:`HelperCache.forget`).
ANSWER_TTL = 30.0
NOT_FOUND = "credentials not found in native keychain"
IDENTITY_TOKEN_USER = "<token>"  # noqa: S105 - a marker, not a password
_TOKEN_LIKE = re.compile(r"[A-Za-z0-9+/=_.:-]{24,}")
_SHOWN = 200


@dataclass(frozen=True, slots=True)
class Helper:
    """One helper as an auth file names it; ``origin`` says where, for messages."""

    name: str
    origin: str

    @property
    def program(self) -> str:
        return f"{PREFIX}{self.name}"


def ask_helper(
    helper: Helper,
    server: str,
    *,
    timeout: float = HELPER_TIMEOUT,
    env: Mapping[str, str] | None = None,
) -> Credential | None:
    """What ``helper`` holds for ``server``; ``None`` when it holds nothing."""
    finished = _run(helper, server, timeout, env)
    if finished.returncode != 0:
        _raise_unless_not_found(helper, server, finished)
        return None
    return _parse(helper, server, finished.stdout)


def _run(helper: Helper, server: str, timeout: float, env: Mapping[str, str] | None) -> Finished:
    try:
        return run([helper.program, "get"], timeout, stdin=server, env=env)
    except FileNotFoundError:
        raise ConfigError(
            f"credential helper {helper.program} ({helper.origin}) is not on PATH: "
            f"install it where imgsync runs (every worker), or remove that entry"
        ) from None
    except subprocess.TimeoutExpired:
        raise _failed(helper, server, f"no answer within {timeout:g} s") from None


def _raise_unless_not_found(helper: Helper, server: str, finished: Finished) -> None:
    """A non-zero exit: "not found" is an answer (``None``), anything else a failure."""
    said = f"{finished.stdout}\n{finished.stderr}"
    if NOT_FOUND not in said.lower():
        raise _failed(helper, server, f"exit status {finished.returncode}: {_gist(said)}")


def _parse(helper: Helper, server: str, stdout: str) -> Credential | None:
    """The helper's JSON answer; its text is never quoted back (it holds the secret)."""
    try:
        answer = json.loads(stdout)
    except ValueError:
        answer = None
    if not isinstance(answer, dict):
        raise _failed(helper, server, "its answer is not a JSON object")
    username, secret = answer.get("Username"), answer.get("Secret")
    if not isinstance(username, str) or not isinstance(secret, str):
        raise _failed(helper, server, "its answer lacks the strings Username and Secret")
    if secret and not username:
        raise _failed(helper, server, "its answer has a Secret but no Username")
    if not secret:
        return None
    return Credential(username, secret, identity_token=username == IDENTITY_TOKEN_USER)


def _failed(helper: Helper, server: str, why: str) -> AuthError:
    return AuthError(
        f"credential helper {helper.program} ({helper.origin}) failed for {server}: {why}; "
        f"check the helper's own login (aws, gcloud, …) or run "
        f"`echo {server} | {helper.program} get` where imgsync runs",
        url=server,
    )


def _gist(text: str) -> str:
    """The helper's last message line, token-like words masked, cut to a readable size."""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    last = _TOKEN_LIKE.sub("***", lines[-1]) if lines else "no message"
    return last if len(last) <= _SHOWN else last[:_SHOWN] + "…"


Outcome = tuple[Credential | None, Exception | None]
"""``(credential, error)``: what asking a helper came to; failures are kept as well."""
Answer = tuple[Credential | None, Exception | None, float]
"""An :data:`Outcome` and when it was asked."""


@dataclass
class HelperCache:
    """Helper answers per ``(program, server)`` for :data:`ANSWER_TTL` seconds.

    Failures are kept too, so a broken or hanging helper costs one call per TTL, not
    one per mapping. Concurrent lookups of one key wait for the single call in flight.
    ``on_secret`` hears every new secret (the process's log masking). Helpers get our
    whole environment (they need ``AWS_*``, ``CLOUDSDK_*``, ``DBUS_*``) except the
    variables named in ``hidden``: imgsync's own settings, its tokens among them.
    """

    ttl: float = ANSWER_TTL
    timeout: float = HELPER_TIMEOUT
    hidden: frozenset[str] = frozenset()
    on_secret: Callable[[Iterable[str]], None] | None = None
    clock: Callable[[], float] = time.monotonic
    _answers: dict[tuple[str, str], Answer] = field(default_factory=dict, repr=False)
    _locks: dict[tuple[str, str], threading.Lock] = field(default_factory=dict, repr=False)
    _guard: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def ask(self, helper: Helper, server: str) -> Credential | None:
        """The helper's (possibly remembered) answer; a remembered failure is raised again."""
        key = (helper.program, server)
        with self._guard:
            lock = self._locks.setdefault(key, threading.Lock())
        with lock:
            credential, error = self._remembered(key) or self._fetch(key, helper)
        if error is not None:
            raise error.with_traceback(None)
        return credential

    def _remembered(self, key: tuple[str, str]) -> Outcome | None:
        with self._guard:
            answer = self._answers.get(key)
        if answer is None or self.clock() - answer[2] >= self.ttl:
            return None
        return answer[0], answer[1]

    def _fetch(self, key: tuple[str, str], helper: Helper) -> Outcome:
        outcome = self._call(helper, key[1])
        if outcome[0] is not None and self.on_secret is not None:
            self.on_secret(outcome[0].secret_forms())
        with self._guard:
            self._answers[key] = (*outcome, self.clock())
        return outcome

    def _call(self, helper: Helper, server: str) -> Outcome:
        env = inherited_env(self.hidden)
        try:
            return ask_helper(helper, server, timeout=self.timeout, env=env), None
        except (AuthError, ConfigError) as exc:
            return None, exc

    def forget(self, server: str) -> None:
        """Drop every answer about ``server``: the next lookup asks its helper again."""
        with self._guard:
            for key in [k for k in self._answers if k[1] == server]:
                del self._answers[key]

    def secrets(self) -> tuple[str, ...]:
        """Every secret a helper handed out and is still remembered, for redaction."""
        with self._guard:
            found = [a[0] for a in self._answers.values() if a[0] is not None]
        return tuple(dict.fromkeys(form for c in found for form in c.secret_forms()))
