"""Deliveries of agent events to subscriptions: signed, over keep-alive connections, concurrent across
agents and in order per (subscription, agent), retried on failure; duplicates and reordering on demand.

Webex says its webhooks can be lost, repeated and reordered. Retries make repeats and late arrivals
happen by themselves; the control API makes them happen exactly when a test wants them:
`duplicateNext` sends the next N events twice (same `id`), `reorderNext` holds each of the next N events
back until the next event of the same agent for that subscription has gone out (or until `release`).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Final

from devstack.contact_center_simulator.models import iso
from devstack.contact_center_simulator.webex import events as ev
from devstack.contact_center_simulator.webex.model import Subscription
from devstack.contact_center_simulator.webex.store import EmittedEvent
from devstack.simulator_http import DeliveryQueue, KeepAliveSender

logger = logging.getLogger(__name__)

# Webex does not publish its retry schedule: assumed, like the webhook contact center's.
DEFAULT_RETRY_DELAYS: Final = (1.0, 2.0, 4.0, 8.0)
DEFAULT_TIMEOUT_SECONDS: Final = 10.0
_MAX_RECORDS: Final = 20_000

_Key = tuple[str, str]


@dataclass(frozen=True)
class WebexDeliveryRecord:
    seq: int
    event_id: str
    event_type: str
    subscription_id: str
    agent_id: str
    url: str
    attempt: int
    status: int | None
    error: str | None
    signed: bool
    at: datetime

    def as_json(self) -> dict[str, Any]:
        return {
            "seq": self.seq,
            "eventId": self.event_id,
            "type": self.event_type,
            "subscriptionId": self.subscription_id,
            "agentId": self.agent_id,
            "url": self.url,
            "attempt": self.attempt,
            "status": self.status,
            "error": self.error,
            "signed": self.signed,
            "at": iso(self.at),
        }


@dataclass
class _Chaos:
    duplicate_next: int = 0
    reorder_next: int = 0
    held: dict[_Key, list[EmittedEvent]] = field(default_factory=dict)


class WebexDeliveries:
    def __init__(
        self,
        clock: Callable[[], datetime],
        live_subscription: Callable[[str], Subscription | None],
        *,
        retry_delays: tuple[float, ...] = DEFAULT_RETRY_DELAYS,
        timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS,
        workers: int = 8,
    ) -> None:
        self._now = clock
        self._live = live_subscription
        self._sender = KeepAliveSender(timeout_seconds)
        self._queue: DeliveryQueue[_Key, EmittedEvent] = DeliveryQueue(
            self._deliver, retry_delays=retry_delays, workers=workers, name="webex-sim-delivery"
        )
        self._lock = threading.Lock()
        self._chaos = _Chaos()
        self._records: list[WebexDeliveryRecord] = []
        self._seq = 0

    def start(self) -> None:
        self._queue.start()

    def stop(self) -> None:
        self._queue.stop()
        self._sender.close()

    def wait_idle(self, timeout: float) -> bool:
        return self._queue.wait_idle(timeout)

    @property
    def connections_opened(self) -> int:
        return self._sender.connections_opened

    def reset(self) -> None:
        self._queue.clear()
        with self._lock:
            self._chaos = _Chaos()
            self._records.clear()

    # Sending ----------------------------------------------------------------------------------

    def send(self, emitted: list[EmittedEvent]) -> None:
        for item in emitted:
            key = (item.subscription_id, item.agent_id)
            with self._lock:
                released = self._chaos.held.pop(key, [])
                copies = 1
                if self._chaos.duplicate_next > 0:
                    self._chaos.duplicate_next -= 1
                    copies = 2
                if self._chaos.reorder_next > 0 and not released:
                    self._chaos.reorder_next -= 1
                    self._chaos.held[key] = [item] * copies
                    logger.info("holding event %s back (reorder)", item.event["id"])
                    continue
            self._queue.enqueue(key, [item] * copies + released)

    def set_chaos(self, duplicate_next: int | None, reorder_next: int | None) -> dict[str, int]:
        with self._lock:
            if duplicate_next is not None:
                self._chaos.duplicate_next = duplicate_next
            if reorder_next is not None:
                self._chaos.reorder_next = reorder_next
            return self._chaos_view()

    def chaos(self) -> dict[str, int]:
        with self._lock:
            return self._chaos_view()

    def _chaos_view(self) -> dict[str, int]:
        return {
            "duplicateNext": self._chaos.duplicate_next,
            "reorderNext": self._chaos.reorder_next,
            "held": sum(len(v) for v in self._chaos.held.values()),
        }

    def release(self) -> int:
        """Send every held event now."""
        with self._lock:
            held, self._chaos.held = self._chaos.held, {}
        for key, items in held.items():
            self._queue.enqueue(key, items)
        return sum(len(v) for v in held.values())

    def _deliver(self, key: _Key, batch: list[EmittedEvent], attempt: int) -> bool:
        item = batch[0]
        subscription = self._live(item.subscription_id)
        if subscription is None:
            logger.info(
                "subscription %s is gone or inactive: event %s dropped",
                item.subscription_id,
                item.event["id"],
            )
            return True
        body = ev.body_of(item.event)
        headers = {"Content-Type": "application/json", "User-Agent": "WebexCC-Simulator/1.0"}
        if subscription.secret:
            headers[ev.SIGNATURE_HEADER] = ev.signature(body, subscription.secret)
        result = self._sender.post(subscription.destination_url, body, headers)
        self._record(
            item,
            subscription.destination_url,
            attempt,
            result.status,
            result.error,
            bool(subscription.secret),
        )
        if result.ok:
            return True
        logger.info(
            "event %s to subscription %s: attempt %d got %s",
            item.event["id"],
            item.subscription_id,
            attempt,
            result.status or result.error,
        )
        return not (result.status is None or result.status >= 500 or result.status in (408, 429))

    # Records ----------------------------------------------------------------------------------

    def _record(
        self, item: EmittedEvent, url: str, attempt: int, status: int | None, error: str | None, signed: bool
    ) -> None:
        with self._lock:
            self._seq += 1
            self._records.append(
                WebexDeliveryRecord(
                    self._seq,
                    str(item.event["id"]),
                    str(item.event["type"]),
                    item.subscription_id,
                    item.agent_id,
                    url,
                    attempt,
                    status,
                    error,
                    signed,
                    self._now(),
                )
            )
            del self._records[:-_MAX_RECORDS]

    def records(self) -> list[WebexDeliveryRecord]:
        with self._lock:
            return list(self._records)

    def clear_records(self) -> None:
        with self._lock:
            self._records.clear()
