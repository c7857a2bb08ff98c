"""Simulator time: real UTC time plus an offset that tests can move forward."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta


class SimulatorClock:
    """UTC clock whose offset can be advanced so expiry rules are testable without sleeping."""

    def __init__(self) -> None:
        self._offset = timedelta(0)
        self._lock = threading.Lock()

    def now(self) -> datetime:
        with self._lock:
            offset = self._offset
        return datetime.now(UTC) + offset

    def advance(self, delta: timedelta) -> None:
        if delta < timedelta(0):
            raise ValueError("the simulator clock only moves forward")
        with self._lock:
            self._offset += delta

    @property
    def offset(self) -> timedelta:
        with self._lock:
            return self._offset


def format_graph_datetime(moment: datetime) -> str:
    """Graph writes DateTimeOffset values in UTC with seven fractional digits and a Z."""
    utc = moment.astimezone(UTC)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond:06d}0Z"


def parse_graph_datetime(value: str) -> datetime:
    """Parse an OData DateTimeOffset; naive values are rejected because Graph needs an offset."""
    text = value.strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    head, sep, tail = text.partition(".")
    if sep:
        # Python accepts at most six fractional digits; Graph and .NET send seven.
        digits = ""
        rest = tail
        while rest and rest[0].isdigit():
            digits, rest = digits + rest[0], rest[1:]
        text = f"{head}.{digits[:6].ljust(6, '0')}{rest}" if digits else head + rest
    parsed = datetime.fromisoformat(text)
    if parsed.tzinfo is None:
        raise ValueError(f"date-time {value!r} has no UTC offset")
    return parsed.astimezone(UTC)
