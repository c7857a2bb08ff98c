"""Issue #14 end to end on the local stack: one Teams change is one trace (intake -> queue -> worker ->
contact-center call), and GET sync-status / sync-health say why an agent is or is not in sync, one
scenario per problem code (manual Teams status, refused command, unknown idle code, logged-out agent,
lost subscription). The sync account needing a new sign-in is covered against Azurite in
tests/integration/operations (the simulator's access tokens outlive a revoked refresh token, as Entra's
do, so the local stack cannot make the connector notice within a test).
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from shared.operations.schemas import AgentSyncStatusView, SyncHealthView
from tests.e2e.conftest import HostClient, RunningHost
from tests.e2e.stack import (
    RETRY_TIMEOUT,
    SYNC_TIMEOUT,
    ControlApi,
    SyncedAgent,
    SyncedTenant,
    change_agent_state,
    contact_center_simulator,
    graph_simulator,
    pick_teams_presence,
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
def contact_center(local_host: RunningHost) -> Iterator[ControlApi]:
    simulator = contact_center_simulator(local_host)
    yield simulator
    simulator.call("DELETE", "/_sim/faults")


def sync_status(host: HostClient, tenant: SyncedTenant, agent: SyncedAgent) -> dict[str, Any]:
    reply = host.call("GET", f"/api/tenants/{tenant.tenant_id}/agents/{agent.agent_id}/sync-status")
    assert reply.status == 200, reply.body
    status: dict[str, Any] = reply.json()
    # The answer is what the OpenAPI document says, field for field
    AgentSyncStatusView.model_validate(status)
    return status


def sync_health(host: HostClient, tenant_id: str) -> dict[str, Any]:
    reply = host.call("GET", f"/api/tenants/{tenant_id}/sync-health")
    assert reply.status == 200, reply.body
    health: dict[str, Any] = reply.json()
    SyncHealthView.model_validate(health)
    return health


def problem_codes(status: dict[str, Any]) -> set[str]:
    return {problem["code"] for problem in status["problems"]}


def wait_for_problem(
    host: HostClient, tenant: SyncedTenant, agent: SyncedAgent, code: str, timeout: float = SYNC_TIMEOUT
) -> dict[str, Any]:
    last: dict[str, Any] = {}

    def shown() -> dict[str, Any] | None:
        status = sync_status(host, tenant, agent)
        last.update(status)
        return status if code in problem_codes(status) else None

    try:
        return wait_for(f"problem {code} in agent {agent.agent_id}'s sync status", shown, timeout)
    except AssertionError as error:
        raise AssertionError(f"{error}; the last sync status: {json.dumps(last)}") from None


def spans(host: HostClient, trace_id: str | None = None) -> list[dict[str, Any]]:
    reply = host.call("GET", "/_devstack/traces" + (f"?traceId={trace_id}" if trace_id else ""))
    assert reply.status == 200, reply.body
    return list(reply.json()["spans"])


# -- one change, one trace ------------------------------------------------------------------------------


def test_one_teams_change_is_one_trace_from_intake_to_the_contact_center_call(
    host: HostClient, graph: ControlApi, contact_center: ControlApi, tenant_id: str
) -> None:
    # GIVEN a synced agent
    tenant = set_up_synced_tenant(host, graph, contact_center, tenant_id, ["ann"])
    ann = tenant.agent("ann")

    # WHEN she sets Do not disturb in Teams and the connector puts her in an idle code
    set_teams_presence(graph, tenant, ann, "DoNotDisturb", "DoNotDisturb")
    wait_for_agent(contact_center, ann, "idle", "teams-dnd")

    # THEN the contact-center call's span is in the same trace as the notification request and the
    # queue worker, each the parent of the next
    def command_span() -> dict[str, Any] | None:
        return next(
            (
                s
                for s in spans(host)
                if s["name"] == "contact center setIdle"
                and s["attributes"].get("connector.agent_id") == ann.agent_id
            ),
            None,
        )

    command = wait_for("the setIdle span", command_span)
    trace = {s["spanId"]: s for s in spans(host, command["traceId"])}
    worker = trace[command["parentSpanId"]]
    assert (worker["name"], worker["kind"]) == ("presence_worker process", "consumer")
    assert worker["attributes"]["connector.tenant_id"] == tenant_id
    intake = trace[worker["parentSpanId"]]
    assert (intake["name"], intake["kind"]) == ("graph notifications", "server")
    assert intake["parentSpanId"] is None
    assert {s["traceId"] for s in trace.values()} == {command["traceId"]}

    # AND the sync status shows what was done, how long it took and which subscription covers her
    status = sync_status(host, tenant, ann)
    assert status["inSync"] is True, status["problems"]
    assert status["problems"] == []
    assert (status["teams"]["availability"], status["teams"]["activity"]) == ("DoNotDisturb", "DoNotDisturb")
    assert status["contactCenter"]["state"] in {"available", "idle"}
    command_view = status["lastCommand"]
    assert (command_view["kind"], command_view["target"], command_view["outcome"]) == (
        "setIdle",
        "contactCenter",
        "accepted",
    )
    assert command_view["detail"] == "teams-dnd"
    delay = status["lastDelay"]["teamsToContactCenter"]
    assert delay is not None
    assert 0 <= delay["seconds"] < SYNC_TIMEOUT
    assert status["subscription"]["id"] == tenant.subscription["id"]
    assert status["subscription"]["syncAccountStatus"] == "healthy"
    # AND no name or UPN is in it
    assert "ann@" not in json.dumps(status)
    assert "Ann" not in json.dumps(status)


def test_sync_health_counts_agents_subscriptions_accounts_and_the_last_hours_delays(
    host: HostClient, graph: ControlApi, contact_center: ControlApi, tenant_id: str
) -> None:
    # GIVEN two synced agents, one of whom picks a status by hand
    tenant = set_up_synced_tenant(host, graph, contact_center, tenant_id, ["bob", "cat"])
    bob, cat = tenant.agent("bob"), tenant.agent("cat")
    set_teams_presence(graph, tenant, bob, "DoNotDisturb", "DoNotDisturb")
    wait_for_agent(contact_center, bob, "idle", "teams-dnd")
    set_teams_presence(graph, tenant, cat, "Available", "Available")
    wait_for_applied(host, tenant, cat, lambda body: body.get("availability") == "Available")
    change_agent_state(contact_center, cat, "onCall")
    wait_for_applied(host, tenant, cat, lambda body: body.get("state") == "onCall")
    pick_teams_presence(graph, tenant, cat, "Away", "Away")
    wait_for_problem(host, tenant, cat, "manualTeamsStatus")

    # WHEN the admin reads the tenant's sync health
    def counted() -> dict[str, Any] | None:
        current = sync_health(host, tenant_id)
        return current if current["lastHour"]["syncDelaySeconds"]["samples"] >= 2 else None

    health = wait_for("sync health counting both agents' delays", counted)

    # THEN it counts both agents, one of them in sync and one with a status picked by hand
    assert health["agents"]["total"] == 2
    assert health["agents"]["inSync"] == 1
    assert health["agents"]["withProblem"]["manualTeamsStatus"] == 1
    assert health["agents"]["withProblem"]["notSubscribed"] == 0
    # AND the subscription is active and not about to expire, the sync account healthy
    assert health["subscriptions"] == {
        "active": 1,
        "expiringWithin15Minutes": 0,
        "failed": 0,
        "pending": 0,
    }
    assert health["syncAccounts"] == {"healthy": 1, "needingSignIn": 0}
    assert health["contactCenter"]["authorization"] == "authorized"
    # AND the last hour's delays and changes are there
    delays = health["lastHour"]["syncDelaySeconds"]
    assert delays["p50"] is not None
    assert delays["p99"] is not None
    assert delays["p50"] <= delays["p99"]
    assert delays["teamsToContactCenter"]["p50"] is not None
    assert delays["contactCenterToTeams"]["p50"] is not None
    assert health["lastHour"]["changes"]["applied"] >= 2
    assert health["lastHour"]["deadLettered"] == 0


# -- one scenario per problem ---------------------------------------------------------------------------


def test_a_status_picked_by_hand_in_teams_is_manual_teams_status(
    host: HostClient, graph: ControlApi, contact_center: ControlApi, tenant_id: str
) -> None:
    tenant = set_up_synced_tenant(host, graph, contact_center, tenant_id, ["dan"])
    dan = tenant.agent("dan")
    # GIVEN a customer call the connector shows in Teams
    change_agent_state(contact_center, dan, "onCall")
    wait_for_applied(host, tenant, dan, lambda body: body.get("state") == "onCall")
    # WHEN he picks Available by hand
    pick_teams_presence(graph, tenant, dan, "Available", "Available")
    # THEN his sync status says so, in a sentence
    status = wait_for_problem(host, tenant, dan, "manualTeamsStatus")
    problem = next(p for p in status["problems"] if p["code"] == "manualTeamsStatus")
    assert "by hand" in problem["message"]
    assert status["teams"]["manualOverride"] is True
    assert status["inSync"] is False


def test_a_logged_out_agent_is_logged_out(
    host: HostClient, graph: ControlApi, contact_center: ControlApi, tenant_id: str
) -> None:
    tenant = set_up_synced_tenant(host, graph, contact_center, tenant_id, ["eve"])
    eve = tenant.agent("eve")
    change_agent_state(contact_center, eve, "loggedOut")
    status = wait_for_problem(host, tenant, eve, "loggedOut")
    assert status["contactCenter"]["state"] == "loggedOut"


class RefusingContactCenter:
    """A webhook contact center (on 127.0.0.1) that refuses every idle command with `status` and
    `message` (as JSON {"error": {"code", "message"}}) and takes every other request."""

    def __init__(self, status: int, code: str, message: str) -> None:
        outer = self
        self.refused: list[dict[str, Any]] = []

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)) or b"{}")
                if body.get("type") == "setAgentState" and body.get("state") == "idle":
                    outer.refused.append(body)
                    text = message.format(idleCodeId=body.get("idleCodeId"))
                    payload = json.dumps({"error": {"code": code, "message": text}}).encode()
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload)
                    return
                self.send_response(204)
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                return None

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, name="refusing-cc", daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}/webhook"

    def __enter__(self) -> RefusingContactCenter:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._server.shutdown()
        self._server.server_close()


def refused_idle_command(
    host: HostClient,
    graph: ControlApi,
    contact_center: ControlApi,
    tenant_id: str,
    refusing: RefusingContactCenter,
    code: str,
) -> dict[str, Any]:
    """Sync an agent, point the connector at `refusing`, and change his Teams presence until an idle
    command reaches it (the engine reads connector changes within its cache's 10 s); the sync status
    that shows `code`."""
    tenant = set_up_synced_tenant(host, graph, contact_center, tenant_id, ["hal"])
    hal = tenant.agent("hal")
    patched = host.call(
        "PATCH",
        f"/api/tenants/{tenant_id}/connector",
        {"contactCenter": {"type": "webhook", "url": refusing.url, "secret": tenant.secret}},
    )
    assert patched.status == 200, patched.body
    # Two presences that both map to an idle code: a setAvailable would wait for a confirming event the
    # refusing contact center never sends.
    changes = iter([("DoNotDisturb", "DoNotDisturb"), ("Busy", "InACall")] * 100)
    last_change = 0.0

    def refused() -> dict[str, Any] | None:
        nonlocal last_change
        if time.monotonic() - last_change > 2.0:
            set_teams_presence(graph, tenant, hal, *next(changes))
            last_change = time.monotonic()
        status = sync_status(host, tenant, hal)
        last.update(status)
        return status if code in problem_codes(status) else None

    last: dict[str, Any] = {}
    try:
        status = wait_for(f"the {code} problem", refused, RETRY_TIMEOUT)
    except AssertionError as error:
        raise AssertionError(f"{error}; the last sync status: {json.dumps(last)}") from None
    assert refusing.refused, "the idle command never reached the refusing contact center"
    return status


def test_an_idle_code_the_contact_center_does_not_have_is_unknown_idle_code(
    host: HostClient, graph: ControlApi, contact_center: ControlApi, tenant_id: str
) -> None:
    # GIVEN a contact center that has none of the mapped idle codes (400, as Webex answers)
    with RefusingContactCenter(400, "invalidIdleCode", "{idleCodeId} is not an idle code") as refusing:
        # WHEN an idle command reaches it
        status = refused_idle_command(host, graph, contact_center, tenant_id, refusing, "unknownIdleCode")
    # THEN the sync status says which idle code the contact center does not have, and why
    problem = next(p for p in status["problems"] if p["code"] == "unknownIdleCode")
    refused_code = status["lastCommand"]["detail"]
    assert refused_code in {"teams-dnd", "teams-call"}
    assert f"idle code {refused_code}" in problem["message"]
    assert f"{refused_code} is not an idle code" in problem["message"]
    assert (status["lastCommand"]["outcome"], status["lastCommand"]["status"]) == ("refused", 400)
    assert "contactCenterRefused" not in problem_codes(status)


def test_a_command_the_contact_center_refuses_is_contact_center_refused(
    host: HostClient, graph: ControlApi, contact_center: ControlApi, tenant_id: str
) -> None:
    # GIVEN a contact center that refuses the agent's state change for a reason of its own
    with RefusingContactCenter(409, "agentBusy", "the agent is wrapping up a contact") as refusing:
        status = refused_idle_command(
            host, graph, contact_center, tenant_id, refusing, "contactCenterRefused"
        )
    # THEN the sync status names the refusal and the contact center's answer
    problem = next(p for p in status["problems"] if p["code"] == "contactCenterRefused")
    assert "HTTP 409" in problem["message"]
    assert "wrapping up" in problem["message"]
    assert (status["lastCommand"]["kind"], status["lastCommand"]["outcome"]) == ("setIdle", "refused")


def test_an_agent_whose_subscription_is_gone_is_not_subscribed(
    host: HostClient, graph: ControlApi, contact_center: ControlApi, tenant_id: str
) -> None:
    tenant = set_up_synced_tenant(host, graph, contact_center, tenant_id, ["ivy"])
    ivy = tenant.agent("ivy")
    assert "notSubscribed" not in problem_codes(sync_status(host, tenant, ivy))
    # WHEN the only sync account is removed, and its subscription with it
    accounts = host.call("GET", f"/api/tenants/{tenant_id}/sync-accounts")
    assert accounts.status == 200, accounts.body
    for account in accounts.json()["syncAccounts"]:
        removed = host.call("DELETE", f"/api/tenants/{tenant_id}/sync-accounts/{account['id']}")
        assert removed.status == 204, removed.body
    # THEN her sync status says Teams no longer tells the connector about her presence
    status = wait_for_problem(host, tenant, ivy, "notSubscribed")
    problem = next(p for p in status["problems"] if p["code"] == "notSubscribed")
    assert "no presence subscription includes the agent" in problem["message"]
    health = sync_health(host, tenant_id)
    assert health["agents"]["withProblem"]["notSubscribed"] == 1
    assert health["subscriptions"]["active"] == 0


def test_unknown_agents_and_tenants_are_404(host: HostClient, tenant_id: str) -> None:
    reply = host.call("GET", f"/api/tenants/{tenant_id}/sync-health")
    assert reply.status == 404
    assert reply.json()["error"]["code"] == "connectorNotFound"
