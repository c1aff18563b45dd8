"""The one exception hierarchy of imgsync.

Every error a user can meet derives from :class:`ImgsyncError`, so callers
catch one type. Families say *who* is at fault; leaves say *what happened*.
Each error carries the evidence needed to act on it, and never a secret::

    ImgsyncError
    ├── InputError (also ValueError)          bad input or configuration → exit 2
    │   ├── InvalidReference                  one image reference is malformed
    │   ├── InvalidMapping                    one or more mapping items are wrong
    │   └── ConfigError                       settings, auth file, broker URL …
    ├── RegistryError(url, status)            a registry said no, or could not be reached
    │   ├── AuthError                         401/403, token refused
    │   ├── NotFound                          404 manifest / repository unknown
    │   ├── RateLimited(retry_after)          429
    │   ├── RegistryUnavailable               5xx, connection refused, timeout, DNS
    │   └── UnexpectedResponse                HTML instead of JSON, unknown media type
    ├── QuotaExhausted                        pulls left below rate_limit_min: deferred
    ├── CopyError(argv, returncode, stderr, category)   skopeo failed
    ├── PlanError                             a sync file's tag selection could not be expanded
    └── NotifyError(channel)                  a notification channel failed (logged, never fatal)
"""

from __future__ import annotations

from collections.abc import Sequence


class ImgsyncError(Exception):
    """Base of every error raised by imgsync."""

    category: str = "other"


class InputError(ImgsyncError, ValueError):
    """The user's input or configuration is wrong; nothing was run."""

    category = "input"


class InvalidReference(InputError):
    """An image reference does not follow the Docker reference grammar."""

    def __init__(self, text: str, reason: str) -> None:
        super().__init__(f"invalid image reference {text!r}: {reason}")
        self.text = text
        self.reason = reason


class MappingProblem:
    """One bad mapping item: where it stood, what it said and why it is wrong."""

    __slots__ = ("position", "reason", "text")

    def __init__(self, position: int, text: str, reason: str) -> None:
        self.position = position
        self.text = text
        self.reason = reason

    def __str__(self) -> str:
        return f"item {self.position}: {self.text!r}: {self.reason}"

    def __repr__(self) -> str:
        return f"MappingProblem({self.position!r}, {self.text!r}, {self.reason!r})"


class InvalidMapping(InputError):
    """One or more mapping items are invalid; all of them are listed at once."""

    def __init__(self, problems: Sequence[MappingProblem]) -> None:
        self.problems = tuple(problems)
        lines = "\n".join(f"  {p}" for p in self.problems)
        super().__init__(f"{len(self.problems)} invalid mapping item(s):\n{lines}")


class ConfigError(InputError):
    """A setting, file or URL given to imgsync cannot be used."""


class RegistryError(ImgsyncError):
    """A registry answered with an error or could not be reached."""

    category = "other"

    def __init__(self, message: str, *, url: str = "", status: int | None = None) -> None:
        super().__init__(message)
        self.url = url
        self.status = status


class AuthError(RegistryError):
    """The registry refused our credentials (or wants some we do not have)."""

    category = "auth"


class NotFound(RegistryError):
    """The repository or the tag does not exist."""

    category = "not_found"


class RateLimited(RegistryError):
    """The registry answered 429; ``retry_after`` is in seconds when it said so."""

    category = "rate_limited"

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


class QuotaExhausted(ImgsyncError):
    """No account has pulls left above ``rate_limit_min``: the copy is deferred, not failed.

    Raised before a copy starts, so nothing was spent; the mapping ends ``deferred``
    and a later run (after the registry's window) picks it up.
    """

    category = "rate_limited"


class RegistryUnavailable(RegistryError):
    """5xx, refused connection, timeout or DNS failure: worth retrying later."""

    category = "network"


class UnexpectedResponse(RegistryError):
    """The registry answered something we cannot interpret (HTML, unknown media type)."""

    category = "unsupported"


class CopyError(ImgsyncError):
    """skopeo failed; carries the redacted command, exit code and stderr tail."""

    def __init__(
        self,
        message: str,
        *,
        argv: Sequence[str] = (),
        returncode: int | None = None,
        stderr: str = "",
        category: str = "other",
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

    def __init__(self, message: str, *, category: str = "other") -> None:
        super().__init__(message)
        self.category = category


class NotifyError(ImgsyncError):
    """A notification channel failed; reported in the summary, never fatal."""

    category = "notify"

    def __init__(self, channel: str, message: str) -> None:
        super().__init__(f"{channel}: {message}")
        self.channel = channel
