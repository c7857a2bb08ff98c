"""What the simulated tenants hold: directory objects, app registrations, grants, subscriptions."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from devstack.graph_simulator.presence_rules import PreferredState, SessionState

GRAPH_RESOURCE = "https://graph.microsoft.com"
GRAPH_APP_ID = "00000003-0000-0000-c000-000000000000"
# The application id of "Microsoft Graph Change Tracking", the azp/appid of validationTokens.
GRAPH_CHANGE_TRACKING_APP_ID = "0bf30f3b-4a52-48df-9a82-234910c4a086"

DEFAULT_APPLICATION_PERMISSIONS = frozenset({"User.Read.All", "Presence.Read.All", "Presence.ReadWrite.All"})
DEFAULT_DELEGATED_PERMISSIONS = frozenset(
    {"User.Read", "User.ReadBasic.All", "Presence.Read", "Presence.Read.All", "Presence.ReadWrite"}
)
OIDC_SCOPES = frozenset({"openid", "profile", "email", "offline_access"})


@dataclass
class Consent:
    client_id: str
    scope: str
    granted_at: datetime


@dataclass(frozen=True)
class ConsentFailure:
    error: str
    error_description: str


@dataclass
class Tenant:
    id: str
    display_name: str
    domains: list[str] = field(default_factory=list)
    consents: dict[str, Consent] = field(default_factory=dict)
    next_consent_failure: ConsentFailure | None = None


@dataclass
class User:
    id: str
    tenant_id: str
    user_principal_name: str
    display_name: str
    department: str | None = None
    job_title: str | None = None
    business_phones: list[str] = field(default_factory=list)
    mail: str | None = None
    given_name: str | None = None
    surname: str | None = None
    mobile_phone: str | None = None
    office_location: str | None = None
    preferred_language: str | None = None
    # A disabled account is still listed by Graph; the directory filters on accountEnabled.
    account_enabled: bool = True
    # The user's automatic replies (presence outOfOfficeSettings) and Teams status note.
    out_of_office: bool = False
    out_of_office_message: str | None = None
    status_message: str | None = None
    # When a status message set through setStatusMessage expires (None: it does not).
    status_message_expires_at: datetime | None = None
    preferred: PreferredState | None = None
    sessions: dict[str, SessionState] = field(default_factory=dict)
    availability: str = "Offline"
    activity: str = "Offline"
    sequence_number: str = ""
    # Directory role template ids (Global Administrator ...), put in `wids` of tokens for the app's API.
    directory_roles: tuple[str, ...] = ()
    # App roles of the connector's API assigned to the user (Connector.Admin), put in `roles`.
    app_roles: tuple[str, ...] = ()


@dataclass
class AppRegistration:
    client_id: str
    display_name: str
    secrets: frozenset[str] = frozenset()
    redirect_uris: tuple[str, ...] = ()
    application_permissions: frozenset[str] = DEFAULT_APPLICATION_PERMISSIONS
    delegated_permissions: frozenset[str] = DEFAULT_DELEGATED_PERMISSIONS


@dataclass
class AuthorizationCode:
    code: str
    client_id: str
    tenant_id: str
    user_id: str
    redirect_uri: str
    code_challenge: str
    scopes: tuple[str, ...]
    nonce: str | None
    expires_at: datetime


@dataclass
class RefreshGrant:
    token: str
    client_id: str
    tenant_id: str
    user_id: str
    scopes: tuple[str, ...]
    issued_at: datetime
    expires_at: datetime


@dataclass(frozen=True)
class Caller:
    """Who a verified Graph access token speaks for."""

    tenant_id: str
    app_id: str
    user_id: str | None
    scopes: frozenset[str]
    roles: frozenset[str]

    @property
    def is_app_only(self) -> bool:
        return self.user_id is None

    def has_any(self, delegated: set[str], application: set[str]) -> bool:
        if self.is_app_only:
            return bool(self.roles & application)
        return bool(self.scopes & delegated)


@dataclass
class Subscription:
    id: str
    tenant_id: str
    application_id: str
    creator_id: str
    resource: str
    user_ids: tuple[str, ...]
    change_type: str
    notification_url: str
    lifecycle_notification_url: str | None
    client_state: str | None
    expiration: datetime
    include_resource_data: bool
    encryption_certificate: str | None
    encryption_certificate_id: str | None
    latest_supported_tls_version: str
    notification_url_app_id: str | None
    notification_query_options: str | None
    created_at: datetime


@dataclass(frozen=True)
class RequestRecord:
    seq: int
    kind: str
    method: str
    path: str
    query: str
    tenant_id: str | None
    at: datetime
    status: int


@dataclass(frozen=True)
class DeliveryRecord:
    seq: int
    kind: str
    url: str
    subscription_ids: tuple[str, ...]
    notification_count: int
    attempt: int
    status: int | None
    error: str | None
    latency_ms: float
    at: datetime


@dataclass(frozen=True)
class PresenceChange:
    """An aggregated presence change, with the subscriptions that must hear about it."""

    tenant_id: str
    user_id: str
    availability: str
    activity: str
    sequence_number: str
    subscriptions: tuple[Subscription, ...]
    out_of_office: bool = False
    out_of_office_message: str | None = None
