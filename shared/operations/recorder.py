"""The operations reporter: every report goes to an OpenTelemetry instrument (exported to Application
Insights when the distro is installed) and to this process's per-minute figures, which a background
thread of each process writes every FLUSH_INTERVAL to the OperationsStats table (one row per tenant,
minute and process), where GET sync-health reads them. A thread, not a timer trigger: Functions runs
a timer on one instance only, and every instance has figures of its own. `close` flushes what is left.

Nothing here touches storage on the per-change path: a report is a few dictionary updates under a lock.
Metric dimensions are tenant ids and reason codes, never names or UPNs.
"""

from __future__ import annotations

import copy
import logging
import os
import threading
import uuid
from collections.abc import Callable
from datetime import datetime
from typing import Final

from opentelemetry import metrics

from shared.errors import AppError
from shared.operations.model import MinuteStats
from shared.operations.ports import ChangeOutcome, Direction, OperationsStatsStore

logger = logging.getLogger(__name__)

METER_NAME: Final = "teams-contact-center-connector"
NO_TENANT: Final = "unknown"
# A process that cannot flush for this many minutes drops its oldest figures rather than grow.
MAX_PENDING_MINUTES: Final = 120
FLUSH_INTERVAL_SECONDS: Final = 60.0


class _Instruments:
    """The connector's metrics (names as Application Insights shows them in customMetrics)."""

    def __init__(self) -> None:
        meter = metrics.get_meter(METER_NAME)
        self.sync_delay = meter.create_histogram(
            "connector.sync.delay",
            unit="s",
            description="Teams change observed -> contact-center command accepted, and the other way",
        )
        self.changes = meter.create_counter(
            "connector.sync.changes", description="Changes applied, superseded or dropped, by reason"
        )
        self.notifications_dropped = meter.create_counter(
            "connector.notifications.dropped", description="Graph notifications dropped at intake, by reason"
        )
        self.graph_throttled = meter.create_counter(
            "connector.graph.throttled", description="Graph answers 429 (Too Many Requests)"
        )
        self.contact_center_refused = meter.create_counter(
            "connector.contact_center.refusals", description="Contact-center commands refused for good"
        )
        self.dead_letters = meter.create_counter(
            "connector.queue.dead_letters", description="Queue messages that failed their last delivery"
        )
        self.subscription_failures = meter.create_counter(
            "connector.subscriptions.failures", description="Graph presence subscriptions not created"
        )
        self.sign_in_required = meter.create_counter(
            "connector.sync_accounts.sign_in_required",
            description="Sync accounts whose refresh token stopped working",
        )


def instance_id() -> str:
    """This process's id in the stats rows: the Functions instance when Azure names it."""
    return (os.environ.get("WEBSITE_INSTANCE_ID") or "")[:16] or f"local-{uuid.uuid4().hex[:12]}"


class OperationsRecorder:
    def __init__(
        self,
        store: OperationsStatsStore,
        clock: Callable[[], datetime],
        *,
        instance: str | None = None,
        flush_interval: float | None = FLUSH_INTERVAL_SECONDS,
    ) -> None:
        """`flush_interval`: None flushes only when asked (tests)."""
        self._flush_interval = flush_interval
        self._flusher: threading.Thread | None = None
        self._stopping = threading.Event()
        self._store = store
        self._clock = clock
        self._instance = instance or instance_id()
        self._instruments = _Instruments()
        self._lock = threading.Lock()
        # One flush at a time: the store adds a flush's figures to the row the previous one wrote.
        self._flush_lock = threading.Lock()
        self._pending: dict[tuple[str, datetime], MinuteStats] = {}

    # -- OperationsReporter ---------------------------------------------------------------------------

    def change(self, tenant_id: str, outcome: ChangeOutcome, reason: str) -> None:
        self._instruments.changes.add(1, {"tenantId": tenant_id, "outcome": outcome.value, "reason": reason})
        key = outcome.value if outcome is not ChangeOutcome.DROPPED else f"{outcome.value}:{reason}"
        with self._lock:
            self._minute(tenant_id).changes[key] += 1

    def sync_delay(self, tenant_id: str, direction: Direction, seconds: float) -> None:
        seconds = max(0.0, seconds)
        self._instruments.sync_delay.record(seconds, {"tenantId": tenant_id, "direction": direction.value})
        with self._lock:
            self._minute(tenant_id).add_delay(direction.value, seconds)

    def notifications_dropped(self, tenant_id: str | None, reason: str, count: int) -> None:
        if count <= 0:
            return
        tenant = tenant_id or NO_TENANT
        self._instruments.notifications_dropped.add(count, {"tenantId": tenant, "reason": reason})
        if tenant_id is None:
            return  # no tenant to show it to; the metric still counts it
        with self._lock:
            self._minute(tenant_id).notifications_dropped[reason] += count

    def graph_throttled(self, tenant_id: str) -> None:
        self._instruments.graph_throttled.add(1, {"tenantId": tenant_id})
        with self._lock:
            self._minute(tenant_id).graph_throttled += 1

    def contact_center_refused(self, tenant_id: str) -> None:
        self._instruments.contact_center_refused.add(1, {"tenantId": tenant_id})
        with self._lock:
            self._minute(tenant_id).contact_center_refused += 1

    def dead_lettered(self, tenant_id: str | None, kind: str) -> None:
        self._instruments.dead_letters.add(1, {"tenantId": tenant_id or NO_TENANT, "kind": kind})
        if tenant_id is None:
            return
        with self._lock:
            self._minute(tenant_id).dead_lettered += 1

    def subscription_failures(self, tenant_id: str, count: int) -> None:
        if count > 0:
            self._instruments.subscription_failures.add(count, {"tenantId": tenant_id})

    def sync_account_needs_sign_in(self, tenant_id: str) -> None:
        self._instruments.sign_in_required.add(1, {"tenantId": tenant_id})

    # -- flushing -------------------------------------------------------------------------------------

    def flush(self) -> int:
        """Write the figures gathered so far (the timer, and the host at shutdown); the rows written.
        Figures of the current minute are written too and merged again at the next flush, so a
        restart loses at most one timer period. On a storage failure they are kept for the next try."""
        with self._flush_lock:
            with self._lock:
                pending = [stats for stats in self._pending.values() if not stats.is_empty()]
                self._pending = {}
            if not pending:
                return 0
            try:
                self._store.write(pending)
            except Exception:
                logger.warning(
                    "operations figures of %s tenant minutes not written; kept for the next flush",
                    len(pending),
                )
                with self._lock:
                    for stats in pending:
                        self._restore(stats)
                raise
            return len(pending)

    def pending(self, tenant_id: str) -> list[MinuteStats]:
        """Copies of this process's figures of the tenant not flushed yet (disjoint from the stored
        rows: a flush takes them out), so the instance answering GET sync-health is never behind."""
        with self._lock:
            return [
                copy.deepcopy(stats) for (tenant, _), stats in self._pending.items() if tenant == tenant_id
            ]

    def close(self) -> None:
        """Stop the background flusher and write what is left (the host calls this at shutdown)."""
        self._stopping.set()
        flusher = self._flusher
        if flusher is not None:
            flusher.join(timeout=5)
        try:
            self.flush()
        except AppError as error:
            # Storage may already be gone when the process stops: one line, no traceback.
            logger.warning("operations figures not written at shutdown: %s", error.message)

    def _run_flusher(self) -> None:
        interval = self._flush_interval or FLUSH_INTERVAL_SECONDS
        while not self._stopping.wait(interval):
            try:
                self.flush()
            except AppError as error:
                logger.warning(
                    "operations figures not written (%s); retried in %.0f s", error.message, interval
                )
            except Exception:
                logger.exception("operations figures not written; retried in %.0f s", interval)

    def _minute(self, tenant_id: str) -> MinuteStats:
        """This minute's figures of the tenant (called under the lock); starts the flusher once."""
        if self._flusher is None and self._flush_interval is not None and not self._stopping.is_set():
            self._flusher = threading.Thread(target=self._run_flusher, name="operations-flusher", daemon=True)
            self._flusher.start()
        now = self._clock()
        minute = now.replace(second=0, microsecond=0)
        key = (tenant_id, minute)
        stats = self._pending.get(key)
        if stats is None:
            if len(self._pending) >= MAX_PENDING_MINUTES * 50:
                oldest = min(self._pending, key=lambda k: k[1])
                del self._pending[oldest]
            stats = self._pending[key] = MinuteStats(tenant_id, minute, self._instance)
        return stats

    def _restore(self, stats: MinuteStats) -> None:
        key = (stats.tenant_id, stats.minute)
        current = self._pending.get(key)
        if current is None:
            self._pending[key] = stats
            return
        current.changes.update(stats.changes)
        current.notifications_dropped.update(stats.notifications_dropped)
        current.dead_lettered += stats.dead_lettered
        current.graph_throttled += stats.graph_throttled
        current.contact_center_refused += stats.contact_center_refused
        for direction, histogram in stats.delays.items():
            mine = current.delays.setdefault(direction, [0] * len(histogram))
            for index, count in enumerate(histogram):
                mine[index] += count
