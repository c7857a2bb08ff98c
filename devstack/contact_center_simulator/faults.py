"""Injected failures: the next calls to a path answer 429 or 503 with Retry-After (the shared kit's)."""

from __future__ import annotations

from typing import Any

from devstack.simulator_http import FaultInjector, FaultRule

__all__ = ["FaultInjector", "FaultRule", "fault_as_json"]


def fault_as_json(rule: FaultRule) -> dict[str, Any]:
    return {
        "path": rule.path_prefix,
        "method": rule.method,
        "remaining": rule.remaining,
        "status": rule.status,
        "retryAfterSeconds": rule.retry_after_seconds,
    }
