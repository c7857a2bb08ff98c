"""Webex agents at the simulator: the state API (supervisors only, logged-in agents only), the events
it causes, Get Agent Activities (window, channels, paging) and the v2 auxiliary codes."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest

from devstack.contact_center_simulator import ContactCenterSimulator
from devstack.contact_center_simulator.webex.store import DEFAULT_ADMIN_ONLY_ID, aux_code_id
from tests.integration.contact_center_simulator.helpers import EventsReceiver, HttpResult
from tests.integration.contact_center_simulator.webex_helpers import (
    CLIENT_ID,
    CLIENT_SECRET,
    ORG_ID,
    REDIRECT_URI,
    api,
    description,
    events_of,
    sign_in,
    subscription_body,
    webex_control,
)

pytestmark = pytest.mark.integration

MEETING = aux_code_id(ORG_ID, "Meeting")
RETIRED = aux_code_id(ORG_ID, "Training (retired)")
RESOLVED = aux_code_id(ORG_ID, "Resolved")


@pytest.fixture
def tokens(simulator: ContactCenterSimulator) -> dict[str, Any]:
    simulator.register_webex_integration(CLIENT_ID, CLIENT_SECRET, [REDIRECT_URI])
    return sign_in(simulator)


@pytest.fixture
def agent(simulator: ContactCenterSimulator) -> str:
    """A logged-in, available agent of the default team."""
    result = webex_control(simulator, "POST", "/agents", {"agentId": "agent-1", "loggedIn": True})
    assert result.status == 201, result.body
    return "agent-1"


def _set(sim: ContactCenterSimulator, tokens: dict[str, Any], **body: Any) -> HttpResult:
    return api(sim, "PUT", "/v1/agents/session/state", tokens, body)


def _move(
    sim: ContactCenterSimulator, agent_id: str, action: str, body: dict[str, Any] | None = None
) -> None:
    result = webex_control(sim, "POST", f"/agents/{agent_id}/{action}", body or {})
    assert result.status == 202, result.body


def test_a_supervisor_sets_idle_and_the_event_echoes_the_reason(
    simulator: ContactCenterSimulator,
    tokens: dict[str, Any],
    agent: str,
    receiver: EventsReceiver,
    receiver_url: str,
) -> None:
    assert api(simulator, "POST", "/v1/subscriptions", tokens, subscription_body(receiver_url)).status == 201
    accepted = _set(
        simulator,
        tokens,
        state="Idle",
        auxCodeId=MEETING,
        agentId=agent,
        lastStateChangeReason="teams-sync:abc",
    )
    assert accepted.status == 202
    assert accepted.body == b""
    view = webex_control(simulator, "GET", f"/agents/{agent}").json()
    assert (view["state"], view["auxCodeId"], view["lastStateChangeReason"]) == (
        "idle",
        MEETING,
        "teams-sync:abc",
    )
    assert simulator.wait_for_deliveries(10)
    (event,) = events_of(receiver.posts())
    assert event["type"] == "agent:state_change"
    data = event["data"]
    assert (data["currentState"], data["auxCodeId"], data["idleCodeName"]) == ("idle", MEETING, "Meeting")
    assert data["lastStateChangeReason"] == "teams-sync:abc"
    back = _set(simulator, tokens, state="Available", auxCodeId="0", agentId=agent)
    assert back.status == 202
    assert webex_control(simulator, "GET", f"/agents/{agent}").json()["state"] == "available"


def test_an_admin_who_is_not_a_supervisor_is_forbidden(simulator: ContactCenterSimulator, agent: str) -> None:
    simulator.register_webex_integration(CLIENT_ID, CLIENT_SECRET, [REDIRECT_URI])
    webex_control(simulator, "PUT", "/signed-in-user", {"userId": DEFAULT_ADMIN_ONLY_ID})
    refused = _set(simulator, sign_in(simulator), state="Idle", auxCodeId=MEETING, agentId=agent)
    assert refused.status == 403
    assert refused.json()["error"]["key"] == "403"
    assert "supervisor" in description(refused)
    assert webex_control(simulator, "GET", f"/agents/{agent}").json()["state"] == "available"


def test_a_supervisor_of_another_team_is_forbidden(simulator: ContactCenterSimulator, agent: str) -> None:
    simulator.register_webex_integration(CLIENT_ID, CLIENT_SECRET, [REDIRECT_URI])
    other = webex_control(
        simulator,
        "POST",
        "/users",
        {"email": "lead@x.example.com", "roles": ["supervisor"], "teamIds": ["some-other-team"]},
    ).json()
    webex_control(simulator, "PUT", "/signed-in-user", {"userId": other["userId"]})
    assert _set(simulator, sign_in(simulator), state="Idle", auxCodeId=MEETING, agentId=agent).status == 403


def test_a_logged_out_agent_has_no_session(
    simulator: ContactCenterSimulator, tokens: dict[str, Any], agent: str
) -> None:
    _move(simulator, agent, "logout")
    refused = _set(simulator, tokens, state="Idle", auxCodeId=MEETING, agentId=agent)
    assert refused.status == 400
    assert "does not have an active session" in description(refused)


def test_an_agent_on_a_call_is_not_changed(
    simulator: ContactCenterSimulator, tokens: dict[str, Any], agent: str
) -> None:
    _move(simulator, agent, "state", {"state": "connected"})
    refused = _set(simulator, tokens, state="Idle", auxCodeId=MEETING, agentId=agent)
    assert refused.status == 400
    assert webex_control(simulator, "GET", f"/agents/{agent}").json()["state"] == "connected"


def test_the_state_api_needs_the_cjp_user_scope(simulator: ContactCenterSimulator, agent: str) -> None:
    simulator.register_webex_integration(CLIENT_ID, CLIENT_SECRET, [REDIRECT_URI])
    tokens = sign_in(simulator, scope="cjp:config_read")
    assert _set(simulator, tokens, state="Idle", auxCodeId=MEETING, agentId=agent).status == 403


@pytest.mark.parametrize(
    "body",
    [
        {"state": "Busy", "auxCodeId": "0"},
        {"state": "idle", "auxCodeId": MEETING},
        {"state": "Idle"},
        {"state": "Idle", "auxCodeId": "x" * 37},
        {"state": "Idle", "auxCodeId": RETIRED},
        {"state": "Idle", "auxCodeId": RESOLVED},
        {"state": "Idle", "auxCodeId": "no-such-code"},
        {"state": "Available", "auxCodeId": "0", "lastStateChangeReason": "r" * 129},
        {"state": "Available", "auxCodeId": "0", "agentId": "a" * 37},
        {"state": "Available", "auxCodeId": "0", "agentId": "never-heard-of"},
    ],
)
def test_invalid_state_changes_are_400_and_change_nothing(
    simulator: ContactCenterSimulator, tokens: dict[str, Any], agent: str, body: dict[str, Any]
) -> None:
    refused = _set(simulator, tokens, **{"agentId": agent, **body})
    assert refused.status == 400, refused.body
    assert refused.json()["trackingId"]
    assert webex_control(simulator, "GET", f"/agents/{agent}").json()["state"] == "available"


def test_a_body_that_is_not_json_is_400(simulator: ContactCenterSimulator, tokens: dict[str, Any]) -> None:
    from tests.integration.contact_center_simulator.helpers import http

    result = http(
        "PUT",
        simulator.base_url + "/v1/agents/session/state",
        headers={"Authorization": f"Bearer {tokens['access_token']}"},
        raw=b"{nope",
    )
    assert result.status == 400
    assert description(result) == "Body is invalid JSON."


def _activities(sim: ContactCenterSimulator, tokens: dict[str, Any], query: str) -> HttpResult:
    return api(sim, "GET", f"/v1/agents/activities?{query}", tokens)


def _since() -> int:
    return int(time.time() * 1000) - 60_000


def test_activities_record_each_state_per_channel_and_the_active_one(
    simulator: ContactCenterSimulator, tokens: dict[str, Any], agent: str
) -> None:
    _move(simulator, agent, "state", {"state": "idle", "auxCodeId": MEETING})
    _move(simulator, agent, "state", {"state": "ringing"})
    _move(simulator, agent, "state", {"state": "connected"})
    result = _activities(simulator, tokens, f"agentIds={agent}&from={_since()}&channelTypes=telephony")
    assert result.status == 200
    body = result.json()
    assert body["meta"] == {"orgId": ORG_ID}
    telephony = body["data"]
    assert [a["currentState"] for a in telephony] == ["available", "idle", "ringing", "connected"]
    assert [a["active"] for a in telephony] == [False, False, False, True]
    assert telephony[-1]["endTime"] == -1
    assert telephony[0]["isLogin"] == 1
    assert telephony[1]["idleCode"] == MEETING
    assert telephony[1]["idleCodeName"] == "Meeting"
    assert telephony[2]["taskId"]
    assert telephony[2]["taskId"] == telephony[3]["taskId"]
    chat = _activities(simulator, tokens, f"agentIds={agent}&from={_since()}&channelTypes=chat").json()[
        "data"
    ]
    # The call does not touch the chat channel: it stays idle.
    assert [(a["currentState"], a["active"]) for a in chat] == [("available", False), ("idle", True)]
    required = {
        "agentId",
        "agentSessionId",
        "channelId",
        "channelType",
        "teamId",
        "siteId",
        "startTime",
        "endTime",
    }
    assert required <= set(telephony[0])


def test_logout_ends_the_last_activities(
    simulator: ContactCenterSimulator, tokens: dict[str, Any], agent: str
) -> None:
    _move(simulator, agent, "logout")
    data = _activities(simulator, tokens, f"agentIds={agent}&from={_since()}").json()["data"]
    assert data
    assert not any(a["active"] for a in data)


@pytest.mark.parametrize(
    ("query", "words"),
    [
        ("to=1", "from is required"),
        ("from=0&to=86400000", "less than 24 hours"),
        ("from=100&to=50", "before from"),
        ("from=now", "integer"),
        ("from={since}&pageSize=0", "pageSize"),
        ("from={since}&pageSize=1001", "pageSize"),
        ("from={since}&page=-1", "page"),
        ("from={since}&page=10&pageSize=1000", "10000"),
        ("from={since}&channelTypes=Telephony", "channelTypes"),
        ("from={since}&agentIds=" + ",".join(f"a{i}" for i in range(101)), "at most 100"),
    ],
)
def test_activity_queries_out_of_the_contract_are_400(
    simulator: ContactCenterSimulator, tokens: dict[str, Any], query: str, words: str
) -> None:
    result = _activities(simulator, tokens, query.format(since=_since()))
    assert result.status == 400
    assert result.json()["error"]["key"] == "400"
    assert words in description(result)


def test_a_window_just_under_24_hours_is_taken(
    simulator: ContactCenterSimulator, tokens: dict[str, Any]
) -> None:
    assert _activities(simulator, tokens, "from=0&to=86399999").status == 200


def test_activities_page_and_filter_by_team(
    simulator: ContactCenterSimulator, tokens: dict[str, Any], agent: str
) -> None:
    for state in ("idle", "available", "idle"):
        _move(simulator, agent, "state", {"state": state})
    since = _since()
    first = _activities(simulator, tokens, f"from={since}&pageSize=3&page=0").json()["data"]
    second = _activities(simulator, tokens, f"from={since}&pageSize=3&page=1").json()["data"]
    assert len(first) == 3
    assert len(second) == 3
    assert [a["startTime"] for a in first + second] == sorted(a["startTime"] for a in first + second)
    team = first[0]["teamId"]
    assert _activities(simulator, tokens, f"from={since}&teamIds={team}").json()["data"]
    assert _activities(simulator, tokens, f"from={since}&teamIds=other").json()["data"] == []


def test_v2_auxiliary_codes_are_paged_with_work_types_and_active_flags(
    simulator: ContactCenterSimulator, tokens: dict[str, Any]
) -> None:
    path = f"/organization/{ORG_ID}/v2/auxiliary-code"
    everything = api(simulator, "GET", path, tokens).json()
    codes = everything["data"]
    assert {c["workTypeCode"] for c in codes} == {"IDLE_CODE", "WRAP_UP_CODE"}
    assert any(not c["active"] for c in codes)
    assert everything["meta"]["totalRecords"] == len(codes)
    assert everything["meta"]["orgid"] == ORG_ID
    page = api(simulator, "GET", f"{path}?page=1&pageSize=3", tokens).json()
    assert len(page["data"]) == 3
    assert page["meta"]["page"] == 1
    assert page["meta"]["totalPages"] == -(-len(codes) // 3)
    assert page["meta"]["links"]["next"].endswith("page=2&pageSize=3")
    assert page["meta"]["links"]["prev"].endswith("page=0&pageSize=3")
    active_idle = api(simulator, "GET", f"{path}?filter=workTypeCode==IDLE_CODE;active==true", tokens).json()[
        "data"
    ]
    assert active_idle
    assert all(c["workTypeCode"] == "IDLE_CODE" and c["active"] for c in active_idle)
    assert MEETING in {c["id"] for c in active_idle}
    assert RETIRED not in {c["id"] for c in active_idle}
    assert api(simulator, "GET", f"{path}?filter=colour==red", tokens).status == 400
    assert api(simulator, "GET", f"{path}?page=x", tokens).status == 400


def test_added_codes_appear_and_a_new_default_replaces_the_old(
    simulator: ContactCenterSimulator, tokens: dict[str, Any]
) -> None:
    added = webex_control(simulator, "POST", "/aux-codes", {"name": "Coaching", "defaultCode": True})
    assert added.status == 201
    codes = api(simulator, "GET", f"/organization/{ORG_ID}/v2/auxiliary-code?pageSize=100", tokens).json()[
        "data"
    ]
    defaults = [c["name"] for c in codes if c["workTypeCode"] == "IDLE_CODE" and c["defaultCode"]]
    assert defaults == ["Coaching"]


def test_control_moves_emit_login_state_and_logout_events(
    simulator: ContactCenterSimulator, tokens: dict[str, Any], receiver: EventsReceiver, receiver_url: str
) -> None:
    assert api(simulator, "POST", "/v1/subscriptions", tokens, subscription_body(receiver_url)).status == 201
    assert webex_control(simulator, "POST", "/agents", {"agentId": "a9"}).status == 201
    _move(simulator, "a9", "login")
    _move(simulator, "a9", "state", {"state": "ringing"})
    _move(simulator, "a9", "state", {"state": "connected"})
    _move(simulator, "a9", "state", {"state": "wrapup"})
    _move(simulator, "a9", "state", {"state": "available"})
    _move(simulator, "a9", "state", {"state": "engaged", "channelType": "chat"})
    _move(simulator, "a9", "state", {"state": "available"})
    _move(simulator, "a9", "logout")
    assert simulator.wait_for_deliveries(10)
    seen = [
        (e["type"], e["data"]["currentState"], e["data"]["channelType"]) for e in events_of(receiver.posts())
    ]
    assert seen == [
        ("agent:login", "idle", "telephony"),
        ("agent:state_change", "ringing", "telephony"),
        ("agent:state_change", "connected", "telephony"),
        ("agent:state_change", "wrapup", "telephony"),
        ("agent:state_change", "available", "telephony"),
        ("agent:state_change", "engaged", "chat"),
        ("agent:state_change", "available", "telephony"),
        ("agent:logout", "logout", "telephony"),
    ]
    login = json.loads(receiver.posts()[0].body)["data"]
    assert login["auxCodeId"] == aux_code_id(ORG_ID, "Not Ready")


@pytest.mark.parametrize(
    ("action", "body", "status"),
    [
        ("login", {}, 409),
        ("state", {"state": "lunch"}, 400),
        ("state", {"state": "idle", "auxCodeId": "nope"}, 400),
        ("state", {"state": "available", "channelType": "chat"}, 400),
        ("state", {"state": "connected", "channelType": "email"}, 400),
    ],
)
def test_control_refuses_impossible_moves(
    simulator: ContactCenterSimulator, agent: str, action: str, body: dict[str, Any], status: int
) -> None:
    assert webex_control(simulator, "POST", f"/agents/{agent}/{action}", body).status == status
    assert webex_control(simulator, "GET", f"/agents/{agent}").json()["state"] == "available"


def test_control_knows_no_unknown_agent(simulator: ContactCenterSimulator) -> None:
    assert webex_control(simulator, "POST", "/agents/ghost/login", {}).status == 404
    assert webex_control(simulator, "GET", "/agents/ghost").status == 404


def test_reset_forgets_webex_too(
    simulator: ContactCenterSimulator, tokens: dict[str, Any], agent: str
) -> None:
    from tests.integration.contact_center_simulator.helpers import http

    assert http("POST", simulator.base_url + "/_sim/reset").status == 204
    assert webex_control(simulator, "GET", "/agents").json() == {"agents": []}
    assert api(simulator, "GET", "/v1/people/me", tokens).status == 401
