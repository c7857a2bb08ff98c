"""What the subscriptions service needs from the rest of the connector. Adapters are wired in bootstrap."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Protocol

from shared.graph.ports import DelegatedTokenProvider
from shared.subscriptions.model import RosterState, SubscriptionRecord, SubscriptionStatus


class AgentRoster(Protocol):
    def user_ids(self, tenant_id: str) -> list[str]:
        """The Entra object ids of every agent of the tenant (the users to subscribe to)."""
        ...


class SyncAccountPool(Protocol):
    def usable_account_ids(self, tenant_id: str) -> list[str]:
        """Healthy sync accounts, oldest first (the order shards prefer)."""
        ...

    def token_provider(self, tenant_id: str, account_id: str) -> DelegatedTokenProvider:
        """The account's delegated token source; calling it raises SyncAccountReauthorizationRequired
        when the account must sign in again."""
        ...

    def mark_reauthorization_required(self, tenant_id: str, account_id: str, reason: str) -> None: ...


class ActiveTenants(Protocol):
    def active_tenant_ids(self) -> Iterable[str]:
        """Tenants whose connector is active (the renew timer syncs each of them)."""
        ...


class SubscriptionCache(Protocol):
    def forget(self, subscription_id: str) -> None:
        """Drop what is cached about a subscription that was deleted or replaced."""
        ...


class SubscriptionLookup(Protocol):
    def find_by_subscription_id(self, tenant_id: str, subscription_id: str) -> SubscriptionRecord | None:
        """The tenant's record holding that Graph subscription id (one partition query)."""
        ...


class SubscriptionRepository(SubscriptionLookup, Protocol):
    """The Subscriptions table: one record per sync account, plus the tenant's `~roster` row."""

    def list(self, tenant_id: str) -> list[SubscriptionRecord]: ...

    def get(self, tenant_id: str, account_id: str) -> SubscriptionRecord | None: ...

    def put(self, record: SubscriptionRecord) -> SubscriptionRecord:
        """Insert or replace unconditionally (only the lease holder writes whole records)."""
        ...

    def record_renewal(
        self, tenant_id: str, account_id: str, subscription_id: str, expires_at: datetime, at: datetime
    ) -> SubscriptionRecord | None:
        """Merge a renewal if the record still holds `subscription_id`; None when it moved on."""
        ...

    def record_reauthorization(
        self, tenant_id: str, account_id: str, subscription_id: str, at: datetime
    ) -> SubscriptionRecord | None:
        """Merge a reauthorization if the record still holds `subscription_id`; None when it moved on."""
        ...

    def record_error(
        self,
        tenant_id: str,
        account_id: str,
        subscription_id: str,
        message: str,
        status: SubscriptionStatus,
    ) -> SubscriptionRecord | None:
        """Merge a status and last error if the record still holds `subscription_id`."""
        ...

    def delete(self, tenant_id: str, account_id: str) -> None:
        """Remove the record; a record already gone counts as deleted."""
        ...

    def tenant_ids(self) -> set[str]:
        """Every tenant that has at least one subscription record."""
        ...

    def roster_state(self, tenant_id: str) -> RosterState: ...

    def bump_roster_version(self, tenant_id: str) -> int:
        """Increment the roster version (ETag retries); raise RosterContention when it never settles."""
        ...

    def try_acquire_lease(self, tenant_id: str, owner: str, now: datetime, until: datetime) -> bool:
        """Take the sync lease unless another owner holds it past `now`."""
        ...

    def extend_lease(self, tenant_id: str, owner: str, until: datetime) -> bool:
        """Move our lease's end; False when it is no longer ours."""
        ...

    def release_lease(self, tenant_id: str, owner: str, seen_version: int | None) -> bool:
        """Give the lease up, unless the roster version is no longer `seen_version` (then keep it and
        return False, so the holder syncs again). None releases unconditionally."""
        ...
