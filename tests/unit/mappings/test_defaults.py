"""The mappings a connector has until an admin stores its own."""

from __future__ import annotations

from shared.contact_center.model import AgentState
from shared.mappings.defaults import DEFAULT_MAPPINGS
from shared.mappings.matching import match_contact_center_rule
from shared.mappings.model import DEFAULT_ETAG
from shared.mappings.validation import parse_mappings
from shared.mappings.views import mappings_json, rules_json


def test_the_defaults_pass_the_validator_an_admin_faces() -> None:
    # GIVEN the defaults as GET shows them WHEN they are sent back as a PUT body
    body = rules_json(DEFAULT_MAPPINGS.rules)
    # THEN they validate and read back the same
    assert parse_mappings(body) == DEFAULT_MAPPINGS.rules


def test_the_defaults_say_they_are_defaults() -> None:
    assert DEFAULT_MAPPINGS.is_default
    assert DEFAULT_MAPPINGS.etag == DEFAULT_ETAG
    assert mappings_json(DEFAULT_MAPPINGS)["isDefault"] is True


def test_only_a_customer_call_shows_in_teams_by_default() -> None:
    # GIVEN the defaults THEN onCall shows as Busy / In a call, and ringing, wrapUp, idle show nothing
    rule = match_contact_center_rule(DEFAULT_MAPPINGS, AgentState.ON_CALL)
    assert rule is not None
    assert (rule.availability, rule.activity) == ("Busy", "InACall")
    for state in (AgentState.RINGING, AgentState.WRAP_UP, AgentState.IDLE):
        assert match_contact_center_rule(DEFAULT_MAPPINGS, state) is None


def test_the_default_idle_codes_are_placeholders_with_names() -> None:
    codes = {(rule.idle_code_id, rule.idle_code_name) for rule in DEFAULT_MAPPINGS.teams_to_contact_center}
    assert codes == {
        ("teams-dnd", "Teams: Do not disturb"),
        ("teams-call", "Teams: In a call"),
        ("teams-presenting", "Teams: Presenting"),
    }
