"""Graph's Edm.Duration wire format, which msgraph-sdk gets wrong for timedelta ("0:05:00")."""

from __future__ import annotations

from datetime import timedelta

import pytest

from shared.graph.durations import iso8601_duration


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (timedelta(minutes=5), "PT5M"),
        (timedelta(hours=4), "PT4H"),
        (timedelta(minutes=90), "PT1H30M"),
        (timedelta(minutes=5, seconds=30), "PT5M30S"),
        (timedelta(seconds=1, milliseconds=500), "PT1.5S"),
        (timedelta(days=1, minutes=1), "PT24H1M"),
        (timedelta(microseconds=1), "PT0.000001S"),
    ],
)
def test_durations_are_iso_8601(value: timedelta, expected: str) -> None:
    # WHEN a timedelta is formatted, THEN it is the ISO 8601 form Graph accepts
    assert iso8601_duration(value) == expected


@pytest.mark.parametrize("value", [timedelta(0), timedelta(minutes=-5)])
def test_a_duration_must_be_positive(value: timedelta) -> None:
    with pytest.raises(ValueError, match="positive"):
        iso8601_duration(value)
