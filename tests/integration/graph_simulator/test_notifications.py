"""Rich presence notifications: delivered, decryptable, signed validation tokens, retries, lifecycle."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import jwt
import pytest

from devstack.graph_simulator import GraphSimulator, SimulatorClock
from tests.integration.graph_simulator.conftest import SeededTenant
from tests.integration.graph_simulator.helpers import (
    EncryptionCertificate,
    NotificationReceiver,
    Sim,
    expiry_in,
    http,
    make_certificate,
    reference_decrypt,
    wait_until,
)

pytestmark = pytest.mark.integration

CHANGE_TRACKING_APP = "0bf30f3b-4a52-48df-9a82-234910c4a086"


def _subscribe(
    sim: Sim,
    tenant: SeededTenant,
    receiver: NotificationReceiver,
    agents: list[str],
    cert: EncryptionCertificate,
) -> dict[str, Any]:
    creator = sim.add_user(tenant.tenant_id)["id"]
    token = sim.user_token(tenant.tenant_id, tenant.client_id, creator, ["Presence.Read.All"])
    body = {
        "changeType": "updated",
        "notificationUrl": f"{receiver.url}/notifications",
        "lifecycleNotificationUrl": f"{receiver.url}/lifecycle",
        "resource": "/communications/presences?$filter=id in (" + ",".join(f"'{a}'" for a in agents) + ")",
        "expirationDateTime": expiry_in(50),
        "clientState": "secret-state",
        "includeResourceData": True,
        "encryptionCertificate": cert.certificate_b64,
        "encryptionCertificateId": "cert-2024",
    }
    result = sim.graph("POST", "/subscriptions", token, body)
    assert result.status == 201, result.body
    created: dict[str, Any] = result.json()
    return created


def _set_own_state(sim: Sim, tenant_id: str, user_id: str, availability: str, activity: str) -> None:
    path = f"/tenants/{tenant_id}/users/{user_id}/presence"
    assert sim.control("POST", path, {"availability": availability, "activity": activity}).status == 202


def test_rich_notification_is_delivered_and_decrypts(
    simulator: GraphSimulator, sim: Sim, tenant: SeededTenant, receiver: NotificationReceiver
) -> None:
    # GIVEN a rich subscription over one agent
    cert = make_certificate()
    agent = sim.add_user(tenant.tenant_id)["id"]
    subscription = _subscribe(sim, tenant, receiver, [agent], cert)
    # WHEN the agent goes Busy in Teams
    _set_own_state(sim, tenant.tenant_id, agent, "Busy", "InAMeeting")
    # THEN one notification arrives with Graph's envelope and encrypted presence
    assert wait_until(lambda: len(receiver.notifications()) >= 1)
    item = receiver.notifications()[0]
    assert item["subscriptionId"] == subscription["id"]
    assert item["changeType"] == "updated"
    assert item["clientState"] == "secret-state"
    assert item["tenantId"] == tenant.tenant_id
    assert item["resource"] == f"communications/presences('{agent}')"
    assert item["resourceData"]["id"] == agent
    assert item["resourceData"]["@odata.type"] == "#Microsoft.Graph.presence"
    encrypted = item["encryptedContent"]
    assert encrypted["encryptionCertificateId"] == "cert-2024"
    presence = reference_decrypt(encrypted, cert.private_key)
    assert presence["@odata.type"] == "#Microsoft.Graph.presence"
    assert (presence["id"], presence["availability"], presence["activity"]) == (agent, "Busy", "InAMeeting")
    assert presence["statusMessage"] is None
    current = sim.control("GET", f"/tenants/{tenant.tenant_id}/users/{agent}").json()["presence"]
    assert presence["sequenceNumber"] == current["sequenceNumber"]


def test_tampered_content_fails_the_reference_check(
    sim: Sim, tenant: SeededTenant, receiver: NotificationReceiver
) -> None:
    cert = make_certificate()
    agent = sim.add_user(tenant.tenant_id)["id"]
    _subscribe(sim, tenant, receiver, [agent], cert)
    _set_own_state(sim, tenant.tenant_id, agent, "Away", "Away")
    assert wait_until(lambda: len(receiver.notifications()) >= 1)
    encrypted = dict(receiver.notifications()[0]["encryptedContent"])
    data = bytearray(encrypted["data"].encode())
    data[5] = ord("A") if data[5] != ord("A") else ord("B")
    encrypted["data"] = data.decode()
    with pytest.raises(ValueError, match="dataSignature"):
        reference_decrypt(encrypted, cert.private_key)


def test_validation_tokens_verify_against_the_served_jwks(
    simulator: GraphSimulator, sim: Sim, tenant: SeededTenant, receiver: NotificationReceiver
) -> None:
    cert = make_certificate()
    agent = sim.add_user(tenant.tenant_id)["id"]
    _subscribe(sim, tenant, receiver, [agent], cert)
    _set_own_state(sim, tenant.tenant_id, agent, "DoNotDisturb", "Presenting")
    assert wait_until(lambda: len(receiver.posts()) >= 1)
    tokens = receiver.posts()[0]["validationTokens"]
    assert len(tokens) == 1
    # WHEN a receiver verifies the token with the keys the simulator publishes
    jwks = http("GET", f"{simulator.base_url}/common/discovery/v2.0/keys").json()
    header = jwt.get_unverified_header(tokens[0])
    key = next(jwt.PyJWK(k) for k in jwks["keys"] if k["kid"] == header["kid"])
    claims = jwt.decode(
        tokens[0],
        key.key,
        algorithms=["RS256"],
        audience=tenant.client_id,
        issuer=f"https://login.microsoftonline.com/{tenant.tenant_id}/v2.0",
    )
    # THEN it names Graph change tracking as the caller
    assert claims["azp"] == CHANGE_TRACKING_APP
    assert claims["appid"] == CHANGE_TRACKING_APP
    assert claims["exp"] > claims["iat"]


def test_set_presence_by_an_app_notifies_too(
    sim: Sim, tenant: SeededTenant, receiver: NotificationReceiver
) -> None:
    cert = make_certificate()
    agent = sim.add_user(tenant.tenant_id)["id"]
    _subscribe(sim, tenant, receiver, [agent], cert)
    token = sim.app_token(tenant.tenant_id, tenant.client_id)
    body = {"sessionId": tenant.client_id, "availability": "Busy", "activity": "InACall"}
    assert sim.graph("POST", f"/users/{agent}/presence/setPresence", token, body).status == 200
    assert wait_until(lambda: len(receiver.notifications()) >= 1)
    presence = reference_decrypt(receiver.notifications()[0]["encryptedContent"], cert.private_key)
    assert (presence["availability"], presence["activity"]) == ("Busy", "InACall")


def test_failed_delivery_is_retried(
    simulator: GraphSimulator, sim: Sim, tenant: SeededTenant, receiver: NotificationReceiver
) -> None:
    # GIVEN a receiver that fails the first notification POST
    cert = make_certificate()
    agent = sim.add_user(tenant.tenant_id)["id"]
    _subscribe(sim, tenant, receiver, [agent], cert)
    receiver.behaviour.fail_notifications = 1
    # WHEN presence changes
    _set_own_state(sim, tenant.tenant_id, agent, "BeRightBack", "BeRightBack")
    # THEN the batch is delivered on a later attempt and the outcomes are recorded
    assert wait_until(lambda: len(receiver.notifications()) >= 1)
    assert receiver.failed_posts == 1
    assert simulator.wait_for_deliveries(15)
    records = [
        d for d in sim.control("GET", "/deliveries").json()["value"] if d["url"].startswith(receiver.url)
    ]
    outcomes = [(d["attempt"], d["status"]) for d in records if d["kind"] == "notification"]
    assert outcomes == [(1, 500), (2, 202)]


def test_changes_for_many_agents_all_arrive(
    simulator: GraphSimulator, sim: Sim, tenant: SeededTenant, receiver: NotificationReceiver
) -> None:
    cert = make_certificate()
    agents = [sim.add_user(tenant.tenant_id)["id"] for _ in range(20)]
    _subscribe(sim, tenant, receiver, agents, cert)
    for agent in agents:
        _set_own_state(sim, tenant.tenant_id, agent, "Busy", "InACall")
    assert wait_until(lambda: len(receiver.notifications()) >= 20)
    delivered = {
        reference_decrypt(i["encryptedContent"], cert.private_key)["id"] for i in receiver.notifications()
    }
    assert delivered == set(agents)
    # Every POST is a changeNotificationCollection carrying validation tokens.
    assert all("validationTokens" in post for post in receiver.posts())


def test_lifecycle_event_reaches_the_lifecycle_url(
    sim: Sim, tenant: SeededTenant, receiver: NotificationReceiver
) -> None:
    cert = make_certificate()
    agent = sim.add_user(tenant.tenant_id)["id"]
    subscription = _subscribe(sim, tenant, receiver, [agent], cert)
    result = sim.control(
        "POST",
        f"/subscriptions/{subscription['id']}/lifecycle",
        {"lifecycleEvent": "reauthorizationRequired"},
    )
    assert result.status == 202
    assert wait_until(lambda: len(receiver.notifications("/lifecycle")) >= 1)
    event = receiver.notifications("/lifecycle")[0]
    assert event["lifecycleEvent"] == "reauthorizationRequired"
    assert event["subscriptionId"] == subscription["id"]
    assert event["clientState"] == "secret-state"
    assert event["tenantId"] == tenant.tenant_id


def test_unchanged_presence_sends_nothing(
    simulator: GraphSimulator, sim: Sim, tenant: SeededTenant, receiver: NotificationReceiver
) -> None:
    cert = make_certificate()
    agent = sim.add_user(tenant.tenant_id, presence={"availability": "Available", "activity": "Available"})[
        "id"
    ]
    _subscribe(sim, tenant, receiver, [agent], cert)
    _set_own_state(sim, tenant.tenant_id, agent, "Available", "Available")
    _set_own_state(sim, tenant.tenant_id, agent, "Away", "Away")
    assert wait_until(lambda: len(receiver.notifications()) >= 1)
    assert simulator.wait_for_deliveries(15)
    states = [
        reference_decrypt(i["encryptedContent"], cert.private_key)["availability"]
        for i in receiver.notifications()
    ]
    assert states == ["Away"]


def test_other_tenants_changes_are_not_delivered(
    simulator: GraphSimulator, sim: Sim, tenant: SeededTenant, receiver: NotificationReceiver
) -> None:
    cert = make_certificate()
    agent = sim.add_user(tenant.tenant_id)["id"]
    _subscribe(sim, tenant, receiver, [agent], cert)
    other_tenant = str(uuid.uuid4())
    stranger = sim.add_user(other_tenant)
    _set_own_state(sim, other_tenant, stranger["id"], "Busy", "InACall")
    _set_own_state(sim, tenant.tenant_id, agent, "Away", "Away")
    assert wait_until(lambda: len(receiver.notifications()) >= 1)
    assert simulator.wait_for_deliveries(15)
    assert [i["resourceData"]["id"] for i in receiver.notifications()] == [agent]


def test_time_driven_changes_notify(receiver: NotificationReceiver) -> None:
    # GIVEN a simulator whose clock the test controls, and an app session that says Available
    clock = SimulatorClock()
    with GraphSimulator(clock=clock, tick_interval_seconds=0.05) as simulator:
        sim = Sim(simulator.base_url)
        tenant = SeededTenant(str(uuid.uuid4()), str(uuid.uuid4()), "unused")
        cert = make_certificate()
        agent = sim.add_user(tenant.tenant_id)["id"]
        _subscribe(sim, tenant, receiver, [agent], cert)
        token = sim.app_token(tenant.tenant_id, tenant.client_id)
        body = {
            "sessionId": tenant.client_id,
            "availability": "Available",
            "activity": "Available",
            "expirationDuration": "PT30M",
        }
        assert sim.graph("POST", f"/users/{agent}/presence/setPresence", token, body).status == 200
        assert wait_until(lambda: len(receiver.notifications()) >= 1)
        # WHEN the session is not kept alive for 6 minutes, and later expires
        clock.advance(timedelta(minutes=6))
        assert wait_until(lambda: len(receiver.notifications()) >= 2)
        clock.advance(timedelta(minutes=30))
        assert wait_until(lambda: len(receiver.notifications()) >= 3)
        assert simulator.wait_for_deliveries(15)
        # THEN each aggregated change was notified, in Graph's documented stages
        states = [
            (p["availability"], p["activity"])
            for p in (
                reference_decrypt(i["encryptedContent"], cert.private_key) for i in receiver.notifications()
            )
        ]
        assert states == [
            ("Available", "Available"),
            ("Available", "AvailableInactive"),
            ("Offline", "Offline"),
        ]
