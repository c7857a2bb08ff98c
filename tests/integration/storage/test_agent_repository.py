"""The Agents table against Azurite: two rows per agent written together, moves, conflicts, races of
concurrent writers, Teams presence staleness rules, paging and purge."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from azure.data.tables import TableClient, TableServiceClient, UpdateMode

from shared.agents.cursors import decode_cursor, encode_cursor
from shared.agents.exceptions import UserAlreadyAssigned
from shared.agents.model import SeenPresence, UserDetails, WriteStatus
from shared.presence.messages import PresenceChange
from shared.settings import Settings
from shared.storage.agent_repository import TableAgentRepository
from shared.storage.table_names import AGENTS
from shared.storage.table_store import TableStore
from shared.storage.tenant_purge import TableTenantPurger

pytestmark = pytest.mark.integration

NOW = datetime(2026, 11, 21, 9, 30, 15, 123000, tzinfo=UTC)
RECORDED = datetime(2026, 11, 21, 9, 31, tzinfo=UTC)
ANN = "6e7b768e-07e2-4810-8459-485f84f8f204"
BOB = "0d6c2f5a-1b3e-4c7d-9e8f-a1b2c3d4e5f6"
CAT = "9f8e7d6c-5b4a-4392-8170-6f5e4d3c2b1a"
ANN_DETAILS = UserDetails("ann@contoso.com", "Ann Lee")


@pytest.fixture
def store(azurite_settings: Settings) -> TableStore:
    return TableStore.from_settings(azurite_settings)


@pytest.fixture
def repo(store: TableStore) -> TableAgentRepository:
    return TableAgentRepository(store, clock=lambda: RECORDED)


@pytest.fixture
def raw(azurite_settings: Settings, store: TableStore) -> TableClient:
    store.table(AGENTS)
    service = TableServiceClient.from_connection_string(azurite_settings.tables_connection_string or "")
    return service.get_table_client(AGENTS)


def rows(raw: TableClient, tenant_id: str) -> dict[str, dict[str, Any]]:
    return {
        str(entity["RowKey"]): dict(entity) for entity in raw.query_entities(f"PartitionKey eq '{tenant_id}'")
    }


def change(
    tenant_id: str,
    user_id: str,
    availability: str = "Busy",
    activity: str = "InACall",
    sequence: str | None = "0001",
    observed_at: datetime = NOW,
) -> PresenceChange:
    return PresenceChange(tenant_id, user_id, availability, activity, sequence, observed_at, "sub-1")


# -- writing agents -------------------------------------------------------------------------------


def test_a_new_agent_is_two_rows_written_together(
    repo: TableAgentRepository, raw: TableClient, tenant_id: str
) -> None:
    # WHEN an agent is saved
    saved = repo.save(tenant_id, "agent-1", ANN, ANN_DETAILS, NOW)
    # THEN there is the roster row and the user row naming the agent, nothing else
    assert saved.status is WriteStatus.CREATED
    assert saved.user_changed is True
    stored = rows(raw, tenant_id)
    assert set(stored) == {"agent|agent-1", f"user|{ANN}"}
    assert stored["agent|agent-1"]["userId"] == ANN
    assert stored["agent|agent-1"]["displayName"] == "Ann Lee"
    assert stored[f"user|{ANN}"]["agentId"] == "agent-1"
    # AND the agent reads back as saved, with the ETag of its row
    read = repo.get(tenant_id, "agent-1")
    assert read == saved.agent
    assert read is not None
    assert read.etag
    assert read.created_at == NOW


def test_unknown_details_are_stored_as_absent(
    repo: TableAgentRepository, raw: TableClient, tenant_id: str
) -> None:
    repo.save(tenant_id, "agent-1", ANN, None, NOW)
    agent = repo.get(tenant_id, "agent-1")
    assert agent is not None
    assert (agent.user_principal_name, agent.display_name) == (None, None)
    assert "displayName" not in rows(raw, tenant_id)["agent|agent-1"]


def test_saving_the_same_agent_again_writes_nothing(repo: TableAgentRepository, tenant_id: str) -> None:
    first = repo.save(tenant_id, "agent-1", ANN, ANN_DETAILS, NOW)
    again = repo.save(tenant_id, "agent-1", ANN.upper(), ANN_DETAILS, NOW + timedelta(hours=1))
    unknown = repo.save(tenant_id, "agent-1", ANN, None, NOW + timedelta(hours=2))
    assert again.status is WriteStatus.UNCHANGED
    assert unknown.status is WriteStatus.UNCHANGED
    assert again.agent.etag == first.agent.etag == unknown.agent.etag


def test_new_details_update_the_agent_row_only(
    repo: TableAgentRepository, raw: TableClient, tenant_id: str
) -> None:
    # GIVEN an agent whose user row carries sync state written by someone else
    repo.save(tenant_id, "agent-1", ANN, ANN_DETAILS, NOW)
    raw.update_entity(
        {"PartitionKey": tenant_id, "RowKey": f"user|{ANN}", "ccState": "onCall"}, mode=UpdateMode.MERGE
    )
    # WHEN the user's name changed in the directory
    saved = repo.save(tenant_id, "agent-1", ANN, UserDetails("ann@contoso.com", "Ann Lee-Smith"), NOW)
    # THEN the agent row changed, the roster did not, and the user row kept its state
    assert saved.status is WriteStatus.UPDATED
    assert saved.user_changed is False
    stored = rows(raw, tenant_id)
    assert stored["agent|agent-1"]["displayName"] == "Ann Lee-Smith"
    assert stored[f"user|{ANN}"]["ccState"] == "onCall"
    assert saved.agent == repo.get(tenant_id, "agent-1")


def test_changing_the_user_moves_the_user_row(
    repo: TableAgentRepository, raw: TableClient, tenant_id: str
) -> None:
    # GIVEN agent-1 with Ann, whose presence was seen
    repo.save(tenant_id, "agent-1", ANN, ANN_DETAILS, NOW)
    assert repo.record_teams_presence(tenant_id, change(tenant_id, ANN))
    # WHEN agent-1 is given Bob (whose name the directory could not tell)
    saved = repo.save(tenant_id, "agent-1", BOB, None, NOW + timedelta(minutes=1))
    # THEN Ann's row is gone, Bob's row is fresh, and Ann's name is not carried over to Bob
    assert saved.status is WriteStatus.UPDATED
    assert saved.user_changed is True
    stored = rows(raw, tenant_id)
    assert set(stored) == {"agent|agent-1", f"user|{BOB}"}
    assert "teamsAvailability" not in stored[f"user|{BOB}"]
    agent = repo.get(tenant_id, "agent-1")
    assert agent is not None
    assert (agent.user_id, agent.display_name, agent.created_at) == (BOB, None, NOW)
    assert agent.etag == saved.agent.etag


def test_a_user_backs_only_one_agent(repo: TableAgentRepository, raw: TableClient, tenant_id: str) -> None:
    repo.save(tenant_id, "agent-a", ANN, ANN_DETAILS, NOW)
    before = rows(raw, tenant_id)
    with pytest.raises(UserAlreadyAssigned) as caught:
        repo.save(tenant_id, "agent-b", ANN, ANN_DETAILS, NOW)
    assert caught.value.agent_id == "agent-a"
    assert rows(raw, tenant_id) == before


def test_a_user_row_no_agent_points_at_is_not_a_claim(
    repo: TableAgentRepository, raw: TableClient, tenant_id: str
) -> None:
    # GIVEN a user row left behind by a foreign writer, naming an agent that does not exist
    raw.create_entity({"PartitionKey": tenant_id, "RowKey": f"user|{ANN}", "agentId": "ghost"})
    # WHEN an agent is given that user
    saved = repo.save(tenant_id, "agent-1", ANN, ANN_DETAILS, NOW)
    # THEN it succeeds and the row now names the real agent
    assert saved.status is WriteStatus.CREATED
    assert rows(raw, tenant_id)[f"user|{ANN}"]["agentId"] == "agent-1"


def test_a_move_succeeds_when_the_old_user_row_is_missing(
    repo: TableAgentRepository, raw: TableClient, tenant_id: str
) -> None:
    repo.save(tenant_id, "agent-1", ANN, ANN_DETAILS, NOW)
    raw.delete_entity(tenant_id, f"user|{ANN}")
    saved = repo.save(tenant_id, "agent-1", BOB, None, NOW)
    assert saved.user_changed is True
    assert set(rows(raw, tenant_id)) == {"agent|agent-1", f"user|{BOB}"}


def test_concurrent_puts_of_one_agent_never_leave_a_stray_user_row(
    repo: TableAgentRepository, raw: TableClient, tenant_id: str
) -> None:
    # GIVEN eight writers giving the same agent eight different users at the same moment
    users = [f"00000000-0000-0000-0000-{index:012d}" for index in range(8)]
    barrier = threading.Barrier(len(users))
    errors: list[BaseException] = []

    def writer(user_id: str) -> None:
        barrier.wait()
        try:
            repo.save(tenant_id, "agent-1", user_id, None, NOW)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(user,)) for user in users]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    # THEN the agent points at one of them and exactly that user's row exists
    stored = rows(raw, tenant_id)
    user_rows = {key for key in stored if key.startswith("user|")}
    winner = stored["agent|agent-1"]["userId"]
    assert user_rows == {f"user|{winner}"}
    assert stored[f"user|{winner}"]["agentId"] == "agent-1"
    # Losers either succeeded before being overwritten or gave up on contention; none broke anything.
    assert all(type(error).__name__ == "ConcurrentAgentChange" for error in errors)


def test_concurrent_puts_of_one_user_to_different_agents_have_one_winner(
    repo: TableAgentRepository, raw: TableClient, tenant_id: str
) -> None:
    barrier = threading.Barrier(6)
    refused: list[str] = []
    lock = threading.Lock()

    def writer(agent_id: str) -> None:
        barrier.wait()
        try:
            repo.save(tenant_id, agent_id, ANN, None, NOW)
        except UserAlreadyAssigned:
            with lock:
                refused.append(agent_id)

    threads = [threading.Thread(target=writer, args=(f"agent-{index}",)) for index in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    stored = rows(raw, tenant_id)
    agents = [key for key in stored if key.startswith("agent|")]
    assert len(agents) == 1
    assert len(refused) == 5
    assert stored[f"user|{ANN}"]["agentId"] == agents[0].removeprefix("agent|")


# -- deleting -------------------------------------------------------------------------------------


def test_delete_removes_both_rows(repo: TableAgentRepository, raw: TableClient, tenant_id: str) -> None:
    repo.save(tenant_id, "agent-1", ANN, ANN_DETAILS, NOW)
    repo.save(tenant_id, "agent-2", BOB, None, NOW)
    removed = repo.delete(tenant_id, "agent-1")
    assert removed is not None
    assert removed.user_id == ANN
    assert set(rows(raw, tenant_id)) == {"agent|agent-2", f"user|{BOB}"}
    assert repo.delete(tenant_id, "agent-1") is None


def test_delete_succeeds_when_the_user_row_is_missing(
    repo: TableAgentRepository, raw: TableClient, tenant_id: str
) -> None:
    repo.save(tenant_id, "agent-1", ANN, ANN_DETAILS, NOW)
    raw.delete_entity(tenant_id, f"user|{ANN}")
    assert repo.delete(tenant_id, "agent-1") is not None
    assert rows(raw, tenant_id) == {}


def test_purge_leaves_nothing_of_the_tenant(
    repo: TableAgentRepository, store: TableStore, raw: TableClient, tenant_id: str
) -> None:
    for index, user in enumerate([ANN, BOB, CAT]):
        repo.save(tenant_id, f"agent-{index}", user, None, NOW)
    repo.record_teams_presence(tenant_id, change(tenant_id, ANN))
    TableTenantPurger(store, [AGENTS]).purge(tenant_id)
    assert rows(raw, tenant_id) == {}
    assert repo.count(tenant_id) == 0
    assert repo.last_presences(tenant_id) == {}


# -- reading --------------------------------------------------------------------------------------


def test_pages_cover_the_roster_once_in_agent_id_order(repo: TableAgentRepository, tenant_id: str) -> None:
    # GIVEN five agents (and so five user rows in the same partition)
    for index in range(5):
        repo.save(tenant_id, f"agent-{index}", f"00000000-0000-0000-0000-{index:012d}", None, NOW)
    # WHEN read two at a time, following the continuation through the API's opaque cursor
    seen: list[str] = []
    continuation = None
    for _ in range(10):
        page = repo.list_page(tenant_id, 2, continuation)
        seen.extend(agent.agent_id for agent in page.agents)
        if page.continuation is None:
            break
        continuation = decode_cursor(tenant_id, encode_cursor(tenant_id, page.continuation))
    # THEN every agent appears once and no user row leaks into the roster
    assert seen == [f"agent-{index}" for index in range(5)]


def test_user_ids_and_count(repo: TableAgentRepository, tenant_id: str, store: TableStore) -> None:
    repo.save(tenant_id, "b", BOB, None, NOW)
    repo.save(tenant_id, "a", ANN, None, NOW)
    assert repo.user_ids(tenant_id) == [ANN, BOB]
    assert repo.count(tenant_id) == 2
    other = TableAgentRepository(store)
    assert other.count("00000000-0000-0000-0000-000000000000") == 0


# -- Teams presence -------------------------------------------------------------------------------


def test_presence_of_a_user_who_is_no_agent_is_ignored(
    repo: TableAgentRepository, raw: TableClient, tenant_id: str
) -> None:
    assert repo.record_teams_presence(tenant_id, change(tenant_id, ANN)) is False
    assert rows(raw, tenant_id) == {}


def test_presence_is_recorded_and_read_back(repo: TableAgentRepository, tenant_id: str) -> None:
    repo.save(tenant_id, "agent-1", ANN, None, NOW)
    assert repo.record_teams_presence(tenant_id, change(tenant_id, ANN.upper())) is True
    expected = SeenPresence("Busy", "InACall", "0001", NOW, RECORDED)
    assert repo.presence_of(tenant_id, ANN) == expected
    assert repo.last_presences(tenant_id) == {ANN: expected}


@pytest.mark.parametrize(
    ("first", "second", "recorded"),
    [
        # Sequence numbers decide when both have one, whatever the clocks say.
        (("0002", NOW), ("0001", NOW + timedelta(minutes=1)), False),
        (("0001", NOW), ("0002", NOW - timedelta(minutes=1)), True),
        (("0001", NOW), ("0001", NOW), False),  # a re-delivery
        # Without both sequence numbers, the later observation wins.
        ((None, NOW), (None, NOW + timedelta(seconds=1)), True),
        ((None, NOW), (None, NOW - timedelta(seconds=1)), False),
        ((None, NOW), (None, NOW), False),
        (("0005", NOW), (None, NOW + timedelta(seconds=1)), True),
        (("0005", NOW), (None, NOW - timedelta(seconds=1)), False),
        ((None, NOW), ("0001", NOW + timedelta(seconds=1)), True),
    ],
)
def test_only_newer_presence_is_recorded(
    repo: TableAgentRepository,
    tenant_id: str,
    first: tuple[str | None, datetime],
    second: tuple[str | None, datetime],
    recorded: bool,
) -> None:
    # GIVEN a presence already recorded
    repo.save(tenant_id, "agent-1", ANN, None, NOW)
    assert repo.record_teams_presence(tenant_id, change(tenant_id, ANN, "Busy", "InACall", *first))
    # WHEN another arrives
    result = repo.record_teams_presence(tenant_id, change(tenant_id, ANN, "Available", "Available", *second))
    # THEN it is recorded only if newer
    assert result is recorded
    seen = repo.presence_of(tenant_id, ANN)
    assert seen is not None
    assert seen.availability == ("Available" if recorded else "Busy")
    assert seen.sequence_number == (second[0] if recorded else first[0])


def test_recording_presence_merges_and_keeps_other_state(
    repo: TableAgentRepository, raw: TableClient, tenant_id: str
) -> None:
    # GIVEN a user row with properties the presence sync engine owns
    repo.save(tenant_id, "agent-1", ANN, None, NOW)
    raw.update_entity(
        {"PartitionKey": tenant_id, "RowKey": f"user|{ANN}", "ccState": "onCall"}, mode=UpdateMode.MERGE
    )
    # WHEN a presence is recorded
    repo.record_teams_presence(tenant_id, change(tenant_id, ANN))
    # THEN those properties are still there, and the agent row was not touched
    stored = rows(raw, tenant_id)
    assert stored[f"user|{ANN}"]["ccState"] == "onCall"
    assert stored[f"user|{ANN}"]["agentId"] == "agent-1"
    assert stored[f"user|{ANN}"]["teamsActivity"] == "InACall"


def test_concurrent_presence_records_keep_the_newest(repo: TableAgentRepository, tenant_id: str) -> None:
    # GIVEN five re-ordered deliveries racing for one user (each lost race means another delivery
    # was stored, so the newest one needs at most five attempts: the repository's limit)
    repo.save(tenant_id, "agent-1", ANN, None, NOW)
    barrier = threading.Barrier(5)

    def deliver(index: int) -> None:
        barrier.wait()
        repo.record_teams_presence(
            tenant_id, change(tenant_id, ANN, "Busy", f"Activity{index}", f"{index:04d}")
        )

    threads = [threading.Thread(target=deliver, args=(index,)) for index in range(5)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    seen = repo.presence_of(tenant_id, ANN)
    assert seen is not None
    assert (seen.sequence_number, seen.activity) == ("0004", "Activity4")
