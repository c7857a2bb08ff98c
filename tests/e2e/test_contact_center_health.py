"""The admin's contact-center test and GET connector's contactCenterHealth on the local stack: a
reachable webhook, one nothing listens for, and the engine's own evidence when it cannot deliver."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from typing import Any

import pytest

from tests.e2e.conftest import HostClient, RunningHost
from tests.e2e.stack import (
    RETRY_TIMEOUT,
    ControlApi,
    activate_connector,
    contact_center_simulator,
    graph_simulator,
    set_teams_presence,
    set_up_synced_tenant,
    wait_for,
)

pytestmark = pytest.mark.e2e

SECRET = "webhook-secret-for-the-health-tests"


@pytest.fixture
def contact_center(local_host: RunningHost) -> Iterator[ControlApi]:
    simulator = contact_center_simulator(local_host)
    yield simulator
    simulator.call("DELETE", "/_sim/faults")


def closed_port_url() -> str:
    with socket.socket() as spare:
        spare.bind(("127.0.0.1", 0))
        port = spare.getsockname()[1]
    return f"http://127.0.0.1:{port}/hook"


def run_contact_center_test(host: HostClient, tenant_id: str) -> dict[str, Any]:
    reply = host.call("POST", f"/api/tenants/{tenant_id}/contact-center/test")
    assert reply.status == 200, reply.body
    body: dict[str, Any] = reply.json()
    return body


def health(host: HostClient, tenant_id: str) -> dict[str, Any] | None:
    reply = host.call("GET", f"/api/tenants/{tenant_id}/connector")
    assert reply.status == 200, reply.body
    value: dict[str, Any] | None = reply.json()["contactCenterHealth"]
    return value


def test_a_reachable_webhook_accepts_the_signed_test_and_get_connector_shows_it(
    host: HostClient, contact_center: ControlApi, tenant_id: str
) -> None:
    # GIVEN a connector whose webhook is the simulator, which knows the tenant's secret
    hook = {"type": "webhook", "url": contact_center.base_url + "/webhook", "secret": SECRET}
    activate_connector(host, tenant_id, contact_center=hook)
    contact_center.ok("POST", f"/_sim/tenants/{tenant_id}", {"connectorUrl": host.base_url, "secret": SECRET})
    assert health(host, tenant_id) is None
    # WHEN the admin tests it
    result = run_contact_center_test(host, tenant_id)
    # THEN the simulator took one signed request and nothing else
    assert (result["reachable"], result["accepted"], result["status"], result["source"]) == (
        True,
        True,
        204,
        "test",
    )
    assert result["latencyMs"] >= 0
    requests = [
        r for r in contact_center.ok("GET", "/_sim/requests")["requests"] if r["tenantId"] == tenant_id
    ]
    assert [(r["method"], r["path"], r["signature"]) for r in requests] == [("POST", "/webhook", "valid")]
    # AND GET connector reports it without calling the contact center again
    assert health(host, tenant_id) == result
    assert (
        len([r for r in contact_center.ok("GET", "/_sim/requests")["requests"] if r["tenantId"] == tenant_id])
        == 1
    )
    # AND the audit trail has the test
    trail = host.call("GET", f"/api/tenants/{tenant_id}/audit").json()["value"]
    assert (trail[0]["action"], trail[0]["outcome"]) == ("testContactCenter", "succeeded")


def test_a_webhook_nobody_listens_for_is_reported_unreachable_with_the_reason(
    host: HostClient, tenant_id: str
) -> None:
    activate_connector(
        host, tenant_id, contact_center={"type": "webhook", "url": closed_port_url(), "secret": SECRET}
    )
    result = run_contact_center_test(host, tenant_id)
    assert (result["reachable"], result["accepted"], result["status"]) == (False, False, None)
    assert "cannot be reached: the connection was refused" in result["reason"]
    assert health(host, tenant_id) == result
    trail = host.call("GET", f"/api/tenants/{tenant_id}/audit").json()["value"]
    assert (trail[0]["action"], trail[0]["outcome"]) == ("testContactCenter", "failed")


def test_without_a_contact_center_the_test_is_409_and_health_is_null(
    host: HostClient, tenant_id: str
) -> None:
    assert host.call("POST", f"/api/tenants/{tenant_id}/connector", {}).status == 201
    reply = host.call("POST", f"/api/tenants/{tenant_id}/contact-center/test")
    assert reply.status == 409
    assert reply.json()["error"]["code"] == "contactCenterNotConfigured"
    assert health(host, tenant_id) is None
    unknown = host.call("POST", "/api/tenants/00000000-0000-4000-8000-00000000dead/contact-center/test")
    assert unknown.status == 404


def test_the_engine_failing_to_reach_the_contact_center_shows_in_get_connector(
    host: HostClient, local_host: RunningHost, contact_center: ControlApi, tenant_id: str
) -> None:
    # GIVEN a synced agent, then a contact-center URL nothing listens on
    graph = graph_simulator(local_host)
    tenant = set_up_synced_tenant(host, graph, contact_center, tenant_id, ["ann"])
    patched = host.call(
        "PATCH",
        f"/api/tenants/{tenant_id}/connector",
        {"contactCenter": {"type": "webhook", "url": closed_port_url(), "secret": tenant.secret}},
    )
    assert patched.status == 200, patched.body
    # WHEN Ann changes her Teams presence, and the engine cannot deliver what follows from it (the engine
    # reads connector changes within its cache's 10 s, so she changes it until a command goes out)
    changes = iter(["DoNotDisturb", "Available"] * 100)
    last_change = 0.0

    # THEN GET connector says the contact center is unreachable, from the engine's own calls
    def engine_failure() -> dict[str, Any] | None:
        nonlocal last_change
        if time.monotonic() - last_change > 2.0:
            availability = next(changes)
            set_teams_presence(graph, tenant, tenant.agent("ann"), availability, availability)
            last_change = time.monotonic()
        current = health(host, tenant_id)
        return current if current is not None and current["source"] == "sync" else None

    seen = wait_for("the engine's contact-center failure in GET connector", engine_failure, RETRY_TIMEOUT)
    assert (seen["reachable"], seen["accepted"]) == (False, False)
    assert "cannot be reached: the connection was refused" in seen["reason"]
