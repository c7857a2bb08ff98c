"""Property-based test of the sync rules against a model of both worlds.

Teams: the user's own state (it beats every application session, as Graph aggregates presence) and the
connector's setPresence session; every change of the aggregated presence raises a notification with the
next sequence number. Contact center: the agent's state and who put him there (agent, routing,
connector); every change raises an agent event with the next sequence number, the connector's own
commands included. The model contact center applies a command only in the state the command expects,
like a contact center that refuses to change an agent who moved meanwhile.

A delivery layer holds every notification and event and hands them to the connector in any order, any
number of times, with any delay up to a bound: a minute for Graph notifications (what Graph documents),
ten minutes for agent events (webhook retries). The connector is the code under test: the pure sync
rules, its state going through the table form (to_entity / from_entity) between messages as it does in
production.

Any interleaving is run to quiescence (then the reconcile timer's reads), and then:
- it got there within a small bound of commands (no ping-pong between the two systems);
- no command put an agent idle while ringing / on a call / in wrap-up, or changed a state the agent
  chose himself;
- at rest the contact center reflects the mapped Teams state and Teams the mapped contact-center state
  (the user's own Teams state still beats the connector's session).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import example, given, settings
from hypothesis import strategies as st

from shared.contact_center.messages import AgentStateChange
from shared.contact_center.model import AgentState, AgentStatus
from shared.graph.model import Presence
from shared.mappings.defaults import DEFAULT_MAPPINGS
from shared.mappings.matching import match_contact_center_rule, match_teams_rule
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
    ClearPresence,
    SetAvailable,
    SetIdle,
    SetPresence,
    SyncDecision,
    contact_center_command_rejected,
    on_agent_event,
    on_teams_presence,
    reconcile,
    sessions_to_renew,
)
from shared.presence.sync_state import AgentSyncState
from tests.support.property_profiles import examples

TENANT = "72f988bf-86f1-41af-91ab-2d7cd011db47"
USER = "0d3e5c1a-7a8b-4c2d-9e0f-123456789abc"
AGENT = "agent-7"
START = datetime(2026, 11, 21, 9, 0, tzinfo=UTC)
TEAMS_AVAILABLE = ("Available", "Available")

# Mappings where the connector's own presence is itself mapped back (Away/Away both ways, Busy/InACall
# both ways): only loop prevention keeps the two systems from talking to each other forever.
LOOPY_MAPPINGS = PresenceMappings(
    MappingRules(
        teams_to_contact_center=(
            TeamsToContactCenterRule("DoNotDisturb", ANY_ACTIVITY, "teams-dnd", "Teams: Do not disturb"),
            TeamsToContactCenterRule("Away", "Away", "teams-away", "Teams: Away"),
            TeamsToContactCenterRule("Busy", "InACall", "teams-call", "Teams: In a call"),
        ),
        contact_center_to_teams=(
            ContactCenterToTeamsRule(AgentState.IDLE, "Away", "Away"),
            ContactCenterToTeamsRule(AgentState.RINGING, "Busy", "InACall"),
            ContactCenterToTeamsRule(AgentState.ON_CALL, "Busy", "InACall"),
            ContactCenterToTeamsRule(AgentState.WRAP_UP, "DoNotDisturb", "Presenting"),
        ),
    )
)
MAPPING_SETS = (DEFAULT_MAPPINGS, LOOPY_MAPPINGS)

USER_STATES: tuple[tuple[str, str] | None, ...] = (
    None,
    ("DoNotDisturb", "DoNotDisturb"),
    ("DoNotDisturb", "Presenting"),
    ("Busy", "InACall"),
    ("Busy", "InAConferenceCall"),
    ("Busy", "InAMeeting"),
    ("Away", "Away"),
    ("BeRightBack", "BeRightBack"),
    TEAMS_AVAILABLE,
)
AGENT_CODES = ("lunch", "break")
MAX_DRAIN_DELIVERIES = 2_000
GRAPH_DELIVERY_BOUND = NOTIFICATION_LATENCY
CONTACT_CENTER_DELIVERY_BOUND = timedelta(minutes=10)


class Violation(AssertionError):
    pass


# -- the two worlds ----------------------------------------------------------------------------------


@dataclass
class TeamsWorld:
    user_state: tuple[str, str] | None = None
    session: tuple[str, str] | None = None
    session_expires_at: datetime | None = None
    # When each presence the connector's sessions showed stopped showing.
    ended_sessions: dict[tuple[str, str], datetime] = field(default_factory=dict)
    sequence: int = 1
    shown: tuple[str, str] = TEAMS_AVAILABLE

    def aggregate(self, now: datetime) -> tuple[str, str]:
        if self.user_state is not None:
            return self.user_state
        if self.session is not None and self.session_expires_at is not None and now < self.session_expires_at:
            return self.session
        return TEAMS_AVAILABLE

    @property
    def sequence_number(self) -> str:
        return f"{self.sequence:010d}"


@dataclass
class ContactCenterWorld:
    state: AgentState = AgentState.AVAILABLE
    idle_code_id: str | None = None
    source: str = "agent"
    sequence: int = 1
    changed_at: datetime = START
    # The agent left the connector's idle code himself: that code and when. His "no" is answered once
    # the connector certainly saw Teams, after that, show a presence no rule maps.
    dismissal: Dismissal | None = None
    ever_dismissed: set[str] = field(default_factory=set)


@dataclass(frozen=True)
class Dismissal:
    idle_code_id: str
    at: datetime


@dataclass(frozen=True)
class TeamsNotification:
    pair: tuple[str, str]
    sequence_number: str
    # What Teams shows is the connector's own session (the user has no state of his own set).
    caused_by_connector: bool = False


@dataclass
class Simulation:
    mappings: PresenceMappings
    now: datetime = START
    teams: TeamsWorld = field(default_factory=TeamsWorld)
    cc: ContactCenterWorld = field(default_factory=ContactCenterWorld)
    # (deadline, message): the delivery layer hands a message over at the latest at its deadline.
    queue: list[tuple[datetime, TeamsNotification | AgentStateChange]] = field(default_factory=list)
    row: dict[str, Any] = field(default_factory=lambda: {"agentId": AGENT})
    commands: int = 0
    external_changes: int = 0
    blind_spot: bool = False
    event_ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    last_decision: SyncDecision | None = None
    # The Teams presence the connector last took in was caused by its own session.
    knows_own_echo: bool = False
    # Moments the connector certainly knows Teams showed a presence no rule maps: a read's time, or a
    # notification's arrival minus the delivery bound.
    unmapped_seen: list[datetime] = field(default_factory=list)
    delivered: list[TeamsNotification | AgentStateChange] = field(default_factory=list)

    def __post_init__(self) -> None:
        # What both systems say at the start reaches the connector like everything else.
        self._enqueue(TeamsNotification(TEAMS_AVAILABLE, self.teams.sequence_number))
        self._enqueue(self._event())

    def _enqueue(self, message: TeamsNotification | AgentStateChange) -> None:
        bound = (
            GRAPH_DELIVERY_BOUND if isinstance(message, TeamsNotification) else CONTACT_CENTER_DELIVERY_BOUND
        )
        self.queue.append((self.now + bound, message))

    # -- the connector's state, through the table form ---------------------------------------------

    @property
    def state(self) -> AgentSyncState:
        return AgentSyncState.from_entity(self.row)

    def _save(self, state: AgentSyncState) -> None:
        # A MERGE: properties sent replace the stored ones, the others (agentId) stay.
        self.row.update(state.to_entity())

    # -- external changes --------------------------------------------------------------------------

    def tick(self, seconds: int) -> None:
        for _ in range(seconds):
            self.now += timedelta(seconds=1)
            self.deliver_overdue()
        self._teams_changed()

    def user_sets(self, pair: tuple[str, str] | None) -> None:
        if pair == self.teams.user_state:
            return
        self.external_changes += 1
        self.teams.user_state = pair
        self._teams_changed()

    def agent_does(self, action: str) -> None:
        cc = self.cc
        if action == "available" and cc.state in (AgentState.IDLE, AgentState.LOGGED_OUT):
            self._agent_moves(AgentState.AVAILABLE, None, "agent")
        elif action in AGENT_CODES and cc.state in (AgentState.AVAILABLE, AgentState.IDLE):
            if cc.idle_code_id != action:
                self._agent_moves(AgentState.IDLE, action, "agent")
        elif action == "logout" and cc.state in (AgentState.AVAILABLE, AgentState.IDLE):
            self._agent_moves(AgentState.LOGGED_OUT, None, "agent")

    def routing_does(self, answered: bool) -> None:
        """The next step of a customer call: offered, answered (or not: RONA), ended, wrapped up."""
        state = self.cc.state
        if state is AgentState.AVAILABLE:
            self._agent_moves(AgentState.RINGING, None, "routing")
        elif state is AgentState.RINGING and answered:
            self._agent_moves(AgentState.ON_CALL, None, "routing")
        elif state is AgentState.RINGING:
            self._agent_moves(AgentState.IDLE, "rona", "routing")
        elif state is AgentState.ON_CALL:
            self._agent_moves(AgentState.WRAP_UP, None, "routing")
        elif state is AgentState.WRAP_UP:
            self._agent_moves(AgentState.AVAILABLE, None, "routing")
        elif state is AgentState.IDLE and self.cc.idle_code_id == "rona":
            # After a missed offer the agent makes himself available again.
            self._agent_moves(AgentState.AVAILABLE, None, "agent")

    def _agent_moves(self, state: AgentState, code: str | None, source: str) -> None:
        cc = self.cc
        self.external_changes += 1
        left_connector_idle = cc.state is AgentState.IDLE and cc.source == "connector" and source == "agent"
        if left_connector_idle:
            assert cc.idle_code_id is not None
            # A logout the connector sees only as stale (the login event overtook it) looks the same.
            cc.ever_dismissed.add(cc.idle_code_id)
        if state is AgentState.LOGGED_OUT:
            cc.dismissal = None
        elif left_connector_idle:
            assert cc.idle_code_id is not None
            cc.dismissal = Dismissal(cc.idle_code_id, self.now)
        self._cc_changes(state, code, source)

    def _cc_changes(self, state: AgentState, code: str | None, source: str) -> None:
        cc = self.cc
        cc.state, cc.idle_code_id, cc.source = state, code, source
        cc.sequence += 1
        cc.changed_at = self.now
        self._enqueue(self._event())

    def _event(self) -> AgentStateChange:
        cc = self.cc
        return AgentStateChange(
            tenant_id=TENANT,
            user_id=USER,
            agent_id=AGENT,
            state=cc.state,
            idle_code_id=cc.idle_code_id,
            idle_code_name=None if cc.idle_code_id is None else f"name of {cc.idle_code_id}",
            occurred_at=self.now,
            event_id=f"event-{next(self.event_ids)}",
            sequence_number=cc.sequence,
        )

    def _teams_changed(self) -> None:
        teams = self.teams
        ended = teams.ended_sessions.get(teams.user_state) if teams.user_state is not None else None
        recently_ended = ended is not None and self.now - ended < ECHO_WINDOW
        if teams.user_state is not None and (teams.user_state == teams.session or recently_ended):
            # The user's own state equals one the connector's session shows or showed a moment ago:
            # no notification can tell them apart (the reconcile timer's reads can).
            self.blind_spot = True
        shown = teams.aggregate(self.now)
        if shown != teams.shown:
            teams.shown = shown
            teams.sequence += 1
            self._enqueue(TeamsNotification(shown, teams.sequence_number, self._shows_session()))

    def _shows_session(self) -> bool:
        teams = self.teams
        return (
            teams.user_state is None
            and teams.session is not None
            and teams.aggregate(self.now) == teams.session
        )

    # -- delivery ----------------------------------------------------------------------------------

    def deliver(self, index: int, *, duplicate: bool) -> None:
        if not self.queue:
            return
        index %= len(self.queue)
        message = self.queue[index][1]
        if not duplicate:
            del self.queue[index]
        self.now += timedelta(seconds=1)
        self._process(message)

    def deliver_overdue(self) -> None:
        """What reached its delivery deadline arrives now (copies kept back included)."""
        while self.queue:
            index = min(range(len(self.queue)), key=lambda i: self.queue[i][0])
            deadline, message = self.queue[index]
            if deadline > self.now:
                return
            del self.queue[index]
            self._process(message)

    def drain(self) -> None:
        for _ in range(MAX_DRAIN_DELIVERIES):
            if not self.queue:
                return
            # Earliest deadline first, so draining keeps the delivery bounds too.
            index = min(range(len(self.queue)), key=lambda i: self.queue[i][0])
            self.deliver(index, duplicate=False)
        raise Violation(f"no quiescence after {MAX_DRAIN_DELIVERIES} deliveries: the systems ping-pong")

    def _process(self, message: TeamsNotification | AgentStateChange) -> None:
        self.delivered.append(message)
        before = self.state
        if isinstance(message, TeamsNotification):
            change = PresenceChange(
                tenant_id=TENANT,
                user_id=USER,
                availability=message.pair[0],
                activity=message.pair[1],
                sequence_number=message.sequence_number,
                observed_at=self.now,
                subscription_id="subscription-1",
            )
            decision = on_teams_presence(before, change, self.mappings, self.now)
            if not decision.discarded:
                self.knows_own_echo = message.caused_by_connector
                self._note_answer(message.pair, certainly_at=self.now - NOTIFICATION_LATENCY)
        else:
            decision = on_agent_event(before, message, self.mappings, self.now)
        self._apply(before, decision)

    def _note_answer(self, pair: tuple[str, str], *, certainly_at: datetime) -> None:
        """The connector learnt that Teams showed `pair` at `certainly_at`."""
        if match_teams_rule(self.mappings, *pair) is None:
            self.unmapped_seen.append(certainly_at)

    def answered(self, dismissed_at: datetime) -> bool:
        return any(moment > dismissed_at for moment in self.unmapped_seen)

    # -- timers ------------------------------------------------------------------------------------

    def renewal_timer(self) -> None:
        before = self.state
        self._apply(before, sessions_to_renew(before, self.now))

    def reconcile_timer(self) -> SyncDecision:
        before = self.state
        teams = self.teams
        presence = Presence(USER, *teams.aggregate(self.now), sequence_number=teams.sequence_number)
        status = AgentStatus(
            state=self.cc.state,
            idle_code_id=self.cc.idle_code_id,
            idle_code_name=None if self.cc.idle_code_id is None else f"name of {self.cc.idle_code_id}",
            changed_at=self.cc.changed_at,
        )
        decision = reconcile(before, presence, status, self.mappings, self.now)
        self.knows_own_echo = self._shows_session()
        self._note_answer(teams.aggregate(self.now), certainly_at=self.now)
        self._apply(before, decision)
        return decision

    # -- applying a decision as the worker does ------------------------------------------------------

    def _apply(self, before: AgentSyncState, decision: SyncDecision) -> None:
        self.last_decision = decision
        if decision.discarded:
            assert decision.contact_center is None
            assert decision.teams is None
            return
        state = decision.state
        command = decision.contact_center
        if command is not None:
            self.commands += 1
            self._check_decision(state, command)
            if not self._contact_center_applies(command):
                state = contact_center_command_rejected(state, command, self.now)
        if decision.teams is not None:
            self.commands += 1
            self._graph_applies(decision.teams)
        self._save(state)

    def _check_decision(self, decided: AgentSyncState, command: SetIdle | SetAvailable) -> None:
        """The command fits what the connector knew when it decided (reads and events recorded)."""
        cc = decided.contact_center
        assert cc is not None, "a contact-center command without a known agent state"
        if self.knows_own_echo:
            raise Violation(f"the connector's own Teams presence reached the contact center as {command}")
        connector_codes = {rule.idle_code_id for rule in self.mappings.teams_to_contact_center}
        if isinstance(command, SetIdle):
            if cc.state is not AgentState.AVAILABLE and not (
                cc.state is AgentState.IDLE and cc.idle_code_id in connector_codes
            ):
                raise Violation(f"SetIdle decided while the agent was known {cc.state} ({cc.idle_code_id})")
            assert (command.expected_state, command.expected_idle_code_id) == (cc.state, cc.idle_code_id)
        elif not (cc.state is AgentState.IDLE and cc.idle_code_id in connector_codes):
            raise Violation(f"SetAvailable decided while the agent was known {cc.state} ({cc.idle_code_id})")
        else:
            assert command.expected_idle_code_id == cc.idle_code_id

    def _contact_center_applies(self, command: SetIdle | SetAvailable) -> bool:
        cc = self.cc
        if isinstance(command, SetIdle):
            if (cc.state, cc.idle_code_id) != (command.expected_state, command.expected_idle_code_id):
                return False
            if cc.state in (
                AgentState.RINGING,
                AgentState.ON_CALL,
                AgentState.WRAP_UP,
                AgentState.LOGGED_OUT,
            ):
                raise Violation(f"the connector put the agent idle while {cc.state}")
            if cc.state is AgentState.IDLE and cc.source != "connector":
                raise Violation(f"the connector replaced idle code {cc.idle_code_id} the agent chose")
            if cc.dismissal is not None and not self.answered(cc.dismissal.at):
                raise Violation(
                    f"the connector imposed idle code {command.idle_code_id} after the agent dismissed "
                    f"{cc.dismissal.idle_code_id}, before Teams certainly stopped asking for it"
                )
            self._cc_changes(AgentState.IDLE, command.idle_code_id, "connector")
            return True
        if cc.state is not AgentState.IDLE or cc.idle_code_id != command.expected_idle_code_id:
            return False
        if cc.source != "connector":
            raise Violation(
                f"the connector made the agent available out of his own idle code {cc.idle_code_id}"
            )
        self._cc_changes(AgentState.AVAILABLE, None, "connector")
        return True

    def _graph_applies(self, command: SetPresence | ClearPresence) -> None:
        teams = self.teams
        if teams.session is not None:
            teams.ended_sessions[teams.session] = self.now
        if isinstance(command, SetPresence):
            teams.session = (command.availability, command.activity)
            teams.session_expires_at = self.now + command.expiration
        else:
            teams.session = None
            teams.session_expires_at = None
        self._teams_changed()

    # -- what "at rest" means ------------------------------------------------------------------------

    def wanted_session(self) -> tuple[str, str] | None:
        cc = self.cc
        if cc.state in (AgentState.AVAILABLE, AgentState.LOGGED_OUT):
            return None
        if cc.state is AgentState.IDLE and cc.source == "connector":
            return None
        rule = match_contact_center_rule(self.mappings, cc.state)
        return None if rule is None else (rule.availability, rule.activity)

    def check_at_rest(self) -> None:
        state = self.state
        # Teams reflects the contact center through the connector's session...
        if self.teams.session != self.wanted_session():
            raise Violation(
                f"agent {self.cc.state} ({self.cc.idle_code_id}, by {self.cc.source}) but the connector's "
                f"Teams session is {self.teams.session}, not {self.wanted_session()}"
            )
        # ... which shows unless the user's own state beats it, and that is what the connector reports.
        overridden = self.teams.session is not None and self.teams.user_state not in (
            None,
            self.teams.session,
        )
        assert state.manual_override == overridden
        # The contact center reflects the user's own Teams state.
        user_state = self.teams.user_state
        rule = None if user_state is None else match_teams_rule(self.mappings, *user_state)
        cc = self.cc
        in_connector_idle = cc.state is AgentState.IDLE and cc.source == "connector"
        if in_connector_idle and (rule is None or rule.idle_code_id != cc.idle_code_id):
            raise Violation(f"the agent stays in idle code {cc.idle_code_id} while Teams shows {user_state}")
        if cc.state is AgentState.AVAILABLE and rule is not None:
            # Fine only while the agent's own "no" to the connector's idle code stands: he said it, and
            # no Teams presence that stopped asking for it reached the connector since.
            dismissed = state.dismissed_idle_code_id
            # The connector may learn of the agent's "no" only from a later event, so later than it was.
            answered = cc.dismissal is not None and self.answered(
                max(cc.dismissal.at, state.dismissed_at or START)
            )
            if dismissed is None or dismissed not in cc.ever_dismissed or answered:
                raise Violation(
                    f"the agent is available while Teams shows {user_state} ({rule.idle_code_id})"
                )
        # And the connector knows both worlds as they are.
        assert state.teams is not None
        assert state.teams.pair == self.teams.aggregate(self.now)
        assert state.contact_center is not None
        assert (state.contact_center.state, state.contact_center.idle_code_id) == (cc.state, cc.idle_code_id)
        assert state.pending == ()


# -- the property ------------------------------------------------------------------------------------

_DELIVER = st.tuples(st.just("deliver"), st.integers(0, 50), st.booleans())
_DELIVER_ONCE = st.tuples(st.just("deliver"), st.integers(0, 50), st.just(False))
_USER = st.tuples(st.just("user"), st.sampled_from(USER_STATES))
_USER_BACK = st.tuples(st.just("user"), st.sampled_from((None, TEAMS_AVAILABLE)))
_CALL = st.tuples(st.just("call"), st.booleans())
# Weighted by repetition: deliveries and Teams changes are what most often happen between two agent
# actions, and an agent who acts all the time leaves the connector little to do.
ACTIONS = st.one_of(
    _DELIVER,
    *[_DELIVER_ONCE] * 5,
    *[_USER] * 3,
    _USER_BACK,
    *[_CALL] * 2,
    st.tuples(st.just("agent"), st.sampled_from(("available", "logout", *AGENT_CODES))),
    st.tuples(st.just("tick"), st.integers(1, 90)),
    st.tuples(st.just("timer"), st.sampled_from(("renew", "reconcile"))),
)


# An agent who only takes calls: the connector then drives the contact center on its own most of the time.
CALM_AGENT_ACTIONS = st.one_of(
    _DELIVER,
    *[_DELIVER_ONCE] * 4,
    *[_USER] * 3,
    _USER_BACK,
    _CALL,
    st.tuples(st.just("tick"), st.integers(1, 90)),
    st.tuples(st.just("timer"), st.sampled_from(("renew", "reconcile"))),
)


def run(mappings: PresenceMappings, actions: list[tuple[Any, ...]]) -> Simulation:
    sim = Simulation(mappings)
    for action in actions:
        sim.now += timedelta(seconds=1)
        sim.deliver_overdue()
        kind = action[0]
        if kind == "user":
            sim.user_sets(action[1])
        elif kind == "agent":
            sim.agent_does(action[1])
        elif kind == "call":
            sim.routing_does(action[1])
        elif kind == "deliver":
            sim.deliver(action[1], duplicate=action[2])
        elif kind == "tick":
            sim.tick(action[1])
        elif action[1] == "renew":
            sim.renewal_timer()
        else:
            sim.reconcile_timer()
    return sim


def assert_converges(mappings: PresenceMappings, actions: list[tuple[Any, ...]]) -> None:
    # GIVEN any interleaving of Teams changes, agent changes, duplicated / delayed / reordered deliveries
    sim = run(mappings, actions)
    # WHEN everything still in flight is delivered and, a little later, the reconcile timer compares
    # both sides once
    sim.drain()
    sim.now += ECHO_GRACE + timedelta(minutes=1)
    final = sim.reconcile_timer()
    sim.drain()
    # THEN the two systems agree with each other and with the mappings
    sim.check_at_rest()
    # AND the reconcile timer only had work where notifications cannot tell the user's state apart
    if not sim.blind_spot:
        assert final.contact_center is None, final.reason
        assert final.teams is None, final.reason
    # AND the commands are bounded by what happened outside: no ping-pong
    assert sim.commands <= 3 * sim.external_changes + 4, (sim.commands, sim.external_changes)


# Found by the random search: the agent's own "available" out of the connector's Do not disturb idle code,
# its event still on the way when the reconcile read revealed it; the same read showed Teams Available, so
# the dismissal was over, but the Teams read was taken in first and that proof was lost: the next Do not
# disturb was not applied (the rule was wrong, not the invariant; reconcile reads the contact center first).
DISMISSAL_REVEALED_BY_A_READ: list[tuple[Any, ...]] = [
    ("deliver", 0, False),
    ("deliver", 0, False),
    ("user", ("DoNotDisturb", "DoNotDisturb")),
    ("deliver", 0, False),
    ("user", None),
    ("agent", "available"),
    ("tick", 59),
    ("timer", "reconcile"),
    ("user", ("DoNotDisturb", "DoNotDisturb")),
]


@settings(max_examples=examples(400))
@given(mappings=st.sampled_from(MAPPING_SETS), actions=st.lists(ACTIONS, min_size=15, max_size=100))
@example(mappings=DEFAULT_MAPPINGS, actions=DISMISSAL_REVEALED_BY_A_READ)
@example(mappings=LOOPY_MAPPINGS, actions=DISMISSAL_REVEALED_BY_A_READ)
def test_any_interleaving_converges_without_ping_pong(
    mappings: PresenceMappings, actions: list[tuple[Any, ...]]
) -> None:
    assert_converges(mappings, actions)


@settings(max_examples=examples(300))
@given(
    mappings=st.sampled_from(MAPPING_SETS), actions=st.lists(CALM_AGENT_ACTIONS, min_size=15, max_size=100)
)
def test_teams_changes_converge_for_an_agent_who_only_takes_calls(
    mappings: PresenceMappings, actions: list[tuple[Any, ...]]
) -> None:
    assert_converges(mappings, actions)


@settings(max_examples=examples(150))
@given(mappings=st.sampled_from(MAPPING_SETS), actions=st.lists(ACTIONS, max_size=40))
def test_a_quiet_system_stays_quiet(mappings: PresenceMappings, actions: list[tuple[Any, ...]]) -> None:
    # GIVEN a run that came to rest
    sim = run(mappings, actions)
    sim.drain()
    sim.now += ECHO_GRACE + timedelta(minutes=1)
    sim.reconcile_timer()
    sim.drain()
    commands = sim.commands
    # WHEN the timers run again and every message is delivered once more
    sim.renewal_timer()
    sim.reconcile_timer()
    for message in list(sim.delivered):
        sim.queue.append((sim.now, message))
        sim.deliver(len(sim.queue) - 1, duplicate=False)
        # THEN each one is recognised as already seen
        assert sim.last_decision is not None
        assert sim.last_decision.discarded, sim.last_decision.reason
    # AND nothing is commanded: at rest, nobody talks
    assert sim.commands == commands
    assert sim.queue == []
