"""Injected failures: the next calls to a path answer 429 or 503 with Retry-After."""

from __future__ import annotations

import threading

from devstack.contact_center_simulator.models import FaultRule


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
            return [FaultRule(**vars(rule)) for rule in self._rules]

    def take(self, method: str, path: str) -> FaultRule | None:
        """The fault for this call, consuming one use of the first matching rule."""
        with self._lock:
            for rule in self._rules:
                if path.startswith(rule.path_prefix) and rule.method in (None, method.upper()):
                    rule.remaining -= 1
                    if rule.remaining <= 0:
                        self._rules.remove(rule)
                    return FaultRule(**vars(rule))
        return None
