"""What a registry's error answer means, and what the user should do: the one place imgsync's
own requests turn an HTTP status and error body into an error.

Registries say the same thing differently (``docs/registries.md``): Docker Hub answers a
repository that does not exist with 401 ``insufficient_scope``, GHCR with 403 ``DENIED``,
Harbor refuses a push into a missing project with 401, ECR answers 404 ``NAME_UNKNOWN``
for a repository never created and 403 for an expired password, Artifactory 403 for a
missing tag. Each answer becomes the error class (and so the category) that says what
happened, with a hint naming the registry, the repository and the next step. Messages
name the account, never a secret.
"""

from __future__ import annotations

from dataclasses import dataclass

from imgsync.adapters.challenge import challenge_error, challenge_of
from imgsync.adapters.http_response import HttpResponse
from imgsync.core.missing_destination import MissingDestination, missing_destination
from imgsync.errors import (
    AuthError,
    CredentialExpired,
    DestinationMissing,
    MissingOrDenied,
    NotFound,
    RegistryError,
    UnexpectedResponse,
)

#: Artifactory's 403 for a tag that does not exist in a virtual repository (sigstore/cosign#2973).
ARTIFACTORY_MISSING_TAG = "does not have permission for manifest"
ACCEPT_MISMATCH = "accept header does not support"
#: GCR/GAR's 400 to a digest DELETE while tags point at it (genuinetools/reg#136).
DANGLING_TAG = "GOOGLE_MANIFEST_DANGLING_TAG"
_WRITES = frozenset({"PUT", "POST", "PATCH", "DELETE"})
#: Marks imgsync's read-only push check (:mod:`imgsync.adapters.push_check`): its refusals
#: are about pushing, though the request is a GET.
PUSH_CHECK_HEADER = "X-Imgsync-Push-Check"


@dataclass(frozen=True, slots=True)
class Asked:
    """What a failed request was about: ``subject`` is named in the message (an image or a
    repository), ``what`` (``tag list of …``) leads it when given."""

    subject: str
    registry: str
    repository: str
    who: str
    what: str = ""

    @property
    def lead(self) -> str:
        return f"{self.what}: " if self.what else ""


def error_body(response: HttpResponse) -> tuple[str, str]:
    """``(code, message)`` of a distribution error body; empty for HEAD answers and HTML."""
    try:
        first = response.json().get("errors")[0]
        return str(first.get("code", "")), str(first.get("message", ""))
    except (ValueError, AttributeError, IndexError, TypeError, KeyError):
        return "", ""


def means_absent(response: HttpResponse) -> bool:
    """A 403 that only says "no such tag" (Artifactory): an existence check reads it as absent."""
    return response.status_code == 403 and ARTIFACTORY_MISSING_TAG in error_body(response)[1]


def registry_failure(response: HttpResponse, asked: Asked) -> RegistryError:
    """The error a non-success answer amounts to (429 and 5xx are the transport's)."""
    status = response.status_code
    if status == 401:
        return _unauthorized(response, asked)
    if status == 403:
        return _forbidden(response, asked)
    if status == 404:
        return _not_found(response, asked)
    return UnexpectedResponse(
        f"{asked.lead}{asked.subject}: HTTP {status}{_detail(response)}{_delete_hint(response)}",
        url=response.url,
        status=status,
    )


def _is_delete(response: HttpResponse) -> bool:
    return response.request is not None and response.request.method == "DELETE"


def _delete_hint(response: HttpResponse) -> str:
    """What a refused DELETE means where registries are known to refuse it (GAR, GHCR)."""
    if not _is_delete(response):
        return ""
    if error_body(response)[0] == DANGLING_TAG:
        return (
            "; this registry deletes a manifest only once no tag is left on it (GAR/GCR): "
            "set registries: {HOST: {deletes: tag-before-digest}} (or profile: gar)"
        )
    if response.status_code == 405:
        return (
            "; this registry deletes nothing through the registry API (GHCR: only the GitHub "
            "packages API): set registries: {HOST: {deletes: packages-api}} (or profile: ghcr)"
        )
    return ""


def _delete_refused(response: HttpResponse, asked: Asked, detail: str) -> AuthError:
    """A DELETE the account may not make: Harbor robots need the delete permission granted."""
    text = f"{asked.lead}{asked.who} may not delete in {asked.subject} ({detail})"
    if _harbor_like(response):
        text += "; on Harbor grant the robot account delete permission (Delete Artifact) there"
    else:
        text += f": grant {asked.who} delete permission on {asked.repository}"
    return AuthError(text, url=response.url, status=response.status_code)


def _detail(response: HttpResponse) -> str:
    code, message = error_body(response)
    return f" ({code}: {message})" if code or message else ""


def _unauthorized(response: HttpResponse, asked: Asked) -> RegistryError:
    """``insufficient_scope``: the account was accepted but granted nothing for this name."""
    challenge = challenge_of(response)
    if challenge is not None and challenge.params.get("error") == "insufficient_scope":
        if _is_delete(response):
            return _delete_refused(response, asked, "HTTP 401 insufficient_scope")
        missing = _missing(response, asked, "HTTP 401 insufficient_scope", pulls_too=True)
        if missing is not None:
            return missing
        message = (
            f"{asked.lead}{asked.subject} does not exist or you have no access "
            f"({asked.who}; HTTP 401 insufficient_scope)"
        )
        return MissingOrDenied(message, url=response.url, status=401)
    message = (
        f"{asked.lead}{asked.registry} rejected {asked.who} for {asked.subject}"
        f"{challenge_error(response)}: check the credentials for {asked.registry}"
    )
    return AuthError(message, url=response.url, status=401)


def _harbor_like(response: HttpResponse) -> bool:
    """Harbor's token service name, or its "unauthorized to access repository" wording."""
    challenge = challenge_of(response)
    service = challenge.params.get("service", "") if challenge else ""
    return service == "harbor-registry" or "unauthorized to access" in error_body(response)[1]


def _forbidden(response: HttpResponse, asked: Asked) -> RegistryError:
    code, message = error_body(response)
    detail = f"HTTP 403{f' {code}: {message}' if code or message else ''}"
    if _is_delete(response) and "expired" not in message.lower():
        return _delete_refused(response, asked, detail)
    if "expired" in message.lower():
        text = (
            f"{asked.lead}the credential of {asked.who} for {asked.registry} has expired "
            f"({detail}): refresh the credential (e.g. aws ecr get-login-password / "
            "the credential helper) and run again"
        )
        return CredentialExpired(text, url=response.url, status=403)
    missing = _missing(response, asked, detail)
    if missing is not None:
        return missing
    if response.request is not None and response.request.method in _WRITES:
        text = f"{asked.lead}{asked.who} may not write to {asked.subject} ({detail})"
        return AuthError(text, url=response.url, status=403)
    text = (
        f"{asked.lead}{asked.subject} does not exist or you have no access ({asked.who}; {detail})"
    )
    return MissingOrDenied(text, url=response.url, status=403)


def _not_found(response: HttpResponse, asked: Asked) -> RegistryError:
    code, message = error_body(response)
    if ACCEPT_MISMATCH in message:
        text = (
            f"{asked.lead}{asked.registry} answered 404 for {asked.subject}: {message!r}: the "
            "manifest exists, in a media type imgsync cannot request or copy "
            "(see docs/registries.md)"
        )
        return UnexpectedResponse(text, url=response.url, status=404)
    missing = _missing(response, asked, f"HTTP 404 {code}: {message}", pulls_too=True)
    if code == "NAME_UNKNOWN" and missing is not None and missing.status == 404:
        return missing
    text = f"{asked.lead}{asked.subject}: not found{_detail(response)}"
    return NotFound(text, url=response.url, status=404)


def _missing(
    response: HttpResponse, asked: Asked, evidence: str, *, pulls_too: bool = False
) -> DestinationMissing | None:
    """A refusal that means "create the namespace/project/organization/repository first".

    Writes (and imgsync's push check) on registries where something must exist; reads
    too where the registry refuses them for the same reason (Harbor's missing project,
    ECR's ``NAME_UNKNOWN``), when ``pulls_too``.
    """
    challenge = challenge_of(response)
    service = challenge.params.get("service", "") if challenge else ""
    words = missing_destination(
        asked.registry,
        asked.repository,
        asked.who,
        service=service,
        message=error_body(response)[1],
    )
    if words is None or not (_asked_push(response) or (pulls_too and _reads_refused(words))):
        return None
    text = f"{asked.lead}{words.message(evidence)}"
    return DestinationMissing(text, url=response.url, status=response.status_code)


def _reads_refused(words: MissingDestination) -> bool:
    """Harbor refuses reads in a missing project; ECR answers ``NAME_UNKNOWN`` to reads."""
    return words.profile.name in ("harbor", "ecr")


def _asked_push(response: HttpResponse) -> bool:
    """A write, or a request authorised for ``pull,push`` (the push check's tag list)."""
    request = response.request
    if request is None:
        return False
    return request.method in _WRITES or PUSH_CHECK_HEADER in request.headers
