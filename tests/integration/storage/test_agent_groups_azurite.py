"""Agent groups against Azurite: group rows beside the tenant's mappings row, conditional writes,
an agent's group on both of his rows (the engine reads the user| row), moves between groups, purge."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import pytest

from shared.agents.exceptions import StaleGroup, UnreadableGroup, UserAlreadyAssigned
from shared.agents.groups import DEFAULT_GROUP_ID, AgentGroup
from shared.agents.model import UserDetails, WriteStatus
from shared.contact_center.model import AgentState
from shared.mappings.defaults import DEFAULT_MAPPINGS
from shared.mappings.model import ContactCenterToTeamsRule, MappingRules
from shared.settings import Settings
from shared.storage.agent_group_repository import TableAgentGroupRepository
from shared.storage.agent_repository import TableAgentRepository
from shared.storage.agent_sync_state_repository import TableAgentSyncStates
from shared.storage.mapping_repository import TableMappingRepository
from shared.storage.table_names import PRESENCE_MAPPINGS
from shared.storage.table_store import TableStore
from shared.storage.tenant_purge import TableTenantPurger

pytestmark = pytest.mark.integration

NOW = datetime(2026, 11, 21, 9, 30, tzinfo=UTC)
ANN = "6e7b768e-07e2-4810-8459-485f84f8f204"
BOB = "0d6c2f5a-1b3e-4c7d-9e8f-a1b2c3d4e5f6"
OWN = MappingRules((), (ContactCenterToTeamsRule(AgentState.WRAP_UP, "Away", "Away"),))


@pytest.fixture
def store(azurite_settings: Settings) -> TableStore:
    return TableStore.from_settings(azurite_settings)


def group(tenant_id: str, group_id: str = "sales", **changes: object) -> AgentGroup:
    fields: dict[str, object] = {
        "display_name": "Sales",
        "presence_sync": False,
        "mappings": OWN,
        "created_at": NOW,
        "updated_at": NOW,
    }
    fields.update(changes)
    return AgentGroup(tenant_id, group_id, **fields)  # type: ignore[arg-type]


def test_a_group_round_trips_beside_the_tenants_mappings(store: TableStore, tenant_id: str) -> None:
    groups = TableAgentGroupRepository(store)
    mappings = TableMappingRepository(store)
    mappings.insert(tenant_id, DEFAULT_MAPPINGS.rules, NOW)
    saved = groups.insert(group(tenant_id))
    groups.insert(group(tenant_id, "support", mappings=None, presence_sync=True))
    assert saved.etag
    read = groups.get(tenant_id, "sales")
    assert read == saved
    assert [g.group_id for g in groups.list(tenant_id)] == ["sales", "support"]
    assert groups.get(tenant_id, "support").mappings is None  # type: ignore[union-attr]
    assert read is not None
    assert read.status_messages == {}
    # AND status messages round-trip
    texts = {"onCall": "On a customer call", "wrapUp": "Wrapping up, zurück gleich"}
    updated = groups.replace(replace(read, status_messages=texts), read.etag)
    assert groups.get(tenant_id, "sales") == updated
    assert updated.status_messages == texts
    # AND the tenant's own row is untouched by them
    assert mappings.get(tenant_id).rules == DEFAULT_MAPPINGS.rules  # type: ignore[union-attr]


def test_group_writes_are_conditional(store: TableStore, tenant_id: str) -> None:
    groups = TableAgentGroupRepository(store)
    saved = groups.insert(group(tenant_id))
    with pytest.raises(StaleGroup):
        groups.insert(group(tenant_id))
    replaced = groups.replace(group(tenant_id, presence_sync=True), saved.etag)
    with pytest.raises(StaleGroup):
        groups.replace(group(tenant_id), saved.etag)
    with pytest.raises(StaleGroup):
        groups.delete(tenant_id, "sales", saved.etag)
    groups.delete(tenant_id, "sales", replaced.etag)
    assert groups.get(tenant_id, "sales") is None
    groups.delete(tenant_id, "sales", None)  # gone already: no error


def test_an_unreadable_group_row_is_reported_not_guessed(store: TableStore, tenant_id: str) -> None:
    groups = TableAgentGroupRepository(store)
    groups.insert(group(tenant_id))
    store.table(PRESENCE_MAPPINGS).upsert_entity(
        {"PartitionKey": tenant_id, "RowKey": "group|sales", "SchemaVersion": 99}
    )
    with pytest.raises(UnreadableGroup):
        groups.get(tenant_id, "sales")


def test_an_agents_group_is_on_both_rows_and_moves_with_him(store: TableStore, tenant_id: str) -> None:
    agents = TableAgentRepository(store)
    states = TableAgentSyncStates(store)
    created = agents.save(tenant_id, "a1", ANN, UserDetails("ann@contoso.com", "Ann"), NOW, "sales")
    agents.save(tenant_id, "a2", BOB, None, NOW)
    assert (created.status, created.agent.group_id) == (WriteStatus.CREATED, "sales")
    assert states.load(tenant_id, ANN).group_id == "sales"  # type: ignore[union-attr]
    assert agents.get(tenant_id, "a2").group_id == DEFAULT_GROUP_ID  # type: ignore[union-attr]
    # WHEN the same agent is put again into another group (same user)
    moved = agents.save(tenant_id, "a1", ANN, None, NOW, "support")
    assert (moved.status, moved.agent.group_id, moved.user_changed) == (WriteStatus.UPDATED, "support", False)
    assert moved.agent.etag == agents.get(tenant_id, "a1").etag  # type: ignore[union-attr]
    assert states.load(tenant_id, ANN).group_id == "support"  # type: ignore[union-attr]
    # AND the same again changes nothing
    assert agents.save(tenant_id, "a1", ANN, None, NOW, "support").status is WriteStatus.UNCHANGED
    assert agents.count_in_group(tenant_id, "support") == 1
    # WHEN the group's agents move to the default group
    assert agents.move_group(tenant_id, "support", DEFAULT_GROUP_ID, NOW) == 1
    assert agents.count_in_group(tenant_id, "support") == 0
    assert states.load(tenant_id, ANN).group_id == DEFAULT_GROUP_ID  # type: ignore[union-attr]


def test_groups_are_purged_with_the_tenant(store: TableStore, tenant_id: str) -> None:
    groups = TableAgentGroupRepository(store)
    groups.insert(group(tenant_id))
    TableTenantPurger(store).purge(tenant_id)
    assert groups.list(tenant_id) == []


def test_a_likely_new_agent_is_created_in_one_request_and_a_wrong_guess_changes_nothing(
    store: TableStore, tenant_id: str
) -> None:
    agents = TableAgentRepository(store)
    created = agents.save(tenant_id, "a1", ANN, None, NOW, likely_new=True)
    assert (created.status, created.agent.etag is not None) == (WriteStatus.CREATED, True)
    # WHEN the guess is wrong: the agent exists (same user), or the user backs another agent
    assert agents.save(tenant_id, "a1", ANN, None, NOW, likely_new=True).status is WriteStatus.UNCHANGED
    with pytest.raises(UserAlreadyAssigned):
        agents.save(tenant_id, "a2", ANN, None, NOW, likely_new=True)
    moved = agents.save(tenant_id, "a1", BOB, None, NOW, likely_new=True)
    assert (moved.status, moved.agent.user_id) == (WriteStatus.UPDATED, BOB)
    assert agents.count(tenant_id) == 1
    assert TableAgentSyncStates(store).load(tenant_id, ANN) is None
