"""Will the destination repository take a push? Asked before any layer upload, read-only.

Why: a push into an ACR/TCR namespace, an SWR organization or a Harbor project that was
never created, or into an ECR repository never created, is refused only once skopeo
starts uploading layers (after it has pulled the source manifest, a pull on Docker Hub),
in words that read like a wrong password. One tag-list GET of the destination
repository, authorised for ``pull,push``, tells earlier, and writes nothing, so a dry
run asks it too:

- Harbor refuses the token for a missing project (401 ``insufficient_scope``), ECR
  answers 404 ``NAME_UNKNOWN`` "… does not exist in the registry with id …";
- ACR, TCR and SWR grant a token without ``push``: the token's ``access`` claim (a JWT,
  as the distribution token spec issues them) lacks it.

Only a definite answer (:class:`~imgsync.errors.DestinationMissing`, where
:mod:`imgsync.core.missing_destination` knows the registry) ends the mapping; anything
else (an opaque token, a generic registry, a network error) is left for the copy to
meet. A repository that passed is not asked again in this process; a missing one is
asked again by every mapping (one GET each): a long-lived worker must see at once that
the user has created it.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import threading
from typing import Any

from imgsync.adapters.http_response import HttpResponse
from imgsync.adapters.ratelimit import HttpRequest
from imgsync.adapters.registry import RegistryClient
from imgsync.adapters.registry_failures import PUSH_CHECK_HEADER, registry_failure
from imgsync.adapters.registry_pool import RegistryPool
from imgsync.core.missing_destination import missing_destination
from imgsync.core.reference import ImageReference
from imgsync.errors import DestinationMissing, ImgsyncError

log = logging.getLogger(__name__)


def token_claims(token: str) -> dict[str, Any] | None:
    """The claims of a JWT bearer token (not verified: only read); None if not a JWT."""
    parts = token.split(".")
    if len(parts) != 3:
        return None
    try:
        claims = json.loads(base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4)))
    except (ValueError, binascii.Error):
        return None
    return claims if isinstance(claims, dict) else None


def granted_actions(claims: dict[str, Any], repository: str) -> frozenset[str] | None:
    """The actions the ``access`` claim grants on ``repository``; None without the claim."""
    access = claims.get("access")
    if not isinstance(access, list):
        return None
    return frozenset(
        str(action)
        for entry in access
        if isinstance(entry, dict)
        and entry.get("type") == "repository"
        and entry.get("name") == repository
        for action in entry.get("actions") or ()
    )


def check_push(client: RegistryClient, destination: ImageReference) -> None:
    """Raise :class:`DestinationMissing` when the registry says a push would be refused."""
    repository = destination.repository
    url = f"{client.base_url}/v2/{repository}/tags/list"
    request = HttpRequest("GET", url, {PUSH_CHECK_HEADER: "1"}, {"n": "1"})
    scope = f"repository:{repository}:pull,push"
    try:
        response = client.send(request, scope)
        if _lacks_push(response, repository):  # the cached token may predate a new namespace
            response = client.send_with_fresh_token(request, scope, _sent(response))
    except DestinationMissing:
        raise
    except ImgsyncError as exc:  # not a definite answer: the copy meets and reports it
        log.debug("push check of %s: %s", destination.name, exc)
        return
    if response.status_code != 200:
        _raise_if_missing(registry_failure(response, client.asked(repository)))
    if response.status_code in (200, 404):  # 404: a repository not pushed yet, or ECR's
        _check_grant(client, response, repository)


def _raise_if_missing(error: ImgsyncError) -> None:
    if isinstance(error, DestinationMissing):
        raise error
    log.debug("push check: %s", error)


def _sent(response: HttpResponse) -> dict[str, str]:
    return dict(response.request.headers) if response.request is not None else {}


def _claims(response: HttpResponse) -> dict[str, Any] | None:
    """The claims of the bearer token ``response``'s request carried, if it was a JWT."""
    sent = _sent(response).get("Authorization", "")
    return token_claims(sent.removeprefix("Bearer ")) if sent.startswith("Bearer ") else None


def _granted(response: HttpResponse, repository: str) -> frozenset[str] | None:
    claims = _claims(response)
    return granted_actions(claims, repository) if claims is not None else None


def _lacks_push(response: HttpResponse, repository: str) -> bool:
    actions = _granted(response, repository)
    return actions is not None and "push" not in actions


def _check_grant(client: RegistryClient, response: HttpResponse, repository: str) -> None:
    """The token the check was sent with: does its ``access`` claim include ``push``?"""
    claims, actions = _claims(response), _granted(response, repository)
    if actions is None or "push" in actions:
        return
    who = client.asked(repository).who
    audience = claims.get("aud", "") if claims is not None else ""
    words = missing_destination(client.registry, repository, who, service=str(audience))
    if words is None:
        return
    granted = ",".join(sorted(actions)) or "nothing"
    evidence = f"the token service granted {granted}, not push, on {repository}"
    raise DestinationMissing(words.message(evidence), url=response.url)


class PushChecks:
    """:func:`check_push` per destination repository, once per process while it passes."""

    def __init__(self, pool: RegistryPool) -> None:
        self._pool = pool
        self._passed: set[str] = set()
        self._locks: dict[str, threading.Lock] = {}
        self._guard = threading.Lock()

    def check_push(self, destination: ImageReference) -> None:
        """Raise :class:`DestinationMissing`, or return (then never ask again for it)."""
        key = destination.name
        with self._lock_for(key):
            if key not in self._passed:
                check_push(self._pool.client(destination.registry), destination)
                self._passed.add(key)

    def _lock_for(self, key: str) -> threading.Lock:
        """One check per repository at a time: 50 tags into one repository that passes cost
        one check."""
        with self._guard:
            return self._locks.setdefault(key, threading.Lock())
