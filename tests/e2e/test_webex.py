"""Issue 11 end to end on the local stack with Webex Contact Center: the contact-center simulator speaks
Webex's published contract (OAuth, subscriptions with signed CloudEvents, the supervisor-only state
API, v2 auxiliary codes, activities), the Graph simulator is Teams, and the connector sits between.

Each test gets its own Webex organisation (with a supervisor who signs in) and its own tenant whose
connector is active, signed in to Webex and subscribed, with one agent logged in and available.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from tests.e2e.conftest import HostClient, RunningHost
from tests.e2e.stack import (
    RETRY_TIMEOUT,
    SYNC_TIMEOUT,
    ControlApi,
    SyncedAgent,
    SyncedTenant,
    activate_connector,
    add_user,
    bus_deliveries,
    contact_center_simulator,
    graph_simulator,
    redirect_location,
    set_teams_presence,
    sign_in_sync_account,
    teams_user,
    wait_for,
)

pytestmark = pytest.mark.e2e

MARKER = "[teams-connector]"
AGENT_STATE_CHANGE = "agentStateChange"


@dataclass(frozen=True)
class WebexTenant:
    tenant: SyncedTenant
    org_id: str
    team_id: str
    supervisor_id: str
    dnd_code_id: str

    @property
    def tenant_id(self) -> str:
        return self.tenant.tenant_id

    @property
    def agent(self) -> SyncedAgent:
        return self.tenant.agent("ann")


@pytest.fixture
def graph(local_host: RunningHost) -> ControlApi:
    return graph_simulator(local_host)


@pytest.fixture
def webex(local_host: RunningHost) -> Iterator[ControlApi]:
    simulator = contact_center_simulator(local_host)
    yield simulator
    simulator.call("PUT", "/_sim/webex/deliveries/chaos", {"duplicateNext": 0, "reorderNext": 0})
    simulator.call("POST", "/_sim/webex/deliveries/release")
    simulator.call("DELETE", "/_sim/faults")


def webex_agent(webex: ControlApi, agent: SyncedAgent) -> dict[str, Any]:
    view: dict[str, Any] = webex.ok("GET", f"/_sim/webex/agents/{agent.agent_id}")
    return view


def connector_webex(host: HostClient, tenant_id: str) -> dict[str, Any]:
    reply = host.call("GET", f"/api/tenants/{tenant_id}/connector")
    assert reply.status == 200, reply.body
    status: dict[str, Any] = reply.json()["webex"]
    return status


def sign_in_to_webex(host: HostClient, tenant_id: str) -> dict[str, Any]:
    started = host.call("POST", f"/api/tenants/{tenant_id}/contact-center/webex/authorize")
    assert started.status == 200, started.body
    location = redirect_location(started.json()["authorizeUrl"])
    callback = host.call("GET", location.removeprefix(host.base_url), headers={"accept": "application/json"})
    assert callback.status == 200, callback.body
    answer: dict[str, Any] = callback.json()
    return answer


def set_up_webex_tenant(
    host: HostClient, graph: ControlApi, webex: ControlApi, tenant_id: str
) -> WebexTenant:
    org = webex.ok("POST", "/_sim/webex/orgs", {"name": f"Org of {tenant_id[:8]}"})
    org_id, team_id = org["orgId"], next(iter(org["teams"]))
    supervisor = webex.ok(
        "POST",
        "/_sim/webex/users",
        {"orgId": org_id, "email": f"sup@{tenant_id[:8]}.example", "roles": ["admin", "supervisor"]},
    )
    webex.ok("PUT", "/_sim/webex/signed-in-user", {"userId": supervisor["userId"]})
    activate_connector(
        host, tenant_id, contact_center={"type": "webexcc", "orgId": org_id, "baseUrl": webex.base_url}
    )
    assert sign_in_to_webex(host, tenant_id)["subscribed"] is True
    # Map Teams Do not disturb to the organisation's real idle code (the default mapping's id is no
    # Webex code, and the connector refuses it).
    codes = host.call("GET", f"/api/tenants/{tenant_id}/contact-center/idle-codes")
    assert codes.status == 200, codes.body
    dnd = next(c["id"] for c in codes.json()["idleCodes"] if c["name"] == "Teams Do Not Disturb")
    mapping = {
        "teamsToContactCenter": [
            {"availability": "DoNotDisturb", "activity": "*", "idleCodeId": dnd, "idleCodeName": "DND"}
        ],
        "contactCenterToTeams": [{"agentState": "onCall", "availability": "Busy", "activity": "InACall"}],
    }
    put = host.call("PUT", f"/api/tenants/{tenant_id}/presence-mappings", mapping)
    assert put.status == 200, put.body
    assert put.json()["idleCodesChecked"] is True
    # One agent, logged in and available in Webex, known to Teams and to the connector.
    agent_id = webex.ok(
        "POST",
        "/_sim/webex/agents",
        {"orgId": org_id, "teamId": team_id, "loggedIn": True, "state": "available"},
    )["agent"]["agentId"]
    prefix = tenant_id[:8]
    user_id = add_user(graph, tenant_id, f"ann@{prefix}.example", "Ann")
    assert host.call("PUT", f"/api/tenants/{tenant_id}/agents/{agent_id}", {"userId": user_id}).status == 201
    add_user(graph, tenant_id, f"sync@{prefix}.example", "Presence Sync")
    sign_in_sync_account(host, tenant_id, f"sync@{prefix}.example")
    ann = SyncedAgent("ann", agent_id, user_id)

    def covering() -> dict[str, Any] | None:
        current = graph.ok("GET", f"/_sim/tenants/{tenant_id}/subscriptions")["value"]
        return next((dict(s) for s in current if s["userIds"] == [user_id]), None)

    subscription = wait_for("the presence subscription", covering, SYNC_TIMEOUT)
    tenant = SyncedTenant(tenant_id, "", {"ann": ann}, subscription)
    # The first sync read the agent's state at once (no reconcile run, no event needed).
    wait_for(
        "the first contact-center read",
        lambda: any(
            d["outcome"] == "completed" for d in bus_deliveries(host, ann.session_id(tenant_id), "firstSync")
        ),
        SYNC_TIMEOUT,
    )
    return WebexTenant(tenant, org_id, team_id, supervisor["userId"], dnd)


@pytest.fixture
def webex_tenant(host: HostClient, graph: ControlApi, webex: ControlApi, tenant_id: str) -> WebexTenant:
    return set_up_webex_tenant(host, graph, webex, tenant_id)


def test_the_admins_sign_in_registers_a_signed_subscription_at_webex(
    host: HostClient, webex: ControlApi, webex_tenant: WebexTenant
) -> None:
    subscriptions = webex.ok("GET", f"/_sim/webex/subscriptions?orgId={webex_tenant.org_id}")
    (subscription,) = subscriptions["subscriptions"]
    assert subscription["destinationUrl"] == (
        f"{host.base_url}/api/tenants/{webex_tenant.tenant_id}/contact-center/webex/events"
    )
    assert set(subscription["eventTypes"]) == {"agent:login", "agent:logout", "agent:state_change"}
    assert subscription["secretSet"] is True
    status = connector_webex(host, webex_tenant.tenant_id)
    assert status["status"] == "authorized"
    assert status["orgId"] == webex_tenant.org_id
    assert status["subscription"]["id"] == subscription["id"]
    # An idle code Webex does not list is refused, naming the rule
    bad = host.call(
        "PUT",
        f"/api/tenants/{webex_tenant.tenant_id}/presence-mappings",
        {
            "teamsToContactCenter": [
                {"availability": "Away", "activity": "*", "idleCodeId": "teams-away", "idleCodeName": "x"}
            ],
            "contactCenterToTeams": [],
        },
    )
    assert bad.status == 400, bad.body
    assert bad.json()["error"]["code"] == "unknownIdleCode"
    assert "teamsToContactCenter[0]" in bad.json()["error"]["message"]


def test_do_not_disturb_in_teams_puts_the_webex_agent_idle_with_the_mapped_code_without_ping_pong(
    host: HostClient, graph: ControlApi, webex: ControlApi, webex_tenant: WebexTenant
) -> None:
    ann = webex_tenant.agent
    set_teams_presence(graph, webex_tenant.tenant, ann, "DoNotDisturb", "DoNotDisturb")

    def idle() -> dict[str, Any] | None:
        view = webex_agent(webex, ann)
        return view if (view["state"], view["auxCodeId"]) == ("idle", webex_tenant.dnd_code_id) else None

    view = wait_for("Ann idle with the Teams DND code", idle, SYNC_TIMEOUT)
    assert view["lastStateChangeReason"].startswith(MARKER)
    # The agent:state_change event Webex sends back is our echo: applied, nothing mirrored back
    session = ann.session_id(webex_tenant.tenant_id)
    wait_for(
        "the echo event applied",
        lambda: any(
            d["outcome"] == "completed" and d["body"].get("state") == "idle"
            for d in bus_deliveries(host, session, AGENT_STATE_CHANGE)
        ),
        SYNC_TIMEOUT,
    )
    assert teams_user(graph, webex_tenant.tenant, ann)["sessions"] == []
    # WHEN Teams is Available again THEN the connector makes her available, once
    set_teams_presence(graph, webex_tenant.tenant, ann, "Available", "Available")
    wait_for("Ann available again", lambda: webex_agent(webex, ann)["state"] == "available", SYNC_TIMEOUT)
    states = [
        e["data"]["currentState"]
        for e in webex.ok("GET", "/_sim/webex/events")["events"]
        if e["data"].get("agentId") == ann.agent_id and e["type"] == "agent:state_change"
    ]
    assert states == ["idle", "available"]


def test_a_call_in_webex_shows_busy_in_a_call_in_teams_and_ends_cleanly(
    host: HostClient, graph: ControlApi, webex: ControlApi, webex_tenant: WebexTenant
) -> None:
    ann = webex_tenant.agent
    webex.ok("POST", f"/_sim/webex/agents/{ann.agent_id}/state", {"state": "connected"})

    def shows(availability: str, activity: str) -> bool:
        presence = teams_user(graph, webex_tenant.tenant, ann)["presence"]
        return (presence["availability"], presence["activity"]) == (availability, activity)

    wait_for("Teams Busy / In a call", lambda: shows("Busy", "InACall"), SYNC_TIMEOUT)
    webex.ok("POST", f"/_sim/webex/agents/{ann.agent_id}/state", {"state": "wrapup"})
    webex.ok("POST", f"/_sim/webex/agents/{ann.agent_id}/state", {"state": "available"})
    wait_for(
        "the connector's session cleared",
        lambda: teams_user(graph, webex_tenant.tenant, ann)["sessions"] == [],
        SYNC_TIMEOUT,
    )
    # No ping-pong: our own Busy/InACall never became a Webex state change
    assert not any(
        e["data"].get("lastStateChangeReason", "").startswith(MARKER)
        for e in webex.ok("GET", "/_sim/webex/events")["events"]
        if e["data"].get("agentId") == ann.agent_id
    )


def test_a_delivery_without_a_valid_signature_is_401_and_changes_nothing(
    host: HostClient, webex_tenant: WebexTenant
) -> None:
    route = f"/api/tenants/{webex_tenant.tenant_id}/contact-center/webex/events"
    body = json.dumps(
        {
            "id": str(uuid.uuid4()),
            "specversion": "1.0",
            "type": "agent:state_change",
            "source": "/com/cisco/wxcc/forged",
            "comciscoorgid": webex_tenant.org_id,
            "data": {"agentId": webex_tenant.agent.agent_id, "currentState": "connected", "createdTime": 1},
        }
    ).encode()
    session = webex_tenant.agent.session_id(webex_tenant.tenant_id)
    # Agent events only: the agent's first-sync message may still be settling when this test starts.
    before = len(bus_deliveries(host, session, AGENT_STATE_CHANGE))
    for headers in ({}, {"X-WebexCC-Signature": hmac.new(b"wrong", body, hashlib.sha256).hexdigest()}):
        reply = host.call("POST", route, body, headers={"content-type": "application/json", **headers})
        assert reply.status == 401, reply.body
        assert reply.json()["error"]["code"] == "invalidSignature"
    assert len(bus_deliveries(host, session, AGENT_STATE_CHANGE)) == before


def test_duplicated_and_reordered_deliveries_are_applied_once_in_order(
    host: HostClient, graph: ControlApi, webex: ControlApi, webex_tenant: WebexTenant
) -> None:
    ann = webex_tenant.agent
    session = ann.session_id(webex_tenant.tenant_id)
    webex.ok("PUT", "/_sim/webex/deliveries/chaos", {"duplicateNext": 2, "reorderNext": 1})
    webex.ok("POST", f"/_sim/webex/agents/{ann.agent_id}/state", {"state": "ringing"})
    webex.ok("POST", f"/_sim/webex/agents/{ann.agent_id}/state", {"state": "connected"})
    webex.ok("POST", "/_sim/webex/deliveries/release")
    wait_for(
        "Teams Busy / In a call",
        lambda: teams_user(graph, webex_tenant.tenant, ann)["presence"]["activity"] == "InACall",
        RETRY_TIMEOUT,
    )
    events = [
        d
        for d in bus_deliveries(host, session, AGENT_STATE_CHANGE)
        if d["body"].get("state") in ("ringing", "onCall")
    ]
    by_event: dict[str, int] = {}
    for delivery in events:
        if delivery["outcome"] == "completed":
            by_event[delivery["body"]["eventId"]] = by_event.get(delivery["body"]["eventId"], 0) + 1
    assert all(count == 1 for count in by_event.values()), by_event
    deliveries = webex.ok("GET", "/_sim/webex/deliveries")["deliveries"]
    assert len([d for d in deliveries if d["agentId"] == ann.agent_id]) > len(by_event)


def test_an_expired_access_token_is_refreshed_and_a_revoked_grant_asks_for_a_new_sign_in(
    host: HostClient, graph: ControlApi, webex: ControlApi, webex_tenant: WebexTenant
) -> None:
    ann = webex_tenant.agent
    # GIVEN Webex expired every access token
    webex.ok("POST", "/_sim/webex/tokens/expire-access")
    # WHEN a Teams change needs a Webex command THEN the connector refreshes and the command lands
    set_teams_presence(graph, webex_tenant.tenant, ann, "DoNotDisturb", "DoNotDisturb")
    wait_for("Ann idle after a refresh", lambda: webex_agent(webex, ann)["state"] == "idle", RETRY_TIMEOUT)
    all_grants = webex.ok("GET", "/_sim/webex/grants")["grants"]
    grants = [g for g in all_grants if g["userId"] == webex_tenant.supervisor_id]
    assert grants
    assert grants[0]["rotations"] >= 1
    assert connector_webex(host, webex_tenant.tenant_id)["status"] == "authorized"
    # GIVEN Webex revoked the authorization
    webex.ok("POST", "/_sim/webex/tokens/revoke", {"userId": webex_tenant.supervisor_id})
    # WHEN the next command needs Webex THEN the connector asks for a new sign-in, visibly
    set_teams_presence(graph, webex_tenant.tenant, ann, "Available", "Available")
    status = wait_for(
        "reauthorizationRequired",
        lambda: (
            (s := connector_webex(host, webex_tenant.tenant_id))["status"] == "reauthorizationRequired" and s
        ),
        RETRY_TIMEOUT,
    )
    assert "sign in to Webex again" in status["lastError"]
    # AND a new sign-in makes it work again, with a new subscription
    webex.ok("PUT", "/_sim/webex/signed-in-user", {"userId": webex_tenant.supervisor_id})
    assert sign_in_to_webex(host, webex_tenant.tenant_id)["status"] == "authorized"
    assert connector_webex(host, webex_tenant.tenant_id)["status"] == "authorized"
