"""The HTTP session every registry client uses: keep-alive, no urllib3 retries, env read once."""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

import requests
from requests.adapters import HTTPAdapter

from imgsync import __version__

if TYPE_CHECKING:
    from requests.sessions import _Cert, _Settings, _TextMapping, _Verify


class EnvironmentOnceSession(requests.Session):
    """A session that reads proxy and CA settings from the environment once per host.

    With ``trust_env`` requests re-reads them on *every* request: it scans the whole
    process environment twice for ``*_proxy`` variables and looks for ``~/.netrc``. That
    was 10-15 % of the CPU of a digest ``HEAD`` (benchmarks: ``docs/benchmarks.md``),
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
        env = self._environment_for(url)
        merged = super().merge_environment_settings(url, proxies, stream, verify, cert)
        merged["proxies"] = {**self.proxies, **env["proxies"], **(proxies or {})}
        if verify is None and self.verify is True:
            merged["verify"] = env["verify"]
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


def build_session(pool_size: int) -> requests.Session:
    """A keep-alive session whose pool fits ``pool_size`` threads; urllib3 never retries."""
    session = EnvironmentOnceSession()
    adapter = HTTPAdapter(pool_connections=4, pool_maxsize=pool_size, max_retries=0)
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    session.headers["User-Agent"] = f"imgsync/{__version__}"
    return session
