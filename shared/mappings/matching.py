"""Which rule applies: pure lookups the sync rules call for every change (at most 100 rules each)."""

from __future__ import annotations

from shared.contact_center.model import AgentState
from shared.mappings.model import ContactCenterToTeamsRule, PresenceMappings, TeamsToContactCenterRule


def match_teams_rule(
    mappings: PresenceMappings, availability: str, activity: str
) -> TeamsToContactCenterRule | None:
    """The rule for this Teams presence: an exact activity beats the availability's "*" rule."""
    wildcard: TeamsToContactCenterRule | None = None
    for rule in mappings.teams_to_contact_center:
        if rule.availability != availability:
            continue
        if rule.activity == activity:
            return rule
        if rule.is_wildcard:
            wildcard = rule
    return wildcard


def match_contact_center_rule(
    mappings: PresenceMappings, state: AgentState
) -> ContactCenterToTeamsRule | None:
    for rule in mappings.contact_center_to_teams:
        if rule.agent_state == state:
            return rule
    return None
