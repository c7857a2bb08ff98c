"""What the simulated Webex Contact Center keeps: organisations, users, integrations, OAuth grants,
agents with their sessions and activities, auxiliary codes and subscriptions."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Final

# Roles of a Webex Contact Center user profile, as far as the simulated APIs look at them.
ROLE_ADMIN: Final = "admin"
ROLE_SUPERVISOR: Final = "supervisor"
ROLE_AGENT: Final = "agent"
ROLES: Final = frozenset({ROLE_ADMIN, ROLE_SUPERVISOR, ROLE_AGENT})

# Agent states in Webex's words (Get Agent Activities' currentState; the events use the same words).
AVAILABLE: Final = "available"
IDLE: Final = "idle"
RINGING: Final = "ringing"
CONNECTED: Final = "connected"
ENGAGED: Final = "engaged"
WRAPUP: Final = "wrapup"
AGENT_STATES: Final = (AVAILABLE, IDLE, RINGING, CONNECTED, ENGAGED, WRAPUP)
# States of a task (a call, a chat): the agent is busy on one channel, the others keep their state.
TASK_STATES: Final = frozenset({RINGING, CONNECTED, ENGAGED, WRAPUP})
CHANNEL_TYPES: Final = ("telephony", "chat", "email", "social")

IDLE_CODE: Final = "IDLE_CODE"
WRAP_UP_CODE: Final = "WRAP_UP_CODE"
# The auxCodeId Cisco's samples send with Available (the state has no idle code).
AVAILABLE_AUX_CODE: Final = "0"

SCOPES: Final = frozenset(
    {"cjp:config", "cjp:config_read", "cjp:config_write", "cjp:user", "spark:people_read", "spark:kms"}
)


def millis(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def new_id() -> str:
    return str(uuid.uuid4())


@dataclass
class Org:
    org_id: str
    name: str
    teams: dict[str, str] = field(default_factory=dict)


@dataclass
class WebexUser:
    user_id: str
    org_id: str
    email: str
    display_name: str
    roles: frozenset[str]
    # Teams a supervisor may act on; None: every team of the organisation.
    team_ids: frozenset[str] | None = None

    def supervises(self, team_id: str) -> bool:
        return ROLE_SUPERVISOR in self.roles and (self.team_ids is None or team_id in self.team_ids)

    def as_json(self) -> dict[str, Any]:
        return {
            "userId": self.user_id,
            "orgId": self.org_id,
            "email": self.email,
            "displayName": self.display_name,
            "roles": sorted(self.roles),
            "teamIds": None if self.team_ids is None else sorted(self.team_ids),
        }


@dataclass(frozen=True)
class Integration:
    client_id: str
    client_secret: str = field(repr=False)
    redirect_uris: tuple[str, ...]
    scopes: frozenset[str]

    def as_json(self) -> dict[str, Any]:
        return {
            "clientId": self.client_id,
            "redirectUris": list(self.redirect_uris),
            "scopes": sorted(self.scopes),
        }


@dataclass
class AuthCode:
    code: str
    client_id: str
    user_id: str
    redirect_uri: str
    scopes: frozenset[str]
    expires_at: datetime
    used: bool = False


@dataclass
class Grant:
    """What an authorization gives an integration for one user; refresh tokens rotate within it."""

    grant_id: str
    client_id: str
    user_id: str
    scopes: frozenset[str]
    refresh_token: str = field(repr=False)
    refresh_expires_at: datetime
    # Earlier refresh tokens of this grant: presenting one again is refused.
    spent_refresh_tokens: set[str] = field(default_factory=set, repr=False)
    revoked: bool = False


@dataclass(frozen=True)
class AccessToken:
    token: str = field(repr=False)
    grant_id: str
    client_id: str
    user_id: str
    org_id: str
    scopes: frozenset[str]
    expires_at: datetime


@dataclass
class AuxCode:
    code_id: str
    org_id: str
    name: str
    work_type_code: str
    active: bool = True
    default: bool = False
    description: str = ""
    created_ms: int = 0

    def as_dto(self) -> dict[str, Any]:
        """AuxiliaryCodeDTO."""
        return {
            "organizationId": self.org_id,
            "id": self.code_id,
            "version": 0,
            "name": self.name,
            "description": self.description,
            "defaultCode": self.default,
            "active": self.active,
            "isSystemCode": False,
            "workTypeId": str(uuid.uuid5(uuid.NAMESPACE_URL, f"{self.org_id}/{self.work_type_code}")),
            "workTypeCode": self.work_type_code,
            "burnoutInclusion": "INCLUDED" if self.work_type_code == IDLE_CODE else "NOT_APPLICABLE",
            "systemDefault": False,
            "createdTime": self.created_ms,
            "lastUpdatedTime": self.created_ms,
        }


@dataclass
class Activity:
    channel_type: str
    channel_id: str
    state: str
    idle_code_id: str
    idle_code_name: str
    reason: str
    start: datetime
    is_login: bool
    session_id: str = ""
    task_id: str = ""
    end: datetime | None = None


@dataclass
class AgentSession:
    session_id: str
    started: datetime
    state: str
    aux_code_id: str
    reason: str
    changed_at: datetime
    # The channel of the task the agent is on (None when not on a task).
    task_channel: str | None = None


@dataclass
class WebexAgent:
    agent_id: str
    org_id: str
    team_id: str
    name: str
    email: str
    channels: tuple[str, ...]
    session: AgentSession | None = None
    activities: list[Activity] = field(default_factory=list)
    # Activities open now, per channel type.
    open_activities: dict[str, Activity] = field(default_factory=dict)


@dataclass
class Subscription:
    sub_id: str
    org_id: str
    name: str
    description: str
    event_types: list[str]
    destination_url: str
    secret: str | None = field(repr=False)
    status: str
    created_ms: int
    created_by: str
    updated_ms: int
    updated_by: str

    def as_json(self) -> dict[str, Any]:
        """SubscriptionResponse (the secret is never shown)."""
        return {
            "id": self.sub_id,
            "name": self.name,
            "description": self.description,
            "eventTypes": list(self.event_types),
            "destinationUrl": self.destination_url,
            "createdTime": self.created_ms,
            "createdBy": self.created_by,
            "status": self.status,
            "lastUpdatedTime": self.updated_ms,
            "lastUpdatedBy": self.updated_by,
        }
