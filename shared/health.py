"""Readiness: every dependency the API needs answers. Used by GET /api/health."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from shared.errors import AppError

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class HealthReport:
    healthy: bool
    checks: dict[str, str]


class HealthService:
    def __init__(self, probes: Mapping[str, Callable[[], None]]) -> None:
        self._probes = dict(probes)

    def check(self) -> HealthReport:
        checks: dict[str, str] = {}
        for name, probe in self._probes.items():
            try:
                probe()
                checks[name] = "ok"
            except AppError as error:
                logger.warning("health probe %s failed: %s", name, error.message)
                checks[name] = "unavailable"
            except Exception:
                logger.exception("health probe %s failed unexpectedly", name)
                checks[name] = "unavailable"
        return HealthReport(healthy=all(v == "ok" for v in checks.values()), checks=checks)
