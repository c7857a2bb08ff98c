"""Graph presence: reads, getPresencesByUserId's cap, setPresence pairs, aggregation, clearPresence."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import pytest

from devstack.graph_simulator import GraphSimulator
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
    # WHEN the user picks Away by hand in Teams, THEN his preferred presence beats every session
    path = f"/tenants/{tenant.tenant_id}/users/{user['id']}/presence"
    picked = sim.control("POST", path, {"availability": "Away", "activity": "Away", "kind": "preferred"})
    assert (picked.status, picked.json()["set"]) == (202, "preferred")
    assert _presence(sim, token_a, user["id"]) == ("Away", "Away")
    # WHEN he resets it and the DoNotDisturb session is cleared, THEN Busy shows
    assert sim.control("DELETE", path + "?kind=preferred").status == 202
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


# -- Teams clients and the user's preferred presence --------------------------------------------------


def _control_presence(sim: Sim, tenant: SeededTenant, user_id: str, **body: object) -> dict[str, Any]:
    reply = sim.control("POST", f"/tenants/{tenant.tenant_id}/users/{user_id}/presence", body)
    assert reply.status == 202, reply.body
    result: dict[str, Any] = reply.json()
    return result


def test_the_control_api_sets_a_teams_client_session_by_default(sim: Sim, tenant: SeededTenant) -> None:
    # GIVEN a user signed in to Teams on his desktop, Available
    user = sim.add_user(tenant.tenant_id, presence={"availability": "Available", "activity": "Available"})
    [client] = user["clientSessions"]
    assert (client["sessionId"], client["availability"]) == ("teams-desktop", "Available")
    assert (user["sessions"], user["preferredPresence"]) == ([], None)
    # WHEN his client reports a call
    shown = _control_presence(sim, tenant, user["id"], availability="Busy", activity="InACall")
    # THEN that is his client session, not a preferred presence
    assert shown["set"] == "client"
    assert shown["preferredPresence"] is None
    assert [(s["sessionId"], s["activity"]) for s in shown["clientSessions"]] == [
        ("teams-desktop", "InACall")
    ]
    token = sim.app_token(tenant.tenant_id, tenant.client_id)
    assert _presence(sim, token, user["id"]) == ("Busy", "InACall")


def test_an_apps_busy_beats_the_teams_clients_available(sim: Sim, tenant: SeededTenant) -> None:
    user = sim.add_user(tenant.tenant_id, presence={"availability": "Available", "activity": "Available"})
    token = sim.app_token(tenant.tenant_id, tenant.client_id)
    assert _presence(sim, token, user["id"]) == ("Available", "Available")
    assert (
        _set(sim, token, user["id"], sessionId=tenant.client_id, availability="Busy", activity="InACall")
        == 200
    )
    assert _presence(sim, token, user["id"]) == ("Busy", "InACall")
    # AND once the app clears its session, the client's Available shows again
    cleared = sim.graph(
        "POST", f"/users/{user['id']}/presence/clearPresence", token, {"sessionId": tenant.client_id}
    )
    assert cleared.status == 200
    assert _presence(sim, token, user["id"]) == ("Available", "Available")


def test_a_status_picked_by_hand_beats_every_session_until_it_is_reset(
    sim: Sim, tenant: SeededTenant
) -> None:
    user = sim.add_user(tenant.tenant_id, presence={"availability": "Available", "activity": "Available"})
    token = sim.app_token(tenant.tenant_id, tenant.client_id)
    _set(sim, token, user["id"], sessionId=tenant.client_id, availability="Busy", activity="InACall")
    # WHEN the user picks Available by hand
    picked = _control_presence(
        sim, tenant, user["id"], availability="Available", activity="Available", kind="preferred"
    )
    # THEN it beats the app's Busy, and expires after 7 days by default (like setUserPreferredPresence)
    assert _presence(sim, token, user["id"]) == ("Available", "Available")
    preferred = picked["preferredPresence"]
    assert isinstance(preferred, dict)
    assert preferred["expiresAt"] is not None
    # WHEN he resets his status THEN the sessions count again
    path = f"/tenants/{tenant.tenant_id}/users/{user['id']}/presence?kind=preferred"
    assert sim.control("DELETE", path).json()["cleared"] == "preferred"
    assert _presence(sim, token, user["id"]) == ("Busy", "InACall")


def test_a_preferred_presence_shows_only_while_some_session_exists(sim: Sim, tenant: SeededTenant) -> None:
    user = sim.add_user(tenant.tenant_id)
    token = sim.app_token(tenant.tenant_id, tenant.client_id)
    body = {"availability": "DoNotDisturb", "activity": "DoNotDisturb"}
    assert (
        sim.graph("POST", f"/users/{user['id']}/presence/setUserPreferredPresence", token, body).status == 200
    )
    # Not signed in anywhere: Offline, whatever he prefers
    assert _presence(sim, token, user["id"]) == ("Offline", "Offline")
    # WHEN a Teams client signs in THEN the preferred presence shows
    _control_presence(sim, tenant, user["id"], availability="Available", activity="Available")
    assert _presence(sim, token, user["id"]) == ("DoNotDisturb", "DoNotDisturb")
    # WHEN the client signs out THEN he is Offline again
    signed_out = sim.control("DELETE", f"/tenants/{tenant.tenant_id}/users/{user['id']}/presence")
    assert signed_out.json()["cleared"] == "client"
    assert _presence(sim, token, user["id"]) == ("Offline", "Offline")


@pytest.mark.parametrize(
    "body",
    [
        {"availability": "DoNotDisturb", "activity": "Presenting", "kind": "preferred"},
        {"availability": "Available", "activity": "Available", "kind": "manual"},
        {"availability": "Available", "activity": "Available", "expirationDuration": "PT1H"},
        {"availability": "Available", "activity": "Available", "kind": "preferred", "clientId": "teams-web"},
        {"availability": "Sleepy", "activity": "Available"},
        {"availability": "Available", "activity": "Available", "colour": "green"},
    ],
)
def test_the_control_api_refuses_what_teams_would_not_show(
    sim: Sim, tenant: SeededTenant, body: dict[str, object]
) -> None:
    user = sim.add_user(tenant.tenant_id)
    reply = sim.control("POST", f"/tenants/{tenant.tenant_id}/users/{user['id']}/presence", body)
    assert reply.status == 400, reply.body


def test_set_user_preferred_presence_expires_by_default_after_a_day_for_busy(
    simulator: GraphSimulator, sim: Sim, tenant: SeededTenant
) -> None:
    user = sim.add_user(tenant.tenant_id, presence={"availability": "Available", "activity": "Available"})
    token = sim.app_token(tenant.tenant_id, tenant.client_id)
    body = {"availability": "Busy", "activity": "Busy"}
    assert (
        sim.graph("POST", f"/users/{user['id']}/presence/setUserPreferredPresence", token, body).status == 200
    )
    expires = simulator.state.get_user(tenant.tenant_id, user["id"])
    assert expires is not None
    assert expires.preferred is not None
    assert expires.preferred.expires_at is not None
    assert expires.preferred.expires_at - simulator.state.now() <= timedelta(days=1)
    assert expires.preferred.expires_at - simulator.state.now() > timedelta(hours=23)
    # And an explicit expirationDuration beyond setPresence's PT4H is fine here (Microsoft's example: PT8H)
    eight = {"availability": "DoNotDisturb", "activity": "DoNotDisturb", "expirationDuration": "PT8H"}
    assert (
        sim.graph("POST", f"/users/{user['id']}/presence/setUserPreferredPresence", token, eight).status
        == 200
    )
