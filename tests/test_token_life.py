"""How long a bearer token is kept: ``expires_in`` counted from ``issued_at``.

The distribution token spec: ``expires_in`` defaults to 60 s; ``issued_at`` (RFC 3339)
is when the token was issued, and without it the life counts from the exchange.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from imgsync.adapters.registry_auth import DEFAULT_EXPIRES_IN, token_life

NOW = datetime(2026, 12, 3, 7, 30, tzinfo=UTC).timestamp()


@pytest.mark.parametrize(
    ("body", "life"),
    [
        ({}, DEFAULT_EXPIRES_IN),
        ({"expires_in": 300}, 300.0),
        ({"expires_in": 0}, DEFAULT_EXPIRES_IN),
        ({"expires_in": True}, DEFAULT_EXPIRES_IN),
        ({"expires_in": "300"}, DEFAULT_EXPIRES_IN),
        ({"expires_in": 300, "issued_at": "2026-12-03T07:29:00Z"}, 240.0),
        ({"expires_in": 300, "issued_at": "2026-12-03T07:29:00.250000000Z"}, 240.25),
        ({"expires_in": 300, "issued_at": "2026-12-03T08:29:00+01:00"}, 240.0),
        ({"issued_at": "2026-12-03T07:29:30Z"}, 30.0),
        ({"expires_in": 60, "issued_at": "2026-12-03T07:00:00Z"}, 0.0),
        ({"expires_in": 300, "issued_at": "2026-12-03T07:35:00Z"}, 300.0),  # clock ahead
        ({"expires_in": 300, "issued_at": "0001-01-01T00:00:00Z"}, 300.0),  # Go's zero time
        ({"expires_in": 300, "issued_at": "2026-12-03T07:29:00"}, 300.0),  # no zone: ignored
        ({"expires_in": 300, "issued_at": "yesterday"}, 300.0),
    ],
)
def test_token_life(body: dict[str, object], life: float) -> None:
    assert token_life(body, NOW) == pytest.approx(life)
