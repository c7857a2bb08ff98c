"""ISO 8601 durations: Graph's `Edm.Duration` wire format ("PT5M"), which msgraph-sdk does not write."""

from __future__ import annotations

from datetime import timedelta


def iso8601_duration(value: timedelta) -> str:
    """`timedelta(minutes=90)` -> "PT1H30M"; days are folded into hours, as Graph writes them."""
    if value <= timedelta(0):
        raise ValueError(f"a duration must be positive, not {value}")
    whole_seconds, microseconds = divmod(value // timedelta(microseconds=1), 1_000_000)
    hours, remainder = divmod(whole_seconds, 3600)
    minutes, seconds = divmod(remainder, 60)
    parts = ["PT"]
    if hours:
        parts.append(f"{hours}H")
    if minutes:
        parts.append(f"{minutes}M")
    if seconds or microseconds:
        fraction = f".{microseconds:06d}".rstrip("0") if microseconds else ""
        parts.append(f"{seconds}{fraction}S")
    return "".join(parts)
