"""Issue #16 status message end to end on the local stack: a group's configured text shows as the
agent's Teams status message while he is on a customer call (contact-center simulator webhook event ->
queue -> engine -> Graph simulator setStatusMessage), is cleared after the call, and a message the user
wrote himself is left alone."""

from __future__ import annotations

from typing import Any

import pytest

from tests.e2e.conftest import HostClient, RunningHost
from tests.e2e.stack import (
    SYNC_TIMEOUT,
    ControlApi,
    SyncedAgent,
    SyncedTenant,
    change_agent_state,
    contact_center_simulator,
    graph_simulator,
    set_up_synced_tenant,
    wait_for,
    wait_for_applied,
)

pytestmark = pytest.mark.e2e

TEXTS = {"onCall": "On a customer call", "wrapUp": "Wrapping up a call"}


@pytest.fixture
def graph(local_host: RunningHost) -> ControlApi:
    return graph_simulator(local_host)


@pytest.fixture
def contact_center(local_host: RunningHost) -> ControlApi:
    return contact_center_simulator(local_host)


def teams_user(graph: ControlApi, tenant: SyncedTenant, agent: SyncedAgent) -> dict[str, Any]:
    user: dict[str, Any] = graph.ok("GET", f"/_sim/tenants/{tenant.tenant_id}/users/{agent.user_id}")
    return user


def status_message(graph: ControlApi, tenant: SyncedTenant, agent: SyncedAgent) -> str | None:
    shown = teams_user(graph, tenant, agent)["presence"]["statusMessage"]
    return None if shown is None else str(shown["message"]["content"])


def status_message_writes(graph: ControlApi, agent: SyncedAgent) -> int:
    return sum(
        1
        for r in graph.ok("GET", "/_sim/requests")["value"]
        if r["path"].endswith(f"/users/{agent.user_id}/presence/setStatusMessage") and r["status"] == 200
    )


def test_the_group_text_shows_during_a_call_is_cleared_after_and_the_users_own_is_left_alone(
    host: HostClient, graph: ControlApi, contact_center: ControlApi, tenant_id: str
) -> None:
    # GIVEN Ann and Bob in a group that shows status messages; Bob wrote his own note in Teams
    tenant = set_up_synced_tenant(host, graph, contact_center, tenant_id, ["ann", "bob"])
    ann, bob = tenant.agent("ann"), tenant.agent("bob")
    reply = host.call(
        "PUT",
        f"/api/tenants/{tenant_id}/agent-groups/floor",
        {"displayName": "Floor", "presenceSync": True, "statusMessages": TEXTS},
    )
    assert reply.status == 201, reply.body
    assert reply.json()["statusMessages"] == TEXTS
    for agent in (ann, bob):
        moved = host.call(
            "PUT",
            f"/api/tenants/{tenant_id}/agents/{agent.agent_id}",
            {"userId": agent.user_id, "groupId": "floor"},
        )
        assert moved.status == 200, moved.body
    graph.ok(
        "PUT",
        f"/_sim/tenants/{tenant_id}/users/{bob.user_id}/status-message",
        {"message": "At the dentist until 11"},
    )

    # WHEN both take a customer call in the contact center
    change_agent_state(contact_center, ann, "onCall")
    change_agent_state(contact_center, bob, "onCall")

    # THEN Ann's Teams shows the group's text, with an expiry
    wait_for(
        "Ann's status message",
        lambda: status_message(graph, tenant, ann) == TEXTS["onCall"] or None,
        SYNC_TIMEOUT,
    )
    assert teams_user(graph, tenant, ann)["statusMessageExpiresAt"]
    # AND Bob's own note is untouched
    wait_for_applied(host, tenant, bob, lambda body: body.get("state") == "onCall")
    assert status_message(graph, tenant, bob) == "At the dentist until 11"

    # WHEN the calls end (wrap-up, then available)
    for agent in (ann, bob):
        change_agent_state(contact_center, agent, "wrapUp")
    wait_for(
        "Ann's wrap-up message",
        lambda: status_message(graph, tenant, ann) == TEXTS["wrapUp"] or None,
        SYNC_TIMEOUT,
    )
    for agent in (ann, bob):
        change_agent_state(contact_center, agent, "available")

    # THEN Ann's message is cleared, Bob still shows his own, and the connector never wrote Bob's
    wait_for("Ann's message cleared", lambda: status_message(graph, tenant, ann) is None, SYNC_TIMEOUT)
    wait_for_applied(host, tenant, bob, lambda body: body.get("state") == "available")
    assert status_message(graph, tenant, bob) == "At the dentist until 11"
    assert status_message_writes(graph, bob) == 0
    assert status_message_writes(graph, ann) == 3


def test_bad_status_messages_are_400_and_change_nothing(
    host: HostClient, graph: ControlApi, contact_center: ControlApi, tenant_id: str
) -> None:
    set_up_synced_tenant(host, graph, contact_center, tenant_id, ["ann"])
    base = f"/api/tenants/{tenant_id}/agent-groups/floor"
    for messages in ({"onCall": "x" * 281}, {"busy": "Busy"}, {"onCall": ""}, ["On a call"]):
        reply = host.call(
            "PUT", base, {"displayName": "Floor", "presenceSync": True, "statusMessages": messages}
        )
        assert reply.status == 400, reply.body
        assert reply.json()["error"]["code"] == "invalidRequest"
    assert host.call("GET", base).status == 404
