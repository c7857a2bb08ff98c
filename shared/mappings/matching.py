"""Which rule applies: pure lookups the sync rules call for every change (at most 100 rules each)."""

from __future__ import annotations

from shared.contact_center.model import AgentState
from shared.mappings.model import (
    ANY_AVAILABILITY,
    OUT_OF_OFFICE_ACTIVITY,
    ContactCenterToTeamsRule,
    PresenceMappings,
    TeamsToContactCenterRule,
)


def match_teams_rule(
    mappings: PresenceMappings, availability: str, activity: str
) -> TeamsToContactCenterRule | None:
    """The rule for this Teams presence: an exact activity beats an out-of-office rule of any
    availability ("*" / OutOfOffice), which beats the availability's "*" rule."""
    wildcard: TeamsToContactCenterRule | None = None
    out_of_office: TeamsToContactCenterRule | None = None
    for rule in mappings.teams_to_contact_center:
        if rule.availability == ANY_AVAILABILITY:
            if activity == OUT_OF_OFFICE_ACTIVITY and rule.activity == OUT_OF_OFFICE_ACTIVITY:
                out_of_office = rule
            continue
        if rule.availability != availability:
            continue
        if rule.activity == activity:
            return rule
        if rule.is_wildcard:
            wildcard = rule
    return out_of_office or wildcard


def match_contact_center_rule(
    mappings: PresenceMappings, state: AgentState
) -> ContactCenterToTeamsRule | None:
    for rule in mappings.contact_center_to_teams:
        if rule.agent_state == state:
            return rule
    return None
