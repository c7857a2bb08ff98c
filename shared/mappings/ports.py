"""What the presence-mappings area needs from the outside world. The Table Storage adapter lives in
shared/storage/mapping_repository.py."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Protocol

from shared.contact_center.idle_codes import IdleCodeVerification
from shared.mappings.model import MappingRules, PresenceMappings


class MappingRepository(Protocol):
    def get(self, tenant_id: str) -> PresenceMappings | None:
        """The stored mappings with their etag; None when the tenant never stored any."""
        ...

    def insert(self, tenant_id: str, rules: MappingRules, updated_at: datetime) -> PresenceMappings:
        """Store the first mappings of the tenant; raise StaleMappings when some are stored already."""
        ...

    def replace(
        self, tenant_id: str, rules: MappingRules, etag: str, updated_at: datetime
    ) -> PresenceMappings:
        """Replace the stored mappings if they are still at `etag`; raise StaleMappings otherwise."""
        ...

    def upsert(self, tenant_id: str, rules: MappingRules, updated_at: datetime) -> PresenceMappings:
        """Store the mappings whatever is stored (last writer wins)."""
        ...


class MappingCache(Protocol):
    def invalidate(self, tenant_id: str) -> None:
        """Forget the tenant's cached mappings so the next read in this process loads the stored ones."""
        ...


class IdleCodeVerifier(Protocol):
    def verify(self, tenant_id: str, idle_code_ids: Iterable[str]) -> IdleCodeVerification:
        """Which of the ids the tenant's contact center lacks, or why it could not be asked."""
        ...


class NoIdleCodeCheck:
    """For a service wired without a contact center to ask (tests of the mappings alone)."""

    def verify(self, tenant_id: str, idle_code_ids: Iterable[str]) -> IdleCodeVerification:
        return IdleCodeVerification(checked=False)
