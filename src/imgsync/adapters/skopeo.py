"""The one place that runs ``skopeo copy``: command line, credentials, failure classification.

Everything about a copy that can go wrong ends as a :class:`CopyError` whose
``category`` tells users and retries what happened. skopeo 1.9.3 exits 1 for
every failure, so the category comes from its last ``level=fatal msg="..."``
line (:func:`classify_stderr`). Credentials travel in private auth files
(never ``--creds``, which ``ps`` shows), and a side without a credential is
run with ``--*-no-creds`` so that skopeo cannot pick up ambient auth files or
docker credential helpers behind our back.
"""

from __future__ import annotations

import logging
import re
import shlex
import subprocess
import tempfile
from collections.abc import Iterable, Sequence
from contextlib import AbstractContextManager, ExitStack
from dataclasses import dataclass
from pathlib import Path

from imgsync.adapters.credentials import (
    Credential,
    CredentialStore,
    private_authfile,
    registry_host,
)
from imgsync.adapters.process import Finished, run
from imgsync.adapters.redact import redact
from imgsync.core.reference import DOCKER_HUB, ImageReference
from imgsync.core.result import Category
from imgsync.errors import CopyError

log = logging.getLogger(__name__)

#: How much of skopeo's stderr a CopyError keeps.
STDERR_TAIL = 2000
MISSING_SKOPEO = "skopeo not found on PATH; install it: apt-get install skopeo"
_FATAL = re.compile(r'level=fatal msg="((?:[^"\\]|\\.)*)"')
_ESCAPES = {"n": "\n", "t": "\t"}


def _rule(category: Category, *patterns: str) -> tuple[Category, re.Pattern[str]]:
    return category, re.compile("|".join(patterns), re.IGNORECASE)


#: First match wins, so the order is a decision:
#:
#: 1. rate_limited: a 429 is unambiguous, and Docker Hub's 429 body talks about
#:    "authenticating", which must not read as an auth failure.
#: 2. auth before not_found: registries that hide private repositories answer
#:    anonymous or wrong-credential requests with 401/403 bodies such as
#:    "denied: repository does not exist or may require authorization" or
#:    Harbor's "unauthorized: project not found". Credentials are what the user
#:    can fix; calling it not_found would send them hunting for a missing image.
#: 3. not_found, digest_mismatch: definite registry answers.
#: 4. unsupported before network: "server gave HTTP response to HTTPS client"
#:    and x509 errors are configuration problems (a plain-http or self-signed
#:    registry not listed as insecure); network is retryable and retrying them
#:    only burns time, so they are ``unsupported`` ("we cannot talk to it as
#:    configured") and the message gets a hint.
#: 5. network: transport failures and 5xx, worth retrying later.
#: "permission denied" is a local file error, not a registry denial.
RULES: tuple[tuple[Category, re.Pattern[str]], ...] = (
    _rule(
        Category.RATE_LIMITED,
        r"toomanyrequests",
        r"too many requests",
        r"status ?code:?\s*429\b",
        r"http status:?\s*429\b",
    ),
    _rule(
        Category.AUTH,
        r"unauthorized",
        r"authentication required",
        r"invalid username/password",
        r"(?<!permission )\bdenied\b",
        r"\bforbidden\b",
        r"status ?code:?\s*40[13]\b",
        r"http status:?\s*40[13]\b",
    ),
    _rule(
        Category.NOT_FOUND,
        r"manifest unknown",
        r"name unknown",
        r"not found",
        r"status ?code:?\s*404\b",
        r"http status:?\s*404\b",
    ),
    _rule(Category.DIGEST_MISMATCH, r"digests? did not match", r"digests? do(?:es)? not match"),
    _rule(
        Category.UNSUPPORTED,
        r"unsupported (?:media|manifest|mime) type",
        r"(?:invalid|unknown) media ?type",
        r"manifest invalid",
        r"unsupported schema version",  # skopeo 1.9.3 on a manifest media type it does not know
        r"server gave http response to https client",
        r"\bx509: ",
    ),
    _rule(
        Category.NETWORK,
        r"connection refused",
        r"no such host",
        r"i/o timeout",
        r"connection reset",
        r"\bEOF\b",
        r"tls handshake timeout",
        r"timeout awaiting response headers",
        r"network is unreachable",
        r"no route to host",
        r"temporary failure in name resolution",
        r"server misbehaving",
        r"broken pipe",
        r"status ?code:?\s*5\d\d\b",
        r"http status:?\s*5\d\d\b",
        # skopeo 1.9.3 writes "503 Service Unavailable" and "registry 503 (Service Unavailable)"
        r"\b5\d\d \(?(?:internal server error|bad gateway|service unavailable|gateway timeout)",
    ),
)

_HINTS = {
    "unsupported schema version": "a manifest media type skopeo cannot copy (not image or index)",
    "server gave HTTP response to HTTPS client": "a plain-HTTP registry: list it as insecure",
    "x509: ": "TLS certificate not trusted: fix the certificate or list the registry as insecure",
}


def fatal_message(stderr: str) -> str:
    """The last ``level=fatal msg="..."`` text, unquoted; else the last non-empty line."""
    found = _FATAL.findall(stderr)
    if found:
        text = re.sub(r"\\(.)", lambda m: _ESCAPES.get(m[1], m[1]), found[-1])
        return " ".join(text.split())
    lines = [line.strip() for line in stderr.splitlines() if line.strip()]
    return lines[-1] if lines else ""


def _match(text: str) -> Category | None:
    return next((category for category, pattern in RULES if pattern.search(text)), None)


def classify_stderr(text: str) -> Category:
    """The :class:`Category` of skopeo's stderr; pure and table-driven (:data:`RULES`).

    The final fatal message decides; earlier lines (retry warnings about
    other errors) are consulted only when it matches nothing.
    """
    return _match(fatal_message(text)) or _match(text) or Category.OTHER


def _with_hint(message: str) -> str:
    hints = [hint for needle, hint in _HINTS.items() if needle.lower() in message.lower()]
    return f"{message} (hint: {hints[0]})" if hints else message


def _run(argv: Sequence[str], timeout: float, *, secrets: Iterable[str] = ()) -> Finished:
    """Run skopeo: the single choke point, turning a hang or a missing binary into CopyError."""
    try:
        return run(argv, timeout)
    except subprocess.TimeoutExpired as exc:
        message = f"skopeo did not finish within {timeout:g} s and was killed"
        stderr = redact(str(exc.stderr or ""), tuple(secrets))[-STDERR_TAIL:]
        raise CopyError(
            message, argv=_shown(argv, secrets), stderr=stderr, category=Category.TIMEOUT
        ) from None
    except FileNotFoundError:
        message = MISSING_SKOPEO if argv[0] == "skopeo" else f"{argv[0]}: {MISSING_SKOPEO}"
        raise CopyError(message, argv=_shown(argv, secrets)) from None


def _shown(argv: Sequence[str], secrets: Iterable[str]) -> tuple[str, ...]:
    """``argv`` as it may appear in errors and logs (auth file paths are fine to show)."""
    known = tuple(secrets)
    return tuple(redact(arg, known) for arg in argv)


def _failure(argv: Sequence[str], finished: Finished, secrets: Sequence[str]) -> CopyError:
    """A CopyError for a non-zero exit: redact first, then cut, so no secret is half-kept."""
    stderr = redact(finished.stderr, secrets)
    message = fatal_message(stderr) or f"skopeo exited with status {finished.returncode}"
    return CopyError(
        _with_hint(message),
        argv=_shown(argv, secrets),
        returncode=finished.returncode,
        stderr=stderr[-STDERR_TAIL:],
        category=classify_stderr(stderr),
    )


def docker_ref(ref: ImageReference, *, prefer_digest: bool) -> str:
    """``docker://`` form; skopeo refuses tag *and* digest, so keep one of them."""
    if ref.digest and (prefer_digest or not ref.tag):
        return f"docker://{ref.name}@{ref.digest}"
    return f"docker://{ref.name}:{ref.tag or 'latest'}"


def _read_digest(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8").strip() or None
    except FileNotFoundError:
        return None


@dataclass(frozen=True, slots=True)
class CopyCredentials:
    """One copy's credentials; a ``chosen`` source one (an account of several) came from
    the caller, so it is not the store's to refresh."""

    source: Credential | None
    destination: Credential | None
    chosen: bool = False

    def given(self) -> list[Credential]:
        return [c for c in (self.source, self.destination) if c is not None]


def _authfile(
    ref: ImageReference, credential: Credential | None
) -> AbstractContextManager[Path | None]:
    return private_authfile({registry_host(ref.registry): credential})


class SkopeoCopier:
    """Copies one image (all architectures, digests preserved) between registries."""

    def __init__(
        self,
        credentials: CredentialStore,
        *,
        insecure: Iterable[str] = (),
        retry_times: int = 3,
        timeout: float = 3600.0,
        skopeo: str = "skopeo",
    ) -> None:
        self._credentials = credentials
        self._insecure = frozenset(registry_host(host) for host in insecure) - {DOCKER_HUB}
        self._retry_times = retry_times
        self._timeout = timeout
        self._skopeo = skopeo

    def copy(
        self,
        source: ImageReference,
        destination: ImageReference,
        *,
        source_credential: Credential | None = None,
    ) -> str | None:
        """Copy ``source`` to ``destination``; the digest skopeo wrote, or ``None``.

        The source is read by digest when it has one (that is what was
        compared); the destination is written by tag. ``source_credential``
        reads the source as one of several accounts (quota spreading).
        Credentials are looked up for this copy; an ``auth`` failure right after
        one changed (a rotated ECR or GAR token) is retried once with the new one.
        """
        used = self._credentials_for(source, destination, source_credential)
        try:
            return self._copy_with(source, destination, used)
        except CopyError as exc:
            if exc.category is not Category.AUTH or not self._rotated(source, destination, used):
                raise
        log.warning("%s refused credentials that have changed since; retrying once", destination)
        fresh = self._credentials_for(source, destination, source_credential)
        return self._copy_with(source, destination, fresh)

    def _credentials_for(
        self, source: ImageReference, destination: ImageReference, chosen: Credential | None
    ) -> CopyCredentials:
        """This copy's credentials, asked now (a helper's answer is at most seconds old)."""
        lookup = self._credentials.lookup
        return CopyCredentials(
            chosen or lookup(source.name), lookup(destination.name), chosen is not None
        )

    def _rotated(
        self, source: ImageReference, destination: ImageReference, used: CopyCredentials
    ) -> bool:
        """Whether either side's credential is another one now (both sides are asked)."""
        changed = self._credentials.fresh(destination.name, used.destination)
        return (not used.chosen and self._credentials.fresh(source.name, used.source)) or changed

    def _copy_with(
        self, source: ImageReference, destination: ImageReference, used: CopyCredentials
    ) -> str | None:
        with ExitStack() as stack:
            work = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="imgsync-copy-")))
            src_auth = stack.enter_context(_authfile(source, used.source))
            dst_auth = stack.enter_context(_authfile(destination, used.destination))
            argv = self.argv(source, destination, src_auth, dst_auth, work / "digest")
            self._execute(argv, used.given())
            digest = _read_digest(work / "digest")
        log.info("copied %s to %s (%s)", source, destination, digest or "no digest")
        return digest

    def argv(
        self,
        source: ImageReference,
        destination: ImageReference,
        src_auth: Path | None,
        dst_auth: Path | None,
        digestfile: Path,
    ) -> list[str]:
        """The exact command line (public so that it can be shown in ``--dry-run``)."""
        return [
            *(self._skopeo, "copy", "--all", "--preserve-digests"),
            *("--retry-times", str(self._retry_times), "--digestfile", str(digestfile)),
            *self._side_flags("src", source.registry, src_auth),
            *self._side_flags("dest", destination.registry, dst_auth),
            docker_ref(source, prefer_digest=True),
            docker_ref(destination, prefer_digest=False),
        ]

    def _side_flags(self, side: str, registry: str, authfile: Path | None) -> list[str]:
        flags = [f"--{side}-tls-verify=false"] if registry_host(registry) in self._insecure else []
        if authfile is None:
            return [*flags, f"--{side}-no-creds"]
        return [*flags, f"--{side}-authfile", str(authfile)]

    def _execute(self, argv: Sequence[str], used: Sequence[Credential] = ()) -> None:
        forms = (form for credential in used for form in credential.secret_forms())
        secrets = tuple(dict.fromkeys((*forms, *self._credentials.secrets())))
        log.debug("running %s", shlex.join(_shown(argv, secrets)))
        finished = _run(argv, self._timeout, secrets=secrets)
        if finished.returncode != 0:
            raise _failure(argv, finished, secrets)
