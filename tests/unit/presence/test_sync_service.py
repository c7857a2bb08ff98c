"""The presence sync engine per queue message: PresenceSyncService wired like the composition root
(cached connector and mappings, the real rules and default mappings) to fakes of its ports."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from shared.connectors.model import Connector, ConnectorStatus
from shared.contact_center.model import AgentState
from shared.graph.exceptions import GraphBadRequest, GraphThrottled
from shared.mappings.defaults import (
    CALL_IDLE_CODE_ID,
    DEFAULT_MAPPINGS,
    DND_IDLE_CODE_ID,
    PRESENTING_IDLE_CODE_ID,
)
from shared.operations.ports import ChangeOutcome, Direction
from shared.presence.exceptions import TransientSyncFailure
from shared.presence.sync_rules import SESSION_DURATION, on_agent_event
from shared.presence.sync_state import AgentSyncState, PendingKind
from tests.unit.presence.engine_fakes import (
    AGENT,
    APP_ID,
    START,
    TENANT,
    USER,
    Engine,
    agent_event,
    build_engine,
    connector,
    seen_in_contact_center,
    seen_in_teams,
    teams_change,
)

BEFORE = START - timedelta(hours=1)


@pytest.fixture
def engine() -> Engine:
    return build_engine()


def available_agent(engine: Engine) -> None:
    """GIVEN an agent the contact center last reported available, Teams last seen Available."""
    engine.states.add_agent(
        state=AgentSyncState(
            teams=seen_in_teams("Available", "Available", "0001", BEFORE),
            contact_center=seen_in_contact_center(AgentState.AVAILABLE, BEFORE),
        )
    )


# -- Teams -> contact center ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("availability", "activity", "idle_code_id"),
    [
        ("DoNotDisturb", "DoNotDisturb", DND_IDLE_CODE_ID),
        ("Busy", "InACall", CALL_IDLE_CODE_ID),
        ("Busy", "InAConferenceCall", CALL_IDLE_CODE_ID),
        ("Busy", "Presenting", PRESENTING_IDLE_CODE_ID),
    ],
)
def test_a_mapped_teams_state_puts_an_available_agent_in_its_idle_code(
    engine: Engine, availability: str, activity: str, idle_code_id: str
) -> None:
    available_agent(engine)
    # WHEN the user's Teams presence changes to a mapped state
    engine.teams(teams_change(availability, activity, "0002", START))
    # THEN the contact center is told to put the agent in the rule's idle code, and only that
    assert engine.contact_centers.commands == [("set_idle", TENANT, AGENT, idle_code_id)]
    assert engine.graph.calls == []
    # AND the agent's record says what was seen and what the connector now waits for
    state = engine.states.state_of()
    assert state.teams is not None
    assert (state.teams.pair, state.teams.sequence_number) == ((availability, activity), "0002")
    assert state.idle_code_id == idle_code_id
    assert [(c.kind, c.idle_code_id) for c in state.pending] == [(PendingKind.SET_IDLE, idle_code_id)]


def test_an_unmapped_teams_state_is_recorded_without_a_command(engine: Engine) -> None:
    available_agent(engine)
    # WHEN Teams shows a presence no rule maps
    engine.teams(teams_change("Away", "Away", "0002", START))
    # THEN nothing is sent anywhere, but the presence is recorded
    assert engine.contact_centers.commands == []
    assert engine.graph.calls == []
    state = engine.states.state_of()
    assert state.teams is not None
    assert state.teams.pair == ("Away", "Away")


def test_back_to_available_in_teams_restores_an_agent_the_connector_put_in_idle(engine: Engine) -> None:
    # GIVEN the connector put the agent in Do-not-disturb's idle code and the contact center confirmed it
    available_agent(engine)
    engine.teams(teams_change("DoNotDisturb", "DoNotDisturb", "0002", START))
    engine.clock.advance(seconds=1)
    engine.event(agent_event(AgentState.IDLE, 2, engine.clock(), idle_code_id=DND_IDLE_CODE_ID))
    assert engine.states.state_of().in_connector_idle
    # WHEN the user is back to Available in Teams
    engine.clock.advance(seconds=30)
    engine.teams(teams_change("Available", "Available", "0003", engine.clock()))
    # THEN the agent is made available again
    assert engine.contact_centers.commands == [
        ("set_idle", TENANT, AGENT, DND_IDLE_CODE_ID),
        ("set_available", TENANT, AGENT),
    ]


def test_an_idle_code_the_agent_picked_himself_is_never_overridden(engine: Engine) -> None:
    # GIVEN the agent went to lunch on his own
    engine.states.add_agent(
        state=AgentSyncState(
            contact_center=seen_in_contact_center(AgentState.IDLE, BEFORE, idle_code_id="lunch"),
        )
    )
    # WHEN Teams goes to Do not disturb and then back to Available
    engine.teams(teams_change("DoNotDisturb", "DoNotDisturb", "0002", START))
    engine.clock.advance(seconds=10)
    engine.teams(teams_change("Available", "Available", "0003", engine.clock()))
    # THEN the contact center is never told anything
    assert engine.contact_centers.commands == []


# -- loop prevention --------------------------------------------------------------------------------------


def test_the_echo_of_our_own_set_presence_is_not_sent_to_the_contact_center(engine: Engine) -> None:
    # GIVEN an available agent takes a customer call: the connector shows Busy / InACall in Teams
    available_agent(engine)
    engine.event(agent_event(AgentState.ON_CALL, 2, START))
    assert engine.graph.calls_of("set_presence") == [
        ("set_presence", TENANT, USER, APP_ID, "Busy", "InACall", SESSION_DURATION)
    ]
    # AND the call ends before the notification of that setPresence arrives
    engine.clock.advance(minutes=3)
    engine.event(agent_event(AgentState.AVAILABLE, 3, engine.clock()))
    assert engine.graph.calls_of("clear_presence") == [("clear_presence", TENANT, USER, APP_ID)]
    # WHEN Teams' notification of the connector's Busy / InACall arrives (a mapped state, on an agent
    # who is available)
    engine.clock.advance(seconds=5)
    engine.teams(teams_change("Busy", "InACall", "0002", START + timedelta(seconds=1)))
    # THEN it is recorded as the connector's own presence and not sent to the contact center
    assert engine.contact_centers.commands == []
    state = engine.states.state_of()
    assert state.teams is not None
    assert state.teams.pair == ("Busy", "InACall")
    assert state.teams.from_connector is True


def test_the_same_teams_state_set_by_the_user_is_sent(engine: Engine) -> None:
    # GIVEN an available agent and no presence session of the connector
    available_agent(engine)
    # WHEN the user himself is in a Teams call (the presence the echo test above showed)
    engine.teams(teams_change("Busy", "InACall", "0002", START))
    # THEN the agent goes to the call idle code: only the connector's own presence is held back
    assert engine.contact_centers.commands == [("set_idle", TENANT, AGENT, CALL_IDLE_CODE_ID)]


# -- ordering ---------------------------------------------------------------------------------------------


def test_a_duplicate_teams_change_does_nothing(engine: Engine) -> None:
    available_agent(engine)
    change = teams_change("DoNotDisturb", "DoNotDisturb", "0002", START)
    engine.teams(change)
    operations = len(engine.states.operations)
    # WHEN the same change is delivered again
    engine.clock.advance(seconds=1)
    engine.teams(change, delivery_count=2)
    # THEN no second command and no write: one read only
    assert engine.contact_centers.commands == [("set_idle", TENANT, AGENT, DND_IDLE_CODE_ID)]
    assert engine.states.operations[operations:] == [("load", TENANT, USER)]


def test_an_out_of_order_teams_change_does_nothing(engine: Engine) -> None:
    # GIVEN the connector saw Teams change number 0005 (Do not disturb, idle code asked)
    available_agent(engine)
    engine.teams(teams_change("DoNotDisturb", "DoNotDisturb", "0005", START))
    before = engine.states.entity_of()
    # WHEN an older change (0004, a presence that maps elsewhere) arrives late
    engine.clock.advance(minutes=5)
    engine.teams(teams_change("Busy", "InACall", "0004", START - timedelta(seconds=1)))
    # THEN it is discarded: no command, the row is untouched
    assert engine.contact_centers.commands == [("set_idle", TENANT, AGENT, DND_IDLE_CODE_ID)]
    assert engine.states.count("save") == 1
    assert engine.states.entity_of() == before


def test_a_teams_change_without_sequence_number_is_ordered_by_time(engine: Engine) -> None:
    available_agent(engine)
    engine.teams(teams_change("DoNotDisturb", "DoNotDisturb", None, START))
    # WHEN an older change without a sequence number arrives, then the same change again
    engine.clock.advance(minutes=5)
    engine.teams(teams_change("Busy", "InACall", None, START - timedelta(seconds=1)))
    engine.teams(teams_change("DoNotDisturb", "DoNotDisturb", None, START))
    # THEN both are discarded
    assert engine.contact_centers.commands == [("set_idle", TENANT, AGENT, DND_IDLE_CODE_ID)]
    assert engine.states.count("save") == 1


def test_duplicate_and_out_of_order_agent_events_do_nothing(engine: Engine) -> None:
    # GIVEN the agent took a call (event 5): the connector shows it in Teams
    available_agent(engine)
    engine.event(agent_event(AgentState.ON_CALL, 5, START))
    saved = engine.states.entity_of()
    # WHEN the same event comes again, then an older one (available, event 4)
    engine.clock.advance(seconds=10)
    engine.event(agent_event(AgentState.ON_CALL, 5, START), delivery_count=2)
    engine.event(agent_event(AgentState.AVAILABLE, 4, START - timedelta(seconds=3)))
    # THEN Teams is not touched again and nothing is written
    assert [call[0] for call in engine.graph.calls] == ["set_presence"]
    assert engine.states.count("save") == 1
    assert engine.states.entity_of() == saved


# -- transient failures -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("answer", "retry_after", "delivery_count", "waited"),
    [
        ("429", 30.0, 1, 10.0),
        ("429", 2.5, 1, 2.5),
        ("503", 4.0, 1, 4.0),
        ("503", None, 1, 1.0),
        ("503", None, 3, 4.0),
        ("503", None, 9, 8.0),
    ],
)
def test_a_throttled_or_unavailable_contact_center_is_retried_later_with_no_state_written(
    engine: Engine, answer: str, retry_after: float | None, delivery_count: int, waited: float
) -> None:
    available_agent(engine)
    before = engine.states.entity_of()
    if answer == "429":
        engine.contact_centers.throttle(retry_after)
    else:
        engine.contact_centers.unavailable(retry_after)
    # WHEN a mapped Teams change meets a contact center that says "later"
    change = teams_change("DoNotDisturb", "DoNotDisturb", "0002", START)
    with pytest.raises(TransientSyncFailure):
        engine.teams(change, delivery_count=delivery_count)
    # THEN the message waited Retry-After (bounded at 10 s) or its back-off, and nothing was written
    assert engine.sleep.waits == [waited]
    assert engine.states.count("save") == 0
    assert engine.states.entity_of() == before
    # AND its next delivery applies it: nothing is lost
    engine.clock.advance(seconds=waited)
    engine.teams(change, delivery_count=delivery_count + 1)
    assert engine.contact_centers.commands == [("set_idle", TENANT, AGENT, DND_IDLE_CODE_ID)] * 2
    assert engine.states.state_of().idle_code_id == DND_IDLE_CODE_ID


def test_a_throttled_graph_is_retried_later_with_no_state_written(engine: Engine) -> None:
    available_agent(engine)
    engine.graph.failures.append(GraphThrottled("429", retry_after=3.0, status=429))
    # WHEN the agent takes a call and Graph throttles the setPresence
    with pytest.raises(TransientSyncFailure):
        engine.event(agent_event(AgentState.ON_CALL, 2, START))
    # THEN it waited Retry-After and wrote nothing
    assert engine.sleep.waits == [3.0]
    assert engine.states.count("save") == 0
    assert engine.states.state_of().contact_center == seen_in_contact_center(AgentState.AVAILABLE, BEFORE)


# -- permanent refusals -----------------------------------------------------------------------------------


def test_a_rejected_command_is_folded_into_the_state_and_the_message_completes(engine: Engine) -> None:
    available_agent(engine)
    engine.contact_centers.reject()
    # WHEN the contact center refuses the idle code for good (404)
    engine.teams(teams_change("DoNotDisturb", "DoNotDisturb", "0002", START))
    # THEN the message completes: the presence is recorded, no command is awaited, no idle code claimed
    assert engine.sleep.waits == []
    state = engine.states.state_of()
    assert state.teams is not None
    assert state.teams.pair == ("DoNotDisturb", "DoNotDisturb")
    assert state.pending == ()
    assert state.idle_code_id is None
    # AND the next mapped change is not held back waiting for an event that will never come
    engine.clock.advance(seconds=5)
    engine.teams(teams_change("Busy", "InACall", "0003", engine.clock()))
    assert engine.contact_centers.commands[-1] == ("set_idle", TENANT, AGENT, CALL_IDLE_CODE_ID)


def test_a_presence_graph_refuses_for_good_is_not_held_as_the_connectors_session(engine: Engine) -> None:
    available_agent(engine)
    engine.graph.failures.append(GraphBadRequest("presence not allowed", status=400))
    # WHEN the agent takes a call and Graph refuses the setPresence
    engine.event(agent_event(AgentState.ON_CALL, 2, START))
    # THEN the event is recorded and no session is held
    state = engine.states.state_of()
    assert state.contact_center is not None
    assert state.contact_center.state is AgentState.ON_CALL
    assert state.session is None


# -- concurrency ----------------------------------------------------------------------------------------


def test_a_conflicting_write_on_save_decides_again_on_the_fresh_state(engine: Engine) -> None:
    available_agent(engine)

    # GIVEN something outside the message's session records a customer call just before our save
    def call_recorded_elsewhere() -> None:
        current = engine.states.state_of()
        event = agent_event(AgentState.ON_CALL, 2, START)
        engine.states.write_foreign(
            TENANT, USER, on_agent_event(current, event, DEFAULT_MAPPINGS, START).state
        )

    engine.states.before_save.append(call_recorded_elsewhere)
    # WHEN a mapped Teams change is applied
    engine.teams(teams_change("DoNotDisturb", "DoNotDisturb", "0002", START))
    # THEN the 412 made it read and decide again: on a call, no second idle command
    assert [op[0] for op in engine.states.operations] == ["load", "save", "load", "save"]
    assert engine.contact_centers.commands == [("set_idle", TENANT, AGENT, DND_IDLE_CODE_ID)]
    # AND the saved row holds both facts
    state = engine.states.state_of()
    assert state.teams is not None
    assert state.teams.pair == ("DoNotDisturb", "DoNotDisturb")
    assert state.contact_center is not None
    assert state.contact_center.state is AgentState.ON_CALL


def test_a_state_that_keeps_changing_is_retried_later(engine: Engine) -> None:
    available_agent(engine)
    for _ in range(3):
        engine.states.before_save.append(
            lambda: engine.states.write_foreign(TENANT, USER, engine.states.state_of())
        )
    # WHEN every save of the message conflicts
    with pytest.raises(TransientSyncFailure):
        engine.teams(teams_change("Away", "Away", "0002", START))
    # THEN it gave up after three decisions, for Service Bus to deliver it again
    assert engine.states.count("save") == 3


def test_an_agent_removed_meanwhile_completes_the_message(engine: Engine) -> None:
    available_agent(engine)
    engine.states.before_save.append(engine.states.remove)
    # WHEN the agent is removed from the roster while his change is applied
    engine.teams(teams_change("DoNotDisturb", "DoNotDisturb", "0002", START))
    # THEN the message completes (no exception, no retry) and no row comes back
    assert engine.states.rows == {}
    assert engine.states.count("save") == 1


def test_a_user_who_is_no_agent_is_ignored(engine: Engine) -> None:
    # GIVEN no user row for the user
    # WHEN his Teams presence and an event naming him arrive
    engine.teams(teams_change("DoNotDisturb", "DoNotDisturb", "0002", START))
    engine.event(agent_event(AgentState.ON_CALL, 2, START))
    # THEN nothing is sent, nothing is written
    assert engine.contact_centers.calls == []
    assert engine.graph.calls == []
    assert engine.states.count("save") == 0


def test_an_event_of_an_agent_who_no_longer_has_the_user_is_not_applied_to_another(engine: Engine) -> None:
    # GIVEN the event's user now backs agent-9 (agent-7 was given another user after the event was queued)
    engine.states.add_agent(
        agent_id="agent-9",
        state=AgentSyncState(contact_center=seen_in_contact_center(AgentState.AVAILABLE, BEFORE)),
    )
    before = engine.states.entity_of()
    # WHEN agent-7's call event, queued with that user, arrives
    engine.event(agent_event(AgentState.ON_CALL, 2, START))
    # THEN agent-9's user does not show a call that is not his, and his row is untouched
    assert engine.graph.calls == []
    assert engine.states.count("save") == 0
    assert engine.states.entity_of() == before


# -- connector switched off ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "switched_off",
    [
        connector(status=ConnectorStatus.INACTIVE),
        connector(status=ConnectorStatus.PENDING_CONSENT),
        connector(presence_sync=False),
        connector(contact_center=None),
    ],
    ids=["inactive", "pending-consent", "presence-sync-off", "no-contact-center"],
)
def test_without_sync_no_command_is_sent_but_the_teams_presence_is_recorded(
    switched_off: Connector,
) -> None:
    engine = build_engine(switched_off)
    available_agent(engine)
    change = teams_change("DoNotDisturb", "DoNotDisturb", "0002", START)
    # WHEN a mapped Teams change and an agent event arrive
    engine.teams(change)
    engine.event(agent_event(AgentState.ON_CALL, 2, START))
    # THEN nothing is sent and the sync state is not touched
    assert engine.contact_centers.calls == []
    assert engine.graph.calls == []
    assert engine.states.operations == []
    # AND the Teams presence still reaches the agents list through the recorder
    assert engine.recorder.recorded == [(TENANT, change)]


def test_a_tenant_without_connector_records_the_presence_only() -> None:
    engine = build_engine(connector())
    engine.connectors.rows.clear()
    available_agent(engine)
    engine.teams(teams_change("DoNotDisturb", "DoNotDisturb", "0002", START))
    assert engine.contact_centers.calls == []
    assert len(engine.recorder.recorded) == 1


# -- contact center -> Teams --------------------------------------------------------------------------


def test_an_agent_login_resubscribes_his_presence_at_once(engine: Engine) -> None:
    # GIVEN an agent the contact center never reported
    engine.states.add_agent()
    # WHEN he logs in (his first event, available)
    engine.event(agent_event(AgentState.AVAILABLE, 1, START))
    # THEN the subscriptions are brought up to date now, not at the next timer run
    assert engine.subscriptions.roster_changes == [TENANT]
    # AND a later state change of the logged-in agent does not do it again
    engine.event(agent_event(AgentState.ON_CALL, 2, START + timedelta(minutes=1)))
    assert engine.subscriptions.roster_changes == [TENANT]
    # AND after a logout, the next login does
    engine.event(agent_event(AgentState.LOGGED_OUT, 3, START + timedelta(minutes=2)))
    engine.event(agent_event(AgentState.AVAILABLE, 4, START + timedelta(minutes=3)))
    assert engine.subscriptions.roster_changes == [TENANT, TENANT]


def test_a_customer_call_shows_in_teams_and_its_end_clears_it(engine: Engine) -> None:
    available_agent(engine)
    engine.event(agent_event(AgentState.ON_CALL, 2, START))
    engine.clock.advance(minutes=4)
    engine.event(agent_event(AgentState.AVAILABLE, 3, engine.clock()))
    assert [call[0] for call in engine.graph.calls] == ["set_presence", "clear_presence"]
    assert engine.states.state_of().session is None
    assert engine.contact_centers.commands == []


# -- cost ------------------------------------------------------------------------------------------------


def test_a_teams_change_costs_two_table_operations_and_no_graph_read(engine: Engine) -> None:
    available_agent(engine)
    # GIVEN the tenant's connector and mappings are cached by an earlier message
    engine.teams(teams_change("Away", "Away", "0002", START))
    connector_reads, mapping_reads = engine.connectors.reads, engine.mapping_rows.reads
    operations = len(engine.states.operations)
    presences = [
        ("DoNotDisturb", "DoNotDisturb"),
        ("Available", "Available"),
        ("Busy", "InACall"),
        ("Away", "Away"),
    ]
    # WHEN four Teams changes follow within the cache's lifetime
    for index, (availability, activity) in enumerate(presences, start=3):
        engine.clock.advance(seconds=1)
        engine.teams(teams_change(availability, activity, f"{index:04d}", engine.clock()))
    # THEN each cost one read and one write of the agent's row, and nothing else
    assert [op[0] for op in engine.states.operations[operations:]] == ["load", "save"] * len(presences)
    assert (engine.connectors.reads, engine.mapping_rows.reads) == (connector_reads, mapping_reads)
    assert engine.graph.reads == 0


# -- what operations is told ------------------------------------------------------------------------------


def test_an_applied_change_reports_its_outcome_and_its_delay(engine: Engine) -> None:
    available_agent(engine)
    engine.teams(teams_change("DoNotDisturb", "DoNotDisturb", "0002", START - timedelta(seconds=1)))
    assert [r[1:] for r in engine.reporter.of("change")] == [(TENANT, ChangeOutcome.APPLIED, "applied")]
    [(_, tenant, direction, seconds)] = engine.reporter.of("sync_delay")
    assert (tenant, direction) == (TENANT, Direction.TEAMS_TO_CONTACT_CENTER)
    assert isinstance(seconds, float)
    assert seconds >= 1.0
    # AND the agent's record keeps the command and the delay (the same save, no extra table operation)
    state = engine.states.state_of()
    assert state.last_command is not None
    assert (state.last_command.kind, state.last_command.detail) == ("setIdle", DND_IDLE_CODE_ID)
    assert state.delay_to_contact_center is not None


def test_an_older_change_is_reported_superseded_and_a_stranger_dropped(engine: Engine) -> None:
    available_agent(engine)
    engine.teams(teams_change("DoNotDisturb", "DoNotDisturb", "0003", START))
    engine.teams(teams_change("Busy", "InACall", "0002", START))
    outcomes = [r[2:] for r in engine.reporter.of("change")]
    assert outcomes == [(ChangeOutcome.APPLIED, "applied"), (ChangeOutcome.SUPERSEDED, "stale")]
    stranger = replace(
        teams_change("Busy", "InACall", "0004", START), user_id="00000000-0000-4000-8000-00000000dead"
    )
    engine.teams(stranger)
    assert engine.reporter.of("change")[-1][2:] == (ChangeOutcome.DROPPED, "notAnAgent")
