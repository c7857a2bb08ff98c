"""Asynchronous delivery of agent events to the connector's webhook events route, signed, retried.

Events of one agent leave in order (one in flight per agent and events URL), agents are delivered
concurrently. Like a real contact center's webhooks, a failed event is retried a few times (5xx, 429,
network errors), so the connector can see duplicates, and a retried event can arrive after a newer one
(sequenceNumber orders them).
"""

from __future__ import annotations

import json
import logging
from typing import Any, Final

from devstack.contact_center_simulator.signing import sign
from devstack.contact_center_simulator.state import DeliveryTarget, SimulatorState
from devstack.simulator_http import DeliveryQueue, post

logger = logging.getLogger(__name__)

DEFAULT_RETRY_DELAYS: Final = (1.0, 2.0, 4.0, 8.0)
DEFAULT_TIMEOUT_SECONDS: Final = 10.0

_Key = tuple[str, str]
_Job = tuple[dict[str, Any], DeliveryTarget]


class EventDispatcher:
    def __init__(
        self,
        state: SimulatorState,
        *,
        retry_delays: tuple[float, ...] = DEFAULT_RETRY_DELAYS,
        timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS,
    ) -> None:
        self._state = state
        self._timeout = timeout_seconds
        self._queue: DeliveryQueue[_Key, _Job] = DeliveryQueue(
            self._deliver, retry_delays=retry_delays, name="cc-sim-delivery"
        )

    def start(self) -> None:
        self._queue.start()

    def stop(self) -> None:
        self._queue.stop()

    def enqueue(self, event: dict[str, Any], target: DeliveryTarget) -> None:
        self._queue.enqueue((target.url, str(event["agentId"])), [(event, target)])

    def clear(self) -> None:
        self._queue.clear()

    def wait_idle(self, timeout: float) -> bool:
        """True once nothing is queued, in flight or waiting for a retry."""
        return self._queue.wait_idle(timeout)

    def _deliver(self, key: _Key, batch: list[_Job], attempt: int) -> bool:
        """POST the event; True when settled (delivered, or refused in a way a retry cannot fix)."""
        event, target = batch[0]
        body = json.dumps({"events": [event]}, separators=(",", ":")).encode("utf-8")
        signature = {"X-Connector-Signature": sign(body, target.secret)}
        result = post(target.url, body, "application/json", self._timeout, signature)
        self._state.record_delivery(event, target, attempt, result.status, result.error)
        if result.ok:
            return True
        outcome = result.status or result.error
        logger.info("event %s to %s: attempt %d got %s", event["eventId"], target.url, attempt, outcome)
        return not (result.status is None or result.status >= 500 or result.status == 429)
