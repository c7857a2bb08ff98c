"""Subscription records, the tenant's roster/lease state, capacity and the reports the service returns."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from shared.subscriptions.sharding import MAX_IDS_PER_SUBSCRIPTION


class SubscriptionStatus(StrEnum):
    # Graph holds the subscription (as far as we know) and it covers `user_ids`.
    ACTIVE = "active"
    # The last attempt to create it failed (see last_error); the next sync pass tries again.
    FAILED = "failed"
    # Written just before the Graph create: if it stays, the process stopped in between.
    PENDING = "pending"


@dataclass(frozen=True)
class SubscriptionRecord:
    """One sync account's presence subscription (RowKey = account id) and the shard assigned to it."""

    tenant_id: str
    account_id: str
    subscription_id: str | None
    user_ids: tuple[str, ...]
    expires_at: datetime | None
    created_at: datetime
    renewed_at: datetime | None
    reauthorized_at: datetime | None
    status: SubscriptionStatus
    last_error: str | None
    etag: str | None = None

    def is_live(self, now: datetime) -> bool:
        """True while Graph should be delivering this subscription's notifications."""
        return (
            self.status is SubscriptionStatus.ACTIVE
            and self.subscription_id is not None
            and self.expires_at is not None
            and self.expires_at > now
        )

    def last_touched(self) -> datetime | None:
        """When the subscription was last renewed or reauthorized, for Graph's 10-minute rule."""
        times = [t for t in (self.renewed_at, self.reauthorized_at) if t is not None]
        return max(times) if times else None


@dataclass(frozen=True)
class RosterState:
    """The `~roster` row: a version bumped on every roster change, and the single-syncer lease."""

    version: int
    lease_owner: str | None
    lease_until: datetime | None
    etag: str | None = None


@dataclass(frozen=True)
class Capacity:
    agents: int
    subscribed: int
    accounts_usable: int
    accounts_needed: int
    accounts_total: int
    # A sentence for admins when sync accounts are missing ("1,300 agents need 2 sync accounts; 1 signed
    # in"); None when the usable accounts can hold every agent.
    missing: str | None

    @classmethod
    def of(cls, agents: int, subscribed: int, accounts_usable: int, accounts_total: int) -> Capacity:
        needed = math.ceil(agents / MAX_IDS_PER_SUBSCRIPTION)
        missing = None
        if needed > accounts_usable:
            missing = _missing_sentence(agents, needed, accounts_usable, accounts_total)
        return cls(
            agents=agents,
            subscribed=subscribed,
            accounts_usable=accounts_usable,
            accounts_needed=needed,
            accounts_total=max(accounts_total, accounts_usable),
            missing=missing,
        )


def _missing_sentence(agents: int, needed: int, usable: int, total: int) -> str:
    verb = "needs" if agents == 1 else "need"
    head = f"{_count(agents, 'agent')} {verb} {_count(needed, 'sync account')}"
    signed_in = "none signed in" if usable == 0 else f"{usable:,} signed in"
    stale = total - usable
    tail = f", {stale:,} must sign in again" if stale > 0 else ""
    return f"{head}; {signed_in}{tail}"


def _count(number: int, noun: str) -> str:
    return f"{number:,} {noun}" + ("" if number == 1 else "s")


class SyncOutcome(StrEnum):
    SYNCED = "synced"
    UP_TO_DATE = "upToDate"
    # Another instance holds the tenant's lease; it sees the roster version bump and loops again.
    LEASE_HELD = "leaseHeld"
    CONNECTOR_NOT_ACTIVE = "connectorNotActive"


@dataclass(frozen=True)
class SyncReport:
    tenant_id: str
    outcome: SyncOutcome
    passes: int = 0
    created: int = 0
    replaced: int = 0
    deleted: int = 0
    renewed: int = 0
    recreated: int = 0
    failed: int = 0
    unsubscribed: int = 0
    presences_published: int = 0
    errors: tuple[str, ...] = ()


@dataclass(frozen=True)
class RenewReport:
    tenants: int = 0
    synced: int = 0
    failed: int = 0
    created: int = 0
    replaced: int = 0
    deleted: int = 0
    renewed: int = 0
    recreated: int = 0
    failed_tenant_ids: tuple[str, ...] = ()


@dataclass(frozen=True)
class LifecycleReport:
    received: int = 0
    renewed: int = 0
    reauthorized: int = 0
    skipped: int = 0
    recreated: int = 0
    gap_closed: int = 0
    dropped: dict[str, int] = field(default_factory=dict)

    @property
    def handled(self) -> int:
        """Notifications acted on (a skip under Graph's 10-minute rule counts as handled)."""
        return self.renewed + self.reauthorized + self.skipped + self.recreated + self.gap_closed
