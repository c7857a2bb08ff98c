"""Which rule applies to a Teams presence or an agent state."""

from __future__ import annotations

import pytest

from shared.contact_center.model import AgentState
from shared.mappings.defaults import DEFAULT_MAPPINGS
from shared.mappings.matching import match_contact_center_rule, match_teams_rule
from shared.mappings.model import (
    ContactCenterToTeamsRule,
    MappingRules,
    PresenceMappings,
    TeamsToContactCenterRule,
)

WILDCARD_FIRST = PresenceMappings(
    MappingRules(
        teams_to_contact_center=(
            TeamsToContactCenterRule("Busy", "*", "busy-any"),
            TeamsToContactCenterRule("Busy", "InACall", "busy-call"),
            TeamsToContactCenterRule("DoNotDisturb", "Presenting", "dnd-presenting"),
        ),
        contact_center_to_teams=(ContactCenterToTeamsRule(AgentState.WRAP_UP, "Busy", "InAConferenceCall"),),
    )
)


def test_an_exact_activity_beats_the_wildcard_whatever_the_order() -> None:
    # GIVEN a wildcard listed before the exact rule of the same availability
    # WHEN the exact presence is matched THEN the exact rule wins
    rule = match_teams_rule(WILDCARD_FIRST, "Busy", "InACall")
    assert rule is not None
    assert rule.idle_code_id == "busy-call"


def test_the_wildcard_catches_the_other_activities_of_its_availability() -> None:
    rule = match_teams_rule(WILDCARD_FIRST, "Busy", "InAMeeting")
    assert rule is not None
    assert rule.idle_code_id == "busy-any"


@pytest.mark.parametrize(
    ("availability", "activity"),
    [
        ("DoNotDisturb", "DoNotDisturb"),  # no wildcard for DoNotDisturb here
        ("Available", "Available"),
        ("busy", "InACall"),  # Graph's values are case-sensitive
        ("BusyIdle", "InACall"),
    ],
)
def test_a_presence_no_rule_covers_matches_nothing(availability: str, activity: str) -> None:
    assert match_teams_rule(WILDCARD_FIRST, availability, activity) is None


def test_default_teams_rules_map_the_three_market_states() -> None:
    # GIVEN the defaults WHEN the states the market maps are matched THEN each gets its placeholder code
    expected = {
        ("DoNotDisturb", "DoNotDisturb"): "teams-dnd",
        ("DoNotDisturb", "UrgentInterruptionsOnly"): "teams-dnd",
        ("DoNotDisturb", "Presenting"): "teams-presenting",
        ("Busy", "Presenting"): "teams-presenting",
        ("Busy", "InACall"): "teams-call",
        ("Busy", "InAConferenceCall"): "teams-call",
    }
    for (availability, activity), code in expected.items():
        rule = match_teams_rule(DEFAULT_MAPPINGS, availability, activity)
        assert rule is not None, (availability, activity)
        assert rule.idle_code_id == code
    assert match_teams_rule(DEFAULT_MAPPINGS, "Busy", "InAMeeting") is None
    assert match_teams_rule(DEFAULT_MAPPINGS, "Away", "Away") is None


def test_contact_center_rules_match_by_agent_state() -> None:
    rule = match_contact_center_rule(WILDCARD_FIRST, AgentState.WRAP_UP)
    assert rule == ContactCenterToTeamsRule(AgentState.WRAP_UP, "Busy", "InAConferenceCall")
    assert match_contact_center_rule(WILDCARD_FIRST, AgentState.ON_CALL) is None
