"""The HTTP session every registry client uses: keep-alive, no urllib3 retries, environment
and CA certificates read once per process rather than once per request or connection."""

from __future__ import annotations

import functools
import os
import ssl
import threading
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import certifi
import requests
from requests.adapters import HTTPAdapter

from imgsync import __version__

if TYPE_CHECKING:
    from requests.sessions import _Cert, _Settings, _TextMapping, _Verify


class EnvironmentOnceSession(requests.Session):
    """A session that reads proxy and CA settings from the environment once per host.

    With ``trust_env`` requests re-reads them on *every* request: it scans the whole
    process environment twice for ``*_proxy`` variables and looks for ``~/.netrc``. That
    was a sizeable share of the CPU of a digest ``HEAD`` (``docs/benchmarks.md``, Findings 2),
    and none of it can change during a run. The proxies and CA bundle the
    environment names are still honoured, resolved the first time a host is used.
    ``~/.netrc`` is not consulted: imgsync sends its own ``Authorization`` header,
    which a netrc entry would otherwise silently replace.
    """

    def __init__(self) -> None:
        super().__init__()
        self.trust_env = False
        self._from_env: dict[str, _Settings] = {}
        self._env_lock = threading.Lock()

    def merge_environment_settings(
        self,
        url: str | bytes | None,
        proxies: _TextMapping | None,
        stream: bool | None,
        verify: _Verify | None,
        cert: _Cert | None,
    ) -> _Settings:
        """The environment's proxies; its CA bundle is already in the adapter's context."""
        env = self._environment_for(url)
        merged = super().merge_environment_settings(url, proxies, stream, verify, cert)
        merged["proxies"] = {**self.proxies, **env["proxies"], **(proxies or {})}
        return merged

    def _environment_for(self, url: str | bytes | None) -> _Settings:
        """What ``trust_env`` would add for ``url``'s scheme and host, computed once."""
        text = url.decode() if isinstance(url, bytes) else url or ""
        parts = urlsplit(text)
        key = f"{parts.scheme}://{parts.netloc}"
        with self._env_lock:
            if key not in self._from_env:
                probe = requests.Session()  # trust_env=True: the environment's view
                self._from_env[key] = probe.merge_environment_settings(text, {}, None, None, None)
                probe.close()
            return self._from_env[key]


class PreloadedTrustAdapter(HTTPAdapter):
    """Verifies servers against CA certificates parsed once per process.

    requests hands urllib3 a CA *path* (certifi's, or ``REQUESTS_CA_BUNDLE``), and
    urllib3 then builds a context and parses the whole file for every new connection:
    CPU and memory a skip run with dozens of connections pays over and over
    (``docs/benchmarks.md``, Findings 3).
    """

    def __init__(self, context: ssl.SSLContext, **kwargs: Any) -> None:
        self._context = context
        super().__init__(**kwargs)

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        kwargs["ssl_context"] = self._context
        super().init_poolmanager(*args, **kwargs)

    def cert_verify(self, conn: Any, url: str, verify: Any, cert: Any) -> None:
        super().cert_verify(conn, url, verify, cert)  # type: ignore[no-untyped-call]
        if verify is True:  # the context holds the certificates: no path to re-read
            conn.ca_certs, conn.ca_cert_dir = None, None


def environment_ca() -> str:
    """The CA bundle requests would use: ``REQUESTS_CA_BUNDLE``/``CURL_CA_BUNDLE`` or certifi."""
    probe = requests.Session()  # trust_env=True: the environment's view
    verify = probe.merge_environment_settings("https://registry.invalid/", {}, None, None, None)
    probe.close()
    found = verify["verify"]
    return found if isinstance(found, str) else certifi.where()


@functools.lru_cache(maxsize=4)
def trust_context(ca: str) -> ssl.SSLContext:
    """A verifying client context with the certificates at ``ca`` (file or directory)."""
    if os.path.isdir(ca):
        return ssl.create_default_context(capath=ca)
    return ssl.create_default_context(cafile=ca)


def build_session(pool_size: int) -> requests.Session:
    """A keep-alive session whose pool fits ``pool_size`` threads; urllib3 never retries."""
    session = EnvironmentOnceSession()
    adapter = PreloadedTrustAdapter(
        trust_context(environment_ca()),
        pool_connections=4,
        pool_maxsize=pool_size,
        max_retries=0,
    )
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    session.headers["User-Agent"] = f"imgsync/{__version__}"
    return session
