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
