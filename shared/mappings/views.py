"""Mappings as the HTTP API shows them (the same shape a PUT takes, plus isDefault)."""

from __future__ import annotations

from typing import Any

from shared.mappings.model import MappingRules, PresenceMappings
from shared.mappings.validation import CONTACT_CENTER_TO_TEAMS, TEAMS_TO_CONTACT_CENTER


def rules_json(rules: MappingRules) -> dict[str, Any]:
    return {
        TEAMS_TO_CONTACT_CENTER: [
            {
                "availability": rule.availability,
                "activity": rule.activity,
                "idleCodeId": rule.idle_code_id,
                "idleCodeName": rule.idle_code_name,
            }
            for rule in rules.teams_to_contact_center
        ],
        CONTACT_CENTER_TO_TEAMS: [
            {
                "agentState": rule.agent_state.value,
                "availability": rule.availability,
                "activity": rule.activity,
            }
            for rule in rules.contact_center_to_teams
        ],
    }


def mappings_json(mappings: PresenceMappings) -> dict[str, Any]:
    return {**rules_json(mappings.rules), "isDefault": mappings.is_default}
