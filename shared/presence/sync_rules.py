"""The presence-sync decisions: pure functions from (what is known, what happened) to (what is known
now, what to tell Teams and the contact center). No I/O, no clock: the caller passes `now`.

Every entry point records the new fact and then plans both directions from everything known, so a
change that had to wait (a Teams call that started while the agent was on a customer call) is applied
as soon as the contact center allows it.

Teams -> contact center
- A Teams presence that a teamsToContactCenter rule maps (the user's own, not the echo of a connector
  session) puts the agent in the rule's idle code, only while he is `available`; an agent in the
  connector's idle code is moved to the new code when Teams changes to another mapped state. Never
  while ringing / onCall / wrapUp, never when logged out, never over an idle code the agent picked.
- Back to an unmapped Teams presence: the agent is made `available` again only if he is still in the
  idle code the connector put him in.
- An agent who leaves the connector's idle code himself dismisses it: no idle code is imposed on him
  until Teams certainly showed, after that moment, a presence no rule maps (such as Available), or he
  logs out. "Certainly" because a notification's arrival does not say when the change happened: a read
  shows it at the read's time, a notification at its arrival minus Graph's longest documented latency
  (NOTIFICATION_LATENCY).
- One contact-center command at a time: the next waits until the previous one is settled - by the
  agent event it causes (recognised as the connector's own however late it comes), a later agent
  event, its rejection, or a reconcile read; at most ECHO_WINDOW - so the connector never acts on a
  state it is changing itself. A contact center that does not report the connector's own changes
  therefore gets one command per agent per reconcile run.

Contact center -> Teams
- A state a contactCenterToTeams rule maps shows in Teams through the connector's setPresence session
  (expiration SESSION_DURATION, renewed while the state lasts); logout, `available`, an unmapped state
  or the connector's own idle code clear it. The agent event that echoes the connector's own idle
  command is recorded but never mirrored back.

Loops and the user's own choice
- A Teams change showing the presence of one of the connector's sessions (held, or replaced / cleared
  less than ECHO_WINDOW ago) is recorded, never sent to the contact center. The user's own presence,
  when it is the same, is then read as an echo too: the reconcile timer's read tells them apart.
- While the session is held, Teams showing anything else means the user's own choice beats it: it is
  recorded as a manual override and not fought (no new setPresence because of it).

Ordering: Teams changes by sequenceNumber (observedAt when one is missing), agent events by
sequenceNumber (occurredAt when one is missing); older ones and repeats are discarded unapplied.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Final, Protocol

from shared.contact_center.model import AgentState
from shared.mappings.matching import match_contact_center_rule, match_teams_rule
from shared.mappings.model import UNMAPPABLE_AGENT_STATES, PresenceMappings
from shared.presence.sync_state import (
    AgentSyncState,
    ContactCenterView,
    EchoPresence,
    PendingCommand,
    PendingKind,
    PresenceSession,
    TeamsView,
)

# Graph allows PT5M..PT4H; an hour keeps a lost session short-lived while renewals stay rare.
SESSION_DURATION: Final = timedelta(hours=1)
RENEW_BEFORE: Final = timedelta(minutes=10)
# How long the event a command causes, or the notification a session causes, is still recognised as
# the connector's own (deliveries are retried for minutes); the reconcile timer's reads repair the rest.
ECHO_WINDOW: Final = timedelta(minutes=15)
MAX_PENDING: Final = 4
# One record per presence setPresence accepts.
MAX_ECHOES: Final = 5
# Graph's presence reads may lag a setPresence / clearPresence by a few seconds.
ECHO_GRACE: Final = timedelta(seconds=60)
# Graph documents change notifications arriving within a minute of the change.
NOTIFICATION_LATENCY: Final = timedelta(minutes=1)
_AVAILABLE: Final = ("Available", "Available")
# What an Available session decays to when it is not renewed (graph-facts: presence aggregation).
_AVAILABLE_SESSION_DECAY: Final = frozenset({("Available", "AvailableInactive"), ("Away", "Away")})


# -- inputs (structural, so the queue messages and port results are passed as they are) -------------


class TeamsPresenceChange(Protocol):
    """A Teams presence from a change notification (shared.presence.messages.PresenceChange)."""

    @property
    def availability(self) -> str: ...

    @property
    def activity(self) -> str: ...

    @property
    def sequence_number(self) -> str | None: ...

    @property
    def observed_at(self) -> datetime: ...


class TeamsPresenceRead(Protocol):
    """A Teams presence read from Graph (shared.graph.model.Presence)."""

    @property
    def availability(self) -> str: ...

    @property
    def activity(self) -> str: ...

    @property
    def sequence_number(self) -> str | None: ...


class AgentEvent(Protocol):
    """A contact-center agent event (shared.contact_center.messages.AgentStateChange)."""

    @property
    def state(self) -> AgentState: ...

    @property
    def idle_code_id(self) -> str | None: ...

    @property
    def idle_code_name(self) -> str | None: ...

    @property
    def occurred_at(self) -> datetime: ...

    @property
    def event_id(self) -> str: ...

    @property
    def sequence_number(self) -> int | None: ...

    @property
    def by_connector(self) -> bool:
        """The contact center says the connector made this change (an echo even after its command
        stopped waiting, e.g. Webex's lastStateChangeReason carrying our marker)."""
        ...


class AgentStatusRead(Protocol):
    """An agent's state read from the contact center (shared.contact_center.model.AgentStatus)."""

    @property
    def state(self) -> AgentState: ...

    @property
    def idle_code_id(self) -> str | None: ...

    @property
    def idle_code_name(self) -> str | None: ...

    @property
    def changed_at(self) -> datetime | None: ...


# -- commands ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SetIdle:
    """Put the agent in an idle code. `expected_*` is the state the decision was taken in: an adapter
    whose contact center can make the change conditional should make it so."""

    idle_code_id: str
    idle_code_name: str | None
    expected_state: AgentState
    expected_idle_code_id: str | None = None


@dataclass(frozen=True)
class SetAvailable:
    """Make the agent available again, out of the connector's idle code `expected_idle_code_id`."""

    expected_idle_code_id: str | None


@dataclass(frozen=True)
class SetPresence:
    """Set (or renew) the connector's presence session for the user."""

    availability: str
    activity: str
    expiration: timedelta


@dataclass(frozen=True)
class ClearPresence:
    """Clear the connector's presence session for the user (Graph answers 404 if it expired already)."""


ContactCenterCommand = SetIdle | SetAvailable
TeamsCommand = SetPresence | ClearPresence


class Outcome(StrEnum):
    APPLIED = "applied"
    STALE = "stale"
    DUPLICATE = "duplicate"
    UNCHANGED = "unchanged"


@dataclass(frozen=True)
class SyncDecision:
    """What to do. Save `state` when `outcome` is APPLIED, after the commands succeeded; when one fails
    for good, save contact_center_command_rejected / teams_command_failed of it instead; when one fails
    for a while (throttled, unavailable), save nothing and let the message be delivered again."""

    state: AgentSyncState
    outcome: Outcome
    reason: str
    contact_center: ContactCenterCommand | None = None
    teams: TeamsCommand | None = None
    # The agent just logged in: make sure his presence is subscribed now.
    resubscribe: bool = False

    @property
    def discarded(self) -> bool:
        return self.outcome in (Outcome.STALE, Outcome.DUPLICATE)


# -- entry points ------------------------------------------------------------------------------------


def on_teams_presence(
    state: AgentSyncState, change: TeamsPresenceChange, mappings: PresenceMappings, now: datetime
) -> SyncDecision:
    """A Teams presence change notification for the agent's user."""
    pair = (change.availability, change.activity)
    order = _teams_order(state.teams, pair, change.sequence_number, change.observed_at)
    if order is not None:
        return SyncDecision(state, order[0], order[1])
    notes: list[str] = []
    state = _forget_old(state, now, notes)
    state, note = _observe_teams(state, pair, change.sequence_number, change.observed_at, now, read=False)
    return _planned(state, mappings, now, [note, *notes], resubscribe=False)


def on_agent_event(
    state: AgentSyncState, event: AgentEvent, mappings: PresenceMappings, now: datetime
) -> SyncDecision:
    """A contact-center agent event (login, logout, state change) for the agent."""
    order = _event_order(state.contact_center, event)
    if order is not None:
        return SyncDecision(state, order[0], order[1])
    previous = state.contact_center
    notes: list[str] = []
    state = _forget_old(state, now, notes)
    state, note = _observe_contact_center(
        state,
        event.state,
        event.idle_code_id,
        event.idle_code_name,
        changed_at=event.occurred_at,
        sequence_number=event.sequence_number,
        event_id=event.event_id,
        now=now,
        read=False,
        by_connector=event.by_connector,
    )
    logged_in = event.state is not AgentState.LOGGED_OUT and (
        previous is None or previous.state is AgentState.LOGGED_OUT
    )
    return _planned(state, mappings, now, [note, *notes], resubscribe=logged_in)


def sessions_to_renew(state: AgentSyncState, now: datetime) -> SyncDecision:
    """Renew the connector's session when it expires within RENEW_BEFORE (or expired unnoticed)."""
    session = state.session
    if session is None or session.expires_at - now > RENEW_BEFORE:
        return SyncDecision(state, Outcome.UNCHANGED, "no presence session to renew")
    # Once expired, Graph dropped it: renewing sets it anew.
    set_at = session.set_at if now < session.expires_at else now
    renewed = replace(session, set_at=set_at, expires_at=now + SESSION_DURATION)
    return SyncDecision(
        replace(state, session=renewed),
        Outcome.APPLIED,
        f"renew the Teams presence {session.availability}/{session.activity} until {renewed.expires_at}",
        teams=SetPresence(session.availability, session.activity, SESSION_DURATION),
    )


def reconcile(
    state: AgentSyncState,
    teams_presence: TeamsPresenceRead | None,
    cc_status: AgentStatusRead | None,
    mappings: PresenceMappings,
    now: datetime,
) -> SyncDecision:
    """Repair drift from fresh reads of both sides (None: that side could not be read).

    A read replaces what notifications and events said when it differs, then both directions are
    planned again. Commands still waiting for their agent event are settled by the read.
    """
    original = state
    notes: list[str] = []
    state = _forget_old(state, now, notes)
    # The contact center first: a dismissal this read reveals (its event is still on the way) must be
    # known when the Teams read is taken in, or the read's proof that Teams stopped asking for the idle
    # code after it (an unmapped presence at `now`) is lost and the dismissal outlives its reason.
    if cc_status is not None:
        state, note = _reconcile_contact_center(state, cc_status, now)
        notes.extend([note] if note else [])
    if teams_presence is not None:
        state, note = _reconcile_teams(state, teams_presence, now)
        notes.extend([note] if note else [])
    decision = _planned(state, mappings, now, notes, resubscribe=False)
    if decision.state == original and decision.contact_center is None and decision.teams is None:
        return SyncDecision(original, Outcome.UNCHANGED, decision.reason or "no drift")
    return decision


def contact_center_command_rejected(
    state: AgentSyncState, command: ContactCenterCommand, now: datetime
) -> AgentSyncState:
    """The contact center refused the command for good: no agent event of it will come. (`now` is
    part of the signature every decision step shares; a refusal itself carries no time to record.)"""
    kind = PendingKind.SET_IDLE if isinstance(command, SetIdle) else PendingKind.SET_AVAILABLE
    code = command.idle_code_id if isinstance(command, SetIdle) else None
    pending = list(state.pending)
    for index in range(len(pending) - 1, -1, -1):
        if pending[index].kind is kind and pending[index].idle_code_id == code:
            del pending[index]
            break
    else:
        return state
    state = replace(state, pending=tuple(pending))
    if kind is PendingKind.SET_AVAILABLE:
        return state
    cc = state.contact_center
    if state.in_connector_idle and cc is not None:
        # Back to the connector's idle code the agent is known to be in.
        return replace(state, idle_code_id=cc.idle_code_id, idle_code_name=cc.idle_code_name)
    earlier = [command for command in pending if command.kind is PendingKind.SET_IDLE]
    if earlier:
        # An earlier idle command may still land: its idle code is the connector's meanwhile.
        return replace(state, idle_code_id=earlier[-1].idle_code_id)
    return replace(state, idle_code_id=None, idle_code_name=None)


def teams_command_failed(state: AgentSyncState, command: TeamsCommand, now: datetime) -> AgentSyncState:
    """Graph refused the command for good. A session that could not be set is not held (a cleared one
    that could not be cleared expires on its own)."""
    session = state.session
    if not isinstance(command, SetPresence) or session is None:
        return state
    if session.pair != (command.availability, command.activity):
        return state
    return replace(state, session=None)


# -- ordering ----------------------------------------------------------------------------------------


def _teams_order(
    seen: TeamsView | None, pair: tuple[str, str], sequence_number: str | None, observed_at: datetime
) -> tuple[Outcome, str] | None:
    if seen is None:
        return None
    if sequence_number and seen.sequence_number:
        # Graph's sequence numbers sort lexicographically in the order the changes happened.
        if sequence_number < seen.sequence_number:
            return (
                Outcome.STALE,
                f"Teams sequence number {sequence_number} is older than {seen.sequence_number}",
            )
        if sequence_number == seen.sequence_number:
            return Outcome.DUPLICATE, f"Teams sequence number {sequence_number} was seen already"
        return None
    if observed_at < seen.observed_at:
        return Outcome.STALE, f"Teams presence observed at {observed_at} is older than {seen.observed_at}"
    if observed_at == seen.observed_at and pair == seen.pair:
        return Outcome.DUPLICATE, "the same Teams presence at the same time was seen already"
    return None


def _event_order(seen: ContactCenterView | None, event: AgentEvent) -> tuple[Outcome, str] | None:
    if seen is None:
        return None
    if seen.event_id is not None and event.event_id == seen.event_id:
        return Outcome.DUPLICATE, f"agent event {event.event_id} was seen already"
    if event.sequence_number is not None and seen.sequence_number is not None:
        if event.sequence_number < seen.sequence_number:
            return (
                Outcome.STALE,
                f"agent event sequence number {event.sequence_number} is older than {seen.sequence_number}",
            )
        if event.sequence_number == seen.sequence_number:
            return Outcome.DUPLICATE, f"agent event sequence number {event.sequence_number} was seen already"
        return None
    if event.occurred_at < seen.changed_at:
        return (
            Outcome.STALE,
            f"agent event of {event.occurred_at} is older than the known state of {seen.changed_at}",
        )
    same_state = (
        event.state is seen.state and _idle_code(event.state, event.idle_code_id) == seen.idle_code_id
    )
    if event.occurred_at == seen.changed_at and same_state:
        return Outcome.DUPLICATE, "the same agent state at the same time was seen already"
    return None


# -- recording what happened -------------------------------------------------------------------------


def _forget_old(state: AgentSyncState, now: datetime, notes: list[str]) -> AgentSyncState:
    """Forget echoes too old to arrive, and let an expired session become one."""
    session, echoes = state.session, state.echoes
    if session is not None and session.expires_at <= now:
        echoes = _ended(echoes, session, session.expires_at)
        session = None
    echoes = tuple(echo for echo in echoes if now - echo.ended_at < ECHO_WINDOW)
    pending = tuple(command for command in state.pending if now - command.sent_at < ECHO_WINDOW)
    if len(pending) < len(state.pending):
        notes.append(f"no agent event confirmed a command within {ECHO_WINDOW}: no longer awaited")
    state = replace(state, session=session, echoes=echoes, pending=pending)
    if state.idle_code_id is None or state.in_connector_idle:
        return state
    if any(command.kind is PendingKind.SET_IDLE for command in pending):
        return state
    return replace(state, idle_code_id=None, idle_code_name=None)


def _observe_teams(
    state: AgentSyncState,
    pair: tuple[str, str],
    sequence_number: str | None,
    observed_at: datetime,
    now: datetime,
    *,
    read: bool,
) -> tuple[AgentSyncState, str]:
    from_connector, overridden = _classify_teams(state, pair, observed_at, read=read)
    since: datetime | None = None
    if overridden:
        previous = state.teams
        since = previous.manual_override_since if previous is not None else None
        since = since or observed_at
    view = TeamsView(
        availability=pair[0],
        activity=pair[1],
        sequence_number=sequence_number,
        observed_at=observed_at,
        recorded_at=now,
        confirmed_at=observed_at if read else observed_at - NOTIFICATION_LATENCY,
        from_connector=from_connector,
        manual_override_since=since,
    )
    note = f"Teams shows {pair[0]}/{pair[1]}"
    if from_connector:
        note += " (the connector's own presence: not sent to the contact center)"
    elif overridden:
        note += " over the connector's presence (set by the user: recorded, not fought)"
    return replace(state, teams=view), note


def _classify_teams(
    state: AgentSyncState, pair: tuple[str, str], observed_at: datetime, *, read: bool
) -> tuple[bool, bool]:
    """(Teams shows a connector session, the user's own state overrides the session held).

    A notification cannot say which change caused it, and a session shows again each time the user
    clears a state of his own, so the presence of an earlier session reads as an echo until its record
    is forgotten after ECHO_WINDOW: taking the user's own presence for an echo costs a delay until the
    next read, the other way round a loop. A read is Graph's live presence: only the held session shows
    in it, or one that ended a few seconds ago.
    """
    session = state.session
    held = session is not None and session.set_at <= observed_at < session.expires_at
    own = held and session is not None and _shows(session.pair, pair)
    if read:
        recent = any(
            _shows(echo.pair, pair) and observed_at <= echo.ended_at + ECHO_GRACE for echo in state.echoes
        )
        return own or recent, held and not own
    if own or any(_shows(echo.pair, pair) for echo in state.echoes):
        return True, False
    return False, held


def _shows(session_pair: tuple[str, str], pair: tuple[str, str]) -> bool:
    return pair == session_pair or (session_pair == _AVAILABLE and pair in _AVAILABLE_SESSION_DECAY)


def _ended(
    echoes: tuple[EchoPresence, ...], session: PresenceSession, ended_at: datetime
) -> tuple[EchoPresence, ...]:
    echo = EchoPresence(session.availability, session.activity, session.set_at, ended_at)
    return (*(e for e in echoes if e.pair != session.pair), echo)[-MAX_ECHOES:]


def _observe_contact_center(
    state: AgentSyncState,
    agent_state: AgentState,
    idle_code_id: str | None,
    idle_code_name: str | None,
    *,
    changed_at: datetime,
    sequence_number: int | None,
    event_id: str | None,
    now: datetime,
    read: bool,
    by_connector: bool = False,
) -> tuple[AgentSyncState, str]:
    """Record the agent's state from an event or (`read`) a status read of the contact center;
    `by_connector`: the contact center says the connector made this change."""
    pending = state.pending
    latest = state.latest_pending
    restoring = latest is not None and latest.kind is PendingKind.SET_AVAILABLE
    was_connector_idle = state.in_connector_idle
    idle_code_id = _idle_code(agent_state, idle_code_id)
    idle_code_name = idle_code_name if idle_code_id is not None else None
    dismissed = state.dismissed_idle_code_id
    dismissed_at = state.dismissed_at
    owned_id, owned_name = state.idle_code_id, state.idle_code_name
    seen = state.contact_center
    # The same state reported again (a re-sent or periodic event): who put him there does not change.
    repeated = seen is not None and seen.state is agent_state and seen.idle_code_id == idle_code_id

    echoed = _echoed_command(pending, agent_state, idle_code_id)
    # Our own change arriving after its command stopped waiting (the contact center says the connector
    # made it): not the agent's choice either, so it neither dismisses an idle code nor is mirrored back.
    late_echo = echoed is None and by_connector and agent_state in (AgentState.IDLE, AgentState.AVAILABLE)
    if echoed is not None or late_echo:
        # The contact center applies commands in order: the ones sent before this one are settled too.
        pending = pending[echoed + 1 :] if echoed is not None else pending
        if agent_state is AgentState.IDLE:
            owned_id, owned_name = idle_code_id, idle_code_name or owned_name
        else:
            owned_id, owned_name = None, None
    else:
        # Commands sent before the agent moved: their events, if any, are older and will be discarded
        # as stale, so nothing waits for them; an idle code set that way was left by the agent.
        superseded = [command for command in pending if changed_at > command.sent_at]
        pending = tuple(command for command in pending if changed_at <= command.sent_at)
        if agent_state is AgentState.LOGGED_OUT:
            dismissed, dismissed_at = None, None
        elif was_connector_idle and not restoring and not repeated:
            dismissed, dismissed_at = owned_id, changed_at
        if (
            superseded
            and superseded[-1].kind is PendingKind.SET_IDLE
            and agent_state is not AgentState.LOGGED_OUT
        ):
            dismissed, dismissed_at = superseded[-1].idle_code_id, changed_at
        if not repeated or (superseded and not was_connector_idle):
            owned_id, owned_name = None, None
        elif superseded and seen is not None:
            owned_id, owned_name = seen.idle_code_id, seen.idle_code_name
    if read and pending:
        # A read is live: a command sent before it that it does not show did not land.
        pending = ()
        if echoed is None and not (agent_state is AgentState.IDLE and repeated and was_connector_idle):
            owned_id, owned_name = None, None

    view = ContactCenterView(
        state=agent_state,
        idle_code_id=idle_code_id,
        idle_code_name=idle_code_name,
        changed_at=changed_at,
        sequence_number=sequence_number,
        event_id=event_id,
        recorded_at=now,
    )
    new_state = replace(
        state,
        contact_center=view,
        pending=pending,
        idle_code_id=owned_id,
        idle_code_name=owned_name,
        dismissed_idle_code_id=dismissed,
        dismissed_at=dismissed_at if dismissed is not None else None,
    )
    shown = agent_state.value if idle_code_id is None else f"{agent_state.value} ({idle_code_id})"
    note = f"the agent is {shown}"
    if echoed is not None or late_echo:
        note += " as the connector asked (not mirrored back)"
    elif dismissed is not None and dismissed != state.dismissed_idle_code_id:
        note += f" by his own choice: idle code {dismissed} is not imposed again for this Teams presence"
    return new_state, note


def _echoed_command(
    pending: tuple[PendingCommand, ...], agent_state: AgentState, idle_code_id: str | None
) -> int | None:
    """The index of the newest pending command this agent state is the result of, if any."""
    for index in range(len(pending) - 1, -1, -1):
        command = pending[index]
        if command.kind is PendingKind.SET_IDLE:
            if agent_state is AgentState.IDLE and idle_code_id == command.idle_code_id:
                return index
        elif agent_state is AgentState.AVAILABLE:
            return index
    return None


def _reconcile_teams(
    state: AgentSyncState, presence: TeamsPresenceRead, now: datetime
) -> tuple[AgentSyncState, str | None]:
    pair = (presence.availability, presence.activity)
    seen = state.teams
    if seen is not None and pair == seen.pair:
        # Same presence: only how it reads may have changed (an override that raised no notification),
        # and it is now certain Teams shows it, which may end an agent's dismissal.
        from_connector, overridden = _classify_teams(state, pair, now, read=True)
        confirmed = seen.confirmed_at if state.dismissed_idle_code_id is None else now
        if (from_connector, overridden, confirmed) == (
            seen.from_connector,
            seen.manual_override,
            seen.confirmed_at,
        ):
            return state, None
        since = (seen.manual_override_since or now) if overridden else None
        teams = replace(
            seen, from_connector=from_connector, manual_override_since=since, confirmed_at=confirmed
        )
        return replace(state, teams=teams), f"Teams read: still {pair[0]}/{pair[1]}"
    sequence_number = presence.sequence_number
    if (
        sequence_number
        and seen is not None
        and seen.sequence_number
        and sequence_number < seen.sequence_number
    ):
        return state, None
    state, note = _observe_teams(state, pair, sequence_number, now, now, read=True)
    return state, f"Teams read: {note}"


def _reconcile_contact_center(
    state: AgentSyncState, status: AgentStatusRead, now: datetime
) -> tuple[AgentSyncState, str | None]:
    seen = state.contact_center
    idle_code_id = _idle_code(status.state, status.idle_code_id)
    if (
        seen is not None
        and seen.state is status.state
        and seen.idle_code_id == idle_code_id
        and not state.pending
    ):
        return state, None
    # Without a time from the contact center, the state counts as begun after every command sent: a
    # command is then never repeated over what may be the agent's own choice.
    state, note = _observe_contact_center(
        state,
        status.state,
        status.idle_code_id,
        status.idle_code_name,
        changed_at=status.changed_at or now,
        sequence_number=None,
        event_id=None,
        now=now,
        read=True,
    )
    return state, f"contact center read: {note}"


# -- planning ----------------------------------------------------------------------------------------


def _planned(
    state: AgentSyncState, mappings: PresenceMappings, now: datetime, notes: list[str], *, resubscribe: bool
) -> SyncDecision:
    state, contact_center = _plan_contact_center(state, mappings, now, notes)
    state, teams = _plan_teams(state, mappings, now, notes)
    return SyncDecision(
        state=state,
        outcome=Outcome.APPLIED,
        reason="; ".join(notes),
        contact_center=contact_center,
        teams=teams,
        resubscribe=resubscribe,
    )


def _plan_contact_center(
    state: AgentSyncState, mappings: PresenceMappings, now: datetime, notes: list[str]
) -> tuple[AgentSyncState, ContactCenterCommand | None]:
    teams = state.teams
    if teams is None:
        return state, None
    rule = match_teams_rule(mappings, teams.availability, teams.activity)
    confirmed, unmapped_at = teams.confirmed_at, state.teams_unmapped_at
    if rule is None and confirmed is not None and (unmapped_at is None or unmapped_at < confirmed):
        state = replace(state, teams_unmapped_at=confirmed)
    if _dismissal_over(state):
        # Even the connector's own presence showing means the user's state that asked for idle is gone.
        state = replace(state, dismissed_idle_code_id=None, dismissed_at=None)
    if teams.from_connector:
        # The user's own Teams state is hidden behind the connector's session: nothing to apply.
        return state, None
    latest = state.latest_pending
    if latest is not None:
        notes.append(f"waiting for the contact center to confirm {latest.kind.value}")
        return state, None
    cc = state.contact_center
    if cc is None:
        return state, None
    presence = f"{teams.availability}/{teams.activity}"
    if rule is None:
        if not state.in_connector_idle:
            return state, None
        notes.append(f"{presence} is not mapped: out of the connector's idle code {cc.idle_code_id}")
        return (
            replace(state, pending=_sent(state, PendingCommand(PendingKind.SET_AVAILABLE, None, now))),
            SetAvailable(expected_idle_code_id=cc.idle_code_id),
        )
    if state.dismissed_idle_code_id is not None:
        # Whatever Teams asked for was seen before the agent said no: it is not imposed.
        notes.append(f"the agent dismissed idle code {state.dismissed_idle_code_id}: nothing imposed")
        return state, None
    if state.in_connector_idle and cc.idle_code_id == rule.idle_code_id:
        return state, None
    if cc.state is not AgentState.AVAILABLE and not state.in_connector_idle:
        notes.append(f"{presence} maps to idle code {rule.idle_code_id}, but the agent is {cc.state.value}")
        return state, None
    notes.append(f"{presence} maps to idle code {rule.idle_code_id}: set it")
    command = SetIdle(
        idle_code_id=rule.idle_code_id,
        idle_code_name=rule.idle_code_name,
        expected_state=cc.state,
        expected_idle_code_id=cc.idle_code_id,
    )
    new_state = replace(
        state,
        pending=_sent(state, PendingCommand(PendingKind.SET_IDLE, rule.idle_code_id, now)),
        idle_code_id=rule.idle_code_id,
        idle_code_name=rule.idle_code_name,
    )
    return new_state, command


def _dismissal_over(state: AgentSyncState) -> bool:
    """Teams certainly showed, after the agent dismissed the idle code, a presence no rule maps."""
    if state.dismissed_idle_code_id is None:
        return False
    unmapped_at, dismissed_at = state.teams_unmapped_at, state.dismissed_at
    return dismissed_at is None or (unmapped_at is not None and unmapped_at > dismissed_at)


def _sent(state: AgentSyncState, command: PendingCommand) -> tuple[PendingCommand, ...]:
    return (*state.pending, command)[-MAX_PENDING:]


def _plan_teams(
    state: AgentSyncState, mappings: PresenceMappings, now: datetime, notes: list[str]
) -> tuple[AgentSyncState, TeamsCommand | None]:
    wanted = _wanted_presence(state, mappings)
    session = state.session
    if wanted is not None:
        if session is not None and session.pair == wanted:
            if session.expires_at - now > RENEW_BEFORE:
                return state, None
            notes.append(f"renew the Teams presence {wanted[0]}/{wanted[1]}")
            renewed = replace(session, expires_at=now + SESSION_DURATION)
            return replace(state, session=renewed), SetPresence(wanted[0], wanted[1], SESSION_DURATION)
        notes.append(f"show {wanted[0]}/{wanted[1]} in Teams")
        echoes = state.echoes if session is None else _ended(state.echoes, session, now)
        new_session = PresenceSession(wanted[0], wanted[1], set_at=now, expires_at=now + SESSION_DURATION)
        return (
            replace(state, session=new_session, echoes=echoes),
            SetPresence(wanted[0], wanted[1], SESSION_DURATION),
        )
    if session is None:
        return state, None
    notes.append("clear the connector's Teams presence")
    teams = state.teams
    if teams is not None and teams.manual_override:
        teams = replace(teams, manual_override_since=None)
    cleared = replace(state, session=None, echoes=_ended(state.echoes, session, now), teams=teams)
    return cleared, ClearPresence()


def _wanted_presence(state: AgentSyncState, mappings: PresenceMappings) -> tuple[str, str] | None:
    cc = state.contact_center
    if cc is None or cc.state in UNMAPPABLE_AGENT_STATES or state.in_connector_idle:
        return None
    rule = match_contact_center_rule(mappings, cc.state)
    return None if rule is None else (rule.availability, rule.activity)


def _idle_code(agent_state: AgentState, idle_code_id: str | None) -> str | None:
    return idle_code_id if agent_state is AgentState.IDLE and idle_code_id else None
