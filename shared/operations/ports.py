"""What the sync engine, the intakes and the subscription service report to operations, and where the
per-minute figures are kept. The reporting side imports only this module (never metrics or storage)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from enum import StrEnum
from typing import Protocol

from shared.agents.model import Agent
from shared.connectors.model import Connector
from shared.contact_center.health import ContactCenterHealth
from shared.operations.model import MinuteStats
from shared.presence.sync_state import StoredSyncState
from shared.subscriptions.model import SubscriptionRecord
from shared.sync_accounts.model import SyncAccount


class Direction(StrEnum):
    TEAMS_TO_CONTACT_CENTER = "teamsToContactCenter"
    CONTACT_CENTER_TO_TEAMS = "contactCenterToTeams"


class ChangeOutcome(StrEnum):
    # The change led to a command the other side accepted, or updated what the connector knows.
    APPLIED = "applied"
    # A newer fact already decided the agent's state (an older sequence number, a replaced echo).
    SUPERSEDED = "superseded"
    # Not applied at all (not an agent, connector inactive, sync off, refused command).
    DROPPED = "dropped"


class OperationsReporter(Protocol):
    """Cheap, in-memory, never raising: called on the per-change path."""

    def change(self, tenant_id: str, outcome: ChangeOutcome, reason: str) -> None: ...

    def sync_delay(self, tenant_id: str, direction: Direction, seconds: float) -> None: ...

    def notifications_dropped(self, tenant_id: str | None, reason: str, count: int) -> None: ...

    def graph_throttled(self, tenant_id: str) -> None: ...

    def contact_center_refused(self, tenant_id: str) -> None: ...

    def dead_lettered(self, tenant_id: str | None, kind: str) -> None: ...

    def subscription_failures(self, tenant_id: str, count: int) -> None: ...

    def sync_account_needs_sign_in(self, tenant_id: str) -> None: ...


class NoReports:
    """The reporter of a service wired without operations (unit tests of other areas)."""

    def change(self, tenant_id: str, outcome: ChangeOutcome, reason: str) -> None:
        return None

    def sync_delay(self, tenant_id: str, direction: Direction, seconds: float) -> None:
        return None

    def notifications_dropped(self, tenant_id: str | None, reason: str, count: int) -> None:
        return None

    def graph_throttled(self, tenant_id: str) -> None:
        return None

    def contact_center_refused(self, tenant_id: str) -> None:
        return None

    def dead_lettered(self, tenant_id: str | None, kind: str) -> None:
        return None

    def subscription_failures(self, tenant_id: str, count: int) -> None:
        return None

    def sync_account_needs_sign_in(self, tenant_id: str) -> None:
        return None


class UnflushedStats(Protocol):
    def pending(self, tenant_id: str) -> list[MinuteStats]: ...


class OperationsStatsStore(Protocol):
    """Per-minute figures of each process, one row per tenant, minute and process instance."""

    def write(self, stats: Sequence[MinuteStats]) -> None: ...

    def read(self, tenant_id: str, since: datetime) -> list[MinuteStats]: ...


# -- what the health views read (each an existing repository) ------------------------------------------


class ConnectorLookup(Protocol):
    def get(self, tenant_id: str) -> Connector | None: ...


class AgentLookup(Protocol):
    def get(self, tenant_id: str, agent_id: str) -> Agent | None: ...


class SyncStateReader(Protocol):
    def load(self, tenant_id: str, user_id: str) -> StoredSyncState | None: ...

    def list_tenant(self, tenant_id: str) -> list[StoredSyncState]: ...


class SubscriptionRecords(Protocol):
    def list(self, tenant_id: str) -> list[SubscriptionRecord]: ...


class SyncAccountLister(Protocol):
    def list(self, tenant_id: str) -> list[SyncAccount]: ...


class ContactCenterHealthReader(Protocol):
    def get(self, tenant_id: str) -> ContactCenterHealth: ...
