"""Graph presence: reads, getPresencesByUserId's cap, setPresence pairs, aggregation, clearPresence."""

from __future__ import annotations

import uuid

import pytest

from tests.integration.graph_simulator.conftest import SeededTenant
from tests.integration.graph_simulator.helpers import Sim

pytestmark = pytest.mark.integration


def _set(sim: Sim, token: str, user_id: str, **body: object) -> int:
    return sim.graph("POST", f"/users/{user_id}/presence/setPresence", token, body).status


def _presence(sim: Sim, token: str, user_id: str) -> tuple[str, str]:
    body = sim.graph("GET", f"/communications/presences/{user_id}", token).json()
    return body["availability"], body["activity"]


@pytest.mark.parametrize(
    ("availability", "activity"),
    [
        ("Available", "Available"),
        ("Busy", "InACall"),
        ("Busy", "InAConferenceCall"),
        ("Away", "Away"),
        ("DoNotDisturb", "Presenting"),
    ],
)
def test_set_presence_accepts_the_documented_pairs(
    sim: Sim, tenant: SeededTenant, availability: str, activity: str
) -> None:
    user = sim.add_user(tenant.tenant_id)
    token = sim.app_token(tenant.tenant_id, tenant.client_id)
    status = _set(
        sim,
        token,
        user["id"],
        sessionId=tenant.client_id,
        availability=availability,
        activity=activity,
        expirationDuration="PT1H",
    )
    assert status == 200
    assert _presence(sim, token, user["id"]) == (availability, activity)


@pytest.mark.parametrize(
    "overrides",
    [
        {"availability": "Busy", "activity": "Busy"},
        {"availability": "Offline", "activity": "Offline"},
        {"expirationDuration": "PT4M"},
        {"expirationDuration": "PT4H1M"},
        {"expirationDuration": "0:05:00"},
        {"sessionId": "22222222-2222-2222-2222-222222222222"},
        {"unexpected": True},
    ],
)
def test_set_presence_rejects_what_graph_rejects(
    sim: Sim, tenant: SeededTenant, overrides: dict[str, object]
) -> None:
    user = sim.add_user(tenant.tenant_id)
    token = sim.app_token(tenant.tenant_id, tenant.client_id)
    body = {"sessionId": tenant.client_id, "availability": "Available", "activity": "Available", **overrides}
    assert _set(sim, token, user["id"], **body) == 400
    assert _presence(sim, token, user["id"]) == ("Offline", "Offline")


def test_set_presence_needs_read_write_permission(sim: Sim, tenant: SeededTenant) -> None:
    user = sim.add_user(tenant.tenant_id)
    token = sim.app_token(tenant.tenant_id, tenant.client_id, roles=["Presence.Read.All"])
    status = _set(sim, token, user["id"], sessionId=tenant.client_id, availability="Away", activity="Away")
    assert status == 403


def test_aggregation_user_state_beats_sessions_and_ranks_sessions(sim: Sim, tenant: SeededTenant) -> None:
    user = sim.add_user(tenant.tenant_id)
    app_a, app_b = tenant.client_id, str(uuid.uuid4())
    token_a = sim.app_token(tenant.tenant_id, app_a)
    token_b = sim.app_token(tenant.tenant_id, app_b)
    # GIVEN one app sets Busy and another DoNotDisturb, THEN DoNotDisturb wins
    assert _set(sim, token_a, user["id"], sessionId=app_a, availability="Busy", activity="InACall") == 200
    assert (
        _set(sim, token_b, user["id"], sessionId=app_b, availability="DoNotDisturb", activity="Presenting")
        == 200
    )
    assert _presence(sim, token_a, user["id"]) == ("DoNotDisturb", "Presenting")
    # WHEN the user picks Away in Teams, THEN the user's own state beats every session
    path = f"/tenants/{tenant.tenant_id}/users/{user['id']}/presence"
    assert sim.control("POST", path, {"availability": "Away", "activity": "Away"}).status == 202
    assert _presence(sim, token_a, user["id"]) == ("Away", "Away")
    # WHEN the user's own state is cleared and the DoNotDisturb session is cleared, THEN Busy shows
    assert sim.control("DELETE", path).status == 202
    cleared = sim.graph("POST", f"/users/{user['id']}/presence/clearPresence", token_b, {"sessionId": app_b})
    assert cleared.status == 200
    assert _presence(sim, token_a, user["id"]) == ("Busy", "InACall")
    # AND the control API shows the same aggregate
    shown = sim.control("GET", f"/tenants/{tenant.tenant_id}/users/{user['id']}").json()["presence"]
    assert (shown["availability"], shown["activity"]) == ("Busy", "InACall")


def test_clear_presence_of_unknown_session_is_404(sim: Sim, tenant: SeededTenant) -> None:
    user = sim.add_user(tenant.tenant_id)
    token = sim.app_token(tenant.tenant_id, tenant.client_id)
    result = sim.graph(
        "POST", f"/users/{user['id']}/presence/clearPresence", token, {"sessionId": tenant.client_id}
    )
    assert result.status == 404


def test_sequence_number_grows_lexicographically(sim: Sim, tenant: SeededTenant) -> None:
    user = sim.add_user(tenant.tenant_id)
    token = sim.app_token(tenant.tenant_id, tenant.client_id)
    seen = [sim.graph("GET", f"/users/{user['id']}/presence", token).json()["sequenceNumber"]]
    for availability, activity in [("Busy", "InACall"), ("Away", "Away"), ("Available", "Available")]:
        _set(sim, token, user["id"], sessionId=tenant.client_id, availability=availability, activity=activity)
        seen.append(sim.graph("GET", f"/users/{user['id']}/presence", token).json()["sequenceNumber"])
    assert seen == sorted(seen)
    assert len(set(seen)) == len(seen)


def test_get_presences_by_user_id_caps_at_650(sim: Sim, tenant: SeededTenant) -> None:
    users = [sim.add_user(tenant.tenant_id) for _ in range(2)]
    token = sim.app_token(tenant.tenant_id, tenant.client_id)
    filler = [str(uuid.uuid4()) for _ in range(648)]
    ids = [u["id"] for u in users] + filler
    ok = sim.graph("POST", "/communications/getPresencesByUserId", token, {"ids": ids})
    assert ok.status == 200
    assert {p["id"] for p in ok.json()["value"]} == {u["id"] for u in users}
    too_many = sim.graph(
        "POST", "/communications/getPresencesByUserId", token, {"ids": [*ids, str(uuid.uuid4())]}
    )
    assert too_many.status == 400
    assert too_many.json()["error"]["code"] == "BadRequest"


def test_injected_fault_answers_429_with_retry_after(sim: Sim, tenant: SeededTenant) -> None:
    user = sim.add_user(tenant.tenant_id)
    token = sim.app_token(tenant.tenant_id, tenant.client_id)
    fault = {
        "pathPrefix": "/v1.0/communications/getPresencesByUserId",
        "count": 1,
        "status": 429,
        "retryAfterSeconds": 7,
    }
    assert sim.control("POST", "/faults", fault).status == 201
    throttled = sim.graph("POST", "/communications/getPresencesByUserId", token, {"ids": [user["id"]]})
    assert throttled.status == 429
    assert throttled.headers["Retry-After"] == "7"
    assert (
        sim.graph("POST", "/communications/getPresencesByUserId", token, {"ids": [user["id"]]}).status == 200
    )


def test_requests_are_recorded(sim: Sim, tenant: SeededTenant) -> None:
    user = sim.add_user(tenant.tenant_id)
    token = sim.app_token(tenant.tenant_id, tenant.client_id)
    sim.graph("GET", f"/users/{user['id']}/presence", token)
    records = sim.control("GET", "/requests").json()["value"]
    mine = [r for r in records if r["path"] == f"/v1.0/users/{user['id']}/presence"]
    assert mine
    assert mine[-1]["tenant"] == tenant.tenant_id
    assert mine[-1]["method"] == "GET"
    assert mine[-1]["status"] == 200
    later = sim.control("GET", f"/requests?since={mine[-1]['at']}").json()["value"]
    assert all(r["seq"] > mine[-1]["seq"] for r in later)
