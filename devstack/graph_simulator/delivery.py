"""Asynchronous delivery of notification batches: batching per endpoint, retries with back-off.

Deliveries run on the shared kit's queue (worker threads, never while the state lock is held). Like
Graph, a failed batch is retried a few times, so receivers can see duplicates.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from devstack.graph_simulator.outbound_http import post
from devstack.graph_simulator.state import SimulatorState
from devstack.simulator_http import DeliveryQueue

logger = logging.getLogger(__name__)

DEFAULT_RETRY_DELAYS = (1.0, 2.0, 4.0, 8.0)
DEFAULT_MAX_BATCH = 100
DEFAULT_TIMEOUT_SECONDS = 10.0


@dataclass(frozen=True)
class Envelope:
    """One changeNotification waiting for delivery."""

    kind: str  # "notification" or "lifecycle"
    url: str
    subscription_id: str
    tenant_id: str
    app_id: str
    item: dict[str, Any]
    needs_validation_token: bool


ValidationTokenFactory = Callable[[str, str], str]
_Key = tuple[str, str]


class DeliveryDispatcher:
    """Batches per (kind, endpoint) on the shared delivery queue."""

    def __init__(
        self,
        state: SimulatorState,
        validation_token: ValidationTokenFactory,
        *,
        retry_delays: tuple[float, ...] = DEFAULT_RETRY_DELAYS,
        max_batch: int = DEFAULT_MAX_BATCH,
        timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS,
        workers: int = 4,
    ) -> None:
        self._state = state
        self._validation_token = validation_token
        self._timeout = timeout_seconds
        self._queue: DeliveryQueue[_Key, Envelope] = DeliveryQueue(
            self._deliver,
            retry_delays=retry_delays,
            max_batch=max_batch,
            workers=workers,
            name="graph-sim-delivery",
        )

    def start(self) -> None:
        self._queue.start()

    def stop(self) -> None:
        self._queue.stop()

    def enqueue(self, envelopes: list[Envelope]) -> None:
        groups: dict[_Key, list[Envelope]] = {}
        for envelope in envelopes:
            groups.setdefault((envelope.kind, envelope.url), []).append(envelope)
        for key, batch in groups.items():
            self._queue.enqueue(key, batch)

    def wait_idle(self, timeout: float) -> bool:
        """True once nothing is pending, in flight or waiting for a retry."""
        return self._queue.wait_idle(timeout)

    def _body(self, batch: list[Envelope]) -> bytes:
        payload: dict[str, Any] = {"value": [e.item for e in batch]}
        pairs = sorted({(e.app_id, e.tenant_id) for e in batch if e.needs_validation_token})
        if pairs:
            payload["validationTokens"] = [
                self._validation_token(app_id, tenant_id) for app_id, tenant_id in pairs
            ]
        return json.dumps(payload).encode("utf-8")

    def _deliver(self, key: _Key, batch: list[Envelope], attempt: int) -> bool:
        kind, url = key
        result = post(url, self._body(batch), "application/json; charset=utf-8", self._timeout)
        self._state.record_delivery(
            kind=kind,
            url=url,
            subscription_ids=tuple(dict.fromkeys(e.subscription_id for e in batch)),
            notification_count=len(batch),
            attempt=attempt,
            status=result.status,
            error=result.error,
            latency=timedelta(seconds=result.latency_seconds),
        )
        return result.ok
