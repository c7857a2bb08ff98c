"""The mapping dry-run: the rules' own single-step cases (tests/unit/presence/test_sync_rules.py),
asked through the dry-run, answer what the rules answer there; and its input is strict."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from shared.contact_center.model import AgentState
from shared.mappings.defaults import DEFAULT_MAPPINGS
from shared.mappings.exceptions import InvalidSimulation
from shared.mappings.model import PresenceMappings
from shared.presence.dry_run import parse_dry_run, result_json, simulate
from shared.presence.sync_rules import SESSION_DURATION, SetAvailable, SetIdle, SetPresence
from tests.unit.presence.test_sync_rules import LOOPY

NOW = datetime(2026, 11, 21, 9, 0, tzinfo=UTC)
DND = {"availability": "DoNotDisturb", "activity": "DoNotDisturb"}
PRESENTING = {"availability": "DoNotDisturb", "activity": "Presenting"}
IN_A_CALL = {"availability": "Busy", "activity": "InACall"}
AVAILABLE = {"availability": "Available", "activity": "Available"}


def run(body: dict[str, Any], mappings: PresenceMappings = DEFAULT_MAPPINGS) -> Any:
    return simulate(parse_dry_run(body), mappings, NOW)


def test_a_mapped_teams_state_puts_an_available_agent_in_its_idle_code() -> None:
    result = run({"teamsPresence": DND})
    assert result.contact_center == SetIdle("teams-dnd", "Teams: Do not disturb", AgentState.AVAILABLE, None)
    assert result.teams is None
    assert "maps to idle code teams-dnd" in result.reason


def test_an_exact_rule_beats_the_wildcard() -> None:
    result = run({"teamsPresence": PRESENTING})
    assert isinstance(result.contact_center, SetIdle)
    assert result.contact_center.idle_code_id == "teams-presenting"


@pytest.mark.parametrize("busy", ["ringing", "onCall", "wrapUp", "loggedOut"])
def test_no_idle_code_while_ringing_on_a_call_in_wrap_up_or_logged_out(busy: str) -> None:
    result = run({"teamsPresence": IN_A_CALL, "currentState": {"state": busy}})
    assert result.contact_center is None


def test_no_idle_code_over_an_idle_code_the_agent_picked() -> None:
    picked = {"state": "idle", "idleCodeId": "lunch"}
    assert run({"teamsPresence": DND, "currentState": picked}).contact_center is None
    assert run({"teamsPresence": AVAILABLE, "currentState": picked}).contact_center is None


def test_a_teams_state_that_began_during_a_customer_call_applies_when_the_agent_is_free() -> None:
    result = run(
        {
            "teamsPresence": PRESENTING,
            "currentState": {"state": "wrapUp"},
            "agentState": {"state": "available"},
        }
    )
    assert result.contact_center == SetIdle(
        "teams-presenting", "Teams: Presenting", AgentState.AVAILABLE, None
    )


def test_back_to_an_unmapped_teams_state_restores_only_the_connectors_idle() -> None:
    by_connector = {"state": "idle", "idleCodeId": "teams-dnd", "setByConnector": True}
    result = run({"teamsPresence": AVAILABLE, "currentState": by_connector})
    assert result.contact_center == SetAvailable(expected_idle_code_id="teams-dnd")
    # AND one the agent picked himself is left alone
    by_agent = {"state": "idle", "idleCodeId": "teams-dnd"}
    assert run({"teamsPresence": AVAILABLE, "currentState": by_agent}).contact_center is None


def test_a_change_between_mapped_teams_states_moves_the_connectors_idle_code() -> None:
    by_connector = {"state": "idle", "idleCodeId": "teams-dnd", "setByConnector": True}
    result = run({"teamsPresence": PRESENTING, "currentState": by_connector})
    assert result.contact_center == SetIdle(
        "teams-presenting", "Teams: Presenting", AgentState.IDLE, expected_idle_code_id="teams-dnd"
    )


def test_a_customer_call_shows_in_teams() -> None:
    result = run({"agentState": {"state": "onCall"}, "currentState": {"state": "available"}})
    assert result.teams == SetPresence("Busy", "InACall", SESSION_DURATION)
    assert result.contact_center is None
    assert result_json(result)["teamsCommand"] == {
        "action": "setPresence",
        "availability": "Busy",
        "activity": "InACall",
        "expirationDuration": "PT1H",
    }


def test_an_idle_code_the_agent_picked_shows_in_teams_when_mapped() -> None:
    result = run({"agentState": {"state": "idle", "idleCodeId": "lunch"}}, LOOPY)
    assert result.teams == SetPresence("Away", "Away", SESSION_DURATION)


def test_an_unmapped_state_sends_nothing_and_says_why() -> None:
    result = run({"teamsPresence": {"availability": "Busy", "activity": "InAMeeting"}})
    assert (result.contact_center, result.teams) == (None, None)
    assert result_json(result) == {
        "contactCenterCommand": None,
        "teamsCommand": None,
        "reason": "Teams shows Busy/InAMeeting",
    }


@pytest.mark.parametrize("rule", DEFAULT_MAPPINGS.teams_to_contact_center, ids=lambda rule: rule.idle_code_id)
def test_every_default_teams_rule_answers_its_idle_code(rule: Any) -> None:
    # A wildcard rule: an activity of its availability that no exact rule of the defaults names.
    activity = rule.availability if rule.is_wildcard else rule.activity
    result = run({"teamsPresence": {"availability": rule.availability, "activity": activity}})
    assert isinstance(result.contact_center, SetIdle)
    assert result.contact_center.idle_code_id == rule.idle_code_id


@pytest.mark.parametrize("rule", DEFAULT_MAPPINGS.contact_center_to_teams, ids=lambda rule: rule.agent_state)
def test_every_default_contact_center_rule_answers_its_presence(rule: Any) -> None:
    result = run({"agentState": {"state": rule.agent_state.value}})
    assert result.teams == SetPresence(rule.availability, rule.activity, SESSION_DURATION)


def test_the_dry_run_is_pure_the_same_request_answers_the_same() -> None:
    body = {"teamsPresence": DND, "agentState": {"state": "available"}}
    first = simulate(parse_dry_run(body), DEFAULT_MAPPINGS, NOW)
    later = simulate(parse_dry_run(body), DEFAULT_MAPPINGS, NOW + timedelta(days=3))
    assert (first.contact_center, first.teams) == (later.contact_center, later.teams)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({}, "send teamsPresence, agentState or both"),
        ({"teamsPresence": DND, "extra": 1}, "unknown field(s) extra"),
        ({"teamsPresence": {"availability": "available", "activity": "Available"}}, "exact case"),
        ({"teamsPresence": {"availability": "Available", "activity": "Lunch"}}, "teamsPresence.activity"),
        ({"teamsPresence": {"availability": "Available"}}, "teamsPresence.activity"),
        ({"teamsPresence": "DoNotDisturb"}, "must be an object"),
        ({"agentState": {"state": "Idle"}}, "agentState.state must be one of"),
        ({"agentState": {"state": "onCall", "idleCodeId": "x"}}, "only for the state idle"),
        ({"agentState": {"state": "idle", "idleCodeId": ""}}, "agentState.idleCodeId"),
        ({"agentState": {"state": "idle", "setByConnector": True}}, "unknown field(s) setByConnector"),
        ({"teamsPresence": DND, "currentState": {"state": "idle", "setByConnector": True}}, "needs the idle"),
        ({"teamsPresence": DND, "currentState": {"state": "idle", "setByConnector": "yes"}}, "true or false"),
        ({"teamsPresence": DND, "groupId": 7}, "groupId must be a string"),
        ({"teamsPresence": DND, "groupId": "g", "mappings": {}}, "not both"),
    ],
)
def test_bad_requests_are_refused_with_the_field_named(body: dict[str, Any], message: str) -> None:
    with pytest.raises(InvalidSimulation) as raised:
        parse_dry_run(body)
    assert message in raised.value.message


def test_no_body_is_refused() -> None:
    with pytest.raises(InvalidSimulation):
        parse_dry_run(None)
