"""The connector API's request and response models (OpenAPI and validation; views.py builds the JSON).

The request models check the shape (types, unknown fields, lengths); commands.py then applies the rules
a schema cannot say (https only, secrets kept on round-trip, the destination rule).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import Field

from shared.connectors.commands import MAX_ID_LENGTH, MAX_SECRET_LENGTH, MAX_URL_LENGTH, REDACTED
from shared.connectors.exceptions import InvalidConnectorInput
from shared.http.contract import JsonBody
from shared.http.schemas import Guid, RequestModel, ResponseModel, optional

Url = Annotated[str, Field(min_length=1, max_length=MAX_URL_LENGTH, description="https (http on loopback)")]
Identifier = Annotated[str, Field(min_length=1, max_length=MAX_ID_LENGTH)]
Secret = Annotated[
    str | None,
    Field(
        max_length=MAX_SECRET_LENGTH,
        description=f'Write-only. Omit, null or "{REDACTED}" keeps the stored secret.',
    ),
]


class SettingsInput(RequestModel):
    show_user_details: bool = optional(description="Show agents' names and details to the contact center.")
    presence_sync: bool = optional(description="Sync presence both ways.")


class WebexContactCenterInput(RequestModel):
    """No credential: an admin signs in to Webex (POST .../contact-center/webex/authorize)."""

    type: Literal["webexcc"]
    base_url: Url = Field(
        description="A Webex Contact Center regional API host https://api.wxcc-<region>.cisco.com "
        "(host only), or loopback for a local simulator"
    )
    org_id: Guid = Field(description="The Webex organization id (Control Hub)")


class WebhookContactCenterInput(RequestModel):
    type: Literal["webhook"]
    url: Url
    secret: Secret = Field(default=None, description="Write-only, 16 to 1024 characters; omit to keep.")


ContactCenterInput = Annotated[
    WebexContactCenterInput | WebhookContactCenterInput, Field(discriminator="type")
]


class ConnectorCreate(RequestModel):
    settings: SettingsInput = optional()
    contact_center: ContactCenterInput | None = None


class ConnectorUpdate(RequestModel):
    """At least one of the two; contactCenter null removes the contact center."""

    settings: SettingsInput = optional()
    contact_center: ContactCenterInput | None = None


class EmptyBody(RequestModel):
    """No fields: send no body or {}."""


CREATE_BODY = JsonBody(ConnectorCreate, InvalidConnectorInput, required=False)
UPDATE_BODY = JsonBody(ConnectorUpdate, InvalidConnectorInput)
NO_BODY = JsonBody(EmptyBody, InvalidConnectorInput, required=False)


class SettingsView(ResponseModel):
    show_user_details: bool
    presence_sync: bool


class WebexContactCenterView(ResponseModel):
    type: Literal["webexcc"]
    base_url: str
    org_id: str


class WebhookContactCenterView(ResponseModel):
    type: Literal["webhook"]
    url: str
    secret: Literal["<redacted>"]


class ConsentErrorView(ResponseModel):
    error: str
    description: str
    at: datetime


class SyncAccountCountsView(ResponseModel):
    signed_in: int
    needed: int
    agents_per_account: int


class CountsView(ResponseModel):
    agents: int
    subscribed_agents: int
    subscriptions: int
    sync_accounts: SyncAccountCountsView
    missing: str | None


class ContactCenterCheckView(ResponseModel):
    reachable: bool
    accepted: bool
    status: int | None
    reason: str
    latency_ms: float | None
    at: datetime
    source: Literal["test", "sync"]


class ConnectorView(ResponseModel):
    tenant_id: Guid
    status: Literal["pendingConsent", "active", "inactive", "deleting"]
    settings: SettingsView
    contact_center: (
        Annotated[WebexContactCenterView | WebhookContactCenterView, Field(discriminator="type")] | None
    )
    created_at: datetime
    updated_at: datetime
    activated_at: datetime | None
    deactivated_at: datetime | None
    last_consent_error: ConsentErrorView | None = Field(
        default=None, description="Present after a refused consent, until consent is granted."
    )


class WebexSubscriptionView(ResponseModel):
    id: str
    created_at: datetime


class WebexAuthorizationView(ResponseModel):
    status: Literal["notAuthorized", "authorized", "reauthorizationRequired"]
    message: str | None = Field(default=None, description="What to do, while nobody signed in to Webex")
    org_id: str | None = None
    authorized_at: datetime | None = None
    authorized_by: str | None = Field(default=None, description="Entra object id of the admin who signed in")
    refresh_token_expires_at: datetime | None = None
    last_error: str | None = None
    last_error_at: datetime | None = None
    subscription: WebexSubscriptionView | None
    subscription_error: str | None = None


class ConnectorDetailsView(ConnectorView):
    counts: CountsView
    contact_center_health: ContactCenterCheckView | None
    webex: WebexAuthorizationView | None = Field(
        default=None,
        description="The Webex sign-in and subscription, when the contact center is Webex Contact Center",
    )


class ConnectorWithConsentView(ConnectorView):
    consent_url: str = Field(description="The admin consent link to open as a Global Administrator.")


class AuditEntryView(ResponseModel):
    action: str
    at: datetime
    outcome: Literal["succeeded", "failed"]
    actor: str | None
    actor_id: str | None
    detail: str | None


class AuditTrailView(ResponseModel):
    value: list[AuditEntryView]


class NextStepsView(ResponseModel):
    message: str
    commands: list[str]


class DeletionView(ResponseModel):
    deleted: Literal[True]
    tenant_id: Guid
    next_steps: NextStepsView


class ConsentCallbackQuery(RequestModel):
    """Microsoft's redirect after the admin consent prompt (each value cut to 4096 characters)."""

    state: str | None = None
    tenant: str | None = None
    admin_consent: str | None = Field(default=None, alias="admin_consent")
    error: str | None = None
    error_description: str | None = Field(default=None, alias="error_description")


class ConsentCompletedView(ResponseModel):
    tenant_id: Guid
    status: Literal["active"]
