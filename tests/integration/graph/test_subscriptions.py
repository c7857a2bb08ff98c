"""Presence subscriptions with a sync account's delegated token, against the Graph simulator."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from devstack.graph_simulator import GraphSimulator
from shared.errors import AppError
from shared.graph.exceptions import (
    GraphAuthenticationFailed,
    GraphBadRequest,
    GraphConflict,
    GraphForbidden,
    GraphNotFound,
)
from shared.graph.model import SubscriptionRequest
from shared.graph.msgraph_gateway import MsGraphGateway
from shared.graph.ports import DelegatedTokenProvider
from tests.integration.graph.conftest import Tenant
from tests.integration.graph.helpers import ValidationReceiver, control, encryption_certificate_b64

pytestmark = pytest.mark.integration


@dataclass(frozen=True)
class SyncAccount:
    user_id: str
    token_provider: DelegatedTokenProvider


def _add_user(simulator: GraphSimulator, tenant_id: str) -> str:
    body = {"userPrincipalName": f"u-{uuid.uuid4().hex[:10]}@contoso.example", "displayName": "User"}
    status, user = control(simulator.base_url, "POST", f"/tenants/{tenant_id}/users", body)
    assert status == 201, user
    return str(user["id"])


def _sync_account(simulator: GraphSimulator, tenant: Tenant) -> SyncAccount:
    user_id = _add_user(simulator, tenant.tenant_id)

    def token() -> str:
        return simulator.issue_delegated_token(
            tenant.tenant_id, user_id, tenant.client_id, {"Presence.Read.All"}
        )

    return SyncAccount(user_id, token)


@pytest.fixture
def sync_account(simulator: GraphSimulator, tenant: Tenant) -> SyncAccount:
    """GIVEN a signed-in sync account (delegated Presence.Read.All)."""
    return _sync_account(simulator, tenant)


@pytest.fixture
def agents(simulator: GraphSimulator, tenant: Tenant) -> list[str]:
    return [_add_user(simulator, tenant.tenant_id) for _ in range(3)]


def _request(receiver: ValidationReceiver, agents: list[str], minutes: int = 55) -> SubscriptionRequest:
    ids = ",".join(f"'{agent}'" for agent in agents)
    return SubscriptionRequest(
        resource=f"/communications/presences?$filter=id in ({ids})",
        notification_url=f"{receiver.url}/api/graph/notifications",
        lifecycle_notification_url=f"{receiver.url}/api/graph/lifecycle",
        expiration=datetime.now(UTC) + timedelta(minutes=minutes),
        client_state=f"state-{uuid.uuid4().hex}",
        include_resource_data=True,
        encryption_certificate=encryption_certificate_b64(),
        encryption_certificate_id="cert-2025",
    )


def _held_by_graph(simulator: GraphSimulator, tenant_id: str) -> dict[str, dict[str, Any]]:
    status, body = control(simulator.base_url, "GET", f"/tenants/{tenant_id}/subscriptions")
    assert status == 200
    return {sub["id"]: sub for sub in body["value"]}


def test_create_renew_reauthorize_delete(
    simulator: GraphSimulator,
    gateway: MsGraphGateway,
    tenant: Tenant,
    sync_account: SyncAccount,
    agents: list[str],
    receiver: ValidationReceiver,
) -> None:
    request = _request(receiver, agents)
    # WHEN the rich presence subscription is created with the sync account's token
    created = gateway.create_subscription(tenant.tenant_id, sync_account.token_provider, request)
    # THEN Graph validated both URLs and holds it as asked, created by the sync account
    assert receiver.handshakes() == 2
    held = _held_by_graph(simulator, tenant.tenant_id)[created.id]
    assert held["resource"] == request.resource
    assert held["clientState"] == request.client_state
    assert held["includeResourceData"] is True
    assert held["encryptionCertificateId"] == "cert-2025"
    assert held["encryptionCertificate"] == request.encryption_certificate
    assert held["lifecycleNotificationUrl"] == request.lifecycle_notification_url
    assert held["creator"] == sync_account.user_id
    assert sorted(held["userIds"]) == sorted(agents)
    assert created.resource == request.resource
    assert created.include_resource_data is True
    assert abs(created.expiration - request.expiration) < timedelta(seconds=1)

    # WHEN it is renewed, THEN Graph holds the new expiration
    later = datetime.now(UTC) + timedelta(minutes=59)
    renewed = gateway.renew_subscription(tenant.tenant_id, sync_account.token_provider, created.id, later)
    assert renewed.id == created.id
    assert abs(renewed.expiration - later) < timedelta(seconds=1)
    held_expiry = _held_by_graph(simulator, tenant.tenant_id)[created.id]["expirationDateTime"]
    assert abs(datetime.fromisoformat(str(held_expiry)) - later) < timedelta(seconds=1)

    # WHEN it is reauthorized, THEN Graph accepts (and validates the notification URL again)
    handshakes = receiver.handshakes()
    gateway.reauthorize_subscription(tenant.tenant_id, sync_account.token_provider, created.id)
    assert receiver.handshakes() > handshakes

    # WHEN it is deleted, THEN Graph no longer has it; deleting it again is not an error
    gateway.delete_subscription(tenant.tenant_id, sync_account.token_provider, created.id)
    assert created.id not in _held_by_graph(simulator, tenant.tenant_id)
    gateway.delete_subscription(tenant.tenant_id, sync_account.token_provider, created.id)
    # AND renewing what is gone says so
    with pytest.raises(GraphNotFound):
        gateway.renew_subscription(tenant.tenant_id, sync_account.token_provider, created.id, later)


def test_a_second_presence_subscription_by_the_same_account_conflicts(
    simulator: GraphSimulator,
    gateway: MsGraphGateway,
    tenant: Tenant,
    sync_account: SyncAccount,
    agents: list[str],
    receiver: ValidationReceiver,
) -> None:
    # GIVEN the sync account already has its one presence subscription
    first = gateway.create_subscription(
        tenant.tenant_id, sync_account.token_provider, _request(receiver, agents)
    )
    # WHEN it asks for another, THEN Graph's 409 is a GraphConflict and the first one stays
    with pytest.raises(GraphConflict) as raised:
        gateway.create_subscription(
            tenant.tenant_id, sync_account.token_provider, _request(receiver, agents[:1])
        )
    assert raised.value.status == 409
    assert list(_held_by_graph(simulator, tenant.tenant_id)) == [first.id]
    # AND another sync account can subscribe
    other = _sync_account(simulator, tenant)
    gateway.create_subscription(tenant.tenant_id, other.token_provider, _request(receiver, agents[:1]))
    assert len(_held_by_graph(simulator, tenant.tenant_id)) == 2


def test_expiration_beyond_sixty_minutes_is_a_bad_request(
    gateway: MsGraphGateway,
    tenant: Tenant,
    sync_account: SyncAccount,
    agents: list[str],
    receiver: ValidationReceiver,
) -> None:
    with pytest.raises(GraphBadRequest) as raised:
        gateway.create_subscription(
            tenant.tenant_id, sync_account.token_provider, _request(receiver, agents, minutes=90)
        )
    assert raised.value.status == 400
    assert raised.value.message


def test_an_app_only_token_cannot_subscribe_to_presence(
    simulator: GraphSimulator,
    gateway: MsGraphGateway,
    tenant: Tenant,
    agents: list[str],
    receiver: ValidationReceiver,
) -> None:
    # GIVEN a "token provider" that hands out the app's own token instead of a sync account's
    def app_token() -> str:
        return simulator.issue_app_token(tenant.tenant_id, tenant.client_id)

    # WHEN it is used to subscribe, THEN Graph refuses: presence subscriptions are delegated only
    with pytest.raises(GraphForbidden):
        gateway.create_subscription(tenant.tenant_id, app_token, _request(receiver, agents))


def test_token_provider_failures(
    gateway: MsGraphGateway, tenant: Tenant, agents: list[str], receiver: ValidationReceiver
) -> None:
    # GIVEN a provider that fails unexpectedly, THEN the call fails authentication
    def broken() -> str:
        raise OSError("token cache unreadable")

    with pytest.raises(GraphAuthenticationFailed):
        gateway.create_subscription(tenant.tenant_id, broken, _request(receiver, agents))

    # GIVEN a provider that raises one of the app's own errors, THEN that error reaches the caller as is
    class SyncAccountSignedOut(AppError):
        code = "syncAccountSignedOut"

    def signed_out() -> str:
        raise SyncAccountSignedOut("the sync account must sign in again")

    with pytest.raises(SyncAccountSignedOut):
        gateway.delete_subscription(tenant.tenant_id, signed_out, str(uuid.uuid4()))
