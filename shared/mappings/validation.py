"""Client input turned into MappingRules, or InvalidMapping naming the offending rule and what is wrong.

Strict on purpose: an unknown field, a value in the wrong case or a pair setPresence would refuse is a
mistake the admin must see at PUT time, not a rule that silently never matches in production.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, Final

from shared.contact_center.model import AgentState
from shared.mappings.exceptions import InvalidMapping
from shared.mappings.model import (
    ACTIVITIES,
    ANY_ACTIVITY,
    ANY_AVAILABILITY,
    AVAILABILITIES,
    OUT_OF_OFFICE_ACTIVITY,
    SET_PRESENCE_PAIRS,
    UNMAPPABLE_AGENT_STATES,
    ContactCenterToTeamsRule,
    MappingRules,
    TeamsToContactCenterRule,
)

MAX_RULES: Final = 100
MAX_IDLE_CODE_ID_LENGTH: Final = 128
MAX_IDLE_CODE_NAME_LENGTH: Final = 256
_SHOWN_LENGTH: Final = 60

TEAMS_TO_CONTACT_CENTER: Final = "teamsToContactCenter"
CONTACT_CENTER_TO_TEAMS: Final = "contactCenterToTeams"

_BODY_FIELDS: Final = (TEAMS_TO_CONTACT_CENTER, CONTACT_CENTER_TO_TEAMS)
_TEAMS_RULE_FIELDS: Final = ("availability", "activity", "idleCodeId", "idleCodeName")
_CONTACT_CENTER_RULE_FIELDS: Final = ("agentState", "availability", "activity")

_MAPPABLE_STATES: Final = tuple(state.value for state in AgentState if state not in UNMAPPABLE_AGENT_STATES)
_UNMAPPABLE_REASONS: Final = {
    AgentState.AVAILABLE: "an available agent takes customer contacts, so the connector clears its Teams "
    "presence instead",
    AgentState.LOGGED_OUT: "when the agent logs out the connector clears its Teams presence instead",
}


def parse_mappings(body: Any) -> MappingRules:
    """The rules of a PUT body `{teamsToContactCenter: [...], contactCenterToTeams: [...]}`."""
    if not isinstance(body, Mapping):
        raise InvalidMapping(
            "the body must be a JSON object with teamsToContactCenter and contactCenterToTeams"
        )
    _reject_unknown(body, _BODY_FIELDS, "the body")
    return MappingRules(
        teams_to_contact_center=_teams_rules(_rule_list(body, TEAMS_TO_CONTACT_CENTER)),
        contact_center_to_teams=_contact_center_rules(_rule_list(body, CONTACT_CENTER_TO_TEAMS)),
    )


def _rule_list(body: Mapping[str, Any], name: str) -> list[Any]:
    if name not in body:
        raise InvalidMapping(f"{name} is required (an array of rules, possibly empty)")
    rules = body[name]
    if not isinstance(rules, list):
        raise InvalidMapping(f"{name} must be an array of rules")
    if len(rules) > MAX_RULES:
        raise InvalidMapping(f"{name} has {len(rules)} rules; at most {MAX_RULES} are allowed")
    return rules


def _teams_rules(raw_rules: list[Any]) -> tuple[TeamsToContactCenterRule, ...]:
    rules: list[TeamsToContactCenterRule] = []
    seen: dict[tuple[str, str], int] = {}
    for index, raw in enumerate(raw_rules):
        where = f"{TEAMS_TO_CONTACT_CENTER}[{index}]"
        rule_body = _rule_object(raw, where, _TEAMS_RULE_FIELDS)
        activity = _required_text(rule_body, "activity", where)
        if rule_body.get("availability") == ANY_AVAILABILITY and activity == OUT_OF_OFFICE_ACTIVITY:
            availability = ANY_AVAILABILITY
        elif rule_body.get("availability") == ANY_AVAILABILITY:
            raise InvalidMapping(
                f'{where}.availability "{ANY_AVAILABILITY}" is only for activity "{OUT_OF_OFFICE_ACTIVITY}" '
                "(out of office, whatever the availability)"
            )
        else:
            availability = _availability(rule_body, where)
        if activity != ANY_ACTIVITY and activity not in ACTIVITIES:
            raise InvalidMapping(
                f'{where}.activity must be "{ANY_ACTIVITY}" or one of Graph\'s activity values (exact case): '
                f"{', '.join(ACTIVITIES)}; got {_shown(activity)}"
            )
        key = (availability, activity)
        if key in seen:
            raise InvalidMapping(
                f"{where} repeats {availability}/{activity} of {TEAMS_TO_CONTACT_CENTER}[{seen[key]}]; "
                "each Teams presence may be mapped once"
            )
        seen[key] = index
        rules.append(
            TeamsToContactCenterRule(
                availability=availability,
                activity=activity,
                idle_code_id=_idle_code_id(rule_body, where),
                idle_code_name=_idle_code_name(rule_body, where),
            )
        )
    return tuple(rules)


def _contact_center_rules(raw_rules: list[Any]) -> tuple[ContactCenterToTeamsRule, ...]:
    rules: list[ContactCenterToTeamsRule] = []
    seen: dict[AgentState, int] = {}
    for index, raw in enumerate(raw_rules):
        where = f"{CONTACT_CENTER_TO_TEAMS}[{index}]"
        rule_body = _rule_object(raw, where, _CONTACT_CENTER_RULE_FIELDS)
        state = _agent_state(rule_body, where)
        if state in seen:
            raise InvalidMapping(
                f"{where} repeats agentState {state.value} of {CONTACT_CENTER_TO_TEAMS}[{seen[state]}]; "
                "each agent state may be mapped once"
            )
        seen[state] = index
        availability = _availability(rule_body, where)
        activity = _required_text(rule_body, "activity", where)
        if activity not in ACTIVITIES:
            raise InvalidMapping(
                f"{where}.activity must be one of Graph's activity values (exact case): "
                f"{', '.join(ACTIVITIES)}; got {_shown(activity)}"
            )
        if (availability, activity) not in SET_PRESENCE_PAIRS:
            allowed = ", ".join(f"{a}/{b}" for a, b in SET_PRESENCE_PAIRS)
            raise InvalidMapping(
                f"{where}: {availability}/{activity} is not a presence Graph's setPresence accepts; "
                f"use one of {allowed}"
            )
        rules.append(
            ContactCenterToTeamsRule(agent_state=state, availability=availability, activity=activity)
        )
    return tuple(rules)


def _rule_object(raw: Any, where: str, fields: tuple[str, ...]) -> Mapping[str, Any]:
    if not isinstance(raw, Mapping):
        raise InvalidMapping(f"{where} must be an object with {', '.join(fields)}")
    _reject_unknown(raw, fields, where)
    return raw


def _reject_unknown(body: Mapping[str, Any], allowed: tuple[str, ...], where: str) -> None:
    for name in body:
        if name not in allowed:
            raise InvalidMapping(
                f"{where} has an unknown field {_shown(name)}; the allowed fields are {', '.join(allowed)}"
            )


def _availability(body: Mapping[str, Any], where: str) -> str:
    availability = _required_text(body, "availability", where)
    if availability not in AVAILABILITIES:
        raise InvalidMapping(
            f"{where}.availability must be one of Graph's availability values (exact case): "
            f"{', '.join(AVAILABILITIES)}; got {_shown(availability)}"
        )
    return availability


def _agent_state(body: Mapping[str, Any], where: str) -> AgentState:
    raw = _required_text(body, "agentState", where)
    try:
        state = AgentState(raw)
    except ValueError:
        raise InvalidMapping(
            f"{where}.agentState must be one of {', '.join(_MAPPABLE_STATES)}; got {_shown(raw)}"
        ) from None
    if state in UNMAPPABLE_AGENT_STATES:
        raise InvalidMapping(
            f"{where}.agentState {state.value} cannot be mapped to a Teams presence: "
            f"{_UNMAPPABLE_REASONS[state]}; map one of {', '.join(_MAPPABLE_STATES)}"
        )
    return state


def _idle_code_id(body: Mapping[str, Any], where: str) -> str:
    value = _required_text(body, "idleCodeId", where)
    _check_printable(value, f"{where}.idleCodeId", MAX_IDLE_CODE_ID_LENGTH)
    return value


def _idle_code_name(body: Mapping[str, Any], where: str) -> str | None:
    value = body.get("idleCodeName")
    if value is None:
        return None
    if not isinstance(value, str):
        raise InvalidMapping(f"{where}.idleCodeName must be a string or null")
    _check_printable(value, f"{where}.idleCodeName", MAX_IDLE_CODE_NAME_LENGTH)
    return value


def _check_printable(value: str, what: str, max_length: int) -> None:
    if not 1 <= len(value) <= max_length or not value.isprintable():
        raise InvalidMapping(f"{what} must be 1 to {max_length} printable characters; got {_shown(value)}")
    if value != value.strip():
        raise InvalidMapping(f"{what} must not start or end with whitespace; got {_shown(value)}")


def _required_text(body: Mapping[str, Any], name: str, where: str) -> str:
    if name not in body or body[name] is None:
        raise InvalidMapping(f"{where}.{name} is required")
    value = body[name]
    if not isinstance(value, str):
        raise InvalidMapping(f"{where}.{name} must be a string; got {_shown(value)}")
    return value


def _shown(value: Any) -> str:
    """The value as JSON, cut short: enough to spot the mistake, never a wall of client text."""
    try:
        text = json.dumps(value, ensure_ascii=True)
    except (TypeError, ValueError):
        text = type(value).__name__
    return text if len(text) <= _SHOWN_LENGTH else text[: _SHOWN_LENGTH - 3] + "..."
