"""What the connector knows and has done about one agent, persisted in the Agents table `user|` row.

Pure data plus its flat table form. Property names are prefixed by where the fact comes from: `teams*`
(the last Teams presence seen; the first five names are issue #3's), `cc*` (the last contact-center
state seen), `sync*` (what the connector itself did: its Teams presence session, the earlier sessions
whose echo may still arrive, the commands it waits to see confirmed, the idle code it put the agent in).

Table Storage has no null and a MERGE leaves a property it is not sent untouched, so `to_entity` sends
every property it owns, with "" for "none": merging it clears what is no longer true. The five issue #3
properties are left out while no Teams presence was seen, so a merge never wipes what the roster
recorded. Datetimes are written as datetimes (Edm.DateTime), like the roster writes teamsObservedAt.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, Final

from shared.agents.groups import DEFAULT_GROUP_ID
from shared.contact_center.model import AgentState

EntityValue = str | int | float | bool | datetime

SCHEMA_VERSION: Final = 1

# Issue #3's names for the last Teams presence seen.
TEAMS_AVAILABILITY: Final = "teamsAvailability"
TEAMS_ACTIVITY: Final = "teamsActivity"
TEAMS_SEQUENCE_NUMBER: Final = "teamsSequenceNumber"
TEAMS_OBSERVED_AT: Final = "teamsObservedAt"
TEAMS_RECORDED_AT: Final = "teamsRecordedAt"
TEAMS_CONFIRMED_AT: Final = "teamsConfirmedAt"
TEAMS_UNMAPPED_AT: Final = "teamsUnmappedAt"
TEAMS_FROM_CONNECTOR: Final = "teamsFromConnector"
TEAMS_MANUAL_OVERRIDE: Final = "teamsManualOverride"
TEAMS_MANUAL_OVERRIDE_SINCE: Final = "teamsManualOverrideSince"
CC_STATE: Final = "ccState"
CC_IDLE_CODE_ID: Final = "ccIdleCodeId"
CC_IDLE_CODE_NAME: Final = "ccIdleCodeName"
CC_CHANGED_AT: Final = "ccChangedAt"
CC_SEQUENCE_NUMBER: Final = "ccSequenceNumber"
CC_EVENT_ID: Final = "ccEventId"
CC_RECORDED_AT: Final = "ccRecordedAt"
SYNC_SCHEMA_VERSION: Final = "syncSchemaVersion"
SYNC_SESSION_AVAILABILITY: Final = "syncSessionAvailability"
SYNC_SESSION_ACTIVITY: Final = "syncSessionActivity"
SYNC_SESSION_SET_AT: Final = "syncSessionSetAt"
SYNC_SESSION_EXPIRES_AT: Final = "syncSessionExpiresAt"
SYNC_ECHO_PRESENCES: Final = "syncEchoPresences"
SYNC_PENDING_COMMANDS: Final = "syncPendingCommands"
SYNC_IDLE_CODE_ID: Final = "syncIdleCodeId"
SYNC_IDLE_CODE_NAME: Final = "syncIdleCodeName"
SYNC_DISMISSED_IDLE_CODE_ID: Final = "syncDismissedIdleCodeId"
SYNC_DISMISSED_AT: Final = "syncDismissedAt"
# What the connector last did and how long a change took (GET sync-status); written with the same merge.
SYNC_LAST_COMMAND_KIND: Final = "syncLastCommandKind"
SYNC_LAST_COMMAND_TARGET: Final = "syncLastCommandTarget"
SYNC_LAST_COMMAND_OUTCOME: Final = "syncLastCommandOutcome"
SYNC_LAST_COMMAND_AT: Final = "syncLastCommandAt"
SYNC_LAST_COMMAND_DETAIL: Final = "syncLastCommandDetail"
SYNC_LAST_COMMAND_ERROR: Final = "syncLastCommandError"
SYNC_LAST_COMMAND_STATUS: Final = "syncLastCommandStatus"
SYNC_DELAY_TO_CC_SECONDS: Final = "syncDelayToContactCenterSeconds"
SYNC_DELAY_TO_CC_AT: Final = "syncDelayToContactCenterAt"
SYNC_DELAY_TO_TEAMS_SECONDS: Final = "syncDelayToTeamsSeconds"
SYNC_DELAY_TO_TEAMS_AT: Final = "syncDelayToTeamsAt"

# Every property this module reads, for a query's `select`.
SYNC_STATE_PROPERTIES: Final = (
    TEAMS_AVAILABILITY,
    TEAMS_ACTIVITY,
    TEAMS_SEQUENCE_NUMBER,
    TEAMS_OBSERVED_AT,
    TEAMS_RECORDED_AT,
    TEAMS_CONFIRMED_AT,
    TEAMS_UNMAPPED_AT,
    TEAMS_FROM_CONNECTOR,
    TEAMS_MANUAL_OVERRIDE,
    TEAMS_MANUAL_OVERRIDE_SINCE,
    CC_STATE,
    CC_IDLE_CODE_ID,
    CC_IDLE_CODE_NAME,
    CC_CHANGED_AT,
    CC_SEQUENCE_NUMBER,
    CC_EVENT_ID,
    CC_RECORDED_AT,
    SYNC_SCHEMA_VERSION,
    SYNC_SESSION_AVAILABILITY,
    SYNC_SESSION_ACTIVITY,
    SYNC_SESSION_SET_AT,
    SYNC_SESSION_EXPIRES_AT,
    SYNC_ECHO_PRESENCES,
    SYNC_PENDING_COMMANDS,
    SYNC_IDLE_CODE_ID,
    SYNC_IDLE_CODE_NAME,
    SYNC_DISMISSED_IDLE_CODE_ID,
    SYNC_DISMISSED_AT,
    SYNC_LAST_COMMAND_KIND,
    SYNC_LAST_COMMAND_TARGET,
    SYNC_LAST_COMMAND_OUTCOME,
    SYNC_LAST_COMMAND_AT,
    SYNC_LAST_COMMAND_DETAIL,
    SYNC_LAST_COMMAND_ERROR,
    SYNC_LAST_COMMAND_STATUS,
    SYNC_DELAY_TO_CC_SECONDS,
    SYNC_DELAY_TO_CC_AT,
    SYNC_DELAY_TO_TEAMS_SECONDS,
    SYNC_DELAY_TO_TEAMS_AT,
)


class PendingKind(StrEnum):
    SET_IDLE = "setIdle"
    SET_AVAILABLE = "setAvailable"


@dataclass(frozen=True)
class TeamsView:
    """The last Teams presence seen, and how the connector read it."""

    availability: str
    activity: str
    # Graph's sequenceNumber (sorts lexicographically); None when Graph left it out.
    sequence_number: str | None
    observed_at: datetime
    recorded_at: datetime
    # A moment Teams certainly showed this presence: a read's time, or a notification's arrival minus
    # the longest notification latency Graph documents. None: not known.
    confirmed_at: datetime | None = None
    # It is the connector's own presence session showing (an echo of its setPresence).
    from_connector: bool = False
    # While the connector holds a session, Teams shows something else: the user's own choice beats it.
    manual_override_since: datetime | None = None

    @property
    def pair(self) -> tuple[str, str]:
        return self.availability, self.activity

    @property
    def manual_override(self) -> bool:
        return self.manual_override_since is not None


@dataclass(frozen=True)
class ContactCenterView:
    """The agent's contact-center state, from the newest agent event or a status read."""

    state: AgentState
    idle_code_id: str | None
    idle_code_name: str | None
    # When the contact center says the state began (the event's occurredAt, or the status read's).
    changed_at: datetime
    # The event's sequence number; None after a status read, so later events are ordered by time.
    sequence_number: int | None
    event_id: str | None
    recorded_at: datetime


@dataclass(frozen=True)
class PresenceSession:
    """The connector's setPresence session for the user (Graph drops it at `expires_at`)."""

    availability: str
    activity: str
    set_at: datetime
    expires_at: datetime

    @property
    def pair(self) -> tuple[str, str]:
        return self.availability, self.activity


@dataclass(frozen=True)
class EchoPresence:
    """An earlier session of the connector, replaced or cleared: its notification may still arrive."""

    availability: str
    activity: str
    set_at: datetime
    ended_at: datetime

    @property
    def pair(self) -> tuple[str, str]:
        return self.availability, self.activity


@dataclass(frozen=True)
class PendingCommand:
    """A contact-center command sent whose echo (the agent event it causes) was not seen yet."""

    kind: PendingKind
    idle_code_id: str | None
    sent_at: datetime


class CommandTarget(StrEnum):
    CONTACT_CENTER = "contactCenter"
    TEAMS = "teams"


class CommandOutcome(StrEnum):
    ACCEPTED = "accepted"
    # Refused for good (the other side will not change its mind on a retry).
    REFUSED = "refused"


@dataclass(frozen=True)
class CommandRecord:
    """The last command the connector sent for the agent and what came of it."""

    # setIdle, setAvailable, setPresence, clearPresence
    kind: str
    target: CommandTarget
    outcome: CommandOutcome
    at: datetime
    # The idle code id, or the Teams availability/activity pair; None for setAvailable / clearPresence.
    detail: str | None = None
    error: str | None = None
    # The other side's HTTP status when it refused.
    status: int | None = None


@dataclass(frozen=True)
class MeasuredDelay:
    """A change observed on one side -> the other side accepted the command it led to."""

    seconds: float
    at: datetime


@dataclass(frozen=True)
class AgentSyncState:
    teams: TeamsView | None = None
    # The last moment Teams certainly showed a presence no teamsToContactCenter rule maps.
    teams_unmapped_at: datetime | None = None
    contact_center: ContactCenterView | None = None
    session: PresenceSession | None = None
    # Earlier sessions, oldest first.
    echoes: tuple[EchoPresence, ...] = ()
    # Contact-center commands sent whose agent event was not seen yet, oldest first.
    pending: tuple[PendingCommand, ...] = ()
    # The idle code the connector put the agent in (or asked for); None when it did not.
    idle_code_id: str | None = None
    idle_code_name: str | None = None
    # The agent left the connector's idle code himself (at `dismissed_at`): no idle code is imposed until
    # Teams certainly showed, after that, a presence no rule maps.
    dismissed_idle_code_id: str | None = None
    dismissed_at: datetime | None = None
    last_command: CommandRecord | None = None
    delay_to_contact_center: MeasuredDelay | None = None
    delay_to_teams: MeasuredDelay | None = None

    @property
    def in_connector_idle(self) -> bool:
        """The agent is (as far as the connector knows) in an idle code the connector put him in."""
        cc = self.contact_center
        return cc is not None and cc.state is AgentState.IDLE and self.idle_code_id is not None

    @property
    def manual_override(self) -> bool:
        return self.teams is not None and self.teams.manual_override

    @property
    def latest_pending(self) -> PendingCommand | None:
        return self.pending[-1] if self.pending else None

    def to_entity(self) -> dict[str, EntityValue]:
        entity: dict[str, EntityValue] = {SYNC_SCHEMA_VERSION: SCHEMA_VERSION}
        teams = self.teams
        if teams is not None:
            entity[TEAMS_AVAILABILITY] = teams.availability
            entity[TEAMS_ACTIVITY] = teams.activity
            entity[TEAMS_SEQUENCE_NUMBER] = teams.sequence_number or ""
            entity[TEAMS_OBSERVED_AT] = teams.observed_at
            entity[TEAMS_RECORDED_AT] = teams.recorded_at
        entity[TEAMS_CONFIRMED_AT] = _written(None if teams is None else teams.confirmed_at)
        entity[TEAMS_UNMAPPED_AT] = _written(self.teams_unmapped_at)
        entity[TEAMS_FROM_CONNECTOR] = teams is not None and teams.from_connector
        entity[TEAMS_MANUAL_OVERRIDE] = self.manual_override
        entity[TEAMS_MANUAL_OVERRIDE_SINCE] = _written(None if teams is None else teams.manual_override_since)
        cc = self.contact_center
        entity[CC_STATE] = "" if cc is None else cc.state.value
        entity[CC_IDLE_CODE_ID] = _written(None if cc is None else cc.idle_code_id)
        entity[CC_IDLE_CODE_NAME] = _written(None if cc is None else cc.idle_code_name)
        entity[CC_CHANGED_AT] = _written(None if cc is None else cc.changed_at)
        # As text: contact centers use epoch milliseconds, past what an Int32 column holds.
        entity[CC_SEQUENCE_NUMBER] = (
            "" if cc is None or cc.sequence_number is None else str(cc.sequence_number)
        )
        entity[CC_EVENT_ID] = _written(None if cc is None else cc.event_id)
        entity[CC_RECORDED_AT] = _written(None if cc is None else cc.recorded_at)
        session = self.session
        entity[SYNC_SESSION_AVAILABILITY] = _written(None if session is None else session.availability)
        entity[SYNC_SESSION_ACTIVITY] = _written(None if session is None else session.activity)
        entity[SYNC_SESSION_SET_AT] = _written(None if session is None else session.set_at)
        entity[SYNC_SESSION_EXPIRES_AT] = _written(None if session is None else session.expires_at)
        entity[SYNC_ECHO_PRESENCES] = _json(
            [[e.availability, e.activity, e.set_at.isoformat(), e.ended_at.isoformat()] for e in self.echoes]
        )
        entity[SYNC_PENDING_COMMANDS] = _json(
            [[c.kind.value, c.idle_code_id, c.sent_at.isoformat()] for c in self.pending]
        )
        entity[SYNC_IDLE_CODE_ID] = _written(self.idle_code_id)
        entity[SYNC_IDLE_CODE_NAME] = _written(self.idle_code_name)
        entity[SYNC_DISMISSED_IDLE_CODE_ID] = _written(self.dismissed_idle_code_id)
        entity[SYNC_DISMISSED_AT] = _written(self.dismissed_at)
        command = self.last_command
        entity[SYNC_LAST_COMMAND_KIND] = "" if command is None else command.kind
        entity[SYNC_LAST_COMMAND_TARGET] = "" if command is None else command.target.value
        entity[SYNC_LAST_COMMAND_OUTCOME] = "" if command is None else command.outcome.value
        entity[SYNC_LAST_COMMAND_AT] = _written(None if command is None else command.at)
        entity[SYNC_LAST_COMMAND_DETAIL] = _written(None if command is None else command.detail)
        entity[SYNC_LAST_COMMAND_ERROR] = _written(None if command is None else command.error)
        entity[SYNC_LAST_COMMAND_STATUS] = "" if command is None or command.status is None else command.status
        for seconds_name, at_name, delay in (
            (SYNC_DELAY_TO_CC_SECONDS, SYNC_DELAY_TO_CC_AT, self.delay_to_contact_center),
            (SYNC_DELAY_TO_TEAMS_SECONDS, SYNC_DELAY_TO_TEAMS_AT, self.delay_to_teams),
        ):
            entity[seconds_name] = "" if delay is None else float(delay.seconds)
            entity[at_name] = _written(None if delay is None else delay.at)
        return entity

    @classmethod
    def from_entity(cls, entity: Mapping[str, Any]) -> AgentSyncState:
        """Read a `user|` row. Missing, empty or unreadable parts read as "not known", never as an error:
        a row the roster just created has none of them."""
        return cls(
            teams=_teams_view(entity),
            teams_unmapped_at=_moment(entity.get(TEAMS_UNMAPPED_AT)),
            contact_center=_contact_center_view(entity),
            session=_session(entity),
            echoes=_echoes(entity.get(SYNC_ECHO_PRESENCES)),
            pending=_pending(entity.get(SYNC_PENDING_COMMANDS)),
            idle_code_id=_text(entity.get(SYNC_IDLE_CODE_ID)),
            idle_code_name=_text(entity.get(SYNC_IDLE_CODE_NAME)),
            dismissed_idle_code_id=_text(entity.get(SYNC_DISMISSED_IDLE_CODE_ID)),
            dismissed_at=_moment(entity.get(SYNC_DISMISSED_AT)),
            last_command=_last_command(entity),
            delay_to_contact_center=_delay(entity, SYNC_DELAY_TO_CC_SECONDS, SYNC_DELAY_TO_CC_AT),
            delay_to_teams=_delay(entity, SYNC_DELAY_TO_TEAMS_SECONDS, SYNC_DELAY_TO_TEAMS_AT),
        )


@dataclass(frozen=True)
class StoredSyncState:
    """An agent's sync state as read from storage, with the version (ETag) a conditional save needs."""

    tenant_id: str
    user_id: str
    agent_id: str
    state: AgentSyncState
    etag: str
    # The agent's group (written with the roster row, shared.agents.groups); its policy applies.
    group_id: str = DEFAULT_GROUP_ID


def _teams_view(entity: Mapping[str, Any]) -> TeamsView | None:
    availability = _text(entity.get(TEAMS_AVAILABILITY))
    activity = _text(entity.get(TEAMS_ACTIVITY))
    observed_at = _moment(entity.get(TEAMS_OBSERVED_AT))
    if availability is None or activity is None or observed_at is None:
        return None
    override_since = _moment(entity.get(TEAMS_MANUAL_OVERRIDE_SINCE))
    if override_since is None and entity.get(TEAMS_MANUAL_OVERRIDE) is True:
        override_since = observed_at
    return TeamsView(
        availability=availability,
        activity=activity,
        sequence_number=_text(entity.get(TEAMS_SEQUENCE_NUMBER)),
        observed_at=observed_at,
        recorded_at=_moment(entity.get(TEAMS_RECORDED_AT)) or observed_at,
        confirmed_at=_moment(entity.get(TEAMS_CONFIRMED_AT)),
        from_connector=entity.get(TEAMS_FROM_CONNECTOR) is True,
        manual_override_since=override_since,
    )


def _contact_center_view(entity: Mapping[str, Any]) -> ContactCenterView | None:
    raw_state = _text(entity.get(CC_STATE))
    changed_at = _moment(entity.get(CC_CHANGED_AT))
    if raw_state is None or changed_at is None:
        return None
    try:
        state = AgentState(raw_state)
    except ValueError:
        return None
    return ContactCenterView(
        state=state,
        idle_code_id=_text(entity.get(CC_IDLE_CODE_ID)),
        idle_code_name=_text(entity.get(CC_IDLE_CODE_NAME)),
        changed_at=changed_at,
        sequence_number=_integer(entity.get(CC_SEQUENCE_NUMBER)),
        event_id=_text(entity.get(CC_EVENT_ID)),
        recorded_at=_moment(entity.get(CC_RECORDED_AT)) or changed_at,
    )


def _session(entity: Mapping[str, Any]) -> PresenceSession | None:
    availability = _text(entity.get(SYNC_SESSION_AVAILABILITY))
    activity = _text(entity.get(SYNC_SESSION_ACTIVITY))
    set_at = _moment(entity.get(SYNC_SESSION_SET_AT))
    expires_at = _moment(entity.get(SYNC_SESSION_EXPIRES_AT))
    if availability is None or activity is None or set_at is None or expires_at is None:
        return None
    return PresenceSession(availability=availability, activity=activity, set_at=set_at, expires_at=expires_at)


def _echoes(value: Any) -> tuple[EchoPresence, ...]:
    echoes: list[EchoPresence] = []
    for item in _json_list(value):
        if len(item) != 4:
            continue
        availability, activity = _text(item[0]), _text(item[1])
        set_at, ended_at = _moment(item[2]), _moment(item[3])
        if availability is None or activity is None or set_at is None or ended_at is None:
            continue
        echoes.append(EchoPresence(availability, activity, set_at, ended_at))
    return tuple(echoes)


def _pending(value: Any) -> tuple[PendingCommand, ...]:
    commands: list[PendingCommand] = []
    for item in _json_list(value):
        if len(item) != 3:
            continue
        try:
            kind = PendingKind(item[0])
        except ValueError:
            continue
        idle_code_id = _text(item[1])
        sent_at = _moment(item[2])
        if sent_at is None or (kind is PendingKind.SET_IDLE and idle_code_id is None):
            continue
        commands.append(PendingCommand(kind=kind, idle_code_id=idle_code_id, sent_at=sent_at))
    return tuple(commands)


def _last_command(entity: Mapping[str, Any]) -> CommandRecord | None:
    kind = _text(entity.get(SYNC_LAST_COMMAND_KIND))
    at = _moment(entity.get(SYNC_LAST_COMMAND_AT))
    try:
        target = CommandTarget(str(entity.get(SYNC_LAST_COMMAND_TARGET)))
        outcome = CommandOutcome(str(entity.get(SYNC_LAST_COMMAND_OUTCOME)))
    except ValueError:
        return None
    if kind is None or at is None:
        return None
    status = _integer(entity.get(SYNC_LAST_COMMAND_STATUS))
    return CommandRecord(
        kind=kind,
        target=target,
        outcome=outcome,
        at=at,
        detail=_text(entity.get(SYNC_LAST_COMMAND_DETAIL)),
        error=_text(entity.get(SYNC_LAST_COMMAND_ERROR)),
        status=status if status is not None and status >= 0 else None,
    )


def _delay(entity: Mapping[str, Any], seconds_name: str, at_name: str) -> MeasuredDelay | None:
    seconds = entity.get(seconds_name)
    at = _moment(entity.get(at_name))
    if isinstance(seconds, bool) or not isinstance(seconds, int | float) or seconds < 0 or at is None:
        return None
    return MeasuredDelay(float(seconds), at)


def _json(items: list[list[Any]]) -> str:
    return json.dumps(items, separators=(",", ":")) if items else ""


def _json_list(value: Any) -> list[list[Any]]:
    if not isinstance(value, str) or not value:
        return []
    try:
        items = json.loads(value)
    except ValueError:
        return []
    return [item for item in items if isinstance(item, list)] if isinstance(items, list) else []


def _written(value: str | datetime | None) -> str | datetime:
    return "" if value is None else value


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _moment(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, str) and value:
        try:
            moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return None
    else:
        return None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _integer(value: Any) -> int | None:
    # The table client hands Int64 columns back as an (value, type) EntityProperty tuple.
    if isinstance(value, tuple) and value:
        value = value[0]
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value:
        try:
            return int(value)
        except ValueError:
            return None
    return None
