"""Issue #16 end to end on the local stack: two agent groups, one synced and one not, through the
admin API, the Graph and contact-center simulators, the queue and the engine; the dry-run over HTTP;
deleting a group that still has agents."""

from __future__ import annotations

from typing import Any

import pytest

from tests.e2e.conftest import HostClient, RunningHost
from tests.e2e.stack import (
    SYNC_TIMEOUT,
    ControlApi,
    SyncedAgent,
    SyncedTenant,
    activate_connector,
    add_user,
    agent_in_contact_center,
    change_agent_state,
    connector_changes,
    contact_center_simulator,
    graph_presence_writes,
    graph_simulator,
    set_teams_presence,
    set_up_synced_tenant,
    wait_for,
    wait_for_agent,
    wait_for_applied,
)

pytestmark = pytest.mark.e2e


@pytest.fixture
def graph(local_host: RunningHost) -> ControlApi:
    return graph_simulator(local_host)


@pytest.fixture
def contact_center(local_host: RunningHost) -> ControlApi:
    return contact_center_simulator(local_host)


def put_group(host: HostClient, tenant_id: str, group_id: str, body: dict[str, Any], **headers: str) -> Any:
    return host.call("PUT", f"/api/tenants/{tenant_id}/agent-groups/{group_id}", body, headers or None)


def put_in_group(host: HostClient, tenant: SyncedTenant, agent: SyncedAgent, group_id: str) -> None:
    reply = host.call(
        "PUT",
        f"/api/tenants/{tenant.tenant_id}/agents/{agent.agent_id}",
        {"userId": agent.user_id, "groupId": group_id},
    )
    assert reply.status == 200, reply.body
    assert reply.json()["groupId"] == group_id


def last_presence(host: HostClient, tenant: SyncedTenant, agent: SyncedAgent) -> dict[str, Any] | None:
    listed = host.call("GET", f"/api/tenants/{tenant.tenant_id}/agents").json()["agents"]
    item = next(a for a in listed if a["agentId"] == agent.agent_id)
    presence: dict[str, Any] | None = item["lastPresence"]
    return presence


def test_a_synced_group_and_a_group_that_is_not(
    host: HostClient, graph: ControlApi, contact_center: ControlApi, tenant_id: str
) -> None:
    # GIVEN two available agents, Ann in a synced group and Bob in one that is not
    tenant = set_up_synced_tenant(host, graph, contact_center, tenant_id, ["ann", "bob"])
    ann, bob = tenant.agent("ann"), tenant.agent("bob")
    created = put_group(host, tenant_id, "floor", {"displayName": "Floor", "presenceSync": True})
    assert created.status == 201, created.body
    quiet = put_group(host, tenant_id, "back-office", {"displayName": "Back office", "presenceSync": False})
    assert quiet.status == 201, quiet.body
    assert quiet.headers.get("ETag")
    put_in_group(host, tenant, ann, "floor")
    put_in_group(host, tenant, bob, "back-office")
    groups = host.call("GET", f"/api/tenants/{tenant_id}/agent-groups").json()["groups"]
    assert [(g["groupId"], g["presenceSync"], g["isDefault"]) for g in groups] == [
        ("default", True, True),
        ("back-office", False, False),
        ("floor", True, False),
    ]

    # WHEN both set Do not disturb in Teams
    set_teams_presence(graph, tenant, ann, "DoNotDisturb", "DoNotDisturb")
    set_teams_presence(graph, tenant, bob, "DoNotDisturb", "DoNotDisturb")

    # THEN Ann goes idle; Bob's presence is recorded but nothing is sent for him
    wait_for_agent(contact_center, ann, "idle", "teams-dnd")
    wait_for(
        "Bob's recorded Teams presence",
        lambda: (last_presence(host, tenant, bob) or {}).get("availability") == "DoNotDisturb" or None,
        SYNC_TIMEOUT,
    )
    assert connector_changes(agent_in_contact_center(contact_center, bob)) == []
    assert agent_in_contact_center(contact_center, bob)["state"] == "available"

    # WHEN Bob takes a customer call THEN his Teams presence is not touched either
    change_agent_state(contact_center, bob, "onCall")
    wait_for_applied(host, tenant, bob, lambda body: body.get("state") == "onCall")
    assert graph_presence_writes(graph, tenant, bob) == []

    # AND the dry-run says so for his group, and what the rules would do
    dry_run = host.call(
        "POST",
        f"/api/tenants/{tenant_id}/presence-mappings/simulate",
        {"agentState": {"state": "onCall"}, "groupId": "back-office"},
    )
    assert dry_run.status == 200, dry_run.body
    assert dry_run.json()["presenceSync"] is False
    assert dry_run.json()["teamsCommand"]["action"] == "setPresence"
    assert dry_run.json()["contactCenterCommand"] is None

    # WHEN the group that still has Bob is deleted: refused, unless his agents move
    refused = host.call("DELETE", f"/api/tenants/{tenant_id}/agent-groups/back-office")
    assert refused.status == 409
    assert refused.json()["error"]["code"] == "agentGroupNotEmpty"
    moved = host.call("DELETE", f"/api/tenants/{tenant_id}/agent-groups/back-office?moveTo=floor")
    assert moved.status == 204, moved.body

    # THEN Bob is synced with the floor: his call ends, Teams still shows Do not disturb -> idle
    change_agent_state(contact_center, bob, "available")
    wait_for_agent(contact_center, bob, "idle", "teams-dnd")


def test_bad_group_requests_are_4xx_and_change_nothing(host: HostClient, tenant_id: str) -> None:
    activate_connector(host, tenant_id)
    base = f"/api/tenants/{tenant_id}/agent-groups"
    for body, status, code, names in [
        ({"displayName": "X"}, 400, "invalidRequest", "presenceSync"),
        (
            {"displayName": "X", "presenceSync": True, "mappings": {"teamsToContactCenter": []}},
            400,
            "invalidRequest",
            "mappings.contactCenterToTeams",
        ),
        (
            {
                "displayName": "X",
                "presenceSync": True,
                "mappings": {
                    "teamsToContactCenter": [],
                    "contactCenterToTeams": [
                        {"agentState": "onCall", "availability": "Busy", "activity": "Away"}
                    ],
                },
            },
            400,
            "invalidMapping",
            "mappings: contactCenterToTeams[0]",
        ),
    ]:
        reply = host.call("PUT", f"{base}/x", body)
        assert (reply.status, reply.json()["error"]["code"]) == (status, code), reply.body
        assert names in reply.json()["error"]["message"]
    assert host.call("PUT", f"{base}/default", {"displayName": "D", "presenceSync": True}).status == 409
    assert host.call("GET", f"{base}/x").status == 404
    assert host.call("PUT", f"{base}/a%2Fb", {"displayName": "X", "presenceSync": True}).status in (400, 404)
    stale = host.call(
        "PUT", f"{base}/x", {"displayName": "X", "presenceSync": True}, {"If-Match": 'W/"nope"'}
    )
    assert stale.status == 412
    assert [g["groupId"] for g in host.call("GET", base).json()["groups"]] == ["default"]


def test_a_csv_roster_is_imported_row_by_row_and_exported(
    host: HostClient, graph: ControlApi, tenant_id: str
) -> None:
    activate_connector(host, tenant_id)
    prefix = tenant_id[:8]
    ann = add_user(graph, tenant_id, f"ann@{prefix}.example", "Ann")
    bob = add_user(graph, tenant_id, f"bob@{prefix}.example", "Bob")
    assert put_group(host, tenant_id, "sales", {"displayName": "Sales", "presenceSync": True}).status == 201
    body = (
        "\ufeffagentId,userPrincipalName,userId,groupId\r\n"
        f"a1,ann@{prefix}.example,,sales\r\n"
        f"a2,,{bob},\r\n"
        f"a3,nobody@{prefix}.example,,\r\n"
        f"a4,,{ann},nope\r\n"
    ).encode()
    headers = {"content-type": "text/csv; charset=utf-8"}
    reply = host.call("POST", f"/api/tenants/{tenant_id}/agents/import", body, headers)
    assert reply.status == 200, reply.body
    assert [
        (r["row"], r["agentId"], r["status"], (r.get("error") or {}).get("code"))
        for r in reply.json()["results"]
    ] == [
        (2, "a1", "created", None),
        (3, "a2", "created", None),
        (4, "a3", "failed", "userNotFound"),
        (5, "a4", "failed", "unknownAgentGroup"),
    ]
    # AND the same file again changes nothing
    again = host.call("POST", f"/api/tenants/{tenant_id}/agents/import", body, headers).json()
    assert again["summary"] == {"created": 0, "updated": 0, "unchanged": 2, "failed": 2}
    # AND the export is the import format
    exported = host.call("GET", f"/api/tenants/{tenant_id}/agents?format=csv")
    assert exported.status == 200
    assert exported.headers["Content-Type"].startswith("text/csv")
    assert exported.body.decode().splitlines() == [
        "agentId,userPrincipalName,userId,groupId",
        f"a1,ann@{prefix}.example,{ann},sales",
        f"a2,bob@{prefix}.example,{bob},default",
    ]
    # AND a file that cannot be read is refused whole
    broken = host.call(
        "POST", f"/api/tenants/{tenant_id}/agents/import", b"agentId,userId\r\na9,x\r\n", headers
    )
    assert (broken.status, broken.json()["error"]["code"]) == (400, "invalidCsv")
    assert host.call("GET", f"/api/tenants/{tenant_id}/agents?format=xml").status == 400


def test_out_of_office_in_teams_puts_the_agent_in_the_mapped_idle_code(
    host: HostClient, graph: ControlApi, contact_center: ControlApi, tenant_id: str
) -> None:
    # GIVEN an available agent, and a mapping of out of office (any availability) to an idle code
    tenant = set_up_synced_tenant(host, graph, contact_center, tenant_id, ["ann"])
    ann = tenant.agent("ann")
    mappings = {
        "teamsToContactCenter": [
            {
                "availability": "*",
                "activity": "OutOfOffice",
                "idleCodeId": "ooo",
                "idleCodeName": "Out of office",
            }
        ],
        "contactCenterToTeams": [],
    }
    assert host.call("PUT", f"/api/tenants/{tenant_id}/presence-mappings", mappings).status == 200
    # WHEN she switches her automatic replies on (Teams shows her out of office)
    graph.ok(
        "PUT",
        f"/_sim/tenants/{tenant_id}/users/{ann.user_id}/out-of-office",
        {"isOutOfOffice": True, "message": "On leave"},
    )
    # THEN the connector puts her in the idle code
    wait_for_agent(contact_center, ann, "idle", "ooo")
    # WHEN they are off again, she is made available (the connector's idle code, Teams unmapped again)
    graph.ok("PUT", f"/_sim/tenants/{tenant_id}/users/{ann.user_id}/out-of-office", {"isOutOfOffice": False})
    wait_for_agent(contact_center, ann, "available")
