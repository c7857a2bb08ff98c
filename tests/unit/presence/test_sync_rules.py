"""The presence-sync decisions, rule by rule, and the agent's sync state in its table form."""

from __future__ import annotations

import itertools
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from shared.contact_center.messages import AgentStateChange
from shared.contact_center.model import AgentState, AgentStatus
from shared.graph.model import Presence
from shared.mappings.defaults import DEFAULT_MAPPINGS
from shared.mappings.model import (
    ANY_ACTIVITY,
    ContactCenterToTeamsRule,
    MappingRules,
    PresenceMappings,
    TeamsToContactCenterRule,
)
from shared.presence.messages import PresenceChange
from shared.presence.sync_rules import (
    ECHO_GRACE,
    ECHO_WINDOW,
    NOTIFICATION_LATENCY,
    RENEW_BEFORE,
    SESSION_DURATION,
    ClearPresence,
    Outcome,
    SetAvailable,
    SetIdle,
    SetPresence,
    SyncDecision,
    contact_center_command_rejected,
    on_agent_event,
    on_teams_presence,
    reconcile,
    sessions_to_renew,
    teams_command_failed,
)
from shared.presence.sync_state import (
    SYNC_STATE_PROPERTIES,
    AgentSyncState,
    ContactCenterView,
    EchoPresence,
    PendingCommand,
    PendingKind,
    PresenceSession,
    TeamsView,
)

TENANT = "72f988bf-86f1-41af-91ab-2d7cd011db47"
USER = "0d3e5c1a-7a8b-4c2d-9e0f-123456789abc"
T0 = datetime(2026, 11, 21, 9, 0, tzinfo=UTC)
AVAILABLE = ("Available", "Available")
DND = ("DoNotDisturb", "DoNotDisturb")
PRESENTING = ("DoNotDisturb", "Presenting")
IN_A_CALL = ("Busy", "InACall")
IN_A_MEETING = ("Busy", "InAMeeting")
AWAY = ("Away", "Away")

# The connector's own presence is mapped back both ways: only loop prevention keeps it quiet.
LOOPY = PresenceMappings(
    MappingRules(
        teams_to_contact_center=(
            TeamsToContactCenterRule("DoNotDisturb", ANY_ACTIVITY, "teams-dnd", "Teams: Do not disturb"),
            TeamsToContactCenterRule("Away", "Away", "teams-away", "Teams: Away"),
            TeamsToContactCenterRule("Busy", "InACall", "teams-call", "Teams: In a call"),
        ),
        contact_center_to_teams=(
            ContactCenterToTeamsRule(AgentState.IDLE, "Away", "Away"),
            ContactCenterToTeamsRule(AgentState.ON_CALL, "Busy", "InACall"),
        ),
    )
)


class Agent:
    """One agent's sync state stepped through events, saved after every decision as the worker does."""

    def __init__(self, mappings: PresenceMappings = DEFAULT_MAPPINGS) -> None:
        self.mappings = mappings
        self.state = AgentSyncState()
        self.now = T0
        self._teams_sequence = itertools.count(1)
        self._cc_sequence = itertools.count(1)
        self._event_ids = itertools.count(1)

    def later(self, seconds: float = 1) -> None:
        self.now += timedelta(seconds=seconds)

    def _keep(self, decision: SyncDecision) -> SyncDecision:
        if decision.outcome is Outcome.APPLIED:
            # Through the table form, as between two messages in production.
            self.state = AgentSyncState.from_entity(decision.state.to_entity())
            assert self.state == decision.state
        return decision

    def teams(self, pair: tuple[str, str], *, sequence_number: str | None = "next") -> SyncDecision:
        self.later()
        number = f"{next(self._teams_sequence):08d}" if sequence_number == "next" else sequence_number
        change = PresenceChange(TENANT, USER, pair[0], pair[1], number, self.now, "subscription-1")
        return self._keep(on_teams_presence(self.state, change, self.mappings, self.now))

    def event(
        self,
        state: AgentState,
        idle_code_id: str | None = None,
        *,
        occurred_ago: float = 0,
        sequence_number: int | str | None = "next",
    ) -> AgentStateChange:
        self.later()
        number = next(self._cc_sequence) if sequence_number == "next" else sequence_number
        assert number is None or isinstance(number, int)
        return AgentStateChange(
            tenant_id=TENANT,
            user_id=USER,
            agent_id="agent-7",
            state=state,
            idle_code_id=idle_code_id,
            idle_code_name=None if idle_code_id is None else f"name of {idle_code_id}",
            occurred_at=self.now - timedelta(seconds=occurred_ago),
            event_id=f"event-{next(self._event_ids)}",
            sequence_number=number,
        )

    def agent(self, state: AgentState, idle_code_id: str | None = None, **kwargs: Any) -> SyncDecision:
        return self.deliver(self.event(state, idle_code_id, **kwargs))

    def deliver(self, event: AgentStateChange) -> SyncDecision:
        return self._keep(on_agent_event(self.state, event, self.mappings, self.now))

    def reconcile(
        self,
        pair: tuple[str, str] | None,
        state: AgentState | None,
        idle_code_id: str | None = None,
        *,
        changed_ago: float | None = 60,
        sequence_number: str | None = None,
    ) -> SyncDecision:
        self.later()
        presence = None if pair is None else Presence(USER, pair[0], pair[1], sequence_number)
        status = None
        if state is not None:
            changed_at = None if changed_ago is None else self.now - timedelta(seconds=changed_ago)
            status = AgentStatus(state, idle_code_id, None, changed_at)
        return self._keep(reconcile(self.state, presence, status, self.mappings, self.now))

    def in_connector_idle(self, code: str) -> None:
        """Teams DnD-like state applied: the agent sits in the connector's idle code `code`."""
        assert self.state.in_connector_idle
        assert self.state.idle_code_id == code
        assert self.state.pending == ()


def from_connector(agent: Agent) -> bool:
    return agent.state.teams is not None and agent.state.teams.from_connector


def manual_override(agent: Agent) -> bool:
    return agent.state.manual_override


def session_of(agent: Agent) -> PresenceSession | None:
    return agent.state.session


def available_agent(mappings: PresenceMappings = DEFAULT_MAPPINGS) -> Agent:
    agent = Agent(mappings)
    agent.teams(AVAILABLE)
    agent.agent(AgentState.AVAILABLE)
    return agent


def idled_by_teams(pair: tuple[str, str] = DND, code: str = "teams-dnd") -> Agent:
    agent = available_agent()
    decision = agent.teams(pair)
    assert isinstance(decision.contact_center, SetIdle)
    agent.agent(AgentState.IDLE, code)
    agent.in_connector_idle(code)
    return agent


# -- Teams -> contact center ---------------------------------------------------------------------------


def test_a_mapped_teams_state_puts_an_available_agent_in_its_idle_code() -> None:
    # GIVEN an available agent
    agent = available_agent()
    # WHEN Teams shows Do not disturb
    decision = agent.teams(DND)
    # THEN the agent goes to the mapped idle code, as the connector's, waiting for the echo
    assert decision.contact_center == SetIdle(
        "teams-dnd", "Teams: Do not disturb", AgentState.AVAILABLE, None
    )
    assert decision.teams is None
    assert agent.state.idle_code_id == "teams-dnd"
    assert agent.state.latest_pending == PendingCommand(PendingKind.SET_IDLE, "teams-dnd", agent.now)
    # AND the agent event it causes is recorded as the connector's and not mirrored back
    echo = agent.agent(AgentState.IDLE, "teams-dnd")
    assert (echo.contact_center, echo.teams) == (None, None)
    assert "as the connector asked" in echo.reason
    agent.in_connector_idle("teams-dnd")


def test_an_exact_rule_beats_the_wildcard() -> None:
    agent = available_agent()
    decision = agent.teams(PRESENTING)
    assert isinstance(decision.contact_center, SetIdle)
    assert decision.contact_center.idle_code_id == "teams-presenting"


@pytest.mark.parametrize(
    "busy", [AgentState.RINGING, AgentState.ON_CALL, AgentState.WRAP_UP, AgentState.LOGGED_OUT]
)
def test_no_idle_code_while_ringing_on_a_call_in_wrap_up_or_logged_out(busy: AgentState) -> None:
    # GIVEN an agent who is not available
    agent = available_agent()
    agent.agent(busy)
    # WHEN Teams shows a mapped state THEN nothing is sent to the contact center
    decision = agent.teams(IN_A_CALL)
    assert decision.contact_center is None
    assert agent.state.idle_code_id is None


def test_no_idle_code_over_an_idle_code_the_agent_picked() -> None:
    agent = available_agent()
    agent.agent(AgentState.IDLE, "lunch")
    decision = agent.teams(DND)
    assert decision.contact_center is None
    # AND when Teams is back to Available, his own idle code is not touched either
    assert agent.teams(AVAILABLE).contact_center is None


def test_a_teams_state_that_began_during_a_customer_call_applies_when_the_agent_is_free() -> None:
    # GIVEN a Teams presentation that started while the agent was on a customer call
    agent = available_agent()
    agent.agent(AgentState.RINGING)
    agent.agent(AgentState.ON_CALL)
    assert agent.teams(PRESENTING).contact_center is None
    assert agent.agent(AgentState.WRAP_UP).contact_center is None
    # WHEN the contact center makes him available again
    decision = agent.agent(AgentState.AVAILABLE)
    # THEN he goes to the Teams idle code at once
    assert decision.contact_center == SetIdle(
        "teams-presenting", "Teams: Presenting", AgentState.AVAILABLE, None
    )


def test_a_teams_call_hidden_behind_the_connectors_own_in_a_call_is_found_by_the_next_read() -> None:
    # GIVEN a customer call shown as Busy / In a call, and its echo
    agent = available_agent()
    agent.agent(AgentState.ON_CALL)
    agent.teams(IN_A_CALL)
    # WHEN the user joins a Teams call meanwhile, Teams keeps showing Busy / In a call: no notification
    # comes, and after the customer call it still shows the same, so nothing tells the calls apart
    agent.agent(AgentState.WRAP_UP)
    assert agent.agent(AgentState.AVAILABLE).contact_center is None
    # THEN the reconcile timer's read, once the connector's session is gone, finds the Teams call
    agent.later(ECHO_GRACE.total_seconds())
    decision = agent.reconcile(IN_A_CALL, AgentState.AVAILABLE, changed_ago=30)
    assert decision.contact_center == SetIdle("teams-call", "Teams: In a call", AgentState.AVAILABLE, None)


def test_back_to_an_unmapped_teams_state_restores_only_the_connectors_idle() -> None:
    # GIVEN an agent the connector put in "Teams: Do not disturb"
    agent = idled_by_teams()
    # WHEN Teams is back to Available
    decision = agent.teams(AVAILABLE)
    # THEN he is made available out of that idle code
    assert decision.contact_center == SetAvailable(expected_idle_code_id="teams-dnd")
    # AND the resulting event is recognised, the connector no longer owns an idle code
    echo = agent.agent(AgentState.AVAILABLE)
    assert (echo.contact_center, echo.teams) == (None, None)
    assert agent.state.idle_code_id is None
    assert agent.state.pending == ()


def test_the_same_state_reported_again_keeps_the_connectors_idle_code() -> None:
    # GIVEN an agent in the connector's idle code
    agent = idled_by_teams()
    # WHEN the contact center reports that state again (a re-sent or periodic event)
    decision = agent.agent(AgentState.IDLE, "teams-dnd")
    # THEN it is still the connector's: no dismissal, and Teams back to Available restores him
    assert decision.contact_center is None
    agent.in_connector_idle("teams-dnd")
    assert agent.state.dismissed_idle_code_id is None
    assert agent.teams(AVAILABLE).contact_center == SetAvailable("teams-dnd")


def test_a_change_between_mapped_teams_states_moves_the_connectors_idle_code() -> None:
    agent = idled_by_teams()
    decision = agent.teams(PRESENTING)
    assert decision.contact_center == SetIdle(
        "teams-presenting", "Teams: Presenting", AgentState.IDLE, expected_idle_code_id="teams-dnd"
    )
    agent.agent(AgentState.IDLE, "teams-presenting")
    agent.in_connector_idle("teams-presenting")


def test_the_next_command_waits_for_the_echo_of_the_previous_one() -> None:
    # GIVEN an idle command whose agent event has not arrived
    agent = available_agent()
    agent.teams(DND)
    # WHEN Teams changes again THEN nothing is sent on a state the connector is changing itself
    waiting = agent.teams(PRESENTING)
    assert waiting.contact_center is None
    assert "waiting for the contact center" in waiting.reason
    # WHEN the echo arrives THEN the waiting change goes out
    decision = agent.agent(AgentState.IDLE, "teams-dnd")
    assert decision.contact_center == SetIdle(
        "teams-presenting", "Teams: Presenting", AgentState.IDLE, "teams-dnd"
    )


def test_an_echo_that_comes_very_late_is_still_recognised() -> None:
    agent = available_agent()
    agent.teams(DND)
    agent.later(ECHO_WINDOW.total_seconds() - 5)
    echo = agent.agent(AgentState.IDLE, "teams-dnd", occurred_ago=ECHO_WINDOW.total_seconds() - 4)
    assert "as the connector asked" in echo.reason
    agent.in_connector_idle("teams-dnd")


def test_a_command_never_confirmed_is_forgotten_after_the_echo_window() -> None:
    # GIVEN an idle command whose event never comes
    agent = available_agent()
    agent.teams(DND)
    agent.later(ECHO_WINDOW.total_seconds())
    # WHEN anything happens after the window THEN it is no longer awaited and may be sent again
    decision = agent.teams(PRESENTING)
    assert "no longer awaited" in decision.reason
    assert isinstance(decision.contact_center, SetIdle)


def test_an_agent_leaving_the_connectors_idle_is_not_put_back() -> None:
    # GIVEN an agent in "Teams: Do not disturb" who makes himself available
    agent = idled_by_teams()
    decision = agent.agent(AgentState.AVAILABLE)
    # THEN his choice stands: nothing is imposed while Teams still shows that state
    assert decision.contact_center is None
    assert agent.state.dismissed_idle_code_id == "teams-dnd"
    assert agent.teams(PRESENTING).contact_center is None
    assert agent.teams(DND).contact_center is None
    # AND a notification that may describe an older change does not end his "no"
    agent.later(5)
    assert agent.teams(AVAILABLE).contact_center is None
    assert agent.teams(DND).contact_center is None
    assert agent.state.dismissed_idle_code_id == "teams-dnd"


def test_teams_certainly_unmapped_after_a_dismissal_ends_it() -> None:
    # GIVEN an agent who dismissed the connector's idle code
    agent = idled_by_teams()
    agent.agent(AgentState.AVAILABLE)
    # WHEN, more than Graph's latency later, Teams is seen Available, then DoNotDisturb again
    agent.later(NOTIFICATION_LATENCY.total_seconds())
    agent.teams(AVAILABLE)
    assert agent.state.dismissed_idle_code_id is None
    # THEN the new Do not disturb is applied
    assert isinstance(agent.teams(DND).contact_center, SetIdle)


def test_a_read_after_a_dismissal_can_end_it_at_once() -> None:
    agent = idled_by_teams()
    agent.agent(AgentState.AVAILABLE)
    decision = agent.reconcile(AVAILABLE, AgentState.AVAILABLE, changed_ago=0.5)
    assert agent.state.dismissed_idle_code_id is None
    assert decision.contact_center is None
    assert isinstance(agent.teams(DND).contact_center, SetIdle)


def test_a_read_that_reveals_a_dismissal_and_shows_teams_unmapped_ends_it() -> None:
    # GIVEN the connector's idle code, then the agent's own "available" (its event still on the way), and
    # the Teams Available that came before it arriving only now: the restore it sends is refused
    agent = idled_by_teams()
    restore = agent.teams(AVAILABLE)
    assert restore.contact_center == SetAvailable("teams-dnd")
    agent.state = contact_center_command_rejected(restore.state, restore.contact_center, agent.now)
    # WHEN the reconcile read shows him available since just now and Teams still Available
    decision = agent.reconcile(AVAILABLE, AgentState.AVAILABLE, changed_ago=0.5)
    # THEN Teams certainly stopped asking for the idle code after his "no": the dismissal is over
    assert decision.contact_center is None
    assert agent.state.dismissed_idle_code_id is None
    # AND a new Do not disturb is applied (a call would otherwise ring him busy in Teams)
    assert isinstance(agent.teams(DND).contact_center, SetIdle)


def test_logging_out_ends_a_dismissal() -> None:
    # GIVEN a dismissal
    agent = idled_by_teams()
    agent.agent(AgentState.IDLE, "lunch")
    assert agent.state.dismissed_idle_code_id == "teams-dnd"
    # WHEN the agent logs out and back in, Teams still Do not disturb
    agent.agent(AgentState.LOGGED_OUT)
    decision = agent.agent(AgentState.AVAILABLE)
    # THEN the new shift starts in the Teams idle code
    assert decision.resubscribe
    assert isinstance(decision.contact_center, SetIdle)


def test_an_agent_who_moves_before_the_echo_arrives_dismissed_the_idle_code() -> None:
    # GIVEN an idle command sent, then the agent's own "available" that overtook its echo
    agent = available_agent()
    agent.teams(DND)
    sent_at = agent.now
    echo = agent.event(AgentState.IDLE, "teams-dnd")
    decision = agent.agent(AgentState.AVAILABLE)
    # THEN nothing waits for the echo any more, and his choice is respected
    assert agent.state.pending == ()
    assert agent.state.dismissed_idle_code_id == "teams-dnd"
    assert agent.state.dismissed_at is not None
    assert agent.state.dismissed_at > sent_at
    assert decision.contact_center is None
    # AND the late echo is discarded as older
    assert agent.deliver(echo).outcome is Outcome.STALE


def test_an_event_older_than_the_command_does_not_settle_it() -> None:
    # GIVEN an idle command, then an agent event that happened before it was sent
    agent = available_agent()
    agent.teams(DND)
    agent.agent(AgentState.IDLE, "lunch", occurred_ago=5)
    # THEN the command is still awaited, and its echo is recognised when it comes
    assert agent.state.latest_pending is not None
    agent.agent(AgentState.IDLE, "teams-dnd")
    agent.in_connector_idle("teams-dnd")


def test_a_rejected_idle_command_is_no_longer_awaited() -> None:
    agent = available_agent()
    decision = agent.teams(DND)
    assert isinstance(decision.contact_center, SetIdle)
    state = contact_center_command_rejected(decision.state, decision.contact_center, agent.now)
    assert state.pending == ()
    assert state.idle_code_id is None


def test_a_rejected_switch_keeps_the_idle_code_the_agent_is_in() -> None:
    agent = idled_by_teams()
    decision = agent.teams(PRESENTING)
    assert isinstance(decision.contact_center, SetIdle)
    state = contact_center_command_rejected(decision.state, decision.contact_center, agent.now)
    assert state.pending == ()
    assert state.idle_code_id == "teams-dnd"
    assert state.in_connector_idle


def test_a_rejected_restore_is_no_longer_awaited() -> None:
    agent = idled_by_teams()
    decision = agent.teams(AVAILABLE)
    assert isinstance(decision.contact_center, SetAvailable)
    state = contact_center_command_rejected(decision.state, decision.contact_center, agent.now)
    assert state.pending == ()
    assert state.in_connector_idle


def test_a_rejection_of_a_command_not_awaited_changes_nothing() -> None:
    agent = idled_by_teams()
    assert contact_center_command_rejected(agent.state, SetAvailable("teams-dnd"), agent.now) == agent.state


# -- ordering ------------------------------------------------------------------------------------------


def test_older_and_repeated_teams_changes_are_discarded_unapplied() -> None:
    agent = available_agent()
    agent.teams(DND, sequence_number="00000010")
    before = agent.state
    older = agent.teams(AVAILABLE, sequence_number="00000009")
    again = agent.teams(AVAILABLE, sequence_number="00000010")
    assert (older.outcome, again.outcome) == (Outcome.STALE, Outcome.DUPLICATE)
    assert older.contact_center is None
    assert again.contact_center is None
    assert older.state is before
    assert agent.state is before


def test_without_sequence_numbers_teams_changes_are_ordered_by_arrival() -> None:
    agent = available_agent()
    agent.teams(DND, sequence_number=None)
    observed = agent.state.teams
    assert observed is not None
    change = PresenceChange(TENANT, USER, *AVAILABLE, None, observed.observed_at - timedelta(seconds=1), None)
    assert on_teams_presence(agent.state, change, DEFAULT_MAPPINGS, agent.now).outcome is Outcome.STALE
    same = PresenceChange(TENANT, USER, *DND, None, observed.observed_at, None)
    assert on_teams_presence(agent.state, same, DEFAULT_MAPPINGS, agent.now).outcome is Outcome.DUPLICATE


def test_older_and_repeated_agent_events_are_discarded_unapplied() -> None:
    agent = available_agent()
    newer = agent.event(AgentState.ON_CALL, sequence_number=20)
    agent.deliver(newer)
    assert agent.deliver(newer).outcome is Outcome.DUPLICATE
    assert agent.agent(AgentState.RINGING, sequence_number=19).outcome is Outcome.STALE
    assert agent.agent(AgentState.WRAP_UP, sequence_number=20).outcome is Outcome.DUPLICATE
    assert agent.state.contact_center is not None
    assert agent.state.contact_center.state is AgentState.ON_CALL


def test_without_sequence_numbers_agent_events_are_ordered_by_occurrence() -> None:
    agent = available_agent()
    agent.agent(AgentState.ON_CALL, sequence_number=None)
    assert agent.agent(AgentState.RINGING, sequence_number=None, occurred_ago=5).outcome is Outcome.STALE
    assert agent.agent(AgentState.WRAP_UP, sequence_number=None).outcome is Outcome.APPLIED


# -- contact center -> Teams ---------------------------------------------------------------------------


def test_a_customer_call_shows_in_teams_and_its_end_clears_it() -> None:
    # GIVEN an available agent WHEN a call is offered THEN ringing shows nothing (not mapped by default)
    agent = available_agent()
    assert agent.agent(AgentState.RINGING).teams is None
    # WHEN he answers THEN Teams shows Busy / In a call for an hour
    answered = agent.agent(AgentState.ON_CALL)
    assert answered.teams == SetPresence("Busy", "InACall", SESSION_DURATION)
    assert session_of(agent) == PresenceSession("Busy", "InACall", agent.now, agent.now + SESSION_DURATION)
    # WHEN the state is reported again THEN nothing is set again
    assert agent.agent(AgentState.ON_CALL).teams is None
    # WHEN the call ends (wrapUp is not mapped) THEN the connector's presence is cleared
    assert agent.agent(AgentState.WRAP_UP).teams == ClearPresence()
    assert session_of(agent) is None
    assert agent.agent(AgentState.AVAILABLE).teams is None


@pytest.mark.parametrize("end", [AgentState.AVAILABLE, AgentState.LOGGED_OUT])
def test_available_or_logged_out_clears_the_connectors_presence(end: AgentState) -> None:
    agent = available_agent(LOOPY)
    agent.agent(AgentState.IDLE, "lunch")
    assert agent.state.session is not None
    assert agent.agent(end).teams == ClearPresence()


def test_an_idle_code_the_agent_picked_shows_in_teams_when_mapped() -> None:
    agent = available_agent(LOOPY)
    assert agent.agent(AgentState.IDLE, "lunch").teams == SetPresence("Away", "Away", SESSION_DURATION)


def test_the_connectors_own_idle_code_is_never_mirrored_back() -> None:
    # GIVEN mappings where idle shows in Teams and Away/Away maps to an idle code
    agent = available_agent(LOOPY)
    decision = agent.teams(DND)
    assert isinstance(decision.contact_center, SetIdle)
    # WHEN the connector's own idle command comes back as an agent event
    echo = agent.agent(AgentState.IDLE, "teams-dnd")
    # THEN Teams is left alone
    assert echo.teams is None
    assert agent.state.session is None


def test_the_teams_echo_of_the_connectors_presence_goes_nowhere() -> None:
    # GIVEN the connector showing an agent-picked idle code as Away in Teams (Away maps to an idle code)
    agent = available_agent(LOOPY)
    agent.agent(AgentState.IDLE, "lunch")
    # WHEN Teams reports that very presence
    echo = agent.teams(AWAY)
    # THEN it is recorded as the connector's own and nothing is sent anywhere
    assert (echo.contact_center, echo.teams) == (None, None)
    assert from_connector(agent)
    assert not manual_override(agent)


def test_a_late_echo_of_an_ended_session_goes_nowhere() -> None:
    # GIVEN a session set, then cleared before its echo was delivered
    agent = available_agent(LOOPY)
    agent.agent(AgentState.IDLE, "lunch")
    agent.agent(AgentState.AVAILABLE)
    # WHEN the echo arrives THEN it is not taken for the user's own Away
    echo = agent.teams(AWAY)
    assert echo.contact_center is None
    assert from_connector(agent)
    # AND it is recognised as often as it comes (a session shows again each time the user clears his own)
    agent.teams(AVAILABLE)
    assert agent.teams(AWAY).contact_center is None


def test_an_ended_session_is_forgotten_after_the_echo_window() -> None:
    agent = available_agent(LOOPY)
    agent.agent(AgentState.IDLE, "lunch")
    agent.agent(AgentState.AVAILABLE)
    agent.later(ECHO_WINDOW.total_seconds())
    decision = agent.teams(AWAY)
    assert agent.state.echoes == ()
    assert isinstance(decision.contact_center, SetIdle)


def test_a_teams_state_the_user_sets_over_the_connectors_is_recorded_not_fought() -> None:
    # GIVEN the connector showing a customer call in Teams
    agent = available_agent()
    agent.agent(AgentState.ON_CALL)
    agent.teams(IN_A_CALL)
    # WHEN the user sets Do not disturb himself (it beats every application session)
    decision = agent.teams(DND)
    # THEN it is shown as a manual override and nobody sets anything
    assert manual_override(agent)
    assert agent.state.to_entity()["teamsManualOverride"] is True
    assert (decision.contact_center, decision.teams) == (None, None)
    # AND when his own state goes away and the connector's shows again, the override is over
    agent.teams(IN_A_CALL)
    assert not manual_override(agent)


def test_a_manual_override_ends_with_the_connectors_session() -> None:
    agent = available_agent()
    agent.agent(AgentState.ON_CALL)
    agent.teams(IN_A_MEETING)
    assert manual_override(agent)
    agent.agent(AgentState.WRAP_UP)
    assert not manual_override(agent)


def test_an_available_session_decaying_in_teams_is_still_the_connectors() -> None:
    mappings = PresenceMappings(
        MappingRules(
            teams_to_contact_center=(TeamsToContactCenterRule("Away", "Away", "teams-away"),),
            contact_center_to_teams=(ContactCenterToTeamsRule(AgentState.WRAP_UP, "Available", "Available"),),
        )
    )
    agent = available_agent(mappings)
    agent.agent(AgentState.WRAP_UP)
    decision = agent.teams(AWAY)
    assert decision.contact_center is None
    assert from_connector(agent)


@pytest.mark.parametrize(
    ("previous", "expected"), [(None, True), (AgentState.LOGGED_OUT, True), (AgentState.IDLE, False)]
)
def test_a_login_asks_for_the_agents_subscription(previous: AgentState | None, expected: bool) -> None:
    agent = Agent()
    if previous is not None:
        agent.agent(previous, "lunch" if previous is AgentState.IDLE else None)
    assert agent.agent(AgentState.AVAILABLE).resubscribe is expected
    assert agent.agent(AgentState.ON_CALL).resubscribe is False


# -- session renewal -----------------------------------------------------------------------------------


def test_sessions_are_renewed_only_when_they_expire_soon() -> None:
    # GIVEN a session just set
    agent = available_agent()
    agent.agent(AgentState.ON_CALL)
    assert sessions_to_renew(agent.state, agent.now).outcome is Outcome.UNCHANGED
    # WHEN it expires within RENEW_BEFORE
    session = agent.state.session
    assert session is not None
    soon = session.expires_at - RENEW_BEFORE
    decision = sessions_to_renew(agent.state, soon)
    # THEN it is set again for a full duration, from the same start
    assert decision.teams == SetPresence("Busy", "InACall", SESSION_DURATION)
    assert decision.state.session == PresenceSession(
        "Busy", "InACall", session.set_at, soon + SESSION_DURATION
    )


def test_a_session_that_expired_unnoticed_is_set_anew() -> None:
    agent = available_agent()
    agent.agent(AgentState.ON_CALL)
    session = agent.state.session
    assert session is not None
    late = session.expires_at + timedelta(minutes=3)
    decision = sessions_to_renew(agent.state, late)
    assert decision.teams == SetPresence("Busy", "InACall", SESSION_DURATION)
    assert decision.state.session == PresenceSession("Busy", "InACall", late, late + SESSION_DURATION)


def test_no_session_nothing_to_renew() -> None:
    agent = available_agent()
    decision = sessions_to_renew(agent.state, agent.now)
    assert (decision.outcome, decision.teams) == (Outcome.UNCHANGED, None)


def test_any_event_renews_a_session_that_expires_soon() -> None:
    agent = available_agent()
    agent.agent(AgentState.ON_CALL)
    agent.later((SESSION_DURATION - RENEW_BEFORE).total_seconds())
    assert agent.teams(IN_A_CALL).teams == SetPresence("Busy", "InACall", SESSION_DURATION)


def test_a_session_graph_refused_is_not_held() -> None:
    agent = available_agent()
    decision = agent.agent(AgentState.ON_CALL)
    assert isinstance(decision.teams, SetPresence)
    assert teams_command_failed(decision.state, decision.teams, agent.now).session is None
    assert teams_command_failed(decision.state, ClearPresence(), agent.now) == decision.state


# -- reconcile -----------------------------------------------------------------------------------------


def test_reconcile_without_drift_changes_nothing() -> None:
    agent = idled_by_teams()
    before = agent.state
    decision = agent.reconcile(DND, AgentState.IDLE, "teams-dnd")
    assert decision.outcome is Outcome.UNCHANGED
    assert decision.state is before
    assert (decision.contact_center, decision.teams) == (None, None)


def test_reconcile_applies_a_teams_change_no_notification_reported() -> None:
    agent = available_agent()
    decision = agent.reconcile(PRESENTING, AgentState.AVAILABLE, sequence_number="00000099")
    assert isinstance(decision.contact_center, SetIdle)
    assert decision.contact_center.idle_code_id == "teams-presenting"


def test_reconcile_ignores_a_teams_read_older_than_a_notification() -> None:
    agent = available_agent()
    agent.teams(DND, sequence_number="00000050")
    agent.agent(AgentState.IDLE, "teams-dnd")
    decision = agent.reconcile(AVAILABLE, AgentState.IDLE, "teams-dnd", sequence_number="00000049")
    assert decision.outcome is Outcome.UNCHANGED


def test_reconcile_mirrors_a_contact_center_state_no_event_reported() -> None:
    agent = available_agent()
    decision = agent.reconcile(AVAILABLE, AgentState.ON_CALL, changed_ago=10)
    assert decision.teams == SetPresence("Busy", "InACall", SESSION_DURATION)
    # AND an event older than the state it read is discarded afterwards
    assert agent.agent(AgentState.RINGING, occurred_ago=30).outcome is Outcome.STALE


def test_reconcile_restores_what_an_unreported_teams_change_left_behind() -> None:
    agent = idled_by_teams()
    decision = agent.reconcile(AVAILABLE, AgentState.IDLE, "teams-dnd", changed_ago=300)
    assert decision.contact_center == SetAvailable("teams-dnd")


def test_reconcile_settles_a_command_whose_echo_is_missing() -> None:
    # GIVEN an idle command whose event never came, and a read that shows it landed
    agent = available_agent()
    agent.teams(DND)
    decision = agent.reconcile(DND, AgentState.IDLE, "teams-dnd", changed_ago=0.5)
    # THEN the agent is in the connector's idle code and nothing is awaited
    assert decision.contact_center is None
    agent.in_connector_idle("teams-dnd")


def test_reconcile_retries_a_command_that_did_not_land() -> None:
    # GIVEN an idle command, and a read showing the agent available since before it was sent
    agent = available_agent()
    agent.teams(DND)
    decision = agent.reconcile(DND, AgentState.AVAILABLE, changed_ago=3600)
    # THEN it is sent again
    assert isinstance(decision.contact_center, SetIdle)


def test_reconcile_respects_an_agent_who_left_the_idle_code_before_the_read() -> None:
    # GIVEN an idle command, and a read showing the agent available since after it was sent
    agent = available_agent()
    agent.teams(DND)
    decision = agent.reconcile(DND, AgentState.AVAILABLE, changed_ago=0.5)
    # THEN it is his choice: not sent again
    assert decision.contact_center is None
    assert agent.state.dismissed_idle_code_id == "teams-dnd"


def test_reconcile_finds_a_manual_override_no_notification_reported() -> None:
    # GIVEN the user had Do not disturb before the connector's session started (no notification then)
    agent = available_agent()
    agent.teams(DND)
    agent.agent(AgentState.RINGING, occurred_ago=0)
    agent.agent(AgentState.ON_CALL)
    assert not manual_override(agent)
    # WHEN the reconcile timer reads Teams THEN the override is recorded
    decision = agent.reconcile(DND, AgentState.ON_CALL, changed_ago=1)
    assert manual_override(agent)
    assert decision.teams is None


def test_a_read_soon_after_a_clear_may_still_show_the_connectors_presence() -> None:
    agent = available_agent(LOOPY)
    agent.agent(AgentState.IDLE, "lunch")
    agent.agent(AgentState.AVAILABLE)
    soon = agent.reconcile(AWAY, AgentState.AVAILABLE)
    assert soon.contact_center is None
    agent.later(ECHO_GRACE.total_seconds())
    later = agent.reconcile(AWAY, AgentState.AVAILABLE)
    assert isinstance(later.contact_center, SetIdle)


# -- the state in its table form ------------------------------------------------------------------------


def full_state() -> AgentSyncState:
    return AgentSyncState(
        teams=TeamsView(
            availability="DoNotDisturb",
            activity="Presenting",
            sequence_number="000000017",
            observed_at=T0,
            recorded_at=T0 + timedelta(seconds=1),
            confirmed_at=T0 - NOTIFICATION_LATENCY,
            from_connector=True,
            manual_override_since=T0 - timedelta(minutes=2),
        ),
        teams_unmapped_at=T0 - timedelta(minutes=5),
        contact_center=ContactCenterView(
            state=AgentState.IDLE,
            idle_code_id="teams-presenting",
            idle_code_name="Teams: Presenting",
            changed_at=T0 - timedelta(seconds=3),
            sequence_number=1_764_000_000_123,
            event_id="event-9",
            recorded_at=T0,
        ),
        session=PresenceSession("Busy", "InACall", T0, T0 + SESSION_DURATION),
        echoes=(EchoPresence("Away", "Away", T0 - timedelta(minutes=9), T0 - timedelta(minutes=8)),),
        pending=(PendingCommand(PendingKind.SET_AVAILABLE, None, T0),),
        idle_code_id="teams-presenting",
        idle_code_name="Teams: Presenting",
        dismissed_idle_code_id="teams-dnd",
        dismissed_at=T0 - timedelta(minutes=1),
    )


def test_every_part_of_the_state_survives_the_table_form() -> None:
    state = full_state()
    entity = state.to_entity()
    assert AgentSyncState.from_entity(entity) == state
    # AND the names the roster shares and the agent status shows are the documented ones
    assert entity["teamsAvailability"] == "DoNotDisturb"
    assert entity["teamsSequenceNumber"] == "000000017"
    assert entity["teamsObservedAt"] == T0
    assert entity["teamsManualOverride"] is True
    assert entity["ccSequenceNumber"] == "1764000000123"
    assert set(entity) == set(SYNC_STATE_PROPERTIES)
    assert all(name.startswith(("teams", "cc", "sync")) for name in entity)


def test_an_empty_state_clears_everything_it_owns_but_the_roster_fields() -> None:
    # GIVEN nothing known WHEN written THEN every owned property is "" or false (a MERGE clears it) and
    # the five roster-recorded Teams properties are not sent (a MERGE keeps them)
    entity = AgentSyncState().to_entity()
    assert entity["syncSchemaVersion"] == 1
    for roster_owned in ("teamsAvailability", "teamsActivity", "teamsSequenceNumber", "teamsObservedAt"):
        assert roster_owned not in entity
    assert "teamsRecordedAt" not in entity
    assert all(value in ("", False) for name, value in entity.items() if name != "syncSchemaVersion")
    assert AgentSyncState.from_entity(entity) == AgentSyncState()


def test_a_roster_row_reads_as_the_last_teams_presence_seen() -> None:
    # GIVEN a `user|` row as the roster writes it (sequence number "" when Graph had none)
    row = {
        "agentId": "agent-7",
        "teamsAvailability": "Busy",
        "teamsActivity": "InACall",
        "teamsSequenceNumber": "",
        "teamsObservedAt": T0,
        "teamsRecordedAt": T0 + timedelta(seconds=1),
    }
    state = AgentSyncState.from_entity(row)
    assert state.teams == TeamsView("Busy", "InACall", None, T0, T0 + timedelta(seconds=1))
    assert state.contact_center is None


def test_unreadable_parts_read_as_not_known() -> None:
    row: dict[str, Any] = {
        "teamsAvailability": "Busy",
        "teamsActivity": "InACall",
        "teamsObservedAt": "not a time",
        "ccState": "napping",
        "ccChangedAt": "2026-11-21T09:00:00Z",
        "syncSessionAvailability": "Busy",
        "syncPendingCommands": "{broken",
        "syncEchoPresences": '[["Away"], ["Away", "Away", "2026-11-21T09:00:00+00:00", "nope"]]',
    }
    assert AgentSyncState.from_entity(row) == AgentSyncState()


def test_times_written_as_text_and_int64_columns_are_read() -> None:
    row = {
        "ccState": "onCall",
        "ccChangedAt": "2026-11-21T09:00:00Z",
        "ccSequenceNumber": (42, "Edm.Int64"),
        "syncPendingCommands": '[["setIdle", "teams-dnd", "2026-11-21T09:00:00"]]',
    }
    state = AgentSyncState.from_entity(row)
    assert state.contact_center is not None
    assert state.contact_center.changed_at == T0
    assert state.contact_center.sequence_number == 42
    assert state.pending == (PendingCommand(PendingKind.SET_IDLE, "teams-dnd", T0),)


def test_a_late_echo_carrying_the_connectors_marker_is_still_the_connectors_change() -> None:
    # GIVEN Teams Do not disturb made the connector put an available agent in its idle code
    agent = available_agent()
    assert agent.teams(DND).contact_center is not None
    # WHEN the contact center's event comes only after the command stopped waiting (past ECHO_WINDOW),
    # saying the connector made the change (Webex: lastStateChangeReason starts with our marker)
    agent.later(16 * 60)
    event = replace(agent.event(AgentState.IDLE, "teams-dnd"), by_connector=True)
    decision = agent.deliver(event)
    # THEN it is read as the connector's idle code, not as the agent's choice: nothing is dismissed,
    # nothing mirrored back, and Teams back to Available makes him available again
    assert decision.teams is None
    assert agent.state.dismissed_idle_code_id is None
    assert agent.state.idle_code_id == "teams-dnd"
    assert agent.teams(AVAILABLE).contact_center == SetAvailable("teams-dnd")


def test_the_same_late_event_without_the_marker_is_the_agents_own_choice() -> None:
    agent = available_agent()
    agent.teams(DND)
    agent.later(16 * 60)
    agent.deliver(agent.event(AgentState.IDLE, "teams-dnd"))
    # The pending command expired: without the marker the idle state reads as the agent's own, so the
    # connector does not own the code and Teams back to Available does not take him out of it.
    assert agent.state.idle_code_id is None
    assert agent.teams(AVAILABLE).contact_center is None
