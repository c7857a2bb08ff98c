"""The agents' sync states (the `user|` rows of the Agents table) against Azurite: what a roster PUT
leaves, the round trip of a full state, ETag conflicts, removed agents, merges that keep what other
writers put in the row, and the tenant listing of the reconcile timer."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from azure.data.tables import TableClient, TableServiceClient, UpdateMode

from shared.agents.model import UserDetails
from shared.contact_center.model import AgentState
from shared.presence.exceptions import AgentSyncStateGone, StaleAgentSyncState
from shared.presence.messages import PresenceChange
from shared.presence.sync_state import (
    AgentSyncState,
    ContactCenterView,
    EchoPresence,
    PendingCommand,
    PendingKind,
    PresenceSession,
    TeamsView,
)
from shared.settings import Settings
from shared.storage.agent_repository import TableAgentRepository
from shared.storage.agent_sync_state_repository import TableAgentSyncStates
from shared.storage.table_names import AGENTS
from shared.storage.table_store import TableStore

pytestmark = pytest.mark.integration

# Microseconds on purpose: ordering without sequence numbers compares these instants exactly.
NOW = datetime(2026, 11, 21, 9, 30, 15, 123456, tzinfo=UTC)
ANN = "6e7b768e-07e2-4810-8459-485f84f8f204"
BOB = "0d6c2f5a-1b3e-4c7d-9e8f-a1b2c3d4e5f6"

FULL_STATE = AgentSyncState(
    teams=TeamsView(
        "Busy",
        "InACall",
        "C3D0A6E8F7",
        observed_at=NOW,
        recorded_at=NOW + timedelta(milliseconds=40),
        from_connector=True,
    ),
    contact_center=ContactCenterView(
        state=AgentState.IDLE,
        idle_code_id="teams-dnd",
        idle_code_name="Teams: Do not disturb",
        changed_at=NOW - timedelta(seconds=3),
        # Epoch milliseconds: more than an Int32 column holds.
        sequence_number=1_795_000_000_123,
        event_id="evt-42",
        recorded_at=NOW - timedelta(seconds=2),
    ),
    session=PresenceSession("Busy", "InACall", set_at=NOW, expires_at=NOW + timedelta(hours=1)),
    echoes=(EchoPresence("DoNotDisturb", "Presenting", NOW - timedelta(minutes=5), NOW),),
    pending=(PendingCommand(PendingKind.SET_IDLE, "teams-dnd", NOW - timedelta(seconds=4)),),
    idle_code_id="teams-dnd",
    idle_code_name="Teams: Do not disturb",
    dismissed_idle_code_id="teams-call",
    dismissed_at=NOW - timedelta(minutes=1),
)


@pytest.fixture
def store(azurite_settings: Settings) -> TableStore:
    return TableStore.from_settings(azurite_settings)


@pytest.fixture
def roster(store: TableStore) -> TableAgentRepository:
    return TableAgentRepository(store, clock=lambda: NOW)


@pytest.fixture
def states(store: TableStore) -> TableAgentSyncStates:
    return TableAgentSyncStates(store)


@pytest.fixture
def raw(azurite_settings: Settings, store: TableStore) -> TableClient:
    store.table(AGENTS)
    service = TableServiceClient.from_connection_string(azurite_settings.tables_connection_string or "")
    return service.get_table_client(AGENTS)


def row(raw: TableClient, tenant_id: str, row_key: str) -> dict[str, Any]:
    return dict(raw.get_entity(tenant_id, row_key))


def test_a_new_agent_has_an_empty_sync_state(
    roster: TableAgentRepository, states: TableAgentSyncStates, tenant_id: str
) -> None:
    # GIVEN an agent just PUT on the roster
    roster.save(tenant_id, "agent-1", ANN, UserDetails("ann@contoso.com", "Ann Lee"), NOW)
    # WHEN the engine loads his user's sync state (the id as Graph may spell it)
    stored = states.load(tenant_id, ANN.upper())
    # THEN it knows the agent and nothing else yet
    assert stored is not None
    assert (stored.tenant_id, stored.user_id, stored.agent_id) == (tenant_id, ANN, "agent-1")
    assert stored.state == AgentSyncState()
    assert stored.etag


def test_a_user_who_is_no_agent_has_no_sync_state(states: TableAgentSyncStates, tenant_id: str) -> None:
    assert states.load(tenant_id, ANN) is None


def test_a_saved_state_reads_back_as_saved(
    roster: TableAgentRepository, states: TableAgentSyncStates, tenant_id: str
) -> None:
    roster.save(tenant_id, "agent-1", ANN, None, NOW)
    loaded = states.load(tenant_id, ANN)
    assert loaded is not None
    # WHEN a state with every part is saved
    saved = states.save(loaded, FULL_STATE)
    # THEN it reads back equal, at the ETag the save returned
    again = states.load(tenant_id, ANN)
    assert again is not None
    assert again.state == FULL_STATE
    assert again.etag == saved.etag != loaded.etag
    assert saved.state == FULL_STATE
    # AND what is no longer true is cleared by the next save
    cleared = states.save(again, AgentSyncState(teams=FULL_STATE.teams))
    final = states.load(tenant_id, ANN)
    assert final is not None
    assert final.state == AgentSyncState(teams=FULL_STATE.teams)
    assert final.etag == cleared.etag


def test_a_save_over_a_newer_row_is_refused(
    roster: TableAgentRepository, states: TableAgentSyncStates, tenant_id: str
) -> None:
    # GIVEN two readers of the same row
    roster.save(tenant_id, "agent-1", ANN, None, NOW)
    first, second = states.load(tenant_id, ANN), states.load(tenant_id, ANN)
    assert first is not None
    assert second is not None
    # WHEN the first saves, the second's save is refused and leaves the first's state
    states.save(first, FULL_STATE)
    with pytest.raises(StaleAgentSyncState):
        states.save(second, AgentSyncState())
    current = states.load(tenant_id, ANN)
    assert current is not None
    assert current.state == FULL_STATE


def test_a_save_on_the_etag_a_save_returned_needs_no_read_and_a_stale_one_is_refused(
    roster: TableAgentRepository, states: TableAgentSyncStates, tenant_id: str
) -> None:
    # GIVEN a row saved once (what the engine's SyncStateCache keeps: the row as written, its ETag)
    roster.save(tenant_id, "agent-1", ANN, None, NOW)
    loaded = states.load(tenant_id, ANN)
    assert loaded is not None
    written = states.save(loaded, AgentSyncState(teams=FULL_STATE.teams))
    # WHEN the next save is conditional on the ETag the save returned, with no read between
    again = states.save(written, FULL_STATE)
    # THEN it is taken
    current = states.load(tenant_id, ANN)
    assert current is not None
    assert current.state == FULL_STATE
    assert current.etag == again.etag
    # AND a save on the outdated ETag (another writer came between) is refused with 412
    with pytest.raises(StaleAgentSyncState):
        states.save(written, AgentSyncState())
    final = states.load(tenant_id, ANN)
    assert final is not None
    assert final.state == FULL_STATE


def test_a_save_after_the_roster_recorded_a_presence_is_refused(
    roster: TableAgentRepository, states: TableAgentSyncStates, tenant_id: str
) -> None:
    roster.save(tenant_id, "agent-1", ANN, None, NOW)
    loaded = states.load(tenant_id, ANN)
    assert loaded is not None
    change = PresenceChange(tenant_id, ANN, "Away", "Away", "0001", NOW, "sub-1")
    assert roster.record_teams_presence(tenant_id, change)
    with pytest.raises(StaleAgentSyncState):
        states.save(loaded, FULL_STATE)


def test_saving_for_an_agent_removed_meanwhile_raises_gone_and_writes_nothing(
    roster: TableAgentRepository, states: TableAgentSyncStates, raw: TableClient, tenant_id: str
) -> None:
    roster.save(tenant_id, "agent-1", ANN, None, NOW)
    loaded = states.load(tenant_id, ANN)
    assert loaded is not None
    # WHEN the agent is deleted before the engine saves
    roster.delete(tenant_id, "agent-1")
    with pytest.raises(AgentSyncStateGone):
        states.save(loaded, FULL_STATE)
    # THEN no row came back
    assert list(raw.query_entities(f"PartitionKey eq '{tenant_id}'")) == []


def test_a_save_merges_and_keeps_what_other_writers_put_in_the_row(
    roster: TableAgentRepository, states: TableAgentSyncStates, raw: TableClient, tenant_id: str
) -> None:
    # GIVEN the roster's user row, with the Teams presence it recorded and a property of a later version
    roster.save(tenant_id, "agent-1", ANN, None, NOW)
    change = PresenceChange(tenant_id, ANN, "Away", "Away", "0001", NOW, "sub-1")
    assert roster.record_teams_presence(tenant_id, change)
    raw.update_entity(
        {"PartitionKey": tenant_id, "RowKey": f"user|{ANN}", "futureProperty": "kept"}, mode=UpdateMode.MERGE
    )
    agent_row = row(raw, tenant_id, "agent|agent-1")
    loaded = states.load(tenant_id, ANN)
    assert loaded is not None
    assert loaded.state.teams is not None
    assert loaded.state.teams.pair == ("Away", "Away")
    # WHEN the engine saves a state that saw no Teams presence of its own
    states.save(loaded, AgentSyncState(contact_center=FULL_STATE.contact_center))
    # THEN the roster's columns, its Teams presence and the unknown property are all still there
    user_row = row(raw, tenant_id, f"user|{ANN}")
    assert (user_row["agentId"], user_row["userId"]) == ("agent-1", ANN)
    assert (user_row["teamsAvailability"], user_row["teamsSequenceNumber"]) == ("Away", "0001")
    assert user_row["futureProperty"] == "kept"
    assert user_row["ccState"] == "idle"
    # AND the agent row was not touched
    assert row(raw, tenant_id, "agent|agent-1") == agent_row
    # AND the roster still reads the agent and his presence
    assert roster.get(tenant_id, "agent-1") is not None
    presence = roster.presence_of(tenant_id, ANN)
    assert presence is not None
    assert presence.availability == "Away"


def test_list_tenant_returns_every_agents_sync_state_and_nothing_else(
    roster: TableAgentRepository, states: TableAgentSyncStates, tenant_id: str
) -> None:
    # GIVEN two agents in the tenant, one with a saved state, and an agent in another tenant
    roster.save(tenant_id, "agent-1", ANN, None, NOW)
    roster.save(tenant_id, "agent-2", BOB, None, NOW)
    other_tenant = "a6d1e0b2-3c4f-4a5b-8c9d-0e1f2a3b4c5d"
    roster.save(other_tenant, "agent-3", ANN, None, NOW)
    loaded = states.load(tenant_id, ANN)
    assert loaded is not None
    saved = states.save(loaded, FULL_STATE)
    # WHEN the tenant is listed
    listed = {stored.user_id: stored for stored in states.list_tenant(tenant_id)}
    # THEN only its user rows come back, each with its agent, state and ETag
    assert set(listed) == {ANN, BOB}
    assert (listed[ANN].agent_id, listed[ANN].state, listed[ANN].etag) == ("agent-1", FULL_STATE, saved.etag)
    assert (listed[BOB].agent_id, listed[BOB].state) == ("agent-2", AgentSyncState())
    assert all(stored.tenant_id == tenant_id for stored in listed.values())
    # AND a listed state can be saved back with its ETag
    states.save(listed[BOB], FULL_STATE)


def test_an_empty_tenant_lists_nothing(states: TableAgentSyncStates, tenant_id: str) -> None:
    assert states.list_tenant(tenant_id) == []
