"""The one exception hierarchy of imgsync, and the failure categories reports use.

Every error a user or a task can meet derives from :class:`ImgsyncError`, so
callers catch one type. Families say *who* is at fault; leaves say *what
happened*. Each error carries the evidence needed to act on it, never a secret,
and a :class:`Category`: what a mapping's result shows when the error ends it::

    ImgsyncError
    ├── InputError (also ValueError)          bad input or configuration → exit 2
    │   ├── InvalidReference                  one image reference is malformed
    │   ├── InvalidMapping                    one or more mapping items are wrong
    │   ├── ConfigError                       settings, auth file, broker URL …
    │   └── DecodeError                       a message, Redis value or file imgsync cannot read
    ├── RegistryError(url, status)            a registry said no, or could not be reached
    │   ├── AuthError                         401/403, token refused
    │   │   └── CredentialExpired             the registry says the credential expired (ECR)
    │   ├── NotFound                          404 manifest / repository unknown
    │   │   └── MissingOrDenied               missing or not yours to see (Docker Hub 401, GHCR 403)
    │   │       └── DestinationMissing        a namespace, project, … to create before a push
    │   ├── RateLimited(retry_after)          429
    │   ├── RegistryUnavailable               5xx, connection refused, timeout, DNS
    │   ├── PlainHttpRegistry                 TLS tried on a plain-HTTP port: never retried
    │   ├── NoCatalog                         no repository catalog (Docker Hub, GHCR): list names
    │   └── UnexpectedResponse                HTML instead of JSON, unknown media type
    ├── QuotaExhausted                        pulls left below rate_limit_min: deferred
    ├── UnsupportedManifest                   the destination refuses the manifest shape (keep set)
    ├── CopyError(argv, returncode, stderr, category)   skopeo failed
    ├── PlanError                             a sync file's tag selection could not be expanded
    ├── Busy                                  another task holds a lock this one needs
    │   ├── DestinationBusy(destination)      the destination tag is locked: the task retries later
    │   └── RepositoryBusy (also TimeoutError)   waited too long for a copy into the same repository
    ├── RunStateLost                          Redis stayed unreachable or forgot a distributed run
    ├── GitHubError(method, path, status)     the GitHub API refused a request's comment or label
    └── NotifyError(channel)                  a notification channel failed (logged, never fatal)

Two internal control-flow exceptions never leave core's parsers: ``GrammarViolation``
(``core.refgrammar``) becomes :class:`InvalidReference`, ``_ItemError`` (``core.mapping``)
becomes :class:`InvalidMapping`.
"""

from __future__ import annotations

from collections.abc import Sequence
from enum import StrEnum
from typing import Protocol


class Category(StrEnum):
    """Why a mapping failed; lets users (and retries) tell faults apart.

    The values are the report's ``error.category`` strings, listed in the README
    and in the report's JSON Schema.
    """

    AUTH = "auth"
    NOT_FOUND = "not_found"
    RATE_LIMITED = "rate_limited"
    NETWORK = "network"
    UNSUPPORTED = "unsupported"
    DIGEST_MISMATCH = "digest_mismatch"
    TIMEOUT = "timeout"
    INTERRUPTED = "interrupted"
    LOST = "lost"
    INPUT = "input"
    OTHER = "other"


class ImgsyncError(Exception):
    """Base of every error raised by imgsync."""

    category: Category = Category.OTHER


class InputError(ImgsyncError, ValueError):
    """The user's input or configuration is wrong; nothing was run."""

    category = Category.INPUT


class InvalidReference(InputError):
    """An image reference does not follow the Docker reference grammar."""

    def __init__(self, text: str, reason: str) -> None:
        super().__init__(f"invalid image reference {text!r}: {reason}")
        self.text = text
        self.reason = reason


class Problem(Protocol):
    """One bad item: where it stood and why (``core.mapping_problem.MappingProblem``)."""

    @property
    def position(self) -> int: ...

    @property
    def reason(self) -> str: ...


class InvalidMapping(InputError):
    """One or more mapping items are invalid; all of them are listed at once."""

    def __init__(self, problems: Sequence[Problem]) -> None:
        self.problems = tuple(problems)
        lines = "\n".join(f"  {p}" for p in self.problems)
        super().__init__(f"{len(self.problems)} invalid mapping item(s):\n{lines}")


class ConfigError(InputError):
    """A setting, file or URL given to imgsync cannot be used."""


class DecodeError(InputError):
    """Data read from a message, Redis or a file does not have the shape imgsync writes.

    ``problems`` name each wrong field by its path and what was there, never the
    whole payload (a payload is not ours to print).
    """

    def __init__(self, kind: str, problems: Sequence[str]) -> None:
        self.kind = kind
        self.problems = tuple(problems)
        super().__init__(f"cannot read {kind}: {'; '.join(self.problems)}")


class RegistryError(ImgsyncError):
    """A registry answered with an error or could not be reached."""

    def __init__(self, message: str, *, url: str = "", status: int | None = None) -> None:
        super().__init__(message)
        self.url = url
        self.status = status


class AuthError(RegistryError):
    """The registry refused our credentials (or wants some we do not have)."""

    category = Category.AUTH


class NotFound(RegistryError):
    """The repository or the tag does not exist."""

    category = Category.NOT_FOUND


class RateLimited(RegistryError):
    """The registry answered 429; ``retry_after`` is in seconds when it said so."""

    category = Category.RATE_LIMITED

    def __init__(
        self,
        message: str,
        *,
        url: str = "",
        status: int | None = 429,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message, url=url, status=status)
        self.retry_after = retry_after


class RegistryUnavailable(RegistryError):
    """5xx, refused connection, timeout or DNS failure: worth retrying later."""

    category = Category.NETWORK


class UnexpectedResponse(RegistryError):
    """The registry answered something we cannot interpret (HTML, unknown media type)."""

    category = Category.UNSUPPORTED


class NoCatalog(RegistryError):
    """The registry lists no repositories (``GET /v2/_catalog`` refused or absent).

    Docker Hub and GHCR have no catalog; a ``repositories:`` entry cannot work
    there, so the plan stops and the message names what to write instead.
    """

    category = Category.UNSUPPORTED


class QuotaExhausted(ImgsyncError):
    """No account has pulls left above ``rate_limit_min``: the copy is deferred, not failed.

    Raised before a copy starts; the mapping ends ``deferred`` and a later run (after the
    registry's window) picks it up. ``pulls`` is what deciding spent: 0, or the source
    index read to count its platforms.
    """

    category = Category.RATE_LIMITED

    def __init__(self, message: str, *, pulls: int = 0) -> None:
        super().__init__(message)
        self.pulls = pulls


class CopyError(ImgsyncError):
    """skopeo failed; carries the redacted command, exit code and stderr tail."""

    def __init__(
        self,
        message: str,
        *,
        argv: Sequence[str] = (),
        returncode: int | None = None,
        stderr: str = "",
        category: Category = Category.OTHER,
    ) -> None:
        super().__init__(message)
        self.argv = tuple(argv)
        self.returncode = returncode
        self.stderr = stderr
        self.category = category


class PlanError(ImgsyncError):
    """The sync file's plan could not be built (a source's tag list could not be read).

    Nothing runs then: a partial plan would silently leave images behind, and
    with pruning it could delete tags the full plan keeps.
    """

    def __init__(self, message: str, *, category: Category = Category.OTHER) -> None:
        super().__init__(message)
        self.category = category


class Busy(ImgsyncError):
    """Another task holds a lock this one needs: nobody is at fault, a later try may pass."""


class DestinationBusy(Busy):
    """Another task holds the destination tag's lock; the task is retried later."""

    def __init__(self, destination: str) -> None:
        super().__init__(f"{destination} is locked by another task")
        self.destination = destination


class RepositoryBusy(Busy, TimeoutError):
    """Waited too long for another copy into the same repository: a retryable timeout."""

    category = Category.TIMEOUT


class RunStateLost(ImgsyncError):
    """Redis stayed unreachable, or forgot the run; the workers may still be going."""


class GitHubError(ImgsyncError):
    """A GitHub REST call failed (``imgsync request``); the message is GitHub's, never the token."""

    def __init__(self, method: str, path: str, status: int | None, message: str) -> None:
        shown = f"HTTP {status}: " if status is not None else ""
        super().__init__(f"GitHub API {method} {path}: {shown}{message}")
        self.method, self.path, self.status = method, path, status


class NotifyError(ImgsyncError):
    """A notification channel failed; reported in the summary, never fatal."""

    def __init__(self, channel: str, message: str) -> None:
        super().__init__(f"{channel}: {message}")
        self.channel = channel


class MissingOrDenied(NotFound, AuthError):
    """The registry's answer means "no such repository, or not yours to see", and cannot
    tell which: Docker Hub's 401 ``insufficient_scope`` and GHCR's 403 ``DENIED`` answer both.
    Category ``not_found`` (the name is checked first); also an :class:`AuthError`, so a
    retry after a credential rotation still applies."""


class DestinationMissing(MissingOrDenied):
    """A push is refused because part of the destination path was never created (ACR/TCR
    namespace, SWR organization, Harbor project, ECR repository); the message names it
    and the step that creates it. Category ``not_found``; never retried."""


class CredentialExpired(AuthError):
    """The registry knows the credential but says it has expired (ECR's 12-hour token)."""


class PlainHttpRegistry(RegistryError):
    """TLS was tried on a port that speaks plain HTTP: a setting to change, never retried."""

    category = Category.UNSUPPORTED


class UnsupportedManifest(ImgsyncError):
    """The destination refuses the source's manifest shape, no conversion set: never retried."""

    category = Category.UNSUPPORTED
