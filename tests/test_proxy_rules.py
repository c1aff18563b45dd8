"""``proxy_for``: the environment's proxy for a URL, by requests' rules (table-driven).

The forwarding-proxy tests (``tests/test_proxy_env.py``) prove calls really go through a
proxy; these pin the choice itself for the forms users write.
"""

from __future__ import annotations

import pytest

from imgsync.adapters.proxy_env import proxy_for

PROXY = "http://proxy.corp:3128"
VARIABLES = ("http_proxy", "https_proxy", "all_proxy", "no_proxy")


@pytest.mark.parametrize(
    ("env", "url", "expected"),
    [
        ({"HTTPS_PROXY": PROXY}, "https://registry-1.docker.io/v2/", PROXY),
        ({"https_proxy": PROXY}, "https://registry-1.docker.io/v2/", PROXY),
        ({"HTTPS_PROXY": PROXY}, "http://registry.lan:5000/v2/", None),
        ({"HTTP_PROXY": PROXY}, "http://registry.lan:5000/v2/", PROXY),
        ({"ALL_PROXY": PROXY}, "https://ghcr.io/v2/", PROXY),
        ({"HTTPS_PROXY": PROXY, "NO_PROXY": "*"}, "https://ghcr.io/v2/", None),
        ({"HTTPS_PROXY": PROXY, "NO_PROXY": ".corp.example"}, "https://r.corp.example/", None),
        ({"HTTPS_PROXY": PROXY, "NO_PROXY": "corp.example"}, "https://r.corp.example/", None),
        ({"HTTPS_PROXY": PROXY, "NO_PROXY": "corp.example"}, "https://ghcr.io/", PROXY),
        ({"HTTPS_PROXY": PROXY, "NO_PROXY": "r.lan:5000"}, "https://r.lan:5000/", None),
        ({"HTTPS_PROXY": PROXY, "NO_PROXY": "r.lan:5000"}, "https://r.lan:5001/", PROXY),
        ({"HTTPS_PROXY": PROXY, "NO_PROXY": "10.0.0.0/8"}, "https://10.1.2.3:5000/", None),
        ({"HTTPS_PROXY": PROXY, "NO_PROXY": "10.0.0.0/8"}, "https://11.1.2.3/", PROXY),
        ({"HTTPS_PROXY": PROXY, "NO_PROXY": "10.0.0.0/99"}, "https://10.1.2.3/", PROXY),
        ({"HTTPS_PROXY": PROXY, "NO_PROXY": " a.lan , 127.0.0.1 "}, "https://127.0.0.1/", None),
        ({"HTTPS_PROXY": PROXY}, "https://127.0.0.1:5000/", PROXY),
        ({"HTTPS_PROXY": PROXY, "no_proxy": "x.lan", "NO_PROXY": "*"}, "https://ghcr.io/", PROXY),
    ],
)
def test_proxy_for(
    env: dict[str, str], url: str, expected: str | None, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in VARIABLES:
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.upper(), raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    assert proxy_for(url) == expected
