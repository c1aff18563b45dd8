"""Which proxy, if any, the environment names for a URL: requests' rules, without requests.

Users set ``HTTPS_PROXY``/``NO_PROXY`` once for imgsync, skopeo and everything else; the
registry client must read them exactly as it did when it was built on requests
(``requests.utils.should_bypass_proxies`` and ``select_proxy``): either spelling, ``NO_PROXY``
entries as host suffixes, ``host:port`` or CIDR blocks for IPv4 addresses, ``*`` for all,
and loopback addresses proxied unless ``NO_PROXY`` says otherwise.
"""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit

from imgsync.config.network import environment_proxies, no_proxy


def proxy_for(url: str) -> str | None:
    """The proxy URL to send ``url`` through, or ``None`` to connect directly."""
    parts = urlsplit(url)
    host = parts.hostname
    if host is None or _bypassed(host, parts.port):
        return None
    proxies = environment_proxies()
    for key in (f"{parts.scheme}://{host}", parts.scheme, f"all://{host}", "all"):
        if proxies.get(key):
            return proxies[key]
    return None


def _bypassed(host: str, port: int | None) -> bool:
    """Whether ``NO_PROXY`` (or ``no_proxy``) lists this host."""
    entries = [e for e in no_proxy().replace(" ", "").split(",") if e]
    if "*" in entries:
        return True
    if _is_ipv4(host):
        return any(_ip_matches(host, entry) for entry in entries)
    with_port = f"{host}:{port}" if port else host
    return any(host.endswith(e) or with_port.endswith(e) for e in entries)


def _is_ipv4(host: str) -> bool:
    try:
        ipaddress.IPv4Address(host)
    except ValueError:
        return False
    return True


def _ip_matches(host: str, entry: str) -> bool:
    """An IPv4 host against one entry: a CIDR block (``10.0.0.0/8``) or an address."""
    if "/" not in entry:
        return host == entry
    try:
        return ipaddress.IPv4Address(host) in ipaddress.IPv4Network(entry, strict=False)
    except ValueError:  # not a valid block: requests ignores it too
        return False
