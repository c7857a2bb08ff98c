"""Asynchronous delivery of notification batches: batching per endpoint, retries with back-off.

Deliveries run on worker threads and never while the state lock is held. Like Graph, a failed
batch is retried a few times, so receivers can see duplicates.
"""

from __future__ import annotations

import heapq
import itertools
import json
import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from devstack.graph_simulator.outbound_http import post
from devstack.graph_simulator.state import SimulatorState

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


@dataclass
class _Retry:
    due: float
    order: int
    key: _Key
    batch: list[Envelope]
    attempt: int

    def __lt__(self, other: _Retry) -> bool:
        return (self.due, self.order) < (other.due, other.order)


class DeliveryDispatcher:
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
        self._retry_delays = retry_delays
        self._max_batch = max_batch
        self._timeout = timeout_seconds
        self._workers = workers
        self._cond = threading.Condition()
        self._pending: dict[_Key, list[Envelope]] = {}
        self._in_flight: set[_Key] = set()
        self._retries: list[_Retry] = []
        self._order = itertools.count()
        self._running = False
        self._thread: threading.Thread | None = None
        self._executor: ThreadPoolExecutor | None = None

    def start(self) -> None:
        with self._cond:
            if self._running:
                return
            self._running = True
        self._executor = ThreadPoolExecutor(
            max_workers=self._workers, thread_name_prefix="graph-sim-delivery"
        )
        self._thread = threading.Thread(target=self._dispatch_loop, name="graph-sim-dispatcher", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        with self._cond:
            self._running = False
            self._cond.notify_all()
        if self._thread is not None:
            self._thread.join()
            self._thread = None
        if self._executor is not None:
            self._executor.shutdown(wait=True, cancel_futures=True)
            self._executor = None

    def enqueue(self, envelopes: list[Envelope]) -> None:
        with self._cond:
            for envelope in envelopes:
                self._pending.setdefault((envelope.kind, envelope.url), []).append(envelope)
            self._cond.notify_all()

    def wait_idle(self, timeout: float) -> bool:
        """True once nothing is pending, in flight or waiting for a retry."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while self._pending or self._in_flight or self._retries:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._cond.wait(remaining)
            return True

    def _dispatch_loop(self) -> None:
        while True:
            with self._cond:
                job = self._next_job_locked()
                while job is None and self._running:
                    wait = self._retries[0].due - time.monotonic() if self._retries else None
                    self._cond.wait(None if wait is None else max(wait, 0.0))
                    job = self._next_job_locked()
                if job is None:
                    return
                key, batch, attempt = job
                self._in_flight.add(key)
            executor = self._executor
            if executor is None:
                return
            executor.submit(self._deliver, key, batch, attempt)

    def _next_job_locked(self) -> tuple[_Key, list[Envelope], int] | None:
        if not self._running:
            return None
        now = time.monotonic()
        for index, retry in enumerate(self._retries):
            if retry.due <= now and retry.key not in self._in_flight:
                self._retries.pop(index)
                heapq.heapify(self._retries)
                return retry.key, retry.batch, retry.attempt
        for key, queued in self._pending.items():
            if key in self._in_flight or not queued:
                continue
            batch, rest = queued[: self._max_batch], queued[self._max_batch :]
            if rest:
                self._pending[key] = rest
            else:
                del self._pending[key]
            return key, batch, 1
        return None

    def _body(self, batch: list[Envelope]) -> bytes:
        payload: dict[str, Any] = {"value": [e.item for e in batch]}
        pairs = sorted({(e.app_id, e.tenant_id) for e in batch if e.needs_validation_token})
        if pairs:
            payload["validationTokens"] = [
                self._validation_token(app_id, tenant_id) for app_id, tenant_id in pairs
            ]
        return json.dumps(payload).encode("utf-8")

    def _deliver(self, key: _Key, batch: list[Envelope], attempt: int) -> None:
        kind, url = key
        try:
            result = post(url, self._body(batch), "application/json; charset=utf-8", self._timeout)
            ok = result.status is not None and 200 <= result.status < 300
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
        except Exception:
            logger.exception("delivery of %d %s items to %s crashed", len(batch), kind, url)
            ok = False
        with self._cond:
            self._in_flight.discard(key)
            if not ok:
                if attempt <= len(self._retry_delays) and self._running:
                    delay = self._retry_delays[attempt - 1]
                    logger.info("delivery to %s failed (attempt %d); retrying in %.1f s", url, attempt, delay)
                    heapq.heappush(
                        self._retries,
                        _Retry(time.monotonic() + delay, next(self._order), key, batch, attempt + 1),
                    )
                else:
                    logger.warning(
                        "dropping %d %s items for %s after %d attempts", len(batch), kind, url, attempt
                    )
            self._cond.notify_all()
