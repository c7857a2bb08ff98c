"""The figures operations keeps: per tenant and minute, what each process saw (pure data)."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from typing import Final

# Upper bounds (seconds) of the sync delay histogram's buckets; a last bucket holds everything slower.
# Percentiles read from it are the upper bound of the bucket they fall in (so never optimistic).
DELAY_BUCKETS: Final = (0.25, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 900.0)


def bucket_of(seconds: float) -> int:
    for index, bound in enumerate(DELAY_BUCKETS):
        if seconds <= bound:
            return index
    return len(DELAY_BUCKETS)


def empty_histogram() -> list[int]:
    return [0] * (len(DELAY_BUCKETS) + 1)


@dataclass
class MinuteStats:
    """What one process counted for one tenant in one minute (`minute`: its start, UTC)."""

    tenant_id: str
    minute: datetime
    instance: str
    # "applied" / "superseded" / "dropped:<reason>" -> count.
    changes: Counter[str] = field(default_factory=Counter)
    notifications_dropped: Counter[str] = field(default_factory=Counter)
    dead_lettered: int = 0
    graph_throttled: int = 0
    contact_center_refused: int = 0
    # direction -> bucket counts (DELAY_BUCKETS, plus the overflow bucket).
    delays: dict[str, list[int]] = field(default_factory=dict)

    def add_delay(self, direction: str, seconds: float) -> None:
        histogram = self.delays.setdefault(direction, empty_histogram())
        histogram[bucket_of(seconds)] += 1

    def is_empty(self) -> bool:
        return not (
            self.changes
            or self.notifications_dropped
            or self.dead_lettered
            or self.graph_throttled
            or self.contact_center_refused
            or any(any(h) for h in self.delays.values())
        )


def percentile(histogram: list[int], fraction: float) -> float | None:
    """The upper bound of the bucket holding the `fraction` quantile; None for no samples, and the
    largest bound for samples past it (shown as "over 15 minutes")."""
    total = sum(histogram)
    if total == 0:
        return None
    rank = fraction * total
    seen = 0
    for index, count in enumerate(histogram):
        seen += count
        if seen >= rank and count:
            return DELAY_BUCKETS[index] if index < len(DELAY_BUCKETS) else DELAY_BUCKETS[-1]
    return DELAY_BUCKETS[-1]
