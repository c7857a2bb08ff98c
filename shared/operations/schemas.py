"""The sync health API's response models (OpenAPI; views.py builds the JSON they describe)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import Field

from shared.agents.schemas import AgentPath
from shared.http.schemas import Guid, ResponseModel

__all__ = ["AgentPath", "AgentSyncStatusView", "SyncHealthView"]


class TeamsSideView(ResponseModel):
    availability: str
    activity: str
    observed_at: datetime
    from_connector: bool = Field(description="Teams shows the connector's own presence session.")
    manual_override: bool = Field(description="The user picked a status by hand; it beats the connector's.")
    manual_override_since: datetime | None


class ContactCenterSideView(ResponseModel):
    state: str = Field(description="loggedOut, available, idle, ringing, onCall, wrapUp ...")
    idle_code_id: str | None
    idle_code_name: str | None
    observed_at: datetime


class LastCommandView(ResponseModel):
    kind: Literal["setIdle", "setAvailable", "setPresence", "clearPresence"]
    target: Literal["contactCenter", "teams"]
    detail: str | None = Field(description="The idle code id, or the Teams availability/activity.")
    outcome: Literal["accepted", "refused"]
    at: datetime
    status: int | None = Field(description="The other side's HTTP status when it refused.")
    error: str | None


class DelayView(ResponseModel):
    seconds: float
    at: datetime


class LastDelayView(ResponseModel):
    teams_to_contact_center: DelayView | None = Field(
        description="Teams change observed -> contact-center command accepted."
    )
    contact_center_to_teams: DelayView | None = Field(
        description="Contact-center change -> Teams presence accepted by Graph."
    )


class CoveringSubscriptionView(ResponseModel):
    id: str | None
    status: Literal["active", "failed", "pending"]
    expires_at: datetime | None
    sync_account_id: str
    sync_account_status: Literal["healthy", "reauthorizationRequired"] | None


class ProblemView(ResponseModel):
    code: str = Field(
        description="notSubscribed, syncAccountNeedsSignIn, manualTeamsStatus, contactCenterRefused, "
        "unknownIdleCode, teamsRefused, loggedOut, noTeamsPresence, connectorNotActive, presenceSyncOff, "
        "noContactCenter"
    )
    message: str


class AgentSyncStatusView(ResponseModel):
    tenant_id: Guid
    agent_id: str
    user_id: Guid
    in_sync: bool
    teams: TeamsSideView | None
    contact_center: ContactCenterSideView | None
    last_command: LastCommandView | None
    last_delay: LastDelayView
    subscription: CoveringSubscriptionView | None
    problems: list[ProblemView]
    at: datetime


class AgentCountsView(ResponseModel):
    total: int
    in_sync: int
    with_problem: dict[str, int] = Field(description="Agents with each problem code (every code listed).")


class SubscriptionCountsView(ResponseModel):
    active: int
    expiring_within15_minutes: int = Field(alias="expiringWithin15Minutes")
    failed: int
    pending: int


class SyncAccountCountsView(ResponseModel):
    healthy: int
    needing_sign_in: int


class ContactCenterAuthorizationView(ResponseModel):
    authorization: Literal["authorized", "refused", "unreachable", "unknown"]


class ChangeCountsView(ResponseModel):
    applied: int
    superseded: int
    dropped: dict[str, int] = Field(description="Changes not applied, by reason.")


class PercentilesView(ResponseModel):
    p50: float | None
    p99: float | None


class DelayPercentilesView(PercentilesView):
    samples: int
    teams_to_contact_center: PercentilesView
    contact_center_to_teams: PercentilesView


class LastHourView(ResponseModel):
    notifications_dropped: dict[str, int] = Field(
        description="Graph notifications dropped at intake, by reason."
    )
    changes: ChangeCountsView
    dead_lettered: int
    graph_throttled: int
    contact_center_refused: int
    sync_delay_seconds: DelayPercentilesView = Field(
        description="Bucket upper bounds (0.25, 0.5, 1, 2, 5, 10, 30, 60, 120, 300, 900 s): never optimistic."
    )


class SyncHealthView(ResponseModel):
    tenant_id: Guid
    at: datetime
    agents: AgentCountsView
    subscriptions: SubscriptionCountsView
    sync_accounts: SyncAccountCountsView
    contact_center: ContactCenterAuthorizationView
    last_hour: LastHourView
