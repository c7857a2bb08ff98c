"""Injected failures: the next calls to a path answer an error status with Retry-After.

Each simulator turns a taken rule into its own service's error body."""

from __future__ import annotations

import dataclasses
import threading
from dataclasses import dataclass


@dataclass
class FaultRule:
    path_prefix: str
    method: str | None
    remaining: int
    status: int
    retry_after_seconds: int


class FaultInjector:
    def __init__(self, *, case_insensitive: bool = False) -> None:
        self._lock = threading.Lock()
        self._rules: list[FaultRule] = []
        self._case_insensitive = case_insensitive

    def add(self, rule: FaultRule) -> None:
        with self._lock:
            self._rules.append(rule)

    def clear(self) -> None:
        with self._lock:
            self._rules.clear()

    def rules(self) -> list[FaultRule]:
        with self._lock:
            return [dataclasses.replace(rule) for rule in self._rules]

    def take(self, method: str, path: str) -> FaultRule | None:
        """The fault for this call, consuming one use of the first matching rule."""
        with self._lock:
            for rule in self._rules:
                if self._starts(path, rule.path_prefix) and rule.method in (None, method.upper()):
                    rule.remaining -= 1
                    if rule.remaining <= 0:
                        self._rules.remove(rule)
                    return dataclasses.replace(rule)
        return None

    def _starts(self, path: str, prefix: str) -> bool:
        if self._case_insensitive:
            return path.lower().startswith(prefix.lower())
        return path.startswith(prefix)
