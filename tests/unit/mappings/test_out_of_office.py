"""Out of office: Graph's outOfOfficeSettings.isOutOfOffice (or the OutOfOffice activity) is a Teams
state a rule maps, whatever the availability; read the same way from notifications and presence reads."""

from __future__ import annotations

from typing import Any

import pytest

from shared.graph.model import shown_activity
from shared.mappings.exceptions import InvalidMapping
from shared.mappings.matching import match_teams_rule
from shared.mappings.model import MappingRules, PresenceMappings, TeamsToContactCenterRule
from shared.mappings.validation import parse_mappings
from shared.notifications.exceptions import MalformedNotificationError
from shared.notifications.model import parse_presence_payload
from shared.presence.dry_run import parse_dry_run, simulate
from tests.unit.presence.test_dry_run import NOW

OOO = {"availability": "*", "activity": "OutOfOffice", "idleCodeId": "ooo", "idleCodeName": "Out of office"}
DND_ANY = {"availability": "DoNotDisturb", "activity": "*", "idleCodeId": "dnd"}


def mappings(*teams: dict[str, Any]) -> PresenceMappings:
    return PresenceMappings(parse_mappings({"teamsToContactCenter": list(teams), "contactCenterToTeams": []}))


def test_an_out_of_office_rule_maps_every_availability() -> None:
    rules = mappings(OOO, DND_ANY)
    for availability in ("Available", "Busy", "Away", "Offline", "DoNotDisturb"):
        rule = match_teams_rule(rules, availability, "OutOfOffice")
        assert rule is not None
        assert rule.idle_code_id == "ooo"
    # AND the availability's own "*" rule still maps its other activities
    assert match_teams_rule(rules, "DoNotDisturb", "Presenting").idle_code_id == "dnd"  # type: ignore[union-attr]


def test_an_exact_out_of_office_rule_beats_the_any_availability_one() -> None:
    exact = {"availability": "Away", "activity": "OutOfOffice", "idleCodeId": "away-ooo"}
    rules = mappings(OOO, exact)
    assert match_teams_rule(rules, "Away", "OutOfOffice").idle_code_id == "away-ooo"  # type: ignore[union-attr]
    assert match_teams_rule(rules, "Busy", "OutOfOffice").idle_code_id == "ooo"  # type: ignore[union-attr]


def test_any_availability_is_only_for_out_of_office() -> None:
    with pytest.raises(InvalidMapping) as raised:
        mappings({"availability": "*", "activity": "Away", "idleCodeId": "x"})
    assert 'only for activity "OutOfOffice"' in raised.value.message
    assert mappings(OOO).teams_to_contact_center == (
        TeamsToContactCenterRule("*", "OutOfOffice", "ooo", "Out of office"),
    )
    assert MappingRules((), ()) == mappings().rules


def test_a_notification_reads_automatic_replies_as_out_of_office() -> None:
    document = {
        "id": "u1",
        "availability": "Available",
        "activity": "Available",
        "outOfOfficeSettings": {"message": "Back Monday", "isOutOfOffice": True},
    }
    presence = parse_presence_payload(document)
    assert presence.is_out_of_office
    assert shown_activity(presence.activity, presence.is_out_of_office) == "OutOfOffice"
    assert not parse_presence_payload({**document, "outOfOfficeSettings": None}).is_out_of_office
    assert not parse_presence_payload(
        {"id": "u1", "availability": "Busy", "activity": "Busy"}
    ).is_out_of_office


@pytest.mark.parametrize("settings", ["yes", {"isOutOfOffice": "true"}, [True]])
def test_malformed_out_of_office_settings_are_refused(settings: Any) -> None:
    with pytest.raises(MalformedNotificationError):
        parse_presence_payload(
            {"id": "u1", "availability": "Busy", "activity": "Busy", "outOfOfficeSettings": settings}
        )


def test_the_dry_run_maps_an_out_of_office_presence() -> None:
    body = {"teamsPresence": {"availability": "Available", "activity": "Available", "outOfOffice": True}}
    result = simulate(parse_dry_run(body), mappings(OOO), NOW)
    assert result.contact_center is not None
    assert result.contact_center.idle_code_id == "ooo"  # type: ignore[union-attr]
    with pytest.raises(Exception, match="outOfOffice must be true or false"):
        parse_dry_run(
            {"teamsPresence": {"availability": "Available", "activity": "Available", "outOfOffice": 1}}
        )
