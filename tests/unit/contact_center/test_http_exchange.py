"""Retry-After parsing: seconds or an HTTP date, never negative, bounded."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from shared.contact_center.http_exchange import retry_after_seconds

NOW = datetime(2026, 11, 21, 9, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        (None, None),
        ("", None),
        ("5", 5.0),
        (" 120 ", 120.0),
        ("Sat, 21 Nov 2026 09:00:30 GMT", 30.0),
        ("Sat, 21 Nov 2026 08:59:00 GMT", 0.0),
        ("soon", None),
        ("-3", None),
        ("1.5", None),
        ("999999", 3600.0),
    ],
)
def test_retry_after(value: str | None, seconds: float | None) -> None:
    assert retry_after_seconds(value, NOW) == seconds
