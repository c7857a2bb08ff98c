"""The reconcile timer: reads both sides, repairs drift both ways, renews the connector's Teams presence
sessions; never waits out a Retry-After; a failing tenant or Graph read does not stop the rest."""

from __future__ import annotations

from datetime import timedelta

import pytest

from shared.connectors.model import Connector, ConnectorStatus
from shared.contact_center.exceptions import ContactCenterUnavailable
from shared.contact_center.model import AgentState, AgentStatus
from shared.graph.exceptions import GraphThrottled, GraphUnavailable
from shared.mappings.defaults import DEFAULT_MAPPINGS, DND_IDLE_CODE_ID
from shared.presence.exceptions import StaleAgentSyncState
from shared.presence.sync_rules import SESSION_DURATION, on_agent_event
from shared.presence.sync_state import AgentSyncState, PendingKind, PresenceSession, TeamsView
from shared.storage.exceptions import StorageUnavailable
from tests.unit.presence.engine_fakes import (
    AGENT,
    APP_ID,
    OTHER_TENANT,
    START,
    TENANT,
    USER,
    Engine,
    agent_event,
    build_engine,
    connector,
    seen_in_contact_center,
    seen_in_teams,
)

BEFORE = START - timedelta(hours=1)
COLLEAGUE = "5e6f7a8b-9c0d-4e1f-a2b3-c4d5e6f7a8b9"
COLLEAGUE_AGENT = "agent-9"
AVAILABLE_AGENT = AgentSyncState(
    teams=seen_in_teams("Available", "Available", "0001", BEFORE),
    contact_center=seen_in_contact_center(AgentState.AVAILABLE, BEFORE),
)


@pytest.fixture
def engine() -> Engine:
    engine = build_engine()
    engine.subscriptions.subscribed[TENANT] = frozenset({USER, COLLEAGUE})
    return engine


def in_connector_idle(at: TeamsView | None = None) -> AgentSyncState:
    """The connector put the agent in Do-not-disturb's idle code and the contact center confirmed it."""
    return AgentSyncState(
        teams=at or seen_in_teams("DoNotDisturb", "DoNotDisturb", "0002", BEFORE),
        contact_center=seen_in_contact_center(
            AgentState.IDLE, BEFORE, idle_code_id=DND_IDLE_CODE_ID, sequence_number=2
        ),
        idle_code_id=DND_IDLE_CODE_ID,
        idle_code_name="Teams: Do not disturb",
    )


def on_a_call_shown_in_teams(expires_at_minutes: int) -> AgentSyncState:
    """The agent is on a customer call; the connector's Busy / InACall session shows in Teams."""
    return AgentSyncState(
        teams=TeamsView("Busy", "InACall", "0002", BEFORE, BEFORE, from_connector=True),
        contact_center=seen_in_contact_center(AgentState.ON_CALL, BEFORE, sequence_number=2),
        session=PresenceSession(
            "Busy",
            "InACall",
            set_at=BEFORE,
            expires_at=START + timedelta(minutes=expires_at_minutes),
        ),
    )


# -- drift -------------------------------------------------------------------------------------------------


def test_a_missed_teams_change_is_repaired_in_the_contact_center(engine: Engine) -> None:
    # GIVEN the connector last saw the user Available, but Graph now reads Do not disturb
    engine.states.add_agent(state=AVAILABLE_AGENT)
    engine.graph.show(TENANT, USER, "DoNotDisturb", "DoNotDisturb", "0003")
    # WHEN the timer runs
    report = engine.reconciler.run()
    # THEN the agent is put in Do-not-disturb's idle code, with one Graph read and no status read
    assert engine.contact_centers.calls == [("set_idle", TENANT, AGENT, DND_IDLE_CODE_ID)]
    assert engine.graph.calls_of("get_presences") == [("get_presences", TENANT, (USER,))]
    assert (report.tenants, report.agents, report.repaired, report.graph_reads) == (1, 1, 1, 1)
    assert report.contact_center_reads == 0
    state = engine.states.state_of()
    assert state.teams is not None
    assert state.teams.pair == ("DoNotDisturb", "DoNotDisturb")
    assert [command.kind for command in state.pending] == [PendingKind.SET_IDLE]


def test_a_missed_back_to_available_restores_the_agent(engine: Engine) -> None:
    engine.states.add_agent(state=in_connector_idle())
    engine.graph.show(TENANT, USER, "Available", "Available", "0003")
    engine.contact_centers.statuses[(TENANT, AGENT)] = AgentStatus(AgentState.IDLE, DND_IDLE_CODE_ID)
    report = engine.reconciler.run()
    assert engine.contact_centers.commands == [("set_available", TENANT, AGENT)]
    assert report.repaired == 1


def test_a_missed_agent_event_is_repaired_in_teams(engine: Engine) -> None:
    # GIVEN an agent whose state the contact center never reported (the event was lost), on a call
    engine.states.add_agent()
    engine.contact_centers.statuses[(TENANT, AGENT)] = AgentStatus(AgentState.ON_CALL, changed_at=BEFORE)
    # WHEN the timer runs
    report = engine.reconciler.run()
    # THEN the status read shows the call in Teams through the connector's session
    assert engine.contact_centers.calls == [("get_status", TENANT, AGENT)]
    assert engine.graph.calls_of("set_presence") == [
        ("set_presence", TENANT, USER, APP_ID, "Busy", "InACall", SESSION_DURATION)
    ]
    assert (report.repaired, report.contact_center_reads) == (1, 1)
    state = engine.states.state_of()
    assert state.contact_center is not None
    assert state.contact_center.state is AgentState.ON_CALL
    assert state.session is not None


def test_an_agent_who_left_the_connectors_idle_code_is_recorded_not_forced_back(engine: Engine) -> None:
    # GIVEN the connector put the agent in idle for Do not disturb; the event of him leaving was lost
    engine.states.add_agent(state=in_connector_idle())
    engine.graph.show(TENANT, USER, "DoNotDisturb", "DoNotDisturb", "0002")
    engine.contact_centers.statuses[(TENANT, AGENT)] = AgentStatus(AgentState.AVAILABLE, changed_at=START)
    # WHEN the timer runs
    engine.reconciler.run()
    # THEN his choice is recorded and the idle code is not imposed again
    assert engine.contact_centers.commands == []
    state = engine.states.state_of()
    assert state.contact_center is not None
    assert state.contact_center.state is AgentState.AVAILABLE
    assert state.dismissed_idle_code_id == DND_IDLE_CODE_ID


def test_without_drift_nothing_is_sent_or_written(engine: Engine) -> None:
    engine.states.add_agent(state=AVAILABLE_AGENT)
    engine.graph.show(TENANT, USER, "Available", "Available", "0001")
    report = engine.reconciler.run()
    assert engine.contact_centers.calls == []
    assert engine.graph.calls_of("set_presence") == []
    assert engine.states.count("save") == 0
    assert (report.repaired, report.renewed, report.deferred) == (0, 0, 0)


def test_only_subscribed_users_are_read_and_only_agents_the_connector_answers_for(engine: Engine) -> None:
    # GIVEN two agents with a known contact-center state, one of them not subscribed
    engine.subscriptions.subscribed[TENANT] = frozenset({USER})
    engine.states.add_agent(state=AVAILABLE_AGENT)
    engine.states.add_agent(TENANT, COLLEAGUE, COLLEAGUE_AGENT, AVAILABLE_AGENT)
    engine.reconciler.run()
    # THEN Graph is asked only for the subscribed one, the contact center for neither
    assert engine.graph.calls_of("get_presences") == [("get_presences", TENANT, (USER,))]
    assert engine.contact_centers.calls == []


def test_an_agent_changed_since_the_listing_is_decided_on_his_current_row(engine: Engine) -> None:
    # GIVEN an available agent whose missed Do-not-disturb the timer is about to repair
    engine.states.add_agent(state=AVAILABLE_AGENT)
    engine.graph.show(TENANT, USER, "DoNotDisturb", "DoNotDisturb", "0003")

    # AND a queue message records his customer call after the timer listed the tenant
    def call_applied_meanwhile() -> None:
        event = agent_event(AgentState.ON_CALL, 2, START)
        decided = on_agent_event(engine.states.state_of(), event, DEFAULT_MAPPINGS, START)
        engine.states.write_foreign(TENANT, USER, decided.state)

    engine.states.after_list.append(call_applied_meanwhile)
    # WHEN the timer runs
    report = engine.reconciler.run()
    # THEN an agent on a customer call is not put in an idle code
    assert engine.contact_centers.commands == []
    # AND the Teams read is still recorded over the current row
    state = engine.states.state_of()
    assert state.contact_center is not None
    assert state.contact_center.state is AgentState.ON_CALL
    assert state.teams is not None
    assert state.teams.pair == ("DoNotDisturb", "DoNotDisturb")
    assert report.failed_tenant_ids == []


# -- sessions ---------------------------------------------------------------------------------------------


def test_a_session_about_to_expire_is_renewed(engine: Engine) -> None:
    # GIVEN the connector's Busy / InACall session ends in 5 minutes and the call goes on
    engine.states.add_agent(state=on_a_call_shown_in_teams(expires_at_minutes=5))
    engine.graph.show(TENANT, USER, "Busy", "InACall", "0002")
    # WHEN the timer runs
    report = engine.reconciler.run()
    # THEN the session is set again for its full duration, and counted as a renewal
    assert engine.graph.calls_of("set_presence") == [
        ("set_presence", TENANT, USER, APP_ID, "Busy", "InACall", SESSION_DURATION)
    ]
    assert (report.renewed, report.repaired) == (1, 0)
    session = engine.states.state_of().session
    assert session is not None
    assert session.expires_at == START + SESSION_DURATION
    assert engine.contact_centers.commands == []


def test_a_session_far_from_expiry_is_left_alone(engine: Engine) -> None:
    engine.states.add_agent(state=on_a_call_shown_in_teams(expires_at_minutes=45))
    engine.graph.show(TENANT, USER, "Busy", "InACall", "0002")
    report = engine.reconciler.run()
    assert engine.graph.calls_of("set_presence") == []
    assert report.renewed == 0


# -- failures ---------------------------------------------------------------------------------------------


def test_the_timer_never_waits_out_a_retry_after(engine: Engine) -> None:
    # GIVEN one agent to repair in the contact center, one session to renew, both systems throttling
    engine.states.add_agent(state=AVAILABLE_AGENT)
    engine.graph.show(TENANT, USER, "DoNotDisturb", "DoNotDisturb", "0003")
    engine.contact_centers.throttle(30.0)
    engine.states.add_agent(TENANT, COLLEAGUE, COLLEAGUE_AGENT, on_a_call_shown_in_teams(5))
    engine.graph.show(TENANT, COLLEAGUE, "Busy", "InACall", "0002")
    engine.graph.failures.append(GraphThrottled("429", retry_after=20.0, status=429))
    # WHEN the timer runs
    report = engine.reconciler.run()
    # THEN it did not sleep, wrote nothing, and leaves both to its next run
    assert engine.sleep.waits == []
    assert engine.states.count("save") == 0
    assert (report.deferred, report.repaired, report.renewed) == (2, 0, 0)


def test_a_graph_read_failure_still_reconciles_the_contact_center_side(engine: Engine) -> None:
    # GIVEN Graph cannot be read, and an agent whose call event was lost
    engine.graph.read_failures[TENANT] = GraphUnavailable("503", status=503)
    engine.states.add_agent()
    engine.contact_centers.statuses[(TENANT, AGENT)] = AgentStatus(AgentState.ON_CALL, changed_at=BEFORE)
    # WHEN the timer runs
    report = engine.reconciler.run()
    # THEN the call still shows in Teams and the tenant is not reported failed
    assert [call[0] for call in engine.graph.calls] == ["get_presences", "set_presence"]
    assert report.repaired == 1
    assert report.graph_reads == 0
    assert report.failed_tenant_ids == []


def test_a_status_read_failure_skips_only_that_side(engine: Engine) -> None:
    engine.states.add_agent(state=in_connector_idle())
    engine.graph.show(TENANT, USER, "Available", "Available", "0003")
    engine.contact_centers.status_failures[(TENANT, AGENT)] = ContactCenterUnavailable("503", status=503)
    report = engine.reconciler.run()
    # THEN the Teams side is still repaired from what the connector knows
    assert engine.contact_centers.commands == [("set_available", TENANT, AGENT)]
    assert report.repaired == 1


@pytest.mark.parametrize(
    "failure",
    [StorageUnavailable("Table Storage answered 503"), RuntimeError("unexpected row")],
    ids=["storage-unavailable", "unexpected"],
)
def test_one_failing_tenant_does_not_stop_the_others(failure: Exception) -> None:
    # GIVEN two active tenants; the first one's storage fails
    engine = build_engine(connector(OTHER_TENANT), connector(TENANT))
    engine.subscriptions.subscribed[TENANT] = frozenset({USER})
    engine.states.list_failures[OTHER_TENANT] = failure
    engine.states.add_agent(state=AVAILABLE_AGENT)
    engine.graph.show(TENANT, USER, "DoNotDisturb", "DoNotDisturb", "0003")
    # WHEN the timer runs
    report = engine.reconciler.run()
    # THEN the first is reported failed and the second is still reconciled
    assert report.failed_tenant_ids == [OTHER_TENANT]
    assert report.tenants == 2
    assert engine.contact_centers.commands == [("set_idle", TENANT, AGENT, DND_IDLE_CODE_ID)]


def test_a_conflicting_save_leaves_the_agent_to_the_next_run(engine: Engine) -> None:
    engine.states.add_agent(state=AVAILABLE_AGENT)
    engine.graph.show(TENANT, USER, "DoNotDisturb", "DoNotDisturb", "0003")

    def message_applied_meanwhile() -> None:
        raise StaleAgentSyncState(TENANT, USER)

    engine.states.before_save.append(message_applied_meanwhile)
    report = engine.reconciler.run()
    assert (report.deferred, report.repaired) == (1, 0)
    assert report.failed_tenant_ids == []


@pytest.mark.parametrize(
    "switched_off",
    [
        connector(status=ConnectorStatus.INACTIVE),
        connector(presence_sync=False),
        connector(contact_center=None),
    ],
    ids=["inactive", "presence-sync-off", "no-contact-center"],
)
def test_a_tenant_without_sync_is_not_reconciled(switched_off: Connector) -> None:
    engine = build_engine(connector())
    engine.connectors.rows[TENANT] = switched_off
    engine.subscriptions.subscribed[TENANT] = frozenset({USER})
    engine.states.add_agent(state=AVAILABLE_AGENT)
    engine.graph.show(TENANT, USER, "DoNotDisturb", "DoNotDisturb", "0003")
    report = engine.reconciler.run()
    assert engine.graph.calls == []
    assert engine.contact_centers.calls == []
    assert engine.states.operations == []
    assert report.agents == 0
