"""Injected failures (429 / 503 on the next calls to a path) and Graph's presence-read throttling."""

from __future__ import annotations

import threading
import time
from collections import deque
from dataclasses import dataclass

from devstack.graph_simulator.errors import GraphApiError

# getPresencesByUserId: about 1,500 requests per 30 seconds, per application per tenant.
PRESENCE_BULK_LIMIT = 1500
PRESENCE_BULK_WINDOW_SECONDS = 30.0


@dataclass
class FaultRule:
    path_prefix: str
    method: str | None
    remaining: int
    status: int
    retry_after_seconds: int

    def as_json(self) -> dict[str, object]:
        return {
            "pathPrefix": self.path_prefix,
            "method": self.method,
            "remaining": self.remaining,
            "status": self.status,
            "retryAfterSeconds": self.retry_after_seconds,
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


class FaultInjector:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._rules: list[FaultRule] = []

    def add(self, rule: FaultRule) -> None:
        with self._lock:
            self._rules.append(rule)

    def clear(self) -> None:
        with self._lock:
            self._rules.clear()

    def rules(self) -> list[FaultRule]:
        with self._lock:
            return [FaultRule(**vars(r)) for r in self._rules]

    def take(self, method: str, path: str) -> GraphApiError | None:
        """The injected error for this call, consuming one use of the first matching rule."""
        with self._lock:
            for rule in self._rules:
                if path.lower().startswith(rule.path_prefix.lower()) and rule.method in (
                    None,
                    method.upper(),
                ):
                    rule.remaining -= 1
                    if rule.remaining <= 0:
                        self._rules.remove(rule)
                    return fault_error(rule.status, rule.retry_after_seconds)
        return None


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
