"""Asynchronous deliveries to the connector: a FIFO per key, concurrent across keys, retried with back-off.

One batch per key is in flight at a time, so items of one key (a subscription endpoint, an agent) leave in
the order they were queued. A failed batch waits for its retry without blocking newer items of its key,
so (like real webhooks) a retried item can arrive after a newer one and a receiver can see duplicates.
Deliveries run on worker threads and never under the caller's locks.
"""

from __future__ import annotations

import heapq
import itertools
import logging
import threading
import time
from collections.abc import Callable, Hashable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Generic, TypeVar

logger = logging.getLogger(__name__)

K = TypeVar("K", bound=Hashable)
T = TypeVar("T")

# deliver(key, batch, attempt) -> True when settled (delivered, or not worth another attempt).
Deliver = Callable[[K, list[T], int], bool]


@dataclass
class _Retry(Generic[K, T]):
    due: float
    order: int
    key: K = field(compare=False)
    batch: list[T] = field(compare=False)
    attempt: int = field(compare=False)

    def __lt__(self, other: _Retry[K, T]) -> bool:
        return (self.due, self.order) < (other.due, other.order)


class DeliveryQueue(Generic[K, T]):
    def __init__(
        self,
        deliver: Deliver[K, T],
        *,
        retry_delays: tuple[float, ...],
        max_batch: int = 1,
        workers: int = 4,
        name: str = "sim-delivery",
    ) -> None:
        self._deliver = deliver
        self._retry_delays = retry_delays
        self._max_batch = max_batch
        self._workers = workers
        self._name = name
        self._cond = threading.Condition()
        self._pending: dict[K, list[T]] = {}
        self._in_flight: set[K] = set()
        self._retries: list[_Retry[K, T]] = []
        self._order = itertools.count()
        self._running = False
        self._thread: threading.Thread | None = None
        self._executor: ThreadPoolExecutor | None = None

    def start(self) -> None:
        with self._cond:
            if self._running:
                return
            self._running = True
        self._executor = ThreadPoolExecutor(max_workers=self._workers, thread_name_prefix=self._name)
        self._thread = threading.Thread(target=self._dispatch_loop, name=f"{self._name}-loop", daemon=True)
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

    def enqueue(self, key: K, items: list[T]) -> None:
        with self._cond:
            self._pending.setdefault(key, []).extend(items)
            self._cond.notify_all()

    def clear(self) -> None:
        """Forget what is queued or waiting for a retry (what is in flight finishes)."""
        with self._cond:
            self._pending.clear()
            self._retries.clear()
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
            executor.submit(self._run, key, batch, attempt)

    def _next_job_locked(self) -> tuple[K, list[T], int] | None:
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

    def _run(self, key: K, batch: list[T], attempt: int) -> None:
        try:
            settled = self._deliver(key, batch, attempt)
        except Exception:
            logger.exception("delivery of %d items for %s crashed", len(batch), key)
            settled = False
        with self._cond:
            self._in_flight.discard(key)
            if not settled:
                if attempt <= len(self._retry_delays) and self._running:
                    delay = self._retry_delays[attempt - 1]
                    logger.info("delivery for %s failed (attempt %d); retry in %.1f s", key, attempt, delay)
                    retry = _Retry(time.monotonic() + delay, next(self._order), key, batch, attempt + 1)
                    heapq.heappush(self._retries, retry)
                else:
                    logger.warning("dropping %d items for %s after %d attempts", len(batch), key, attempt)
            self._cond.notify_all()
