"""Issue #4 end to end on the local stack: presence synced both ways between the Graph simulator (Teams)
and the contact-center simulator (webhook adapter) through notification intake, the agent-event route,
the in-process Service Bus and the queue function; then the failures a real deployment meets: a
contact center answering 503 and 429, deliveries duplicated and out of order, Azurite restarting while
changes flow. Nothing may be lost, nothing applied twice.

Every test starts from a fresh tenant whose agents are `available` in the contact center and known to
the connector (stack.set_up_synced_tenant). "Applied" is read where it shows: the contact-center
simulator's agent history (`source: connector`) and the Graph simulator's presence sessions and
request log.
"""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from azure.data.tables import TableServiceClient

from devstack.azurite import Azurite
from shared.storage.agent_sync_state_repository import TableAgentSyncStates
from shared.storage.table_store import TableStore
from tests.e2e.conftest import HostClient, RunningHost
from tests.e2e.stack import (
    RETRY_TIMEOUT,
    SYNC_TIMEOUT,
    ControlApi,
    NotificationCapture,
    SyncedAgent,
    SyncedTenant,
    add_user,
    agent_in_contact_center,
    as_connector_notification,
    bus_deliveries,
    change_agent_state,
    connector_changes,
    contact_center_simulator,
    dead_letters,
    graph_presence_writes,
    graph_simulator,
    pick_teams_presence,
    post_agent_events,
    running_local_host,
    set_teams_presence,
    set_up_synced_tenant,
    subscribe_capture,
    teams_user,
    wait_for,
    wait_for_agent,
    wait_for_applied,
    wait_for_quiet_bus,
)

pytestmark = pytest.mark.e2e

PRESENCE_CHANGE = "presenceChange"
AGENT_STATE_CHANGE = "agentStateChange"

BodyMatch = Callable[[dict[str, Any]], bool]


@pytest.fixture
def graph(local_host: RunningHost) -> ControlApi:
    return graph_simulator(local_host)


@pytest.fixture
def contact_center(local_host: RunningHost) -> Iterator[ControlApi]:
    simulator = contact_center_simulator(local_host)
    yield simulator
    # Injected faults match any tenant: none may outlive the test that set it.
    simulator.call("DELETE", "/_sim/faults")


def presence_is(availability: str, activity: str | None = None) -> BodyMatch:
    def matches(body: dict[str, Any]) -> bool:
        return (
            body.get("schema") == PRESENCE_CHANGE
            and body.get("availability") == availability
            and (activity is None or body.get("activity") == activity)
        )

    return matches


def event_is(event_id: str) -> BodyMatch:
    def matches(body: dict[str, Any]) -> bool:
        return body.get("schema") == AGENT_STATE_CHANGE and body.get("eventId") == event_id

    return matches


def presence_sessions(graph: ControlApi, tenant: SyncedTenant, agent: SyncedAgent) -> list[dict[str, Any]]:
    """The application presence sessions Graph holds for the user (only the connector sets any)."""
    return list(teams_user(graph, tenant, agent)["sessions"])


def wait_for_teams_presence(
    graph: ControlApi,
    tenant: SyncedTenant,
    agent: SyncedAgent,
    availability: str,
    activity: str,
    timeout: float = SYNC_TIMEOUT,
) -> dict[str, Any]:
    def shown() -> dict[str, Any] | None:
        user = teams_user(graph, tenant, agent)
        presence = user["presence"]
        return user if (presence["availability"], presence["activity"]) == (availability, activity) else None

    return wait_for(f"{agent.name}'s Teams presence {availability}/{activity}", shown, timeout)


# -- Teams -> contact center -------------------------------------------------------------------------


def test_do_not_disturb_in_teams_puts_the_agent_in_idle_and_available_restores_him(
    host: HostClient, graph: ControlApi, contact_center: ControlApi, tenant_id: str
) -> None:
    # GIVEN an agent available in the contact center
    tenant = set_up_synced_tenant(host, graph, contact_center, tenant_id, ["ann"])
    ann = tenant.agent("ann")

    # WHEN she sets Do not disturb in Teams
    set_teams_presence(graph, tenant, ann, "DoNotDisturb", "DoNotDisturb")

    # THEN the connector puts her in the idle code the default mapping names
    view = wait_for_agent(contact_center, ann, "idle", "teams-dnd")
    assert view["history"][-1]["source"] == "connector"
    assert view["idleCodeName"] == "Teams: Do not disturb"

    # WHEN she is back to Available in Teams
    set_teams_presence(graph, tenant, ann, "Available", "Available")

    # THEN the connector makes her available again, and did nothing else
    view = wait_for_agent(contact_center, ann, "available")
    assert view["history"][-1]["source"] == "connector"
    wait_for_applied(host, tenant, ann, presence_is("Available"))
    assert connector_changes(agent_in_contact_center(contact_center, ann)) == [
        ("idle", "teams-dnd"),
        ("available", None),
    ]


def test_an_idle_code_the_agent_picked_himself_is_never_overridden(
    host: HostClient, graph: ControlApi, contact_center: ControlApi, tenant_id: str
) -> None:
    # GIVEN an agent who went to lunch in the contact center, and the connector saw it
    tenant = set_up_synced_tenant(host, graph, contact_center, tenant_id, ["bob"])
    bob = tenant.agent("bob")
    lunch = change_agent_state(contact_center, bob, "idle", "lunch")
    wait_for_applied(host, tenant, bob, event_is(lunch["eventId"]))

    # WHEN Teams shows him in Do not disturb, and later Available again
    set_teams_presence(graph, tenant, bob, "DoNotDisturb", "DoNotDisturb")
    wait_for_applied(host, tenant, bob, presence_is("DoNotDisturb"))
    set_teams_presence(graph, tenant, bob, "Available", "Available")
    wait_for_applied(host, tenant, bob, presence_is("Available"))

    # THEN he is still at lunch: the connector touched nothing
    view = agent_in_contact_center(contact_center, bob)
    assert (view["state"], view["idleCodeId"]) == ("idle", "lunch")
    assert connector_changes(view) == []


def test_an_agent_who_swaps_the_connector_idle_code_for_his_own_is_not_made_available(
    host: HostClient, graph: ControlApi, contact_center: ControlApi, tenant_id: str
) -> None:
    # GIVEN an agent the connector put in idle because of Do not disturb in Teams
    tenant = set_up_synced_tenant(host, graph, contact_center, tenant_id, ["cat"])
    cat = tenant.agent("cat")
    set_teams_presence(graph, tenant, cat, "DoNotDisturb", "DoNotDisturb")
    wait_for_agent(contact_center, cat, "idle", "teams-dnd")

    # WHEN she picks a break herself, and then Teams shows Available again
    pause = change_agent_state(contact_center, cat, "idle", "break")
    wait_for_applied(host, tenant, cat, event_is(pause["eventId"]))
    set_teams_presence(graph, tenant, cat, "Available", "Available")
    wait_for_applied(host, tenant, cat, presence_is("Available"))

    # THEN her own choice stands: the connector's only change was the idle code it set
    view = agent_in_contact_center(contact_center, cat)
    assert (view["state"], view["idleCodeId"]) == ("idle", "break")
    assert connector_changes(view) == [("idle", "teams-dnd")]


# -- contact center -> Teams -------------------------------------------------------------------------


def test_a_customer_call_shows_in_teams_and_does_not_bounce_back(
    host: HostClient, graph: ControlApi, contact_center: ControlApi, tenant_id: str
) -> None:
    # GIVEN an available agent with no presence of her own in Teams
    tenant = set_up_synced_tenant(host, graph, contact_center, tenant_id, ["dee"])
    dee = tenant.agent("dee")

    # WHEN she takes a customer call in the contact center
    change_agent_state(contact_center, dee, "onCall")

    # THEN Teams shows her Busy / In a call through the connector's own presence session
    user = wait_for_teams_presence(graph, tenant, dee, "Busy", "InACall")
    (session,) = user["sessions"]
    assert (session["availability"], session["activity"]) == ("Busy", "InACall")
    assert session["sessionId"] == tenant.subscription["applicationId"]

    # AND the notification that presence causes reaches the connector but does not move her
    wait_for_applied(host, tenant, dee, presence_is("Busy", "InACall"))
    view = agent_in_contact_center(contact_center, dee)
    assert view["state"] == "onCall"
    assert connector_changes(view) == []

    # WHEN the call ends
    change_agent_state(contact_center, dee, "available")

    # THEN the connector's session is cleared, and that change does not bounce back either
    wait_for("the connector's session to be cleared", lambda: not presence_sessions(graph, tenant, dee))
    wait_for_applied(host, tenant, dee, presence_is("Offline"))
    view = agent_in_contact_center(contact_center, dee)
    assert view["state"] == "available"
    assert connector_changes(view) == []
    assert graph_presence_writes(graph, tenant, dee) == ["setPresence", "clearPresence"]


def test_the_connectors_busy_beats_the_teams_clients_available_and_a_status_picked_by_hand_beats_both(
    host: HostClient, graph: ControlApi, contact_center: ControlApi, azurite: Azurite, tenant_id: str
) -> None:
    # GIVEN an agent whose Teams client shows her Available
    tenant = set_up_synced_tenant(host, graph, contact_center, tenant_id, ["fay"])
    fay = tenant.agent("fay")
    set_teams_presence(graph, tenant, fay, "Available", "Available")
    wait_for_applied(host, tenant, fay, presence_is("Available", "Available"))
    sync_states = TableAgentSyncStates(
        TableStore(TableServiceClient.from_connection_string(azurite.connection_string))
    )

    def engine_view() -> Any:
        stored = sync_states.load(tenant_id, fay.user_id)
        assert stored is not None
        return stored.state

    # WHEN she takes a customer call in the contact center
    change_agent_state(contact_center, fay, "onCall")
    # THEN the connector's Busy / In a call session beats her client's Available in Teams
    user = wait_for_teams_presence(graph, tenant, fay, "Busy", "InACall")
    assert [(c["availability"], c["activity"]) for c in user["clientSessions"]] == [
        ("Available", "Available")
    ]
    assert user["preferredPresence"] is None
    wait_for_applied(host, tenant, fay, presence_is("Busy", "InACall"))
    assert engine_view().manual_override is False

    # WHEN she picks Available by hand in Teams
    pick_teams_presence(graph, tenant, fay, "Available", "Available")
    # THEN her choice beats the connector's session, and the engine reports it as a manual override
    wait_for_teams_presence(graph, tenant, fay, "Available", "Available")
    state = wait_for(
        "the engine to record the manual override",
        lambda: engine_view() if engine_view().manual_override else None,
    )
    assert (state.teams.availability, state.teams.activity) == ("Available", "Available")
    assert state.session is not None
    # AND it does not fight her: no new setPresence, and the contact center is left on the call
    assert graph_presence_writes(graph, tenant, fay) == ["setPresence"]
    view = agent_in_contact_center(contact_center, fay)
    assert view["state"] == "onCall"
    assert connector_changes(view) == []


def test_an_agent_event_signed_with_another_secret_is_refused_and_changes_nothing(
    host: HostClient, graph: ControlApi, contact_center: ControlApi, tenant_id: str
) -> None:
    # GIVEN a synced agent
    tenant = set_up_synced_tenant(host, graph, contact_center, tenant_id, ["jon"])
    jon = tenant.agent("jon")
    on_call = {
        "eventId": str(uuid.uuid4()),
        "type": "agentStateChanged",
        "agentId": jon.agent_id,
        "state": "onCall",
        "occurredAt": datetime.now(UTC).isoformat(),
        "sequenceNumber": 1_000,
    }

    # WHEN someone without the tenant's secret posts an event for him
    forged = replace(tenant, secret=tenant.secret + "-not-it")
    reply = post_agent_events(host, forged, [on_call])

    # THEN it is refused, and neither the queue nor Teams saw anything
    assert reply.status == 401, reply.body
    assert reply.json()["error"]["code"]
    assert not [
        d
        for d in bus_deliveries(host, jon.session_id(tenant_id))
        if d["body"].get("eventId") == on_call["eventId"]
    ]
    assert graph_presence_writes(graph, tenant, jon) == []


# -- failures ----------------------------------------------------------------------------------------


def test_a_contact_center_answering_503_then_429_gets_the_change_exactly_once(
    host: HostClient, graph: ControlApi, contact_center: ControlApi, tenant_id: str
) -> None:
    # GIVEN a contact center that will answer the next two state changes 503, the two after 429
    tenant = set_up_synced_tenant(host, graph, contact_center, tenant_id, ["eve"])
    eve = tenant.agent("eve")
    for status in (503, 429):
        contact_center.ok(
            "POST",
            "/_sim/faults",
            {"path": "/webhook", "method": "POST", "count": 2, "status": status, "retryAfterSeconds": 1},
        )

    # WHEN the agent sets Do not disturb in Teams
    set_teams_presence(graph, tenant, eve, "DoNotDisturb", "DoNotDisturb")

    # THEN the change gets through in the end, once
    view = wait_for_agent(contact_center, eve, "idle", "teams-dnd", timeout=RETRY_TIMEOUT)
    assert connector_changes(view) == [("idle", "teams-dnd")]
    calls = [
        r["status"]
        for r in contact_center.ok("GET", "/_sim/requests")["requests"]
        if r["tenantId"] == tenant_id and r["method"] == "POST" and r["path"] == "/webhook"
    ]
    assert calls == [503, 503, 429, 429, 204]

    # AND the queue shows how: the message was abandoned and delivered again until it went through
    # (the reconcile timer may take one of the faults, so the number of deliveries is not fixed)
    settled = wait_for_applied(host, tenant, eve, presence_is("DoNotDisturb"))
    assert settled["deliveryCount"] > 1
    tries = [
        (d["outcome"], d["deliveryCount"])
        for d in bus_deliveries(host, eve.session_id(tenant_id), PRESENCE_CHANGE)
        if d["messageId"] == settled["messageId"]
    ]
    last = settled["deliveryCount"]
    assert tries == [*(("abandoned", count) for count in range(1, last)), ("completed", last)]
    assert dead_letters(host, tenant_id) == []


def test_agent_events_delivered_again_are_applied_once(
    host: HostClient, graph: ControlApi, contact_center: ControlApi, tenant_id: str
) -> None:
    # GIVEN an agent whose customer call already shows in Teams
    tenant = set_up_synced_tenant(host, graph, contact_center, tenant_id, ["fay"])
    fay = tenant.agent("fay")
    on_call = change_agent_state(contact_center, fay, "onCall")
    wait_for_teams_presence(graph, tenant, fay, "Busy", "InACall")

    # WHEN the contact center delivers the same event twice more
    for _ in range(2):
        reply = post_agent_events(host, tenant, [on_call])
        assert reply.status == 202, reply.body
        assert reply.json()["accepted"] == 1
    # AND once more under a new event id, which no duplicate detection can recognise
    resent = {**on_call, "eventId": str(uuid.uuid4())}
    assert post_agent_events(host, tenant, [resent]).status == 202
    wait_for_applied(host, tenant, fay, event_is(resent["eventId"]))

    # THEN Service Bus dropped the exact copies, the engine discarded the re-sent one
    outcomes = Counter(
        d["outcome"]
        for d in bus_deliveries(host, fay.session_id(tenant_id), AGENT_STATE_CHANGE)
        if d["body"]["eventId"] == on_call["eventId"]
    )
    assert outcomes == {"completed": 1, "duplicate": 2}
    # AND Teams was told once
    assert graph_presence_writes(graph, tenant, fay) == ["setPresence"]
    assert len(presence_sessions(graph, tenant, fay)) == 1


def test_a_rich_notification_delivered_twice_is_applied_once(
    host: HostClient, graph: ControlApi, contact_center: ControlApi, tenant_id: str
) -> None:
    # GIVEN an agent and a copy of every notification Graph sends about her
    tenant = set_up_synced_tenant(host, graph, contact_center, tenant_id, ["gia"])
    gia = tenant.agent("gia")
    observer = add_user(graph, tenant_id, f"observer@{tenant_id[:8]}.example", "Observer")
    with NotificationCapture() as capture:
        subscribe_capture(graph, tenant, observer, [gia], capture)

        # WHEN she sets Do not disturb in Teams, and the notification reaches the connector twice more
        set_teams_presence(graph, tenant, gia, "DoNotDisturb", "DoNotDisturb")
        ((collection, notification),) = capture.wait_for_count(1)
    replay = as_connector_notification(collection, notification, tenant.subscription["id"])
    for _ in range(2):
        reply = host.call("POST", "/api/graph/notifications", replay)
        assert reply.status == 202, reply.body
        assert reply.json()["accepted"] == 1

    # THEN the agent was put in idle once
    wait_for_agent(contact_center, gia, "idle", "teams-dnd")

    def all_three() -> list[dict[str, Any]] | None:
        found = [
            d
            for d in bus_deliveries(host, gia.session_id(tenant_id), PRESENCE_CHANGE)
            if d["body"]["availability"] == "DoNotDisturb"
        ]
        return found if len(found) >= 3 else None

    copies = wait_for("the three copies of the change on the queue", all_three)
    assert Counter(d["outcome"] for d in copies) == {"completed": 1, "duplicate": 2}
    assert len({d["messageId"] for d in copies}) == 1
    assert connector_changes(agent_in_contact_center(contact_center, gia)) == [("idle", "teams-dnd")]


def test_an_older_agent_event_after_a_newer_one_is_discarded(
    host: HostClient, graph: ControlApi, contact_center: ControlApi, tenant_id: str
) -> None:
    # GIVEN an agent offered a call (ringing), who then took it (onCall): Teams shows the call
    tenant = set_up_synced_tenant(host, graph, contact_center, tenant_id, ["hal"])
    hal = tenant.agent("hal")
    ringing = change_agent_state(contact_center, hal, "ringing")
    on_call = change_agent_state(contact_center, hal, "onCall")
    assert ringing["sequenceNumber"] < on_call["sequenceNumber"]
    wait_for_teams_presence(graph, tenant, hal, "Busy", "InACall")

    # WHEN the ringing event arrives again, late (a retry under a new event id)
    late = {**ringing, "eventId": str(uuid.uuid4())}
    assert post_agent_events(host, tenant, [late]).status == 202
    wait_for_applied(host, tenant, hal, event_is(late["eventId"]))

    # THEN it changes nothing: Teams still shows the call, set once and never cleared
    user = teams_user(graph, tenant, hal)
    assert (user["presence"]["availability"], user["presence"]["activity"]) == ("Busy", "InACall")
    assert graph_presence_writes(graph, tenant, hal) == ["setPresence"]


def test_an_older_teams_presence_after_a_newer_one_is_discarded(
    host: HostClient, graph: ControlApi, contact_center: ControlApi, tenant_id: str
) -> None:
    # GIVEN an agent whose notifications reach the connector only through the test, in the order it
    # chooses: Graph "loses" the connector's subscription, a second subscriber keeps what Graph sends
    tenant = set_up_synced_tenant(host, graph, contact_center, tenant_id, ["ida"])
    ida = tenant.agent("ida")
    observer = add_user(graph, tenant_id, f"observer@{tenant_id[:8]}.example", "Observer")
    with NotificationCapture() as capture:
        subscribe_capture(graph, tenant, observer, [ida], capture)
        graph.ok("POST", f"/_sim/subscriptions/{tenant.subscription['id']}/expire")
        set_teams_presence(graph, tenant, ida, "DoNotDisturb", "DoNotDisturb")
        older = capture.wait_for_count(1)[0]
        set_teams_presence(graph, tenant, ida, "Available", "Available")
        newer = capture.wait_for_count(2)[1]

    # WHEN the newer notification (Available) arrives first, then the older one (Do not disturb)
    for collection, notification in (newer, older):
        replay = as_connector_notification(collection, notification, tenant.subscription["id"])
        reply = host.call("POST", "/api/graph/notifications", replay)
        assert reply.status == 202, reply.body
        assert reply.json()["accepted"] == 1
    wait_for_applied(host, tenant, ida, presence_is("DoNotDisturb"))

    # THEN the older one was discarded: the agent is still available, the connector did nothing
    view = agent_in_contact_center(contact_center, ida)
    assert view["state"] == "available"
    assert connector_changes(view) == []


# -- Azurite restarting while changes flow -----------------------------------------------------------


@pytest.fixture
def durable_stack(tmp_path: Path) -> Iterator[tuple[Azurite, RunningHost]]:
    """A local host of its own on an Azurite that keeps its data on disk: the session Azurite keeps its
    data in memory, so restarting it would wipe every tenant, and it is shared with the other tests."""
    with (
        Azurite(port=0, location=tmp_path / "azurite") as azurite,
        running_local_host(azurite.connection_string, tmp_path / "host.log") as running,
    ):
        yield azurite, running


def test_changes_sent_while_azurite_restarts_are_all_applied_once(
    durable_stack: tuple[Azurite, RunningHost], tenant_id: str
) -> None:
    azurite, running = durable_stack
    host = running.client
    graph = graph_simulator(running)
    contact_center = contact_center_simulator(running)
    # GIVEN four synced agents, three of them Available in Teams: the connector has met their
    # subscription, so notifications are taken while storage is down (the queue function is not)
    tenant = set_up_synced_tenant(host, graph, contact_center, tenant_id, ["ann", "bob", "cid", "dan"])
    ann, bob, cid, dan = (tenant.agent(name) for name in ("ann", "bob", "cid", "dan"))
    for agent in (ann, bob, dan):
        set_teams_presence(graph, tenant, agent, "Available", "Available")
        wait_for_applied(host, tenant, agent, presence_is("Available"))

    # WHEN Azurite goes down while changes flow in both directions, and comes back
    azurite.stop()
    try:
        set_teams_presence(graph, tenant, ann, "DoNotDisturb", "DoNotDisturb")
        change_agent_state(contact_center, cid, "onCall")
        set_teams_presence(graph, tenant, bob, "DoNotDisturb", "DoNotDisturb")
        set_teams_presence(graph, tenant, dan, "Busy", "InACall")

        def outage_met() -> bool:
            return any(
                d["outcome"] == "abandoned"
                for agent in (ann, bob, dan)
                for d in bus_deliveries(host, agent.session_id(tenant_id))
            )

        # (the queue function met the outage: the test exercises redelivery, not just the intake)
        wait_for("a delivery abandoned while Azurite is down", outage_met)
    finally:
        azurite.start()

    # THEN every change is applied in the end
    wait_for_agent(contact_center, ann, "idle", "teams-dnd", timeout=RETRY_TIMEOUT)
    wait_for_agent(contact_center, bob, "idle", "teams-dnd", timeout=RETRY_TIMEOUT)
    wait_for_agent(contact_center, dan, "idle", "teams-call", timeout=RETRY_TIMEOUT)
    wait_for_teams_presence(graph, tenant, cid, "Busy", "InACall", timeout=RETRY_TIMEOUT)

    # WHEN the changes are undone on the recovered stack
    set_teams_presence(graph, tenant, ann, "Available", "Available")
    set_teams_presence(graph, tenant, dan, "Available", "Available")
    change_agent_state(contact_center, cid, "available")

    # THEN they are applied too
    wait_for_agent(contact_center, ann, "available")
    wait_for_agent(contact_center, dan, "available")
    wait_for("cid's session to be cleared", lambda: not presence_sessions(graph, tenant, cid))

    # AND, once the queue has settled, nothing was applied twice and nothing was dead-lettered
    wait_for_quiet_bus(host)
    assert connector_changes(agent_in_contact_center(contact_center, ann)) == [
        ("idle", "teams-dnd"),
        ("available", None),
    ]
    assert connector_changes(agent_in_contact_center(contact_center, bob)) == [("idle", "teams-dnd")]
    assert connector_changes(agent_in_contact_center(contact_center, dan)) == [
        ("idle", "teams-call"),
        ("available", None),
    ]
    assert connector_changes(agent_in_contact_center(contact_center, cid)) == []
    assert graph_presence_writes(graph, tenant, cid) == ["setPresence", "clearPresence"]
    assert dead_letters(host, tenant_id) == []
