"""Pacing registry requests: rate-limit headers, ``Retry-After``, backoff and the retry loop.

Docker Hub changes its pull limits over time, so the limits are read from every
response instead of being hard-coded; and a polite client waits as long as the
registry asks (capped, so a hostile header cannot park a worker for hours) or,
when it does not say, backs off exponentially with full jitter so that many
workers hitting one registry spread out instead of retrying in lock-step.

Retries live here rather than in urllib3 because the decision depends on the
answer: ``Retry-After`` on 429, jittered backoff on 5xx and network errors, and
never on 401/403/404, which no amount of waiting changes.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from urllib.parse import urlsplit

import pycurl

from imgsync.adapters.http_client import HttpClient, QueryParams, describe, failure_kind
from imgsync.adapters.http_response import HttpResponse
from imgsync.adapters.redact import redact
from imgsync.errors import PlainHttpRegistry, RateLimited, RegistryError, RegistryUnavailable

log = logging.getLogger(__name__)

#: What OpenSSL says when the server answers a ClientHello in plain HTTP (1.1/3.0: wrong
#: version number; 3.2+: record layer failure, or a packet length from the HTTP text).
PLAIN_HTTP_SIGNS = (
    "wrong_version_number",
    "wrong version number",
    "record_layer_failure",
    "packet length too long",
)
LIMIT_HEADER = "RateLimit-Limit"
REMAINING_HEADER = "RateLimit-Remaining"
SOURCE_HEADER = "docker-ratelimit-source"


@dataclass(frozen=True, slots=True)
class RateLimit:
    """The registry's pull quota as last reported (``None`` where a header was absent)."""

    limit: int | None
    remaining: int | None
    window_s: int | None
    source: str | None


def _quota(value: str | None) -> tuple[int | None, int | None]:
    """Split ``"100;w=21600"`` into ``(100, 21600)``; garbage yields ``None`` parts."""
    if not value:
        return None, None
    count, *params = (part.strip() for part in value.split(";"))
    window = None
    for param in params:
        key, _, number = param.partition("=")
        if key.strip().lower() == "w" and number.strip().isdigit():
            window = int(number)
    return (int(count) if count.isdigit() else None), window


def parse_rate_limit(headers: Mapping[str, str]) -> RateLimit | None:
    """Read the rate-limit headers; ``None`` when the response carries no quota.

    ``headers`` must be case-insensitive (as :class:`~imgsync.adapters.http_response.Headers`
    are): header names are matched exactly as documented and registries vary their case.
    """
    limit, limit_window = _quota(headers.get(LIMIT_HEADER))
    remaining, remaining_window = _quota(headers.get(REMAINING_HEADER))
    if limit is None and remaining is None:
        return None
    window = limit_window if limit_window is not None else remaining_window
    return RateLimit(limit, remaining, window, headers.get(SOURCE_HEADER))


def speaks_plain_http(exc: Exception) -> bool:
    """Whether a TLS failure shows the server answered in plain HTTP."""
    text = str(exc).lower()
    return any(sign in text for sign in PLAIN_HTTP_SIGNS)


def _quota_spent(response: HttpResponse) -> bool:
    """The answer says no pulls are left (Docker Hub's 429 carries ``RateLimit-Remaining: 0``)."""
    quota = parse_rate_limit(response.headers)
    return quota is not None and quota.remaining == 0


def parse_retry_after(value: str | None, *, now: datetime | None = None) -> float | None:
    """Seconds to wait from ``Retry-After`` (delta-seconds or an HTTP date), never negative."""
    if value is None or not value.strip():
        return None
    text = value.strip()
    if text.isdigit():
        return float(text)
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


class Backoff:
    """Exponential backoff with full jitter: attempt *n* waits ``U(0, min(cap, base·2ⁿ))``.

    Full jitter (rather than "equal" or none) gives the least contention when
    many clients retry against the same overloaded registry.
    """

    def __init__(self, base: float, cap: float, *, rng: random.Random | None = None) -> None:
        self.base = base
        self.cap = cap
        self._rng = rng or random.Random()

    def ceiling(self, attempt: int) -> float:
        """The largest delay attempt ``attempt`` (0-based) may wait."""
        return min(self.cap, self.base * 2.0 ** min(attempt, 62))

    def delay(self, attempt: int) -> float:
        """A random delay in ``[0, ceiling(attempt)]``."""
        return self._rng.uniform(0.0, self.ceiling(attempt))

    def honour(self, retry_after: float | None, attempt: int) -> float:
        """What the registry asked for (capped), else the jittered backoff."""
        if retry_after is None:
            return self.delay(attempt)
        return min(self.cap, retry_after)


@dataclass(frozen=True, slots=True)
class HttpRequest:
    """What to send; headers already carry any ``Authorization``; ``data`` is a PUT's body."""

    method: str
    url: str
    headers: Mapping[str, str] = field(default_factory=dict)
    params: QueryParams | None = None
    data: bytes | None = None

    def with_headers(self, extra: Mapping[str, str]) -> HttpRequest:
        """The same request with ``extra`` headers added (or replaced)."""
        return HttpRequest(self.method, self.url, {**self.headers, **extra}, self.params, self.data)


@dataclass(frozen=True, slots=True)
class _Retry:
    """A failed attempt worth repeating: the error to raise if it was the last, and the wait."""

    error: RegistryError
    delay: float


class Transport:
    """Sends requests over one shared HTTP client, retrying what waiting can fix.

    Thread-safe (the client keeps a handle per thread);
    ``rate_limit`` is a single attribute replaced (never mutated) per response.
    """

    def __init__(
        self,
        http: HttpClient,
        *,
        name: str,
        timeout: float,
        retries: int,
        backoff: Backoff,
        sleep: Callable[[float], None],
        secrets: tuple[str, ...] = (),
        observer: Callable[[RateLimit], None] | None = None,
    ) -> None:
        self.name = name
        self._observer = observer
        self.http = http
        self.rate_limit: RateLimit | None = None
        self._timeout = timeout
        self._retries = max(0, retries)
        self._backoff = backoff
        self._sleep = sleep
        self._secrets = secrets

    def send(self, request: HttpRequest, *, retries: int | None = None) -> HttpResponse:
        """One request with retries; returns any answer that is not worth retrying.

        Raises RateLimited or RegistryUnavailable once ``retries`` retries (default: the
        transport's) are spent.
        """
        limit = self._retries if retries is None else retries
        attempt = 0
        outcome = self._attempt(request, attempt)
        while isinstance(outcome, _Retry):
            if attempt >= limit:
                raise outcome.error
            log.debug("retrying %s in %.2fs: %s", request.url, outcome.delay, outcome.error)
            self._sleep(outcome.delay)
            attempt += 1
            outcome = self._attempt(request, attempt)
        return outcome

    def _attempt(self, request: HttpRequest, attempt: int) -> HttpResponse | _Retry:
        """One exchange, classified: a final response, or a retry with its delay."""
        try:
            response = self._exchange(request)
        except pycurl.error as exc:
            kind = failure_kind(exc)
            if kind == "tls":  # a bad certificate will not heal
                raise self._tls_failure(request, exc) from exc
            if kind == "network":
                error = RegistryUnavailable(self._failure("cannot reach", exc), url=request.url)
                return _Retry(error, self._backoff.delay(attempt))
            raise RegistryUnavailable(self._failure("failed", exc), url=request.url) from exc
        return self._classify(response, attempt)

    def _classify(self, response: HttpResponse, attempt: int) -> HttpResponse | _Retry:
        """429 waits as long as asked (capped); 5xx backs off; everything else is final."""
        status, url = response.status_code, response.url
        error: RegistryError
        if status == 429:
            after = parse_retry_after(response.headers.get("Retry-After"))
            error = RateLimited("rate limited (HTTP 429)", url=url, retry_after=after)
            if after is None and _quota_spent(response):
                raise error  # a spent quota refills over its window (hours), not in seconds
            return _Retry(error, self._backoff.honour(after, attempt))
        if status >= 500:
            error = RegistryUnavailable(f"registry answered HTTP {status}", url=url, status=status)
            return _Retry(error, self._backoff.delay(attempt))
        return response

    def _exchange(self, request: HttpRequest) -> HttpResponse:
        """The raw HTTP call: logs method, URL, status and time; records the rate limit."""
        started = time.monotonic()
        response = self.http.request(
            request.method,
            request.url,
            headers=request.headers,
            params=request.params,
            data=request.data,
            timeout=self._timeout,
        )
        elapsed = time.monotonic() - started
        log.debug(
            "%s %s -> %d (%.3fs)", request.method, response.url, response.status_code, elapsed
        )
        found = parse_rate_limit(response.headers)
        if found is not None:
            self.rate_limit = found
            if self._observer is not None:  # shares it (quota board) as soon as it is seen
                self._observer(found)
        return response

    def _tls_failure(self, request: HttpRequest, exc: pycurl.error) -> RegistryError:
        """Plain HTTP where TLS was expected is a setting to change: say which, retry nothing."""
        if not speaks_plain_http(exc):
            return RegistryUnavailable(self._failure("TLS failure", exc), url=request.url)
        host = urlsplit(request.url).netloc
        message = (
            f"{host} speaks plain HTTP, not HTTPS: add it to --insecure-registry {host} "
            "(IMGSYNC_INSECURE_REGISTRIES, or insecure: true under the sync file's registries:)"
        )
        return PlainHttpRegistry(message, url=request.url)

    def _failure(self, what: str, exc: pycurl.error) -> str:
        """A short, secret-free description of a transport failure."""
        detail = redact(describe(exc), self._secrets)
        return f"{what} {self.name}: {detail[:300]}"
