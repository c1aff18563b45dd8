"""The network settings users give every tool at once, through the standard variables.

Proxies (``HTTPS_PROXY``, ``HTTP_PROXY``, ``ALL_PROXY``, ``NO_PROXY``, either spelling) and a
private CA bundle (``REQUESTS_CA_BUNDLE``, ``CURL_CA_BUNDLE``) are not imgsync settings: the
same variables serve skopeo, curl and requests. They are read here, with the rest of the
environment, and applied by :mod:`imgsync.adapters.http_client`.
"""

from __future__ import annotations

import os


def ca_bundle_override() -> str | None:
    """The CA file or directory the environment names instead of certifi's bundle."""
    return os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE") or None


def environment_proxies() -> dict[str, str]:
    """Proxy URLs by scheme (``http``, ``https``, ``all``), as urllib reads them.

    urllib.request (with http.client and email) is imported here, when a client is built,
    not with the settings: ``--help`` and ``validate`` never need it.
    """
    import urllib.request

    return {k: v for k, v in urllib.request.getproxies().items() if k != "no"}


def no_proxy() -> str:
    """The ``NO_PROXY`` list as written (``no_proxy`` first, as requests reads it)."""
    return os.environ.get("no_proxy") or os.environ.get("NO_PROXY") or ""
