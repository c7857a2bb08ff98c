"""Roster syncs asked for by agent logins, coalesced per tenant.

An agent who logs in makes the engine ask for a subscription sync, so his presence is subscribed within
seconds rather than at the renew timer's next run. A sync reads the tenant's whole roster and its
subscription records; a burst of logins (a shift starting: 400 agents within a minute) would read the
roster once per login. So this process runs at most one sync per tenant per `interval`: the first ask
runs at once, on the caller's thread; asks within `interval` of that run's start are folded into one
trailing run, started `interval` after it on a timer thread. No ask is lost: every ask is followed by a
run that starts after it, at most `interval` (plus the running sync's own duration) later. Other
instances coalesce on their own; the subscription service's lease keeps their runs apart.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Final, Protocol

logger = logging.getLogger(__name__)

DEFAULT_INTERVAL: Final = timedelta(seconds=3)

Schedule = Callable[[float, Callable[[], None]], None]


class RosterSync(Protocol):
    def roster_changed(self, tenant_id: str) -> None:
        """Never raises (SubscriptionService.roster_changed)."""
        ...


def timer_thread(delay_seconds: float, run: Callable[[], None]) -> None:
    timer = threading.Timer(delay_seconds, run)
    timer.daemon = True
    timer.name = "roster-sync-coalescer"
    timer.start()


@dataclass
class _Tenant:
    last_start: float | None = None
    running: bool = False
    # A trailing run is scheduled: it covers every ask made until it starts.
    pending: bool = False


class CoalescedRosterSync:
    def __init__(
        self,
        target: RosterSync,
        *,
        interval: timedelta = DEFAULT_INTERVAL,
        monotonic: Callable[[], float] = time.monotonic,
        schedule: Schedule = timer_thread,
    ) -> None:
        if interval <= timedelta(0):
            raise ValueError("interval must be positive")
        self._target = target
        self._interval = interval.total_seconds()
        self._monotonic = monotonic
        self._schedule = schedule
        self._tenants: dict[str, _Tenant] = {}
        self._lock = threading.Lock()

    def roster_changed(self, tenant_id: str) -> None:
        with self._lock:
            tenant = self._tenants.setdefault(tenant_id, _Tenant())
            if tenant.pending:
                return
            now = self._monotonic()
            if not tenant.running and (
                tenant.last_start is None or now - tenant.last_start >= self._interval
            ):
                tenant.running, tenant.last_start = True, now
                delay = None
            else:
                tenant.pending = True
                delay = self._delay(tenant, now)
        if delay is None:
            self._run(tenant_id, tenant)
        else:
            logger.debug("tenant %s: roster sync folded into a run in %.1f s", tenant_id, delay)
            self._schedule(delay, lambda: self._trailing(tenant_id))

    def _trailing(self, tenant_id: str) -> None:
        with self._lock:
            tenant = self._tenants[tenant_id]
            now = self._monotonic()
            if tenant.running:
                # The run before is still going (a sync took longer than the interval): wait for it.
                delay: float | None = self._delay(tenant, now) or self._interval
            else:
                tenant.pending, tenant.running, tenant.last_start = False, True, now
                delay = None
        if delay is not None:
            self._schedule(delay, lambda: self._trailing(tenant_id))
            return
        self._run(tenant_id, tenant)

    def _run(self, tenant_id: str, tenant: _Tenant) -> None:
        try:
            self._target.roster_changed(tenant_id)
        finally:
            with self._lock:
                tenant.running = False

    def _delay(self, tenant: _Tenant, now: float) -> float:
        start = now if tenant.last_start is None else tenant.last_start
        return max(0.0, start + self._interval - now)
