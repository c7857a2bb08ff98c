"""The mappings a connector has until an admin stores its own.

Teams -> contact center covers the three Teams states the market maps: Do not disturb, In a call / In a
conference call, Presenting. The idle code ids are placeholders: the admin replaces them with the ids of
the matching idle (aux) codes of the tenant's contact center.

Contact center -> Teams maps only onCall (a customer call shows as Busy / In a call):
- ringing is not mapped: an offer lasts seconds and an unanswered one (RONA) would cost a set and a clear
  of the Teams presence for a state that Teams clients, which poll, would rarely even show;
- wrapUp is not mapped: after-call work is not a call, and no presence setPresence accepts says "busy
  with a customer" honestly (Busy goes only with InACall / InAConferenceCall); the Teams presence is
  cleared when the call ends;
- idle is not mapped: an idle code the agent picked (lunch, training) says nothing Teams should show.
"""

from __future__ import annotations

from typing import Final

from shared.contact_center.model import AgentState
from shared.mappings.model import (
    ANY_ACTIVITY,
    DEFAULT_ETAG,
    ContactCenterToTeamsRule,
    MappingRules,
    PresenceMappings,
    TeamsToContactCenterRule,
)

DND_IDLE_CODE_ID: Final = "teams-dnd"
CALL_IDLE_CODE_ID: Final = "teams-call"
PRESENTING_IDLE_CODE_ID: Final = "teams-presenting"

_DND_NAME: Final = "Teams: Do not disturb"
_CALL_NAME: Final = "Teams: In a call"
_PRESENTING_NAME: Final = "Teams: Presenting"

DEFAULT_RULES: Final = MappingRules(
    teams_to_contact_center=(
        TeamsToContactCenterRule("DoNotDisturb", ANY_ACTIVITY, DND_IDLE_CODE_ID, _DND_NAME),
        TeamsToContactCenterRule("DoNotDisturb", "Presenting", PRESENTING_IDLE_CODE_ID, _PRESENTING_NAME),
        TeamsToContactCenterRule("Busy", "Presenting", PRESENTING_IDLE_CODE_ID, _PRESENTING_NAME),
        TeamsToContactCenterRule("Busy", "InACall", CALL_IDLE_CODE_ID, _CALL_NAME),
        TeamsToContactCenterRule("Busy", "InAConferenceCall", CALL_IDLE_CODE_ID, _CALL_NAME),
    ),
    contact_center_to_teams=(ContactCenterToTeamsRule(AgentState.ON_CALL, "Busy", "InACall"),),
)

DEFAULT_MAPPINGS: Final = PresenceMappings(rules=DEFAULT_RULES, is_default=True, etag=DEFAULT_ETAG)
