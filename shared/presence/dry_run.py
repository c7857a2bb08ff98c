"""The mapping dry-run: what the connector would do for one Teams presence and / or one agent state,
and why, decided by the engine's own pure rules (shared.presence.sync_rules). Nothing is sent.

The scenario is built from the request, then handed to the rules' entry points unchanged:
- `agentState` given: it is the contact-center event under test. `teamsPresence`, when given too, is
  what Teams already shows (so a Teams presence that waited for the agent to become available is
  applied, exactly as the engine applies it); `currentState` is the agent's state before the event.
- Only `teamsPresence` given: it is the Teams change under test, with the agent in `currentState`
  (absent: logged in and available).
- `currentState.setByConnector`: the agent's idle code was put there by the connector (from a Teams
  presence), so a change to an unmapped presence makes him available again.
What the scenario knows happened a while ago (SCENARIO_AGE): nothing the rules remember, such as a
command still waiting for its event, holds back the answer.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any, Final

from shared.contact_center.model import AgentState
from shared.graph.durations import iso8601_duration
from shared.graph.model import shown_activity
from shared.mappings.exceptions import InvalidSimulation
from shared.mappings.model import ACTIVITIES, AVAILABILITIES, PresenceMappings
from shared.presence.sync_rules import (
    ClearPresence,
    ContactCenterCommand,
    SetAvailable,
    SetIdle,
    SetPresence,
    TeamsCommand,
    on_agent_event,
    on_teams_presence,
)
from shared.presence.sync_state import AgentSyncState, ContactCenterView, TeamsView

SCENARIO_AGE: Final = timedelta(hours=1)
_FIELDS: Final = ("teamsPresence", "agentState", "currentState", "groupId", "mappings")
_TEAMS_FIELDS: Final = ("availability", "activity", "outOfOffice")
_STATE_FIELDS: Final = ("state", "idleCodeId", "idleCodeName")
_CURRENT_FIELDS: Final = (*_STATE_FIELDS, "setByConnector")
_MAX_TEXT: Final = 256


@dataclass(frozen=True)
class TeamsInput:
    availability: str
    activity: str


@dataclass(frozen=True)
class StateInput:
    state: AgentState
    idle_code_id: str | None = None
    idle_code_name: str | None = None
    set_by_connector: bool = False


@dataclass(frozen=True)
class DryRun:
    teams: TeamsInput | None
    agent_state: StateInput | None
    current_state: StateInput | None
    group_id: str | None
    # The raw `mappings` of the request (checked by the caller like a PUT body), or None.
    mappings: Any


@dataclass(frozen=True)
class DryRunResult:
    contact_center: ContactCenterCommand | None
    teams: TeamsCommand | None
    reason: str


# -- the rules, run --------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Change:
    availability: str
    activity: str
    sequence_number: str | None
    observed_at: datetime


@dataclass(frozen=True)
class _Event:
    state: AgentState
    idle_code_id: str | None
    idle_code_name: str | None
    occurred_at: datetime
    event_id: str
    sequence_number: int | None
    # The scenario's agent state is never one the contact center reports as the connector's change.
    by_connector: bool = False


def simulate(run: DryRun, mappings: PresenceMappings, now: datetime) -> DryRunResult:
    """What the engine decides for the scenario with `mappings` (pure: the rules' own entry points)."""
    before = now - SCENARIO_AGE
    state = AgentSyncState()
    current = run.current_state
    if current is None and run.agent_state is None:
        current = StateInput(AgentState.AVAILABLE)
    if current is not None:
        idle = current.idle_code_id if current.state is AgentState.IDLE else None
        view = ContactCenterView(
            state=current.state,
            idle_code_id=idle,
            idle_code_name=current.idle_code_name if idle else None,
            changed_at=before,
            sequence_number=None,
            event_id=None,
            recorded_at=before,
        )
        state = replace(state, contact_center=view)
        if current.set_by_connector and idle is not None:
            state = replace(state, idle_code_id=idle, idle_code_name=view.idle_code_name)
    if run.agent_state is not None:
        if run.teams is not None:
            teams = TeamsView(
                availability=run.teams.availability,
                activity=run.teams.activity,
                sequence_number=None,
                observed_at=before,
                recorded_at=before,
                confirmed_at=before,
            )
            state = replace(state, teams=teams)
        event = run.agent_state
        decision = on_agent_event(
            state,
            _Event(event.state, event.idle_code_id, event.idle_code_name, now, "dry-run", None),
            mappings,
            now,
        )
    else:
        assert run.teams is not None  # noqa: S101 - parse_dry_run requires one of the two
        decision = on_teams_presence(
            state, _Change(run.teams.availability, run.teams.activity, None, now), mappings, now
        )
    return DryRunResult(decision.contact_center, decision.teams, decision.reason)


# -- JSON in and out -------------------------------------------------------------------------------


def parse_dry_run(body: Mapping[str, Any] | None) -> DryRun:
    if body is None:
        raise InvalidSimulation("a JSON object body with teamsPresence and / or agentState is required")
    _reject_unknown(body, _FIELDS, "the body")
    teams = _teams(body.get("teamsPresence"))
    agent_state = _state(body.get("agentState"), "agentState", _STATE_FIELDS)
    current = _state(body.get("currentState"), "currentState", _CURRENT_FIELDS)
    if teams is None and agent_state is None:
        raise InvalidSimulation("send teamsPresence, agentState or both: the change to simulate")
    group_id = body.get("groupId")
    if group_id is not None and not isinstance(group_id, str):
        raise InvalidSimulation("groupId must be a string")
    if body.get("mappings") is not None and group_id is not None:
        raise InvalidSimulation("send groupId (its stored mappings) or mappings (unsaved ones), not both")
    return DryRun(teams, agent_state, current, group_id, body.get("mappings"))


def result_json(result: DryRunResult) -> dict[str, Any]:
    return {
        "contactCenterCommand": _contact_center_json(result.contact_center),
        "teamsCommand": _teams_json(result.teams),
        "reason": result.reason,
    }


def _contact_center_json(command: ContactCenterCommand | None) -> dict[str, Any] | None:
    if isinstance(command, SetIdle):
        return {
            "action": "setIdle",
            "idleCodeId": command.idle_code_id,
            "idleCodeName": command.idle_code_name,
        }
    if isinstance(command, SetAvailable):
        return {"action": "setAvailable"}
    return None


def _teams_json(command: TeamsCommand | None) -> dict[str, Any] | None:
    if isinstance(command, SetPresence):
        return {
            "action": "setPresence",
            "availability": command.availability,
            "activity": command.activity,
            "expirationDuration": iso8601_duration(command.expiration),
        }
    if isinstance(command, ClearPresence):
        return {"action": "clearPresence"}
    return None


def _teams(raw: Any) -> TeamsInput | None:
    if raw is None:
        return None
    if not isinstance(raw, Mapping):
        raise InvalidSimulation("teamsPresence must be an object {availability, activity}")
    _reject_unknown(raw, _TEAMS_FIELDS, "teamsPresence")
    availability, activity = raw.get("availability"), raw.get("activity")
    if availability not in AVAILABILITIES:
        raise InvalidSimulation(
            "teamsPresence.availability must be one of Graph's values (exact case): "
            + ", ".join(AVAILABILITIES)
        )
    if activity not in ACTIVITIES:
        raise InvalidSimulation(
            f"teamsPresence.activity must be one of Graph's values (exact case): {', '.join(ACTIVITIES)}"
        )
    out_of_office = raw.get("outOfOffice", False)
    if not isinstance(out_of_office, bool):
        raise InvalidSimulation("teamsPresence.outOfOffice must be true or false")
    # As the connector reads Graph's presence: out of office shows as the OutOfOffice activity.
    return TeamsInput(str(availability), shown_activity(str(activity), out_of_office))


def _state(raw: Any, name: str, fields: tuple[str, ...]) -> StateInput | None:
    if raw is None:
        return None
    if not isinstance(raw, Mapping):
        raise InvalidSimulation(f"{name} must be an object {{{', '.join(fields)}}}")
    _reject_unknown(raw, fields, name)
    try:
        state = AgentState(str(raw.get("state")))
    except ValueError:
        raise InvalidSimulation(
            f"{name}.state must be one of {', '.join(state.value for state in AgentState)}"
        ) from None
    idle_code_id = _text(raw.get("idleCodeId"), f"{name}.idleCodeId")
    idle_code_name = _text(raw.get("idleCodeName"), f"{name}.idleCodeName")
    if state is not AgentState.IDLE and (idle_code_id is not None or idle_code_name is not None):
        raise InvalidSimulation(f"{name}.idleCodeId and idleCodeName are only for the state idle")
    by_connector = raw.get("setByConnector", False)
    if not isinstance(by_connector, bool):
        raise InvalidSimulation(f"{name}.setByConnector must be true or false")
    if by_connector and idle_code_id is None:
        raise InvalidSimulation(f"{name}.setByConnector needs the idle code (state idle, idleCodeId)")
    return StateInput(state, idle_code_id, idle_code_name, by_connector)


def _text(raw: Any, name: str) -> str | None:
    if raw is None:
        return None
    if not isinstance(raw, str) or not 1 <= len(raw) <= _MAX_TEXT or not raw.isprintable():
        raise InvalidSimulation(f"{name} must be 1 to {_MAX_TEXT} printable characters")
    return raw


def _reject_unknown(body: Mapping[str, Any], allowed: tuple[str, ...], where: str) -> None:
    unknown = sorted(str(name) for name in body if name not in allowed)
    if unknown:
        raise InvalidSimulation(
            f"{where} has unknown field(s) {', '.join(unknown)[:200]}; allowed: {', '.join(allowed)}"
        )
