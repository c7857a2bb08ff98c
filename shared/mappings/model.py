"""Presence mappings and the Graph presence vocabulary they are checked against. Pure data, no I/O."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from shared.contact_center.model import AgentState

# Graph's presence resource (v1.0): every value it documents for availability and activity, exact case.
AVAILABILITIES: Final = (
    "Available",
    "AvailableIdle",
    "Away",
    "BeRightBack",
    "Busy",
    "BusyIdle",
    "DoNotDisturb",
    "Offline",
    "PresenceUnknown",
)
ACTIVITIES: Final = (
    "Available",
    "Away",
    "BeRightBack",
    "Busy",
    "DoNotDisturb",
    "InACall",
    "InAConferenceCall",
    "Inactive",
    "InAMeeting",
    "Offline",
    "OffWork",
    "OutOfOffice",
    "PresenceUnknown",
    "Presenting",
    "UrgentInterruptionsOnly",
)
# The only availability/activity combinations setPresence accepts for an application session.
SET_PRESENCE_PAIRS: Final = (
    ("Available", "Available"),
    ("Busy", "InACall"),
    ("Busy", "InAConferenceCall"),
    ("Away", "Away"),
    ("DoNotDisturb", "Presenting"),
)

# In a teamsToContactCenter rule: any activity of that availability (an exact activity wins over it).
ANY_ACTIVITY: Final = "*"
# Teams shows a user whose automatic replies are on as OutOfOffice (outOfOfficeSettings.isOutOfOffice);
# a teamsToContactCenter rule {"availability": "*", "activity": "OutOfOffice"} maps him whatever his
# availability. "*" is an availability only in that rule.
OUT_OF_OFFICE_ACTIVITY: Final = "OutOfOffice"
ANY_AVAILABILITY: Final = "*"

# An available agent takes customer contacts and a logged-out agent is gone: in both cases the connector
# clears its Teams presence session, so neither state can be mapped to a Teams presence.
UNMAPPABLE_AGENT_STATES: Final = frozenset({AgentState.AVAILABLE, AgentState.LOGGED_OUT})


@dataclass(frozen=True)
class TeamsToContactCenterRule:
    """A Teams presence (activity may be ANY_ACTIVITY) that puts an available agent in an idle code."""

    availability: str
    activity: str
    idle_code_id: str
    idle_code_name: str | None = None

    @property
    def is_wildcard(self) -> bool:
        return self.activity == ANY_ACTIVITY


@dataclass(frozen=True)
class ContactCenterToTeamsRule:
    """A contact-center agent state shown in Teams as the connector's presence session."""

    agent_state: AgentState
    availability: str
    activity: str


@dataclass(frozen=True)
class MappingRules:
    teams_to_contact_center: tuple[TeamsToContactCenterRule, ...]
    contact_center_to_teams: tuple[ContactCenterToTeamsRule, ...]


@dataclass(frozen=True)
class PresenceMappings:
    """A tenant's mappings as the API shows them.

    `is_default`: no mappings were stored for the tenant, these are the built-in defaults.
    `etag`: the storage version, for If-Match; defaults carry DEFAULT_ETAG.
    """

    rules: MappingRules
    is_default: bool = False
    etag: str | None = None

    @property
    def teams_to_contact_center(self) -> tuple[TeamsToContactCenterRule, ...]:
        return self.rules.teams_to_contact_center

    @property
    def contact_center_to_teams(self) -> tuple[ContactCenterToTeamsRule, ...]:
        return self.rules.contact_center_to_teams


# The version of "no stored mappings": an If-Match with it means "only if nobody stored mappings yet".
DEFAULT_ETAG: Final = 'W/"defaults"'
