"""Issue #3 end to end on the local stack: agents and a sync account -> a rich presence subscription
in (simulated) Graph -> a Teams presence change -> notification intake -> the queue -> the Service
Bus-triggered function, in order, per session."""

from __future__ import annotations

from typing import Any

import pytest

from tests.e2e.conftest import HostClient, RunningHost
from tests.e2e.stack import (
    ControlApi,
    activate_connector,
    add_user,
    deliveries,
    graph_simulator,
    sign_in_sync_account,
    wait_for,
)

pytestmark = pytest.mark.e2e


@pytest.fixture
def graph(local_host: RunningHost) -> ControlApi:
    return graph_simulator(local_host)


def subscriptions_of(graph: ControlApi, tenant_id: str) -> list[dict[str, Any]]:
    return list(graph.ok("GET", f"/_sim/tenants/{tenant_id}/subscriptions")["value"])


def completed_presence(host: HostClient, session_id: str, availability: str) -> dict[str, Any] | None:
    for delivery in deliveries(host, session_id):
        body = delivery["body"]
        if delivery["outcome"] == "completed" and body.get("availability") == availability:
            return dict(delivery)
    return None


def test_a_teams_presence_change_reaches_the_queue_function(
    host: HostClient, graph: ControlApi, tenant_id: str
) -> None:
    # GIVEN an active connector, two agents (one by UPN, one by object id) and a signed-in sync account
    activate_connector(host, tenant_id)
    ann = add_user(graph, tenant_id, f"ann@{tenant_id[:8]}.example", "Ann Agent")
    bob = add_user(graph, tenant_id, f"bob@{tenant_id[:8]}.example", "Bob Agent")
    sync_upn = f"presence-sync@{tenant_id[:8]}.example"
    add_user(graph, tenant_id, sync_upn, "Presence Sync")
    put_ann = host.call(
        "PUT",
        f"/api/tenants/{tenant_id}/agents/agent-ann",
        {"userPrincipalName": f"ann@{tenant_id[:8]}.example"},
    )
    assert put_ann.status == 201, put_ann.body
    assert host.call("PUT", f"/api/tenants/{tenant_id}/agents/agent-bob", {"userId": bob}).status == 201
    account = sign_in_sync_account(host, tenant_id, sync_upn)
    assert account["userPrincipalName"] == sync_upn

    # THEN Graph holds one rich presence subscription for both agents, made with the sync account
    subscription = wait_for("the presence subscription", lambda: subscriptions_of(graph, tenant_id))[0]
    assert sorted(subscription["userIds"]) == sorted([ann, bob])
    assert subscription["resource"].startswith("/communications/presences?$filter=id in (")
    assert subscription["includeResourceData"] is True
    assert subscription["encryptionCertificateId"].startswith("notification-")
    assert subscription["notificationUrl"] == host.base_url + "/api/graph/notifications"
    assert subscription["lifecycleNotificationUrl"] == host.base_url + "/api/graph/lifecycle"
    assert 0 < len(subscription["clientState"]) <= 128

    # WHEN Ann sets Do not disturb in Teams
    graph.ok(
        "POST",
        f"/_sim/tenants/{tenant_id}/users/{ann}/presence",
        {"availability": "DoNotDisturb", "activity": "Presenting"},
    )

    # THEN the Service Bus function received the change, in Ann's session, with the versioned body
    session = f"{tenant_id}:{ann}"
    delivery = wait_for(
        "the presence change on the queue", lambda: completed_presence(host, session, "DoNotDisturb")
    )
    body = delivery["body"]
    assert delivery["sessionId"] == session
    assert body["schema"] == "presenceChange"
    assert body["version"] == 1
    assert body["tenantId"] == tenant_id
    assert body["userId"] == ann
    assert body["activity"] == "Presenting"
    assert body["subscriptionId"] == subscription["id"]
    assert body["sequenceNumber"]
    assert body["observedAt"].endswith("Z")

    # AND the agents list shows it, with both agents subscribed
    listed = {a["agentId"]: a for a in host.call("GET", f"/api/tenants/{tenant_id}/agents").json()["agents"]}
    assert listed["agent-ann"]["subscribed"]
    assert listed["agent-bob"]["subscribed"]
    assert listed["agent-ann"]["lastPresence"]["availability"] == "DoNotDisturb"

    # AND the connector details count what it looks after
    counts = host.call("GET", f"/api/tenants/{tenant_id}/connector").json()["counts"]
    assert counts["agents"] == 2
    assert counts["subscribedAgents"] == 2
    assert counts["subscriptions"] == 1
    assert counts["syncAccounts"]["signedIn"] == 1
    assert counts["missing"] is None


def test_an_agent_added_later_is_subscribed_and_its_presence_read_at_once(
    host: HostClient, graph: ControlApi, tenant_id: str
) -> None:
    # GIVEN an active connector with a sync account and one subscribed agent
    activate_connector(host, tenant_id)
    ann = add_user(graph, tenant_id, f"ann@{tenant_id[:8]}.example", "Ann")
    sync_upn = f"sync@{tenant_id[:8]}.example"
    add_user(graph, tenant_id, sync_upn, "Sync")
    host.call("PUT", f"/api/tenants/{tenant_id}/agents/a1", {"userId": ann})
    sign_in_sync_account(host, tenant_id, sync_upn)
    first = wait_for("the first subscription", lambda: subscriptions_of(graph, tenant_id))[0]

    # WHEN an agent who is already busy in Teams is added
    carl = add_user(
        graph,
        tenant_id,
        f"carl@{tenant_id[:8]}.example",
        "Carl",
        presence={"availability": "Busy", "activity": "InACall"},
    )
    assert host.call("PUT", f"/api/tenants/{tenant_id}/agents/a2", {"userId": carl}).status == 201

    # THEN the shard's subscription was replaced by one covering both
    def replaced() -> list[dict[str, Any]] | None:
        current = subscriptions_of(graph, tenant_id)
        return current if current and current[0]["id"] != first["id"] else None

    (second,) = wait_for("the replaced subscription", replaced)
    assert sorted(second["userIds"]) == sorted([ann, carl])
    # AND Carl's current presence was read (the gap between the two subscriptions is closed)
    wait_for("Carl's presence on the queue", lambda: completed_presence(host, f"{tenant_id}:{carl}", "Busy"))


def test_deactivate_removes_the_subscriptions_and_reactivate_brings_them_back(
    host: HostClient, graph: ControlApi, tenant_id: str
) -> None:
    # GIVEN a subscribed tenant
    activate_connector(host, tenant_id)
    ann = add_user(graph, tenant_id, f"ann@{tenant_id[:8]}.example", "Ann")
    sync_upn = f"sync@{tenant_id[:8]}.example"
    add_user(graph, tenant_id, sync_upn, "Sync")
    host.call("PUT", f"/api/tenants/{tenant_id}/agents/a1", {"userId": ann})
    sign_in_sync_account(host, tenant_id, sync_upn)
    wait_for("the subscription", lambda: subscriptions_of(graph, tenant_id))

    # WHEN the connector is deactivated THEN Graph no longer holds a subscription
    assert host.call("POST", f"/api/tenants/{tenant_id}/connector/deactivate").status == 200
    assert subscriptions_of(graph, tenant_id) == []

    # WHEN it is reactivated THEN the subscription is back
    assert host.call("POST", f"/api/tenants/{tenant_id}/connector/reactivate").status == 200
    assert wait_for("the new subscription", lambda: subscriptions_of(graph, tenant_id))


def test_a_reauthorization_request_is_answered_and_a_forged_notification_is_dropped(
    host: HostClient, graph: ControlApi, tenant_id: str
) -> None:
    # GIVEN a subscribed tenant
    activate_connector(host, tenant_id)
    ann = add_user(graph, tenant_id, f"ann@{tenant_id[:8]}.example", "Ann")
    sync_upn = f"sync@{tenant_id[:8]}.example"
    add_user(graph, tenant_id, sync_upn, "Sync")
    host.call("PUT", f"/api/tenants/{tenant_id}/agents/a1", {"userId": ann})
    sign_in_sync_account(host, tenant_id, sync_upn)
    (subscription,) = wait_for("the subscription", lambda: subscriptions_of(graph, tenant_id))
    graph.call("DELETE", "/_sim/requests")

    # WHEN Graph asks for reauthorization
    graph.ok("POST", f"/_sim/subscriptions/{subscription['id']}/lifecycle", {})

    # THEN the connector reauthorizes (or renews) that subscription with the sync account's token
    def answered() -> bool:
        requests = graph.ok("GET", "/_sim/requests")["value"]
        return any(
            r["path"].endswith(f"/subscriptions/{subscription['id']}/reauthorize")
            or (r["method"] == "PATCH" and r["path"].endswith(f"/subscriptions/{subscription['id']}"))
            for r in requests
        )

    wait_for("the reauthorization", answered)

    # WHEN someone posts a notification with a forged clientState
    forged = {
        "value": [
            {
                "subscriptionId": subscription["id"],
                "clientState": "forged",
                "changeType": "updated",
                "resource": f"communications/presences('{ann}')",
                "tenantId": tenant_id,
                "subscriptionExpirationDateTime": "2030-01-01T00:00:00Z",
                "resourceData": {"id": ann},
            }
        ]
    }
    reply = host.call("POST", "/api/graph/notifications", forged)
    # THEN it is acknowledged (Graph must not retry) and nothing reaches the queue
    assert reply.status == 202
    assert reply.json()["accepted"] == 0
    assert not [d for d in deliveries(host, f"{tenant_id}:{ann}") if d["body"].get("activity") == "Forged"]


def test_the_validation_handshake_echoes_the_decoded_token(host: HostClient) -> None:
    for path in ("/api/graph/notifications", "/api/graph/lifecycle"):
        reply = host.call("POST", path + "?validationToken=Validation%3A%20Testing%20client%20application")
        assert reply.status == 200
        assert reply.headers["Content-Type"].startswith("text/plain")
        assert reply.body == b"Validation: Testing client application"
