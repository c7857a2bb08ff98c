"""Operations against Azurite: the per-minute figures table (adding flushes of one minute, the last
hour's range read, pruning, the tenant purge) and a sync account that needs a new sign-in showing in
GET sync-status and sync-health through the real repositories."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from shared.connectors.model import Connector, ConnectorSettings, ConnectorStatus, WebhookContactCenter
from shared.operations.model import MinuteStats
from shared.operations.ports import Direction
from shared.operations.service import OperationsService
from shared.operations.views import agent_status_json, sync_health_json
from shared.security.secret_box import SecretBox
from shared.settings import Settings
from shared.storage.agent_repository import TableAgentRepository
from shared.storage.agent_sync_state_repository import TableAgentSyncStates
from shared.storage.connector_repository import TableConnectorRepository
from shared.storage.contact_center_health_repository import TableContactCenterHealth
from shared.storage.operations_stats_repository import KEEP, TableOperationsStats
from shared.storage.subscription_repository import TableSubscriptionRepository
from shared.storage.sync_account_repository import TableSyncAccountRepository
from shared.storage.table_store import TableStore
from shared.storage.tenant_purge import TableTenantPurger
from shared.subscriptions.model import SubscriptionRecord, SubscriptionStatus
from shared.sync_accounts.model import SyncAccount, SyncAccountStatus

pytestmark = pytest.mark.integration

NOW = datetime(2026, 12, 2, 10, 0, tzinfo=UTC)
USER = "22222222-2222-2222-2222-222222222222"
ACCOUNT = "33333333-3333-3333-3333-333333333333"


@pytest.fixture
def store(azurite_settings: Settings) -> TableStore:
    return TableStore.from_settings(azurite_settings)


def minute(tenant_id: str, at: datetime, instance: str = "i1") -> MinuteStats:
    stats = MinuteStats(tenant_id, at, instance)
    stats.changes["applied"] += 1
    stats.notifications_dropped["unknownSubscription"] += 1
    stats.add_delay(Direction.TEAMS_TO_CONTACT_CENTER.value, 1.5)
    return stats


def test_flushes_of_one_minute_add_up_and_the_last_hour_is_one_range_read(
    store: TableStore, tenant_id: str
) -> None:
    table = TableOperationsStats(store)
    table.write([minute(tenant_id, NOW)])
    table.write([minute(tenant_id, NOW)])
    table.write([minute(tenant_id, NOW, "i2"), minute(tenant_id, NOW - timedelta(minutes=90))])
    rows = table.read(tenant_id, NOW - timedelta(hours=1))
    assert sorted(r.instance for r in rows) == ["i1", "i2"]
    mine = next(r for r in rows if r.instance == "i1")
    assert mine.changes == {"applied": 2}
    assert mine.notifications_dropped == {"unknownSubscription": 2}
    assert sum(mine.delays[Direction.TEAMS_TO_CONTACT_CENTER.value]) == 2
    assert len(table.read(tenant_id, NOW - timedelta(hours=2))) == 3
    # A flush far later deletes what is older than KEEP
    table.write([minute(tenant_id, NOW + KEEP + timedelta(minutes=1))])
    assert [r.minute for r in table.read(tenant_id, NOW - timedelta(days=1))] == [
        NOW + KEEP + timedelta(minutes=1)
    ]
    # AND deleting the tenant removes its figures
    TableTenantPurger(store).purge(tenant_id)
    assert table.read(tenant_id, NOW - timedelta(days=1)) == []


def test_a_sync_account_needing_a_new_sign_in_shows_for_the_agent_and_the_tenant(
    store: TableStore, azurite_settings: Settings, tenant_id: str
) -> None:
    secrets = SecretBox(azurite_settings.secrets_encryption_key)
    connectors = TableConnectorRepository(store, secrets)
    connectors.add(
        Connector(
            tenant_id,
            ConnectorStatus.ACTIVE,
            ConnectorSettings(),
            WebhookContactCenter("https://cc.example.com/hook", "s" * 24),
            NOW,
            NOW,
        )
    )
    agents = TableAgentRepository(store, clock=lambda: NOW)
    agents.save(tenant_id, "agent-1", USER, None, NOW)
    subscriptions = TableSubscriptionRepository(store)
    subscriptions.put(
        SubscriptionRecord(
            tenant_id,
            ACCOUNT,
            "sub-1",
            (USER,),
            NOW + timedelta(minutes=50),
            NOW,
            None,
            None,
            SubscriptionStatus.ACTIVE,
            None,
        )
    )
    accounts = TableSyncAccountRepository(store, secrets)
    signed_in = accounts.save_signed_in(
        SyncAccount(
            tenant_id,
            ACCOUNT,
            "sync@contoso.example",
            "Presence Sync",
            SyncAccountStatus.HEALTHY,
            NOW,
            NOW,
            NOW,
        ),
        "{}",
    )
    stats = TableOperationsStats(store)
    service = OperationsService(
        connectors,
        agents,
        TableAgentSyncStates(store),
        subscriptions,
        accounts,
        TableContactCenterHealth(store),
        stats,
        lambda: NOW,
    )
    assert "syncAccountNeedsSignIn" not in {
        p["code"] for p in agent_status_json(service.agent_status(tenant_id, "agent-1"))["problems"]
    }

    # WHEN the account's refresh token stops working (what SyncAccountService records)
    stored = accounts.get(tenant_id, signed_in.account_id)
    assert stored is not None
    accounts.mark_reauthorization_required(stored, "AADSTS700082: the refresh token was revoked", NOW)

    # THEN the agent's sync status says which account must sign in again, and why
    status = agent_status_json(service.agent_status(tenant_id, "agent-1"))
    problem = next(p for p in status["problems"] if p["code"] == "syncAccountNeedsSignIn")
    assert ACCOUNT in problem["message"]
    assert "AADSTS700082" in problem["message"]
    assert status["subscription"]["syncAccountStatus"] == "reauthorizationRequired"
    assert "sync@contoso.example" not in str(status)
    # AND the tenant's health counts it
    health = sync_health_json(service.tenant_health(tenant_id))
    assert health["syncAccounts"] == {"healthy": 0, "needingSignIn": 1}
    assert health["agents"]["withProblem"]["syncAccountNeedsSignIn"] == 1
    assert health["agents"]["total"] == 1
