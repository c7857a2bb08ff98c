"""Presence reads and writes through the msgraph-sdk gateway against the Graph simulator."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from devstack.graph_simulator import GraphSimulator
from shared.graph.exceptions import GraphBadRequest, GraphThrottled
from shared.graph.msgraph_gateway import MsGraphGateway
from tests.integration.graph.conftest import Tenant, make_gateway
from tests.integration.graph.helpers import control

pytestmark = pytest.mark.integration

ALLOWED_PAIRS = [
    ("Available", "Available"),
    ("Busy", "InACall"),
    ("Busy", "InAConferenceCall"),
    ("Away", "Away"),
    ("DoNotDisturb", "Presenting"),
]


def _add_user(simulator: GraphSimulator, tenant_id: str, presence: dict[str, str] | None = None) -> str:
    body: dict[str, object] = {
        "userPrincipalName": f"u-{uuid.uuid4().hex[:10]}@contoso.example",
        "displayName": "Agent",
        "businessPhones": [],
    }
    if presence is not None:
        body["presence"] = presence
    status, user = control(simulator.base_url, "POST", f"/tenants/{tenant_id}/users", body)
    assert status == 201, user
    return str(user["id"])


def _sim_user(simulator: GraphSimulator, tenant_id: str, user_id: str) -> dict[str, Any]:
    status, user = control(simulator.base_url, "GET", f"/tenants/{tenant_id}/users/{user_id}")
    assert status == 200
    assert isinstance(user, dict)
    return user


def _graph_calls(simulator: GraphSimulator, tenant_id: str, path: str) -> int:
    _, log = control(simulator.base_url, "GET", "/requests")
    return sum(1 for r in log["value"] if r["tenant"] == tenant_id and r["path"] == path)


def test_presences_of_more_than_650_users_are_read_in_chunks(
    simulator: GraphSimulator, tenant: Tenant
) -> None:
    # GIVEN 700 users, one of them busy in Teams
    user_ids = [_add_user(simulator, tenant.tenant_id) for _ in range(700)]
    busy = _add_user(simulator, tenant.tenant_id, {"availability": "Busy", "activity": "InAMeeting"})
    # WHEN their presence is read, with a duplicate and an id the directory does not know (msgraph-sdk
    # takes 10-20 s to parse 700 presences on a loaded 2-CPU machine: not what this test is about)
    with make_gateway(simulator, tenant, timeout_seconds=90.0) as gateway:
        presences = gateway.get_presences(tenant.tenant_id, [*user_ids, busy, user_ids[0], str(uuid.uuid4())])
    # THEN every known user comes back once, and Graph was asked twice (650 + 52 ids)
    assert sorted(p.user_id for p in presences) == sorted([*user_ids, busy])
    assert _graph_calls(simulator, tenant.tenant_id, "/v1.0/communications/getPresencesByUserId") == 2
    by_id = {p.user_id: p for p in presences}
    assert (by_id[busy].availability, by_id[busy].activity) == ("Busy", "InAMeeting")
    assert (by_id[user_ids[0]].availability, by_id[user_ids[0]].activity) == ("Offline", "Offline")
    assert by_id[busy].sequence_number


def test_no_ids_means_no_graph_call(
    simulator: GraphSimulator, gateway: MsGraphGateway, tenant: Tenant
) -> None:
    assert gateway.get_presences(tenant.tenant_id, []) == []
    assert _graph_calls(simulator, tenant.tenant_id, "/v1.0/communications/getPresencesByUserId") == 0


@pytest.mark.parametrize(("availability", "activity"), ALLOWED_PAIRS)
def test_set_presence_with_each_allowed_pair(
    simulator: GraphSimulator, gateway: MsGraphGateway, tenant: Tenant, availability: str, activity: str
) -> None:
    # GIVEN a user without any presence session
    user_id = _add_user(simulator, tenant.tenant_id)
    # WHEN the app sets its session with an allowed pair for 90 minutes
    gateway.set_presence(
        tenant.tenant_id, user_id, tenant.client_id, availability, activity, timedelta(minutes=90)
    )
    # THEN Graph holds the app's session with that pair, lasting 90 minutes (sent as "PT1H30M")
    user = _sim_user(simulator, tenant.tenant_id, user_id)
    [session] = user["sessions"]
    assert (session["sessionId"], session["availability"], session["activity"]) == (
        tenant.client_id,
        availability,
        activity,
    )
    lasts = datetime.fromisoformat(session["expiresAt"]) - datetime.fromisoformat(session["setAt"])
    assert lasts == timedelta(minutes=90)
    # AND the aggregated presence reflects it
    [presence] = gateway.get_presences(tenant.tenant_id, [user_id])
    assert presence.availability == availability


def test_set_presence_refuses_a_pair_graph_does_not_allow(
    simulator: GraphSimulator, gateway: MsGraphGateway, tenant: Tenant
) -> None:
    user_id = _add_user(simulator, tenant.tenant_id)
    # WHEN the app sets Busy/Presenting, THEN Graph's 400 comes back with Graph's message
    with pytest.raises(GraphBadRequest) as raised:
        gateway.set_presence(
            tenant.tenant_id, user_id, tenant.client_id, "Busy", "Presenting", timedelta(minutes=5)
        )
    assert raised.value.status == 400
    assert raised.value.message
    assert _sim_user(simulator, tenant.tenant_id, user_id)["sessions"] == []


def test_clear_presence_removes_the_session_then_reports_it_gone(
    simulator: GraphSimulator, gateway: MsGraphGateway, tenant: Tenant
) -> None:
    # GIVEN a user with the app's Busy session
    user_id = _add_user(simulator, tenant.tenant_id)
    gateway.set_presence(tenant.tenant_id, user_id, tenant.client_id, "Busy", "InACall", timedelta(minutes=5))
    # WHEN the session is cleared, THEN it is gone
    assert gateway.clear_presence(tenant.tenant_id, user_id, tenant.client_id) is True
    assert _sim_user(simulator, tenant.tenant_id, user_id)["sessions"] == []
    # WHEN it is cleared again, THEN Graph's 404 is reported as "there was nothing to clear"
    assert gateway.clear_presence(tenant.tenant_id, user_id, tenant.client_id) is False


@pytest.mark.parametrize("status", [429, 503])
def test_throttling_surfaces_with_graphs_retry_after(
    simulator: GraphSimulator, gateway: MsGraphGateway, tenant: Tenant, status: int
) -> None:
    # GIVEN Graph answers the next presence read with a throttling status and Retry-After: 7
    user_id = _add_user(simulator, tenant.tenant_id)
    fault = {
        "pathPrefix": "/v1.0/communications/getPresencesByUserId",
        "status": status,
        "retryAfterSeconds": 7,
    }
    assert control(simulator.base_url, "POST", "/faults", fault)[0] == 201
    # WHEN the gateway (no SDK retries) reads presence, THEN the caller learns when to retry
    with pytest.raises(GraphThrottled) as raised:
        gateway.get_presences(tenant.tenant_id, [user_id])
    assert raised.value.retry_after == 7.0
    assert raised.value.status == status
    # AND the next call goes through
    assert [p.user_id for p in gateway.get_presences(tenant.tenant_id, [user_id])] == [user_id]


def test_sdk_retries_after_retry_after_when_configured(simulator: GraphSimulator, tenant: Tenant) -> None:
    # GIVEN a gateway allowed one SDK retry, and Graph throttling the next presence write once
    user_id = _add_user(simulator, tenant.tenant_id)
    fault = {
        "pathPrefix": f"/v1.0/users/{user_id}/presence/setPresence",
        "status": 429,
        "retryAfterSeconds": 1,
    }
    assert control(simulator.base_url, "POST", "/faults", fault)[0] == 201
    with make_gateway(simulator, tenant, max_retries=1) as graph:
        # WHEN presence is set, THEN the retry succeeds and the caller never sees the 429
        graph.set_presence(tenant.tenant_id, user_id, tenant.client_id, "Away", "Away", timedelta(minutes=5))
    assert _sim_user(simulator, tenant.tenant_id, user_id)["sessions"] != []
    assert _graph_calls(simulator, tenant.tenant_id, f"/v1.0/users/{user_id}/presence/setPresence") == 2


def test_automatic_replies_show_as_out_of_office_in_presence_reads(
    simulator: GraphSimulator, gateway: MsGraphGateway, tenant: Tenant
) -> None:
    user_id = _add_user(simulator, tenant.tenant_id, {"availability": "Available", "activity": "Available"})
    before = _sim_user(simulator, tenant.tenant_id, user_id)
    # WHEN the user switches his automatic replies on
    status, _ = control(
        simulator.base_url,
        "PUT",
        f"/tenants/{tenant.tenant_id}/users/{user_id}/out-of-office",
        {"isOutOfOffice": True, "message": "Back Monday"},
    )
    assert status == 200
    # THEN Graph's presence carries outOfOfficeSettings, the gateway reads it (the engine then treats
    # him as OutOfOffice, shared.graph.model.shown_activity), with a new sequence number
    [presence] = gateway.get_presences(tenant.tenant_id, [user_id])
    assert (presence.availability, presence.activity, presence.out_of_office) == (
        "Available",
        "Available",
        True,
    )
    assert presence.sequence_number
    assert presence.sequence_number > str(before.get("sequenceNumber") or "")
    # AND back off, back to what the sessions say
    control(
        simulator.base_url,
        "PUT",
        f"/tenants/{tenant.tenant_id}/users/{user_id}/out-of-office",
        {"isOutOfOffice": False},
    )
    [presence] = gateway.get_presences(tenant.tenant_id, [user_id])
    assert presence.out_of_office is False
    # AND the control API refuses a malformed body
    status, _ = control(
        simulator.base_url,
        "PUT",
        f"/tenants/{tenant.tenant_id}/users/{user_id}/out-of-office",
        {"isOutOfOffice": "yes"},
    )
    assert status == 400


def test_a_status_message_is_set_with_an_expiry_read_back_and_cleared(
    simulator: GraphSimulator, tenant: Tenant
) -> None:
    user_id = _add_user(simulator, tenant.tenant_id)
    with make_gateway(simulator, tenant) as gateway:
        gateway.set_status_message(
            tenant.tenant_id, user_id, "On a customer call", datetime.now(UTC) + timedelta(hours=4)
        )
        [shown] = gateway.get_presences(tenant.tenant_id, [user_id])
        assert shown.status_message == "On a customer call"
        # The strict simulator took the body (an expiry with an offset or no zone is a 400).
        _, log = control(simulator.base_url, "GET", "/requests")
        [sent] = [r for r in log["value"] if r["path"].endswith("/presence/setStatusMessage")]
        assert (sent["method"], sent["status"]) == ("POST", 200)
        gateway.set_status_message(tenant.tenant_id, user_id, "", None)
        [cleared] = gateway.get_presences(tenant.tenant_id, [user_id])
    assert cleared.status_message is None
    assert _sim_user(simulator, tenant.tenant_id, user_id).get("statusMessage") in (None, "")
