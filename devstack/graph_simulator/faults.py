"""Injected failures (429 / 503 on the next calls to a path) and Graph's presence-read throttling."""

from __future__ import annotations

import threading
import time
from collections import deque
from typing import Any

from devstack.graph_simulator.errors import GraphApiError
from devstack.simulator_http import FaultInjector, FaultRule

__all__ = [
    "PRESENCE_BULK_LIMIT",
    "PRESENCE_BULK_WINDOW_SECONDS",
    "FaultInjector",
    "FaultRule",
    "SlidingWindowLimiter",
    "fault_as_json",
    "fault_error",
]

# getPresencesByUserId: about 1,500 requests per 30 seconds, per application per tenant.
PRESENCE_BULK_LIMIT = 1500
PRESENCE_BULK_WINDOW_SECONDS = 30.0


def fault_as_json(rule: FaultRule) -> dict[str, Any]:
    return {
        "pathPrefix": rule.path_prefix,
        "method": rule.method,
        "remaining": rule.remaining,
        "status": rule.status,
        "retryAfterSeconds": rule.retry_after_seconds,
    }


def fault_error(status: int, retry_after_seconds: int) -> GraphApiError:
    headers = {"Retry-After": str(retry_after_seconds)}
    if status == 429:
        return GraphApiError(
            429,
            "TooManyRequests",
            "Too many requests. Please retry after the time in the Retry-After header.",
            headers,
        )
    return GraphApiError(
        status, "ServiceUnavailable", "The service is temporarily unavailable. Retry later.", headers
    )


class SlidingWindowLimiter:
    """Counts calls per key over a sliding window; answers with the seconds to wait when over."""

    def __init__(self, limit: int, window_seconds: float) -> None:
        self._limit = limit
        self._window = window_seconds
        self._calls: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def check(self, key: str) -> int | None:
        now = time.monotonic()
        with self._lock:
            calls = self._calls.setdefault(key, deque())
            while calls and calls[0] <= now - self._window:
                calls.popleft()
            if len(calls) >= self._limit:
                return max(1, int(calls[0] + self._window - now) + 1)
            calls.append(now)
            return None
