"""Fakes of the mappings ports, keeping the contracts of the Table Storage adapter (ETags, conflicts)."""

from __future__ import annotations

import itertools
import threading
from datetime import datetime

from shared.mappings.exceptions import StaleMappings
from shared.mappings.model import MappingRules, PresenceMappings


class FakeMappingRepository:
    def __init__(self) -> None:
        self.rows: dict[str, PresenceMappings] = {}
        self.updated_at: dict[str, datetime] = {}
        self.reads = 0
        self.writes = 0
        self.fail_reads: Exception | None = None
        self._versions = itertools.count(1)
        self._lock = threading.Lock()

    def _store(self, tenant_id: str, rules: MappingRules, updated_at: datetime) -> PresenceMappings:
        self.writes += 1
        stored = PresenceMappings(rules, is_default=False, etag=f'W/"v{next(self._versions)}"')
        self.rows[tenant_id] = stored
        self.updated_at[tenant_id] = updated_at
        return stored

    def get(self, tenant_id: str) -> PresenceMappings | None:
        with self._lock:
            self.reads += 1
        if self.fail_reads is not None:
            raise self.fail_reads
        return self.rows.get(tenant_id)

    def insert(self, tenant_id: str, rules: MappingRules, updated_at: datetime) -> PresenceMappings:
        if tenant_id in self.rows:
            raise StaleMappings(tenant_id)
        return self._store(tenant_id, rules, updated_at)

    def replace(
        self, tenant_id: str, rules: MappingRules, etag: str, updated_at: datetime
    ) -> PresenceMappings:
        current = self.rows.get(tenant_id)
        if current is None or current.etag != etag:
            raise StaleMappings(tenant_id)
        return self._store(tenant_id, rules, updated_at)

    def upsert(self, tenant_id: str, rules: MappingRules, updated_at: datetime) -> PresenceMappings:
        return self._store(tenant_id, rules, updated_at)


class RecordingCache:
    def __init__(self) -> None:
        self.invalidated: list[str] = []

    def invalidate(self, tenant_id: str) -> None:
        self.invalidated.append(tenant_id)
