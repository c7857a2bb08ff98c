"""Fakes of the directory's ports: a Graph that counts its calls and pages like Graph does."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime

from shared.connectors.model import Connector, ConnectorSettings, ConnectorStatus, WebhookContactCenter
from shared.graph.exceptions import GraphBadRequest
from shared.graph.model import DirectoryUser, Presence, UserPage, UserPageRequest

TENANT = "72f988bf-86f1-41af-91ab-2d7cd011db47"
OTHER_TENANT = "0c1a3e5f-7b9d-4f21-8a63-5e7c9b1d2f40"
SECRET = "webhook-secret-0123456789"


def connector(
    status: ConnectorStatus = ConnectorStatus.ACTIVE, show_user_details: bool = True, tenant_id: str = TENANT
) -> Connector:
    at = datetime(2026, 11, 21, 9, 0, tzinfo=UTC)
    return Connector(
        tenant_id=tenant_id,
        status=status,
        settings=ConnectorSettings(show_user_details=show_user_details),
        contact_center=WebhookContactCenter("https://cc.example.com/hook", SECRET),
        created_at=at,
        updated_at=at,
    )


def user(number: int, **fields: object) -> DirectoryUser:
    base = DirectoryUser(
        id=f"00000000-0000-4000-8000-{number:012d}",
        display_name=f"User {number}",
        user_principal_name=f"user{number}@contoso.example",
        department="Support",
        job_title="Agent",
        business_phones=(f"+1 425 555 {number % 10000:04d}",),
        mail=f"user{number}@contoso.example",
    )
    return replace(base, **fields)  # type: ignore[arg-type]


@dataclass
class FakeDirectoryGraph:
    """Users in pages of `request.top`, the Graph $skiptoken being the offset; presence per user."""

    users: list[DirectoryUser] = field(default_factory=list)
    presences: dict[str, Presence] = field(default_factory=dict)
    user_requests: list[UserPageRequest] = field(default_factory=list)
    presence_requests: list[list[str]] = field(default_factory=list)
    expire_skip_tokens: bool = False

    def list_users_page(self, tenant_id: str, request: UserPageRequest) -> UserPage:
        self.user_requests.append(request)
        if request.skip_token is not None and self.expire_skip_tokens:
            raise GraphBadRequest(
                "The specified page token value has expired.",
                status=400,
                graph_code="Directory_ExpiredPageToken",
            )
        offset = int(request.skip_token or 0)
        page = self.users[offset : offset + request.top]
        more = offset + request.top < len(self.users)
        return UserPage(tuple(page), str(offset + request.top) if more else None)

    def get_presences(self, tenant_id: str, user_ids: Sequence[str]) -> list[Presence]:
        self.presence_requests.append(list(user_ids))
        return [self.presences[i] for i in user_ids if i in self.presences]

    @property
    def calls(self) -> int:
        return len(self.user_requests) + len(self.presence_requests)


@dataclass
class FakeConnectors:
    rows: dict[str, Connector] = field(default_factory=dict)

    def get(self, tenant_id: str) -> Connector | None:
        return self.rows.get(tenant_id)


@dataclass
class FakeServiceAccounts:
    ids: frozenset[str] = frozenset()

    def service_user_ids(self, tenant_id: str) -> frozenset[str]:
        return self.ids
