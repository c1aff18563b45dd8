"""The HTTP client every registry call uses (digests, tokens, manifests, deletes): libcurl.

Why libcurl (pycurl) and not requests: a digest ``HEAD`` cost 1.6 ms of CPU with imgsync's
tuned requests session and 0.33 ms with a pycurl easy handle per thread, and two of them
are most of an unchanged image's cost (``docs/benchmarks.md``, *HTTP stack*). What requests
did is done here, with tests: proxies from the environment by requests' rules
(:mod:`~imgsync.adapters.proxy_env`), the CA bundle it used (``REQUESTS_CA_BUNDLE``,
``CURL_CA_BUNDLE`` or certifi's) read once per process, redirects followed without
``Authorization`` crossing hosts, connections kept alive. It never retries: the
:class:`~imgsync.adapters.ratelimit.Transport` decides that from the answer.

One easy handle (and its connections) per thread and process: a handle is not thread-safe,
and one inherited across ``fork`` (Celery's prefork pool) shares the parent's sockets.
"""

from __future__ import annotations

import functools
import io
import os
import threading
from collections.abc import Mapping
from urllib.parse import urlencode, urljoin, urlsplit

import certifi
import pycurl

from imgsync import __version__
from imgsync.adapters.http_response import Headers, HttpResponse, SentRequest
from imgsync.adapters.proxy_env import proxy_for
from imgsync.config.network import ca_bundle_override

#: A query string; a tuple value repeats the parameter (``scope=a&scope=b``).
QueryParams = Mapping[str, str | tuple[str, ...]]

MAX_REDIRECTS = 30  # requests' limit
REDIRECTS = frozenset({301, 302, 303, 307, 308})
DEFAULT_PORTS = {"http": 80, "https": 443}
#: libcurl errors that mean the TLS handshake or the certificate failed: waiting won't help.
TLS_ERRORS = frozenset({35, 51, 53, 54, 58, 59, 60, 64, 66, 77, 80, 82, 83, 90, 91, 98})
#: libcurl errors worth another attempt: DNS, refused or reset connections, timeouts.
NETWORK_ERRORS = frozenset({5, 6, 7, 16, 18, 28, 52, 55, 56, 92, 95})
#: Handles inherited from a parent process: kept, never cleaned up (that would close, and
#: for TLS say goodbye on, sockets the parent still uses).
_INHERITED: list[pycurl.Curl] = []


def environment_ca() -> str:
    """The CA bundle requests would use: ``REQUESTS_CA_BUNDLE``/``CURL_CA_BUNDLE`` or certifi."""
    return ca_bundle_override() or certifi.where()


@functools.lru_cache(maxsize=4)
def ca_bundle(path: str) -> bytes:
    """The certificates at ``path``, read once per process (not per connection)."""
    with open(path, "rb") as file:
        return file.read()


def failure_kind(exc: pycurl.error) -> str:
    """``"tls"``, ``"network"`` (worth retrying) or ``"other"`` for a libcurl error."""
    code = exc.args[0] if exc.args else 0
    if code in TLS_ERRORS:
        return "tls"
    return "network" if code in NETWORK_ERRORS else "other"


def describe(exc: pycurl.error) -> str:
    """``curl error 7: Failed to connect to …``: libcurl's own words, with its code."""
    code, message = (*exc.args, 0, "")[:2]
    return f"curl error {code}: {message}"


def with_query(url: str, params: QueryParams | None) -> str:
    """``url`` with ``params`` appended, encoded as requests encodes them."""
    if not params:
        return url
    return f"{url}{'&' if '?' in url else '?'}{urlencode(params, doseq=True)}"


class HttpClient:
    """Sends one request (following redirects) with a per-thread libcurl handle."""

    def __init__(self, user_agent: str = f"imgsync/{__version__}") -> None:
        self._user_agent = user_agent
        self._ca = environment_ca()
        self._proxies: dict[str, str | None] = {}
        self._local = threading.local()
        self._handles: list[pycurl.Curl] = []
        self._lock = threading.Lock()
        self.connections = 0  #: connections opened so far (keep-alive shows as few)

    def request(
        self,
        method: str,
        url: str,
        *,
        headers: Mapping[str, str],
        params: QueryParams | None = None,
        data: bytes | None = None,
        timeout: float,
    ) -> HttpResponse:
        """The final answer to ``method url``; raises ``pycurl.error`` when none came."""
        sent = SentRequest(method, with_query(url, params), dict(headers))
        for _ in range(MAX_REDIRECTS + 1):
            response = self._exchange(sent, data, timeout)
            if response.status_code not in REDIRECTS or "Location" not in response.headers:
                return response
            sent, data = _redirected(sent, response, data)
        raise pycurl.error(pycurl.E_TOO_MANY_REDIRECTS, f"more than {MAX_REDIRECTS} redirects")

    def close(self) -> None:
        """Close every handle this client made, with its connections (no request may run)."""
        with self._lock:
            handles, self._handles = self._handles, []
        for handle in handles:
            handle.close()

    def _exchange(self, sent: SentRequest, data: bytes | None, timeout: float) -> HttpResponse:
        handle, body = self._handle(), io.BytesIO()
        lines: list[bytes] = []
        self._prepare(handle, sent, timeout)
        _set_method(handle, sent.method, data)
        handle.setopt(pycurl.HEADERFUNCTION, lines.append)
        handle.setopt(pycurl.WRITEDATA, body)
        handle.perform()
        if opened := handle.getinfo(pycurl.NUM_CONNECTS):
            with self._lock:
                self.connections += opened
        status = int(handle.getinfo(pycurl.RESPONSE_CODE))
        return HttpResponse(status, _headers(lines), body.getvalue(), sent.url, sent)

    def _prepare(self, handle: pycurl.Curl, sent: SentRequest, timeout: float) -> None:
        """Everything but the method: URL, headers, proxy, trust, timeouts."""
        handle.reset()
        handle.setopt(pycurl.URL, sent.url)
        handle.setopt(pycurl.HTTPHEADER, _header_lines(sent.headers))
        handle.setopt(pycurl.USERAGENT, self._user_agent)
        handle.setopt(pycurl.PROXY, self._proxy(sent.url) or "")
        handle.setopt(pycurl.HTTP_VERSION, pycurl.CURL_HTTP_VERSION_1_1)
        handle.setopt(pycurl.NOSIGNAL, 1)
        handle.setopt(pycurl.CONNECTTIMEOUT_MS, max(1, int(timeout * 1000)))
        handle.setopt(pycurl.TIMEOUT_MS, max(1, int(timeout * 1000)))
        self._trust(handle)

    def _trust(self, handle: pycurl.Curl) -> None:
        if os.path.isdir(self._ca):
            handle.setopt(pycurl.CAPATH, self._ca)
        else:
            handle.setopt(pycurl.CAINFO_BLOB, ca_bundle(self._ca))

    def _proxy(self, url: str) -> str | None:
        """The environment's proxy for this scheme and host, looked up once per client."""
        parts = urlsplit(url)
        key = f"{parts.scheme}://{parts.netloc}"
        if key not in self._proxies:
            self._proxies[key] = proxy_for(url)
        return self._proxies[key]

    def _handle(self) -> pycurl.Curl:
        """This thread's handle in this process; a new one after ``fork``."""
        local = self._local
        if getattr(local, "pid", None) != os.getpid():
            if getattr(local, "handle", None) is not None:
                _INHERITED.append(local.handle)
            local.handle, local.pid = pycurl.Curl(), os.getpid()
            with self._lock:
                self._handles.append(local.handle)
        handle: pycurl.Curl = local.handle
        return handle


def _set_method(handle: pycurl.Curl, method: str, data: bytes | None) -> None:
    if method == "HEAD":
        handle.setopt(pycurl.NOBODY, 1)
    elif method != "GET" or data is not None:
        handle.setopt(pycurl.CUSTOMREQUEST, method)
        if data is not None or method in ("PUT", "POST"):
            handle.setopt(pycurl.POSTFIELDS, data or b"")


def _header_lines(headers: Mapping[str, str]) -> list[str]:
    """libcurl's header list; ``Expect:`` stops a wait for ``100 Continue`` before a PUT."""
    return [f"{name}: {value}" for name, value in headers.items()] + ["Expect:"]


def _headers(lines: list[bytes]) -> Headers:
    """The last response's headers (a proxy's CONNECT answer or a 100 come first)."""
    headers = Headers()
    for raw in lines:
        line = raw.decode("iso-8859-1").rstrip("\r\n")
        if line.startswith("HTTP/"):
            headers = Headers()
        elif ":" in line:
            name, _, value = line.partition(":")
            headers.add(name.strip(), value.strip())
    return headers


def _redirected(
    sent: SentRequest, response: HttpResponse, data: bytes | None
) -> tuple[SentRequest, bytes | None]:
    """The request a redirect asks for: requests' rules for method, body and credentials."""
    target = urljoin(sent.url, response.headers["Location"])
    method, status = sent.method, response.status_code
    if (status == 303 and method != "HEAD") or (status in (301, 302) and method == "POST"):
        method, data = "GET", None
    headers = dict(sent.headers)
    if _strips_auth(sent.url, target):
        headers = {k: v for k, v in headers.items() if k.lower() != "authorization"}
    return SentRequest(method, target, headers), data


def _strips_auth(old: str, new: str) -> bool:
    """Credentials stay only on the same origin; http → https on default ports keeps them."""
    before, after = _origin(old), _origin(new)
    upgrade = (before[1], after[1]) == (("http", 80), ("https", 443))
    return before != after and not (before[0] == after[0] and upgrade)


def _origin(url: str) -> tuple[str | None, tuple[str, int | None]]:
    parts = urlsplit(url)
    return parts.hostname, (parts.scheme, parts.port or DEFAULT_PORTS.get(parts.scheme))
