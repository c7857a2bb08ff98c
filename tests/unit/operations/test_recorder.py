"""The recorder's per-minute figures: what a report adds, what a flush writes, and that a failed flush
keeps its figures for the next one."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

import pytest

from shared.operations.model import MinuteStats
from shared.operations.ports import ChangeOutcome, Direction
from shared.operations.recorder import OperationsRecorder
from tests.fakes import FakeClock

TENANT = "11111111-1111-1111-1111-111111111111"


class FakeStats:
    def __init__(self) -> None:
        self.written: list[MinuteStats] = []
        self.fail = False

    def write(self, stats: Sequence[MinuteStats]) -> None:
        if self.fail:
            raise OSError("storage down")
        self.written.extend(stats)

    def read(self, tenant_id: str, since: datetime) -> list[MinuteStats]:
        return [s for s in self.written if s.tenant_id == tenant_id and s.minute >= since]


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(datetime(2026, 12, 2, 10, 0, 30, tzinfo=UTC))


def test_reports_are_grouped_by_tenant_and_minute(clock: FakeClock) -> None:
    store = FakeStats()
    recorder = OperationsRecorder(store, clock, instance="i1", flush_interval=None)
    recorder.change(TENANT, ChangeOutcome.APPLIED, "applied")
    recorder.change(TENANT, ChangeOutcome.DROPPED, "notAnAgent")
    recorder.sync_delay(TENANT, Direction.TEAMS_TO_CONTACT_CENTER, 0.3)
    recorder.notifications_dropped(TENANT, "unknownSubscription", 2)
    recorder.notifications_dropped(None, "malformed", 1)  # no tenant: metric only
    recorder.dead_lettered(TENANT, "presenceChange")
    clock.advance(minutes=1)
    recorder.graph_throttled(TENANT)
    recorder.contact_center_refused(TENANT)

    assert len(recorder.pending(TENANT)) == 2
    assert recorder.flush() == 2
    first, second = sorted(store.written, key=lambda s: s.minute)
    assert first.changes == {"applied": 1, "dropped:notAnAgent": 1}
    assert first.notifications_dropped == {"unknownSubscription": 2}
    assert first.dead_lettered == 1
    assert sum(first.delays[Direction.TEAMS_TO_CONTACT_CENTER.value]) == 1
    assert (second.graph_throttled, second.contact_center_refused) == (1, 1)
    assert {s.instance for s in store.written} == {"i1"}
    # Flushed figures are no longer pending: GET sync-health never counts them twice
    assert recorder.pending(TENANT) == []
    assert recorder.flush() == 0


def test_a_failed_flush_keeps_the_figures_for_the_next(clock: FakeClock) -> None:
    store = FakeStats()
    recorder = OperationsRecorder(store, clock, instance="i1", flush_interval=None)
    recorder.change(TENANT, ChangeOutcome.APPLIED, "applied")
    store.fail = True
    with pytest.raises(OSError, match="storage down"):
        recorder.flush()
    recorder.change(TENANT, ChangeOutcome.APPLIED, "applied")
    store.fail = False
    assert recorder.flush() == 1
    assert store.written[0].changes == {"applied": 2}


def test_close_writes_what_is_left(clock: FakeClock) -> None:
    store = FakeStats()
    recorder = OperationsRecorder(store, clock, instance="i1", flush_interval=3600)
    recorder.change(TENANT, ChangeOutcome.SUPERSEDED, "stale")
    recorder.close()
    assert store.written[0].changes == {"superseded": 1}
