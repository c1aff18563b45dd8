"""The one place that runs ``skopeo copy``: command line, credentials, failure classification.

Everything about a copy that can go wrong ends as a :class:`CopyError` whose
``category`` tells users and retries what happened; skopeo's stderr is read in
:mod:`imgsync.adapters.skopeo_stderr`. Credentials travel in private auth files
(never ``--creds``, which ``ps`` shows), and a side without a credential is
run with ``--*-no-creds`` so that skopeo cannot pick up ambient auth files or
docker credential helpers behind our back.
"""

from __future__ import annotations

import logging
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
from imgsync.adapters.skopeo_stderr import classify_stderr, fatal_message, with_hint
from imgsync.core.manifest_format import Format
from imgsync.core.reference import DOCKER_HUB, ImageReference
from imgsync.core.result import Category
from imgsync.errors import CopyError

__all__ = [
    "MISSING_SKOPEO",
    "CopyCredentials",
    "SkopeoCopier",
    "classify_stderr",  # lives in skopeo_stderr; importable from here as before
    "docker_ref",
    "fatal_message",
]

log = logging.getLogger(__name__)

#: How much of skopeo's stderr a CopyError keeps.
STDERR_TAIL = 2000
MISSING_SKOPEO = "skopeo not found on PATH; install it: apt-get install skopeo"


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
        with_hint(message),
        argv=_shown(argv, secrets),
        returncode=finished.returncode,
        stderr=stderr[-STDERR_TAIL:],
        category=classify_stderr(stderr),
    )


def _format_flags(convert_to: Format | None) -> tuple[str, ...]:
    """Keep the source's bytes, or convert them (every manifest digest changes)."""
    if convert_to is None or convert_to is Format.KEEP:
        return ("--preserve-digests",)
    return ("--format", convert_to.skopeo_name)


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
        convert_to: Format | None = None,
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
            return self._copy_with(source, destination, used, convert_to)
        except CopyError as exc:
            if exc.category is not Category.AUTH or not self._rotated(source, destination, used):
                raise
        log.warning("%s refused credentials that have changed since; retrying once", destination)
        fresh = self._credentials_for(source, destination, source_credential)
        return self._copy_with(source, destination, fresh, convert_to)

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
        self,
        source: ImageReference,
        destination: ImageReference,
        used: CopyCredentials,
        convert_to: Format | None = None,
    ) -> str | None:
        with ExitStack() as stack:
            work = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="imgsync-copy-")))
            src_auth = stack.enter_context(_authfile(source, used.source))
            dst_auth = stack.enter_context(_authfile(destination, used.destination))
            argv = self.argv(source, destination, src_auth, dst_auth, work / "digest", convert_to)
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
        convert_to: Format | None = None,
    ) -> list[str]:
        """The exact command line (public so that it can be shown in ``--dry-run``)."""
        return [
            *(self._skopeo, "copy", "--all", *_format_flags(convert_to)),
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
