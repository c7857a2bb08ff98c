"""CoalescedRosterSync: a burst of agent logins costs at most one roster sync per tenant per interval,
and every ask is followed by a sync that starts after it."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from datetime import timedelta

import pytest

from shared.subscriptions.coalescing import CoalescedRosterSync


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


class Scheduled:
    """The timer thread, run by hand: (due time, callback)."""

    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self.due: list[tuple[float, Callable[[], None]]] = []

    def __call__(self, delay: float, run: Callable[[], None]) -> None:
        self.due.append((self.clock.now + delay, run))

    def run_due(self) -> None:
        ready = [item for item in self.due if item[0] <= self.clock.now]
        self.due = [item for item in self.due if item[0] > self.clock.now]
        for _, run in ready:
            run()


class Target:
    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self.runs: list[tuple[str, float]] = []
        self.during: Callable[[], None] | None = None

    def roster_changed(self, tenant_id: str) -> None:
        self.runs.append((tenant_id, self.clock.now))
        if self.during is not None:
            during, self.during = self.during, None
            during()


def wired() -> tuple[CoalescedRosterSync, Target, Clock, Scheduled]:
    clock = Clock()
    target = Target(clock)
    scheduled = Scheduled(clock)
    coalescer = CoalescedRosterSync(
        target, interval=timedelta(seconds=3), monotonic=clock, schedule=scheduled
    )
    return coalescer, target, clock, scheduled


def test_the_first_login_syncs_at_once() -> None:
    coalescer, target, _, scheduled = wired()
    coalescer.roster_changed("t1")
    assert target.runs == [("t1", 100.0)]
    assert scheduled.due == []


def test_a_burst_of_logins_costs_one_sync_per_interval_and_ends_with_one() -> None:
    coalescer, target, clock, scheduled = wired()
    # WHEN 400 logins arrive over 6 seconds, one every 15 ms
    for _ in range(400):
        coalescer.roster_changed("t1")
        clock.now += 0.015
        scheduled.run_due()
    clock.now += 3
    scheduled.run_due()
    # THEN the syncs started at least 3 s apart: the first at once, then one per interval
    starts = [at for _, at in target.runs]
    assert len(starts) == 3
    assert all(later - earlier >= 3 for earlier, later in itertools.pairwise(starts))
    # AND the last one started after the last login
    assert starts[-1] >= 100 + 399 * 0.015
    assert scheduled.due == []


def test_tenants_are_coalesced_apart() -> None:
    coalescer, target, _, _ = wired()
    coalescer.roster_changed("t1")
    coalescer.roster_changed("t2")
    assert [tenant for tenant, _ in target.runs] == ["t1", "t2"]


def test_an_ask_during_a_running_sync_gets_a_sync_after_it() -> None:
    coalescer, target, clock, scheduled = wired()

    # GIVEN a sync that takes 5 s, longer than the interval, and a login while it runs
    def login_while_running() -> None:
        clock.now += 1
        coalescer.roster_changed("t1")
        clock.now += 4

    target.during = login_while_running
    coalescer.roster_changed("t1")
    assert len(target.runs) == 1
    # THEN the trailing run never overlaps the running one, and follows it
    scheduled.run_due()
    assert len(target.runs) == 2
    assert target.runs[1][1] >= 105


def test_the_trailing_run_waits_while_the_one_before_still_runs() -> None:
    coalescer, target, clock, scheduled = wired()

    # GIVEN a login 1 s into a sync, and the trailing run's timer firing while that sync still runs
    def login_then_timer_fires() -> None:
        clock.now += 1
        coalescer.roster_changed("t1")
        clock.now += 3
        scheduled.run_due()

    target.during = login_then_timer_fires
    coalescer.roster_changed("t1")
    # THEN the timer did not start a second sync beside the first, but rescheduled itself
    assert len(target.runs) == 1
    assert len(scheduled.due) == 1
    clock.now += 3
    scheduled.run_due()
    assert len(target.runs) == 2


def test_an_interval_must_be_positive() -> None:
    with pytest.raises(ValueError, match="interval"):
        CoalescedRosterSync(Target(Clock()), interval=timedelta(0))
