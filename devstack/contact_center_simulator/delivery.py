"""Asynchronous delivery of agent events to the connector, signed, retried on 5xx and network errors.

Like a real contact center's webhooks, a failed event is retried a few times, so the connector can see
duplicates, and a retried event can arrive after a newer one (sequenceNumber orders them).
"""

from __future__ import annotations

import heapq
import itertools
import json
import logging
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from typing import Any, Final

from devstack.contact_center_simulator.signing import sign
from devstack.contact_center_simulator.state import DeliveryTarget, SimulatorState

logger = logging.getLogger(__name__)

DEFAULT_RETRY_DELAYS: Final = (1.0, 2.0, 4.0, 8.0)
DEFAULT_TIMEOUT_SECONDS: Final = 10.0
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


@dataclass(order=True)
class _Job:
    due: float
    order: int
    event: dict[str, Any] = field(compare=False)
    target: DeliveryTarget = field(compare=False)
    attempt: int = field(compare=False, default=1)


class EventDispatcher:
    def __init__(
        self,
        state: SimulatorState,
        *,
        retry_delays: tuple[float, ...] = DEFAULT_RETRY_DELAYS,
        timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS,
    ) -> None:
        self._state = state
        self._retry_delays = retry_delays
        self._timeout = timeout_seconds
        self._cond = threading.Condition()
        self._jobs: list[_Job] = []
        self._in_flight = 0
        self._order = itertools.count()
        self._running = False
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        with self._cond:
            if self._running:
                return
            self._running = True
        self._thread = threading.Thread(target=self._loop, name="cc-sim-delivery", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        with self._cond:
            self._running = False
            self._cond.notify_all()
        if self._thread is not None:
            self._thread.join()
            self._thread = None

    def enqueue(self, event: dict[str, Any], target: DeliveryTarget) -> None:
        with self._cond:
            heapq.heappush(self._jobs, _Job(time.monotonic(), next(self._order), event, target))
            self._cond.notify_all()

    def clear(self) -> None:
        with self._cond:
            self._jobs.clear()
            self._cond.notify_all()

    def wait_idle(self, timeout: float) -> bool:
        """True once nothing is queued, in flight or waiting for a retry."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while self._jobs or self._in_flight:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._cond.wait(remaining)
            return True

    def _loop(self) -> None:
        while True:
            with self._cond:
                while self._running and (not self._jobs or self._jobs[0].due > time.monotonic()):
                    wait = self._jobs[0].due - time.monotonic() if self._jobs else None
                    self._cond.wait(wait)
                if not self._running:
                    return
                job = heapq.heappop(self._jobs)
                self._in_flight += 1
            try:
                retry = self._deliver(job)
            except Exception:
                logger.exception("delivery of event %s crashed", job.event.get("eventId"))
                retry = False
            with self._cond:
                self._in_flight -= 1
                if retry and self._running and job.attempt <= len(self._retry_delays):
                    delay = self._retry_delays[job.attempt - 1]
                    job.due, job.attempt = time.monotonic() + delay, job.attempt + 1
                    heapq.heappush(self._jobs, job)
                elif retry:
                    logger.warning("dropping event %s after %d attempts", job.event["eventId"], job.attempt)
                self._cond.notify_all()

    def _deliver(self, job: _Job) -> bool:
        """POST the event; True when it is worth another attempt."""
        body = json.dumps({"events": [job.event]}, separators=(",", ":")).encode("utf-8")
        request = urllib.request.Request(
            job.target.url,
            data=body,
            method="POST",
            headers={
                "Content-Type": "application/json",
                "X-Connector-Signature": sign(body, job.target.secret),
            },
        )
        status: int | None = None
        error: str | None = None
        try:
            with _OPENER.open(request, timeout=self._timeout) as response:
                status = response.status
                response.read()
        except urllib.error.HTTPError as failure:
            status = failure.code
            failure.read()
        except (TimeoutError, urllib.error.URLError, ConnectionError, OSError) as failure:
            error = repr(getattr(failure, "reason", failure))
        self._state.record_delivery(job.event, job.target, job.attempt, status, error)
        if status is not None and 200 <= status < 300:
            return False
        logger.info(
            "event %s to %s: attempt %d got %s",
            job.event["eventId"],
            job.target.url,
            job.attempt,
            status or error,
        )
        return status is None or status >= 500 or status == 429
