"""The roster use cases with fake ports: user resolution, consent rules, one user per agent, idempotency,
paging, imports with per-item outcomes, and when the subscriptions hear about a change."""

from __future__ import annotations

import threading
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import pytest

from shared.agents.exceptions import (
    AgentNotFound,
    ConnectorDeleting,
    InvalidAgentInput,
    InvalidCursor,
    TooManyAgents,
    UserAlreadyAssigned,
    UserLookupFailed,
    UserNotFound,
)
from shared.agents.model import ImportStatus, SeenPresence
from shared.agents.service import AgentService
from shared.connectors.exceptions import ConnectorNotActive, ConnectorNotFound
from shared.connectors.model import Connector, ConnectorSettings, ConnectorStatus
from shared.graph.exceptions import GraphError, GraphForbidden, GraphThrottled, GraphUnavailable
from shared.storage.exceptions import StorageUnavailable
from tests.fakes import FakeClock, FakeConnectorRepository
from tests.unit.agents.fakes import FakeAgentRepository, FakeCoverage, FakeDirectory, RecordingListener

TENANT = "72f988bf-86f1-41af-91ab-2d7cd011db47"
ANN = "6e7b768e-07e2-4810-8459-485f84f8f204"
BOB = "0d6c2f5a-1b3e-4c7d-9e8f-a1b2c3d4e5f6"
CAT = "9f8e7d6c-5b4a-4392-8170-6f5e4d3c2b1a"


class World:
    def __init__(self, status: ConnectorStatus = ConnectorStatus.ACTIVE) -> None:
        self.clock = FakeClock()
        self.connectors = FakeConnectorRepository()
        self.repo = FakeAgentRepository()
        self.directory = FakeDirectory()
        self.coverage = FakeCoverage()
        self.listener = RecordingListener()
        self.directory.add(ANN, "ann@contoso.com", "Ann Lee")
        self.directory.add(BOB, "bob@contoso.com", "Bob Ray")
        self.directory.add(CAT, "cat@contoso.com", "Cat Fox")
        self.set_status(status)
        self.service = AgentService(
            self.repo, self.directory, self.connectors, self.coverage, self.listener, self.clock
        )

    def set_status(self, status: ConnectorStatus) -> None:
        now = self.clock()
        self.connectors.rows[TENANT] = Connector(
            tenant_id=TENANT,
            status=status,
            settings=ConnectorSettings(),
            contact_center=None,
            created_at=now,
            updated_at=now,
        )


@pytest.fixture
def world() -> World:
    return World()


# -- PUT ------------------------------------------------------------------------------------------


def test_put_by_user_id_creates_the_agent_with_the_directory_details(world: World) -> None:
    # GIVEN an active connector
    # WHEN an agent is added by the user's object id
    item, created = world.service.put(TENANT, "agent-1", {"userId": ANN.upper()})
    # THEN it is created, named from the directory, and the subscriptions hear about it once
    assert created is True
    assert item.agent.user_id == ANN
    assert (item.agent.user_principal_name, item.agent.display_name) == ("ann@contoso.com", "Ann Lee")
    assert item.agent.created_at == world.clock()
    assert item.subscribed is False
    assert item.last_presence is None
    assert world.listener.changes == [TENANT]


def test_put_by_user_principal_name_stores_the_resolved_object_id(world: World) -> None:
    item, created = world.service.put(TENANT, "agent-1", {"userPrincipalName": "ANN@contoso.com"})
    assert created is True
    assert item.agent.user_id == ANN
    assert item.agent.user_principal_name == "ann@contoso.com"
    assert world.repo.user_ids(TENANT) == [ANN]


def test_the_same_put_again_changes_nothing(world: World) -> None:
    # GIVEN an agent
    world.service.put(TENANT, "agent-1", {"userId": ANN})
    writes = world.repo.writes
    world.clock.advance(minutes=5)
    # WHEN the same PUT arrives again (by id or by name)
    again, created = world.service.put(TENANT, "agent-1", {"userId": ANN})
    by_name, _ = world.service.put(TENANT, "agent-1", {"userPrincipalName": "ann@contoso.com"})
    # THEN nothing is written and the subscriptions are not disturbed
    assert created is False
    assert world.repo.writes == writes
    assert world.listener.changes == [TENANT]
    assert again.agent.updated_at == by_name.agent.updated_at < world.clock()


def test_a_renamed_user_updates_the_agent_but_not_the_roster(world: World) -> None:
    world.service.put(TENANT, "agent-1", {"userId": ANN})
    world.directory.add(ANN, "ann.lee@contoso.com", "Ann Lee-Smith")
    item, created = world.service.put(TENANT, "agent-1", {"userId": ANN})
    assert created is False
    assert item.agent.display_name == "Ann Lee-Smith"
    assert world.listener.changes == [TENANT]


def test_the_answer_shows_subscription_and_last_presence_of_an_unchanged_agent(world: World) -> None:
    world.service.put(TENANT, "agent-1", {"userId": ANN})
    seen = SeenPresence("Busy", "InACall", "0001", world.clock(), world.clock())
    world.repo.presences[(TENANT, ANN)] = seen
    world.coverage.subscribed.add(ANN)
    item, _ = world.service.put(TENANT, "agent-1", {"userId": ANN})
    assert item.subscribed is True
    assert item.last_presence == seen


@pytest.mark.parametrize("status", [ConnectorStatus.PENDING_CONSENT, ConnectorStatus.INACTIVE])
def test_agents_can_be_added_by_id_before_consent_without_asking_the_directory(
    status: ConnectorStatus,
) -> None:
    # GIVEN a connector that cannot read the directory
    world = World(status)
    # WHEN an agent is added by object id
    item, created = world.service.put(TENANT, "agent-1", {"userId": ANN})
    # THEN it is stored without a name, and Graph was not called
    assert created is True
    assert (item.agent.user_principal_name, item.agent.display_name) == (None, None)
    assert world.directory.calls == []
    assert world.listener.changes == [TENANT]


def test_names_are_filled_in_by_a_later_put_once_active() -> None:
    world = World(ConnectorStatus.PENDING_CONSENT)
    world.service.put(TENANT, "agent-1", {"userId": ANN})
    world.set_status(ConnectorStatus.ACTIVE)
    item, _ = world.service.put(TENANT, "agent-1", {"userId": ANN})
    assert item.agent.display_name == "Ann Lee"
    assert world.listener.changes == [TENANT]


@pytest.mark.parametrize("status", [ConnectorStatus.PENDING_CONSENT, ConnectorStatus.INACTIVE])
def test_a_user_principal_name_needs_an_active_connector(status: ConnectorStatus) -> None:
    world = World(status)
    with pytest.raises(ConnectorNotActive) as caught:
        world.service.put(TENANT, "agent-1", {"userPrincipalName": "ann@contoso.com"})
    assert "send the user's Entra object id as userId" in caught.value.message
    assert status.value in caught.value.message
    assert world.directory.calls == []
    assert world.repo.agents == {}


@pytest.mark.parametrize(
    "failure",
    [
        GraphUnavailable("Graph timed out"),
        GraphThrottled("slow down", retry_after=3.0),
        GraphForbidden("consent revoked", status=403),
    ],
)
def test_a_put_by_id_survives_a_directory_outage(world: World, failure: GraphError) -> None:
    # GIVEN Graph does not answer the lookup
    world.directory.failure = failure
    # WHEN an agent is added by object id
    item, created = world.service.put(TENANT, "agent-1", {"userId": ANN})
    # THEN it is stored anyway, without a name
    assert created is True
    assert item.agent.display_name is None
    assert world.listener.changes == [TENANT]


def test_a_directory_outage_keeps_the_names_already_stored(world: World) -> None:
    world.service.put(TENANT, "agent-1", {"userId": ANN})
    world.directory.failure = GraphUnavailable("down")
    item, created = world.service.put(TENANT, "agent-1", {"userId": ANN})
    assert created is False
    assert item.agent.display_name == "Ann Lee"


@pytest.mark.parametrize("failure", [GraphUnavailable("down"), GraphThrottled("slow", retry_after=2.0)])
def test_a_put_by_name_fails_when_graph_is_unavailable(world: World, failure: GraphError) -> None:
    world.directory.failure = failure
    with pytest.raises(type(failure)):
        world.service.put(TENANT, "agent-1", {"userPrincipalName": "ann@contoso.com"})
    assert world.repo.agents == {}
    assert world.listener.changes == []


def test_a_put_by_name_that_graph_refuses_is_a_lookup_failure(world: World) -> None:
    world.directory.failure = GraphForbidden("Insufficient privileges", status=403)
    with pytest.raises(UserLookupFailed, match="graphForbidden") as caught:
        world.service.put(TENANT, "agent-1", {"userPrincipalName": "ann@contoso.com"})
    assert "admin consent" in caught.value.message


@pytest.mark.parametrize(
    ("body", "named"),
    [
        ({"userPrincipalName": "nobody@contoso.com"}, "nobody@contoso.com"),
        ({"userId": "11111111-1111-1111-1111-111111111111"}, "11111111-1111-1111-1111-111111111111"),
    ],
)
def test_an_unknown_user_is_user_not_found(world: World, body: dict[str, str], named: str) -> None:
    with pytest.raises(UserNotFound) as caught:
        world.service.put(TENANT, "agent-1", body)
    assert caught.value.code == "userNotFound"
    assert named in caught.value.message
    assert world.repo.agents == {}


def test_a_user_backs_only_one_agent(world: World) -> None:
    # GIVEN agent A with Ann
    world.service.put(TENANT, "agent-a", {"userId": ANN})
    # WHEN agent B is given Ann too
    with pytest.raises(UserAlreadyAssigned) as caught:
        world.service.put(TENANT, "agent-b", {"userPrincipalName": "ann@contoso.com"})
    # THEN it is refused naming agent A, and nothing changed
    assert caught.value.agent_id == "agent-a"
    assert "agent-a" in caught.value.message
    assert world.repo.count(TENANT) == 1
    assert world.listener.changes == [TENANT]


def test_changing_the_user_frees_the_previous_one(world: World) -> None:
    world.service.put(TENANT, "agent-a", {"userId": ANN})
    item, created = world.service.put(TENANT, "agent-a", {"userId": BOB})
    assert created is False
    assert item.agent.user_id == BOB
    assert item.agent.display_name == "Bob Ray"
    # Ann is free again
    world.service.put(TENANT, "agent-b", {"userId": ANN})
    assert sorted(world.repo.user_ids(TENANT)) == sorted([ANN, BOB])
    assert world.listener.changes == [TENANT, TENANT, TENANT]


def test_agents_need_a_connector_that_is_not_being_deleted() -> None:
    world = World()
    world.connectors.rows.clear()
    with pytest.raises(ConnectorNotFound):
        world.service.put(TENANT, "agent-1", {"userId": ANN})
    world.set_status(ConnectorStatus.DELETING)
    with pytest.raises(ConnectorDeleting):
        world.service.put(TENANT, "agent-1", {"userId": ANN})
    with pytest.raises(ConnectorDeleting):
        world.service.import_agents(TENANT, {"agents": [{"agentId": "a", "userId": ANN}]})
    assert world.repo.agents == {}


@pytest.mark.parametrize(
    ("agent_id", "body"),
    [
        ("bad/id", {"userId": ANN}),
        ("agent-1", [{"userId": ANN}]),
        ("agent-1", "userId"),
        ("agent-1", {"userId": ANN, "displayName": "x"}),
    ],
)
def test_bad_input_changes_nothing(world: World, agent_id: str, body: object) -> None:
    with pytest.raises(InvalidAgentInput):
        world.service.put(TENANT, agent_id, body)
    assert world.repo.agents == {}
    assert world.directory.calls == []


def test_a_failing_listener_does_not_fail_a_stored_change(world: World) -> None:
    # GIVEN the subscription side fails
    world.listener.fail = True
    # WHEN an agent is added THEN the change stands (the renewal timer reconciles later)
    _, created = world.service.put(TENANT, "agent-1", {"userId": ANN})
    assert created is True
    assert world.repo.count(TENANT) == 1


# -- DELETE ---------------------------------------------------------------------------------------


def test_delete_removes_the_agent_and_tells_the_subscriptions(world: World) -> None:
    world.service.put(TENANT, "agent-1", {"userId": ANN})
    world.service.delete(TENANT, "agent-1")
    assert world.repo.count(TENANT) == 0
    assert world.listener.changes == [TENANT, TENANT]
    with pytest.raises(AgentNotFound, match="agent-1"):
        world.service.delete(TENANT, "agent-1")
    assert world.listener.changes == [TENANT, TENANT]


def test_delete_needs_a_connector(world: World) -> None:
    world.connectors.rows.clear()
    with pytest.raises(ConnectorNotFound):
        world.service.delete(TENANT, "agent-1")


# -- GET ------------------------------------------------------------------------------------------


def test_list_pages_through_the_roster_with_an_opaque_cursor(world: World) -> None:
    # GIVEN four agents, one subscribed and with a presence seen
    dan = world.directory.add("11111111-0000-0000-0000-000000000001", "dan@contoso.com", "Dan Oak").id
    for index, user in enumerate([ANN, BOB, CAT, dan]):
        world.service.put(TENANT, f"agent-{index}", {"userId": user})
    world.coverage.subscribed.add(BOB)
    seen = SeenPresence("Away", "Away", None, datetime(2026, 11, 21, 8, 0, tzinfo=UTC), world.clock())
    world.repo.presences[(TENANT, BOB)] = seen
    # WHEN the roster is read two at a time
    first = world.service.list(TENANT, 2, None)
    assert first.next_cursor is not None
    second = world.service.list(TENANT, 2, first.next_cursor)
    # THEN every agent shows up once, with its subscription and presence
    assert [item.agent.agent_id for item in first.items + second.items] == [
        "agent-0",
        "agent-1",
        "agent-2",
        "agent-3",
    ]
    assert second.next_cursor is None
    bob = first.items[1]
    assert bob.subscribed is True
    assert bob.last_presence == seen
    assert first.items[0].subscribed is False
    assert first.items[0].last_presence is None


def test_an_empty_roster_is_one_empty_page(world: World) -> None:
    page = world.service.list(TENANT, 100, None)
    assert page.items == []
    assert page.next_cursor is None
    assert world.coverage.calls == 0


def test_list_refuses_bad_paging_input(world: World) -> None:
    with pytest.raises(InvalidCursor):
        world.service.list(TENANT, 100, "garbage")
    with pytest.raises(InvalidAgentInput):
        world.service.list(TENANT, 0, None)
    with pytest.raises(InvalidAgentInput):
        world.service.list(TENANT, 501, None)


def test_list_needs_a_connector(world: World) -> None:
    world.connectors.rows.clear()
    with pytest.raises(ConnectorNotFound):
        world.service.list(TENANT, 10, None)


def test_user_ids_and_count_serve_the_subscriptions(world: World) -> None:
    world.service.put(TENANT, "a", {"userId": ANN})
    world.service.put(TENANT, "b", {"userId": BOB})
    assert sorted(world.service.user_ids(TENANT)) == sorted([ANN, BOB])
    assert world.service.count(TENANT) == 2


# -- import ---------------------------------------------------------------------------------------


def test_an_import_reports_each_item_and_tells_the_subscriptions_once(world: World) -> None:
    # GIVEN agent-1 already has Ann, agent-2 has Bob
    world.service.put(TENANT, "agent-1", {"userId": ANN})
    world.service.put(TENANT, "agent-2", {"userId": BOB})
    world.listener.changes.clear()
    # WHEN an import keeps agent-1, moves agent-2 to Cat, adds agent-3 with Bob, and has bad items
    report = world.service.import_agents(
        TENANT,
        {
            "agents": [
                {"agentId": "agent-1", "userId": ANN},
                {"agentId": "agent-2", "userPrincipalName": "cat@contoso.com"},
                {"agentId": "agent-3", "userPrincipalName": "bob@contoso.com"},
                {"agentId": "agent-4", "userPrincipalName": "nobody@contoso.com"},
                {"agentId": "agent 5", "userId": ANN},
            ]
        },
    )
    # THEN each item has its outcome, in order, and the subscriptions hear about it once
    assert [(r.agent_id, r.status) for r in report.results] == [
        ("agent-1", ImportStatus.UNCHANGED),
        ("agent-2", ImportStatus.UPDATED),
        ("agent-3", ImportStatus.CREATED),
        ("agent-4", ImportStatus.FAILED),
        (None, ImportStatus.FAILED),
    ]
    assert report.results[3].error is not None
    assert report.results[3].error.code == "userNotFound"
    assert report.results[4].error is not None
    assert report.results[4].error.code == "invalidRequest"
    assert world.listener.changes == [TENANT]
    assert world.repo.get(TENANT, "agent-3") is not None


def test_an_import_in_request_order_sees_its_own_earlier_items(world: World) -> None:
    # GIVEN agent-1 has Ann
    world.service.put(TENANT, "agent-1", {"userId": ANN})
    # WHEN an import first moves agent-1 to Bob, then gives Ann to agent-2
    report = world.service.import_agents(
        TENANT,
        {"agents": [{"agentId": "agent-1", "userId": BOB}, {"agentId": "agent-2", "userId": ANN}]},
    )
    # THEN both succeed, because writes happen in request order
    assert [r.status for r in report.results] == [ImportStatus.UPDATED, ImportStatus.CREATED]


def test_an_import_refuses_a_user_already_assigned_outside_it(world: World) -> None:
    world.service.put(TENANT, "agent-1", {"userId": ANN})
    report = world.service.import_agents(TENANT, {"agents": [{"agentId": "agent-9", "userId": ANN}]})
    assert report.results[0].status is ImportStatus.FAILED
    assert report.results[0].error is not None
    assert report.results[0].error.code == "userAlreadyAssigned"
    assert "agent-1" in report.results[0].error.message


def test_duplicates_inside_one_import_fail_every_copy(world: World) -> None:
    # GIVEN an import naming agent-1 twice, Bob twice, and Cat once by id and once by name
    report = world.service.import_agents(
        TENANT,
        {
            "agents": [
                {"agentId": "agent-1", "userId": ANN},
                {"agentId": "agent-1", "userId": BOB},
                {"agentId": "agent-2", "userId": BOB},
                {"agentId": "agent-3", "userId": BOB.upper()},
                {"agentId": "agent-4", "userId": CAT},
                {"agentId": "agent-5", "userPrincipalName": "CAT@contoso.com"},
                {"agentId": "agent-6", "userPrincipalName": "ann@contoso.com"},
            ]
        },
    )
    # THEN all copies fail as duplicates; the one clean item is written
    codes = [r.error.code if r.error else r.status.value for r in report.results]
    assert codes == ["duplicateInImport"] * 6 + ["created"]
    assert "agent-1" in (report.results[0].error.message if report.results[0].error else "")
    assert world.repo.user_ids(TENANT) == [ANN]


def test_an_import_while_pending_consent_takes_ids_and_refuses_names() -> None:
    world = World(ConnectorStatus.PENDING_CONSENT)
    report = world.service.import_agents(
        TENANT,
        {
            "agents": [
                {"agentId": "agent-1", "userId": ANN},
                {"agentId": "agent-2", "userPrincipalName": "bob@contoso.com"},
            ]
        },
    )
    assert report.results[0].status is ImportStatus.CREATED
    assert report.results[1].error is not None
    assert report.results[1].error.code == "connectorNotActive"
    assert world.directory.calls == []


def test_an_import_where_graph_is_down_fails_only_the_name_items(world: World) -> None:
    world.directory.failure = GraphUnavailable("down")
    report = world.service.import_agents(
        TENANT,
        {
            "agents": [
                {"agentId": "agent-1", "userId": ANN},
                {"agentId": "agent-2", "userPrincipalName": "bob@contoso.com"},
            ]
        },
    )
    assert report.results[0].status is ImportStatus.CREATED
    assert report.results[1].error is not None
    assert report.results[1].error.code == "graphUnavailable"


def test_an_import_that_changes_nothing_does_not_disturb_the_subscriptions(world: World) -> None:
    world.service.put(TENANT, "agent-1", {"userId": ANN})
    world.listener.changes.clear()
    report = world.service.import_agents(TENANT, {"agents": [{"agentId": "agent-1", "userId": ANN}]})
    assert report.results[0].status is ImportStatus.UNCHANGED
    assert world.listener.changes == []


def test_an_import_resolves_names_eight_at_a_time(world: World) -> None:
    # GIVEN sixteen agents named by userPrincipalName, and a directory that lets a lookup finish only
    # once eight are waiting together
    items = []
    for index in range(16):
        user_id = f"00000000-0000-0000-0000-{index:012d}"
        world.directory.add(user_id, f"user{index}@contoso.com", f"User {index}")
        items.append({"agentId": f"agent-{index}", "userPrincipalName": f"user{index}@contoso.com"})
    world.directory.barrier = threading.Barrier(8, timeout=10)
    # WHEN they are imported
    report = world.service.import_agents(TENANT, {"agents": items})
    # THEN every lookup passed the barrier (so eight ran at once) and every agent was created
    assert [r.status for r in report.results] == [ImportStatus.CREATED] * 16
    assert len(world.directory.calls) == 16


def test_a_storage_outage_half_way_still_reports_what_was_written(world: World) -> None:
    # GIVEN storage fails on the third write of an import
    world.repo.fail_on_save = (3, StorageUnavailable("Table Storage answered 503"))
    body = {"agents": [{"agentId": f"agent-{i}", "userId": user} for i, user in enumerate([ANN, BOB, CAT])]}
    # WHEN it runs THEN the request fails, but the two stored agents reached the subscriptions
    with pytest.raises(StorageUnavailable):
        world.service.import_agents(TENANT, body)
    assert world.repo.count(TENANT) == 2
    assert world.listener.changes == [TENANT]


def test_an_import_of_more_than_1000_agents_is_refused_whole(world: World) -> None:
    body = {"agents": [{"agentId": f"a{i}", "userId": ANN} for i in range(1001)]}
    with pytest.raises(TooManyAgents):
        world.service.import_agents(TENANT, body)
    assert world.repo.agents == {}


def test_an_import_keeps_the_created_at_of_existing_agents(world: World) -> None:
    created, _ = world.service.put(TENANT, "agent-1", {"userId": ANN})
    world.clock.advance(hours=1)
    world.service.import_agents(TENANT, {"agents": [{"agentId": "agent-1", "userId": BOB}]})
    moved = world.repo.get(TENANT, "agent-1")
    assert moved is not None
    assert replace(moved, etag=None).created_at == created.agent.created_at
    assert moved.updated_at == world.clock()


class RecordingFirstSync:
    def __init__(self) -> None:
        self.requests: list[tuple[str, list[tuple[str, str]]]] = []

    def agents_added(self, tenant_id: str, agents: Any) -> None:
        self.requests.append((tenant_id, list(agents)))


def _with_first_sync() -> tuple[World, RecordingFirstSync]:
    world = World()
    first = RecordingFirstSync()
    world.service = AgentService(
        world.repo,
        world.directory,
        world.connectors,
        world.coverage,
        world.listener,
        world.clock,
        first_sync=first,
    )
    return world, first


def test_an_added_agent_gets_a_first_sync_and_an_unchanged_one_does_not() -> None:
    world, first = _with_first_sync()
    world.service.put(TENANT, "agent-1", {"userId": ANN})
    assert first.requests == [(TENANT, [("agent-1", ANN)])]
    world.service.put(TENANT, "agent-1", {"userId": ANN})
    assert len(first.requests) == 1
    # AND an agent given to another user is synced again from the start
    world.service.put(TENANT, "agent-1", {"userId": BOB})
    assert first.requests[-1] == (TENANT, [("agent-1", BOB)])


def test_an_import_asks_one_first_sync_for_the_agents_it_added() -> None:
    world, first = _with_first_sync()
    world.service.put(TENANT, "agent-1", {"userId": ANN})
    world.service.import_agents(
        TENANT, {"agents": [{"agentId": "agent-1", "userId": ANN}, {"agentId": "agent-2", "userId": BOB}]}
    )
    assert first.requests[-1] == (TENANT, [("agent-2", BOB)])
