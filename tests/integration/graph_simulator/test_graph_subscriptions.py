"""Presence subscriptions: delegated only, 650 ids, one per user per app, 45-60 minutes, handshake."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from devstack.graph_simulator import GraphSimulator, SimulatorClock
from tests.integration.graph_simulator.conftest import SeededTenant
from tests.integration.graph_simulator.helpers import NotificationReceiver, Sim, expiry_in, make_certificate

pytestmark = pytest.mark.integration


def _bulk_resource(ids: list[str]) -> str:
    return "/communications/presences?$filter=id in (" + ",".join(f"'{i}'" for i in ids) + ")"


def _body(receiver: NotificationReceiver, target: str, **overrides: Any) -> dict[str, Any]:
    return {
        "changeType": "updated",
        "notificationUrl": f"{receiver.url}/notifications",
        "lifecycleNotificationUrl": f"{receiver.url}/lifecycle",
        "resource": target,
        "expirationDateTime": expiry_in(55),
        "clientState": "state-1",
        **overrides,
    }


@pytest.fixture
def sync_token(sim: Sim, tenant: SeededTenant) -> str:
    """GIVEN a sync account signed in with Presence.Read.All (delegated)."""
    account = sim.add_user(tenant.tenant_id, displayName="Sync Account 1")
    return sim.user_token(tenant.tenant_id, tenant.client_id, account["id"], ["Presence.Read.All"])


def test_app_only_token_is_refused(sim: Sim, tenant: SeededTenant, receiver: NotificationReceiver) -> None:
    agent = sim.add_user(tenant.tenant_id)
    token = sim.app_token(tenant.tenant_id, tenant.client_id)
    result = sim.graph(
        "POST", "/subscriptions", token, _body(receiver, f"/communications/presences/{agent['id']}")
    )
    assert result.status == 403
    assert receiver.validations == []


def test_create_validates_both_urls_and_returns_graph_shape(
    sim: Sim, tenant: SeededTenant, sync_token: str, receiver: NotificationReceiver
) -> None:
    agents = [sim.add_user(tenant.tenant_id)["id"] for _ in range(3)]
    result = sim.graph("POST", "/subscriptions", sync_token, _body(receiver, _bulk_resource(agents)))
    assert result.status == 201, result.body
    created = result.json()
    assert created["changeType"] == "updated"
    assert created["applicationId"] == tenant.client_id
    assert created["clientState"] == "state-1"
    # Validation tokens contain spaces and colons and arrive URL-decoded at a correct receiver.
    assert len(receiver.validations) == 2
    assert all(" " in token for token in receiver.validations)
    held = sim.control("GET", f"/tenants/{tenant.tenant_id}/subscriptions").json()["value"]
    assert [(s["id"], sorted(s["userIds"])) for s in held] == [(created["id"], sorted(agents))]
    assert held[0]["creator"] == created["creatorId"]


def test_650_ids_are_accepted_and_651_refused(
    sim: Sim, tenant: SeededTenant, receiver: NotificationReceiver
) -> None:
    ids = [str(uuid.uuid4()) for _ in range(651)]
    first, second = sim.add_user(tenant.tenant_id), sim.add_user(tenant.tenant_id)
    token_1 = sim.user_token(tenant.tenant_id, tenant.client_id, first["id"], ["Presence.Read.All"])
    token_2 = sim.user_token(tenant.tenant_id, tenant.client_id, second["id"], ["Presence.Read.All"])
    refused = sim.graph("POST", "/subscriptions", token_1, _body(receiver, _bulk_resource(ids)))
    assert refused.status == 400
    accepted = sim.graph("POST", "/subscriptions", token_2, _body(receiver, _bulk_resource(ids[:650])))
    assert accepted.status == 201


def test_second_presence_subscription_by_same_user_and_app_conflicts(
    sim: Sim, tenant: SeededTenant, sync_token: str, receiver: NotificationReceiver
) -> None:
    agent_a, agent_b = sim.add_user(tenant.tenant_id)["id"], sim.add_user(tenant.tenant_id)["id"]
    assert (
        sim.graph("POST", "/subscriptions", sync_token, _body(receiver, _bulk_resource([agent_a]))).status
        == 201
    )
    duplicate = sim.graph("POST", "/subscriptions", sync_token, _body(receiver, _bulk_resource([agent_b])))
    assert duplicate.status == 409
    assert len(sim.control("GET", f"/tenants/{tenant.tenant_id}/subscriptions").json()["value"]) == 1


def test_expiration_is_capped_at_60_and_raised_to_45_minutes(
    sim: Sim, tenant: SeededTenant, receiver: NotificationReceiver
) -> None:
    agent = sim.add_user(tenant.tenant_id)["id"]
    creator = sim.add_user(tenant.tenant_id)["id"]
    token = sim.user_token(tenant.tenant_id, tenant.client_id, creator, ["Presence.Read.All"])
    resource = f"/communications/presences/{agent}"
    too_far = sim.graph(
        "POST", "/subscriptions", token, _body(receiver, resource, expirationDateTime=expiry_in(61))
    )
    assert too_far.status == 400
    assert "60 minutes" in too_far.json()["error"]["message"]
    before = datetime.now(UTC)
    short = sim.graph(
        "POST", "/subscriptions", token, _body(receiver, resource, expirationDateTime=expiry_in(10))
    )
    assert short.status == 201
    expiration = datetime.fromisoformat(short.json()["expirationDateTime"])
    assert expiration >= before + timedelta(minutes=45)
    assert expiration <= datetime.now(UTC) + timedelta(minutes=45)
    # PATCH follows the same limits
    sub_id = short.json()["id"]
    assert (
        sim.graph("PATCH", f"/subscriptions/{sub_id}", token, {"expirationDateTime": expiry_in(90)}).status
        == 400
    )
    renewed = sim.graph("PATCH", f"/subscriptions/{sub_id}", token, {"expirationDateTime": expiry_in(59)})
    assert renewed.status == 200
    assert datetime.fromisoformat(renewed.json()["expirationDateTime"]) > expiration
    assert sim.graph("PATCH", f"/subscriptions/{sub_id}", token, {"clientState": "x"}).status == 400


@pytest.mark.parametrize(
    "overrides",
    [
        {"changeType": "created,updated"},
        {"clientState": "x" * 129},
        {"notificationUrl": "http://example.com/notifications"},
        {"includeResourceData": True},
        {
            "includeResourceData": True,
            "encryptionCertificate": "bm90IGEgY2VydA==",
            "encryptionCertificateId": "c1",
        },
        {"resource": "/users/00000000-0000-0000-0000-000000000001/presence"},
        {"resource": "/communications/presences/not-a-guid"},
        {"expirationDateTime": None},
        {"unknownProperty": 1},
    ],
)
def test_invalid_subscriptions_are_refused(
    sim: Sim, tenant: SeededTenant, sync_token: str, receiver: NotificationReceiver, overrides: dict[str, Any]
) -> None:
    agent = sim.add_user(tenant.tenant_id)["id"]
    body = {
        k: v
        for k, v in _body(receiver, f"/communications/presences/{agent}", **overrides).items()
        if v is not None
    }
    result = sim.graph("POST", "/subscriptions", sync_token, body)
    assert result.status == 400, result.body
    assert sim.control("GET", f"/tenants/{tenant.tenant_id}/subscriptions").json()["value"] == []


def test_certificate_id_over_128_chars_is_refused(
    sim: Sim, tenant: SeededTenant, sync_token: str, receiver: NotificationReceiver
) -> None:
    agent = sim.add_user(tenant.tenant_id)["id"]
    cert = make_certificate()
    body = _body(
        receiver,
        f"/communications/presences/{agent}",
        includeResourceData=True,
        encryptionCertificate=cert.certificate_b64,
        encryptionCertificateId="i" * 129,
    )
    assert sim.graph("POST", "/subscriptions", sync_token, body).status == 400
    body["encryptionCertificateId"] = "i" * 128
    assert sim.graph("POST", "/subscriptions", sync_token, body).status == 201


@pytest.mark.parametrize("behaviour", ["wrong-body", "status-500"])
def test_handshake_failure_refuses_the_subscription(
    sim: Sim, tenant: SeededTenant, sync_token: str, receiver: NotificationReceiver, behaviour: str
) -> None:
    # GIVEN a receiver that does not echo the validation token correctly
    if behaviour == "wrong-body":
        receiver.behaviour.echo_validation = False
    else:
        receiver.behaviour.validation_status = 500
    agent = sim.add_user(tenant.tenant_id)["id"]
    # WHEN a subscription is created, THEN Graph's 400 ValidationError comes back and nothing is held
    result = sim.graph(
        "POST", "/subscriptions", sync_token, _body(receiver, f"/communications/presences/{agent}")
    )
    assert result.status == 400
    assert result.json()["error"]["code"] == "ValidationError"
    assert receiver.validations
    assert sim.control("GET", f"/tenants/{tenant.tenant_id}/subscriptions").json()["value"] == []


def test_get_list_reauthorize_delete(
    sim: Sim, tenant: SeededTenant, sync_token: str, receiver: NotificationReceiver
) -> None:
    agent = sim.add_user(tenant.tenant_id)["id"]
    created = sim.graph(
        "POST", "/subscriptions", sync_token, _body(receiver, f"/communications/presences/{agent}")
    )
    sub_id = created.json()["id"]
    assert sim.graph("GET", f"/subscriptions/{sub_id}", sync_token).json()["id"] == sub_id
    assert [s["id"] for s in sim.graph("GET", "/subscriptions", sync_token).json()["value"]] == [sub_id]
    assert sim.graph("POST", f"/subscriptions/{sub_id}/reauthorize", sync_token).status == 204
    app_token = sim.app_token(tenant.tenant_id, tenant.client_id)
    assert sim.graph("POST", f"/subscriptions/{sub_id}/reauthorize", app_token).status == 403
    assert sim.graph("DELETE", f"/subscriptions/{sub_id}", sync_token).status == 204
    assert sim.graph("GET", f"/subscriptions/{sub_id}", sync_token).status == 404
    # Deleting frees the slot: the same user may subscribe again
    again = sim.graph(
        "POST", "/subscriptions", sync_token, _body(receiver, f"/communications/presences/{agent}")
    )
    assert again.status == 201


def test_expired_subscriptions_disappear(receiver: NotificationReceiver) -> None:
    # GIVEN a simulator whose clock the test controls
    clock = SimulatorClock()
    with GraphSimulator(clock=clock, tick_interval_seconds=0.1) as simulator:
        sim = Sim(simulator.base_url)
        tenant_id, client_id = str(uuid.uuid4()), str(uuid.uuid4())
        agent = sim.add_user(tenant_id)["id"]
        creator = sim.add_user(tenant_id)["id"]
        token = sim.user_token(tenant_id, client_id, creator, ["Presence.Read.All"])
        created = sim.graph(
            "POST", "/subscriptions", token, _body(receiver, f"/communications/presences/{agent}")
        )
        assert created.status == 201
        # WHEN the subscription's expiry passes
        clock.advance(timedelta(minutes=61))
        # THEN Graph no longer has it (fresh token: the old one expired with the clock)
        fresh = sim.user_token(tenant_id, client_id, creator, ["Presence.Read.All"])
        assert sim.graph("GET", f"/subscriptions/{created.json()['id']}", fresh).status == 404
        assert sim.control("GET", f"/tenants/{tenant_id}/subscriptions").json()["value"] == []
        assert sim.graph("GET", "/subscriptions", token).status == 401
