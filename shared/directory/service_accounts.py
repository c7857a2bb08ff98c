"""The tenant's sync accounts as the directory sees them: ids of service users to leave out."""

from __future__ import annotations

from shared.sync_accounts.ports import SyncAccountRepository


class SyncAccountIds:
    def __init__(self, repository: SyncAccountRepository) -> None:
        self._repository = repository

    def service_user_ids(self, tenant_id: str) -> frozenset[str]:
        return frozenset(account.account_id.lower() for account in self._repository.list(tenant_id))
