"""Validation of the mappings a client PUTs: what is accepted, and that every refusal names the offending
rule by its index and says what is wrong."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from shared.contact_center.model import AgentState
from shared.mappings.exceptions import InvalidMapping
from shared.mappings.model import (
    ACTIVITIES,
    AVAILABILITIES,
    ContactCenterToTeamsRule,
    TeamsToContactCenterRule,
)
from shared.mappings.validation import MAX_RULES, parse_mappings

VALID: dict[str, Any] = {
    "teamsToContactCenter": [
        {"availability": "DoNotDisturb", "activity": "*", "idleCodeId": "aux-1", "idleCodeName": "Focus"},
        {"availability": "Busy", "activity": "InACall", "idleCodeId": "aux-2", "idleCodeName": None},
        {"availability": "Busy", "activity": "Presenting", "idleCodeId": "aux-3"},
    ],
    "contactCenterToTeams": [
        {"agentState": "onCall", "availability": "Busy", "activity": "InACall"},
        {"agentState": "idle", "availability": "Away", "activity": "Away"},
    ],
}


def body_with(path: tuple[str | int, ...], value: Any) -> dict[str, Any]:
    """VALID with the value at `path` replaced (or removed when value is ...)."""
    body = copy.deepcopy(VALID)
    target: Any = body
    for key in path[:-1]:
        target = target[key]
    if value is ...:
        del target[path[-1]]
    else:
        target[path[-1]] = value
    return body


def refusal(body: Any) -> str:
    with pytest.raises(InvalidMapping) as caught:
        parse_mappings(body)
    assert caught.value.code == "invalidMapping"
    return caught.value.message


def test_a_valid_body_becomes_typed_rules_in_order() -> None:
    # GIVEN a body using an exact activity, a wildcard, a null and an absent idleCodeName
    # WHEN it is parsed
    rules = parse_mappings(VALID)
    # THEN every rule is kept, typed, in the order sent
    assert rules.teams_to_contact_center == (
        TeamsToContactCenterRule("DoNotDisturb", "*", "aux-1", "Focus"),
        TeamsToContactCenterRule("Busy", "InACall", "aux-2", None),
        TeamsToContactCenterRule("Busy", "Presenting", "aux-3", None),
    )
    assert rules.contact_center_to_teams == (
        ContactCenterToTeamsRule(AgentState.ON_CALL, "Busy", "InACall"),
        ContactCenterToTeamsRule(AgentState.IDLE, "Away", "Away"),
    )


def test_empty_rule_lists_are_allowed() -> None:
    rules = parse_mappings({"teamsToContactCenter": [], "contactCenterToTeams": []})
    assert rules.teams_to_contact_center == ()
    assert rules.contact_center_to_teams == ()


def test_exactly_the_maximum_number_of_rules_is_allowed() -> None:
    # GIVEN 100 distinct Teams rules (availability x activity pairs, wildcards included)
    activities = (*ACTIVITIES, "*")
    pairs = [(a, b) for a in AVAILABILITIES for b in activities][:MAX_RULES]
    assert len(set(pairs)) == MAX_RULES
    body = {
        "teamsToContactCenter": [
            {"availability": a, "activity": b, "idleCodeId": f"code-{i}"} for i, (a, b) in enumerate(pairs)
        ],
        "contactCenterToTeams": [],
    }
    # WHEN it is parsed THEN all of them are kept
    assert len(parse_mappings(body).teams_to_contact_center) == MAX_RULES


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ([1, 2], "the body must be a JSON object"),
        ({**VALID, "isDefault": False}, 'the body has an unknown field "isDefault"'),
        (body_with(("teamsToContactCenter",), ...), "teamsToContactCenter is required"),
        (body_with(("contactCenterToTeams",), ...), "contactCenterToTeams is required"),
        (body_with(("teamsToContactCenter",), {}), "teamsToContactCenter must be an array of rules"),
        (body_with(("contactCenterToTeams",), "onCall"), "contactCenterToTeams must be an array of rules"),
        (body_with(("teamsToContactCenter", 1), "Busy"), "teamsToContactCenter[1] must be an object"),
        (
            body_with(("teamsToContactCenter", 2, "idleCode"), "x"),
            'teamsToContactCenter[2] has an unknown field "idleCode"',
        ),
        (
            body_with(("contactCenterToTeams", 1, "expiration"), "PT1H"),
            'contactCenterToTeams[1] has an unknown field "expiration"',
        ),
        (
            body_with(("teamsToContactCenter", 0, "availability"), ...),
            "teamsToContactCenter[0].availability is required",
        ),
        (
            body_with(("teamsToContactCenter", 0, "activity"), None),
            "teamsToContactCenter[0].activity is required",
        ),
        (
            body_with(("teamsToContactCenter", 1, "idleCodeId"), ...),
            "teamsToContactCenter[1].idleCodeId is required",
        ),
        (
            body_with(("contactCenterToTeams", 0, "agentState"), ...),
            "contactCenterToTeams[0].agentState is required",
        ),
        (
            body_with(("teamsToContactCenter", 0, "availability"), 7),
            "teamsToContactCenter[0].availability must be a string; got 7",
        ),
        (
            body_with(("teamsToContactCenter", 1, "availability"), "busy"),
            "teamsToContactCenter[1].availability must be one of Graph's availability values (exact case)",
        ),
        (
            body_with(("teamsToContactCenter", 1, "activity"), "inACall"),
            'teamsToContactCenter[1].activity must be "*" or one of Graph\'s activity values (exact case)',
        ),
        (
            body_with(("teamsToContactCenter", 1, "availability"), "*"),
            'teamsToContactCenter[1].availability "*" is only for activity "OutOfOffice"',
        ),
        (
            body_with(("teamsToContactCenter", 2, "activity"), "InACall"),
            "teamsToContactCenter[2] repeats Busy/InACall of teamsToContactCenter[1]",
        ),
        (
            body_with(("teamsToContactCenter", 1, "idleCodeId"), ""),
            "teamsToContactCenter[1].idleCodeId must be 1 to 128 printable characters",
        ),
        (
            body_with(("teamsToContactCenter", 1, "idleCodeId"), "x" * 129),
            "teamsToContactCenter[1].idleCodeId must be 1 to 128 printable characters",
        ),
        (
            body_with(("teamsToContactCenter", 1, "idleCodeId"), "aux\n2"),
            "teamsToContactCenter[1].idleCodeId must be 1 to 128 printable characters",
        ),
        (
            body_with(("teamsToContactCenter", 1, "idleCodeId"), " aux-2"),
            "teamsToContactCenter[1].idleCodeId must not start or end with whitespace",
        ),
        (
            body_with(("teamsToContactCenter", 1, "idleCodeId"), 42),
            "teamsToContactCenter[1].idleCodeId must be a string",
        ),
        (
            body_with(("teamsToContactCenter", 0, "idleCodeName"), 3),
            "teamsToContactCenter[0].idleCodeName must be a string or null",
        ),
        (
            body_with(("teamsToContactCenter", 0, "idleCodeName"), "n" * 257),
            "teamsToContactCenter[0].idleCodeName must be 1 to 256 printable characters",
        ),
        (
            body_with(("contactCenterToTeams", 1, "agentState"), "busy"),
            "contactCenterToTeams[1].agentState must be one of idle, ringing, onCall, wrapUp",
        ),
        (
            body_with(("contactCenterToTeams", 1, "agentState"), "available"),
            "contactCenterToTeams[1].agentState available cannot be mapped to a Teams presence: an available "
            "agent takes customer contacts",
        ),
        (
            body_with(("contactCenterToTeams", 0, "agentState"), "loggedOut"),
            "contactCenterToTeams[0].agentState loggedOut cannot be mapped to a Teams presence: "
            "when the agent logs out",
        ),
        (
            body_with(("contactCenterToTeams", 1, "agentState"), "onCall"),
            "contactCenterToTeams[1] repeats agentState onCall of contactCenterToTeams[0]",
        ),
        (
            body_with(("contactCenterToTeams", 0, "activity"), "*"),
            "contactCenterToTeams[0].activity must be one of Graph's activity values (exact case)",
        ),
        (
            body_with(("contactCenterToTeams", 0, "availability"), "Offline"),
            "contactCenterToTeams[0]: Offline/InACall is not a presence Graph's setPresence accepts; "
            "use one of Available/Available, Busy/InACall, Busy/InAConferenceCall, Away/Away, "
            "DoNotDisturb/Presenting",
        ),
        (
            body_with(("contactCenterToTeams", 1, "activity"), "Busy"),
            "contactCenterToTeams[1]: Away/Busy is not a presence Graph's setPresence accepts",
        ),
        (
            body_with(("teamsToContactCenter",), [VALID["teamsToContactCenter"][0]] * (MAX_RULES + 1)),
            "teamsToContactCenter has 101 rules; at most 100 are allowed",
        ),
        (
            body_with(("contactCenterToTeams",), [VALID["contactCenterToTeams"][0]] * (MAX_RULES + 1)),
            "contactCenterToTeams has 101 rules; at most 100 are allowed",
        ),
    ],
)
def test_every_broken_rule_is_refused_with_its_index_and_the_reason(body: Any, expected: str) -> None:
    # GIVEN a body that breaks one rule WHEN it is parsed THEN the refusal names that rule and what is wrong
    assert refusal(body).startswith(expected)


def test_a_refusal_quotes_client_text_short_and_escaped() -> None:
    # GIVEN an availability that is long and full of control characters
    message = refusal(body_with(("teamsToContactCenter", 0, "availability"), "\x00" * 500))
    # THEN the message quotes a short, escaped excerpt of it
    assert "\x00" not in message
    assert message.endswith('..."') or message.endswith("...")
    assert len(message) < 400
