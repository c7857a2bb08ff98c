"""Fakes of the ports, for unit tests. They keep the contracts (ETags, conflicts) of the real adapters."""

from __future__ import annotations

import itertools
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from shared.connectors.exceptions import ConnectorAlreadyExists, StaleConnector
from shared.connectors.model import AuditEntry, Connector


class FakeClock:
    def __init__(self, start: datetime | None = None) -> None:
        self.now = start or datetime(2026, 11, 21, 9, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


class FakeConnectorRepository:
    def __init__(self) -> None:
        self.rows: dict[str, Connector] = {}
        self._versions = itertools.count(1)
        self.writes = 0

    def _stamp(self, connector: Connector) -> Connector:
        self.writes += 1
        stored = replace(connector, etag=f'W/"v{next(self._versions)}"')
        self.rows[connector.tenant_id] = stored
        return stored

    def get(self, tenant_id: str) -> Connector | None:
        return self.rows.get(tenant_id)

    def add(self, connector: Connector) -> Connector:
        if connector.tenant_id in self.rows:
            raise ConnectorAlreadyExists(connector.tenant_id)
        return self._stamp(connector)

    def save(self, connector: Connector) -> Connector:
        current = self.rows.get(connector.tenant_id)
        if current is None or current.etag != connector.etag:
            raise StaleConnector(connector.tenant_id)
        return self._stamp(connector)

    def delete(self, connector: Connector) -> None:
        current = self.rows.get(connector.tenant_id)
        if current is None or current.etag != connector.etag:
            raise StaleConnector(connector.tenant_id)
        del self.rows[connector.tenant_id]


class FakeAuditLog:
    def __init__(self) -> None:
        self.entries: list[AuditEntry] = []
        self.fail = False

    def record(self, entry: AuditEntry) -> None:
        if self.fail:
            raise RuntimeError("audit table down")
        self.entries.append(entry)

    def list_recent(self, tenant_id: str, limit: int) -> list[AuditEntry]:
        mine = [e for e in self.entries if e.tenant_id == tenant_id]
        return list(reversed(mine))[:limit]


class FakeTenantPurger:
    def __init__(self, audit: FakeAuditLog) -> None:
        self.audit = audit
        self.purged: list[str] = []
        self.fail_once = False

    def purge(self, tenant_id: str) -> int:
        if self.fail_once:
            self.fail_once = False
            raise RuntimeError("storage went away half-way")
        before = len(self.audit.entries)
        self.audit.entries = [e for e in self.audit.entries if e.tenant_id != tenant_id]
        self.purged.append(tenant_id)
        return before - len(self.audit.entries)


class FakeOperationsReporter:
    """An OperationsReporter that records each report as a tuple (method name, arguments...)."""

    def __init__(self) -> None:
        self.reports: list[tuple[object, ...]] = []

    def change(self, tenant_id: str, outcome: object, reason: str) -> None:
        self.reports.append(("change", tenant_id, outcome, reason))

    def sync_delay(self, tenant_id: str, direction: object, seconds: float) -> None:
        self.reports.append(("sync_delay", tenant_id, direction, seconds))

    def notifications_dropped(self, tenant_id: str | None, reason: str, count: int) -> None:
        self.reports.append(("notifications_dropped", tenant_id, reason, count))

    def graph_throttled(self, tenant_id: str) -> None:
        self.reports.append(("graph_throttled", tenant_id))

    def contact_center_refused(self, tenant_id: str) -> None:
        self.reports.append(("contact_center_refused", tenant_id))

    def dead_lettered(self, tenant_id: str | None, kind: str) -> None:
        self.reports.append(("dead_lettered", tenant_id, kind))

    def subscription_failures(self, tenant_id: str, count: int) -> None:
        self.reports.append(("subscription_failures", tenant_id, count))

    def sync_account_needs_sign_in(self, tenant_id: str) -> None:
        self.reports.append(("sync_account_needs_sign_in", tenant_id))

    def of(self, name: str) -> list[tuple[object, ...]]:
        return [report for report in self.reports if report[0] == name]
