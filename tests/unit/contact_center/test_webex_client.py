"""The Webex Contact Center adapter against a scripted Webex (httpx.MockTransport): request shapes,
token caching, and how every failure is classified for the presence worker."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from shared.connectors.model import WebexContactCenter
from shared.contact_center.clients import HttpContactCenterClients
from shared.contact_center.exceptions import (
    ContactCenterAuthFailed,
    ContactCenterRejected,
    ContactCenterThrottled,
    ContactCenterUnavailable,
)
from shared.contact_center.model import AgentState, AgentStatus, IdleCode
from shared.contact_center.webex_client import WebexContactCenterClient
from tests.fakes import FakeClock
from tests.unit.contact_center.fake_http import ScriptedServer, answer, body, fail_with, form
from tests.unit.contact_center.support import TENANT

BASE = "https://api.wxcc-us1.cisco.com"
TOKEN_URL = "https://webexapis.com/v1/access_token"
STATE = "/v1/agents/session/state"
ACTIVITIES = "/v1/agents/activities"
CONFIG = WebexContactCenter(BASE, "org-1", "client-1", "client-secret-1")


class Webex:
    def __init__(self) -> None:
        self.server = ScriptedServer()
        self.clock = FakeClock()
        self.tokens_issued = 0
        self.server.on("POST", "/v1/access_token", self._token)
        self.server.on("PUT", STATE, answer(202, {"trackingId": "t"}))
        self.clients = HttpContactCenterClients(
            "https://connector.example.com",
            webex_token_url=TOKEN_URL,
            clock=self.clock,
            transport=self.server.transport(),
        )
        client = self.clients.client_for(TENANT, CONFIG)
        assert isinstance(client, WebexContactCenterClient)
        self.client = client

    def _token(self, request: httpx.Request) -> httpx.Response:
        self.tokens_issued += 1
        return httpx.Response(200, json={"access_token": f"token-{self.tokens_issued}", "expires_in": 3600})

    def bearer(self, request: httpx.Request) -> str:
        return request.headers["Authorization"]


@pytest.fixture
def webex() -> Iterator[Webex]:
    fake = Webex()
    try:
        yield fake
    finally:
        fake.clients.close()


def test_set_idle_puts_the_state_with_the_aux_code(webex: Webex) -> None:
    # WHEN the adapter puts an agent in idle
    webex.client.set_idle("agent-1", "AXUH3oN12eV-WekpnDpl", "Meeting", "Teams: DoNotDisturb/Presenting")
    # THEN Webex gets its State Change request, with a bearer token from client credentials
    (token_request,) = webex.server.calls("POST", "/v1/access_token")
    assert str(token_request.url) == TOKEN_URL
    assert form(token_request) == {
        "grant_type": "client_credentials",
        "client_id": "client-1",
        "client_secret": "client-secret-1",
    }
    (put,) = webex.server.calls("PUT", STATE)
    assert str(put.url) == BASE + STATE
    assert body(put) == {
        "state": "Idle",
        "auxCodeId": "AXUH3oN12eV-WekpnDpl",
        "lastStateChangeReason": "Teams: DoNotDisturb/Presenting",
        "agentId": "agent-1",
    }
    assert webex.bearer(put) == "Bearer token-1"
    assert put.headers["TrackingId"].startswith("TEAMSCONNECTOR_")
    # AND both calls tell the simulator which connector tenant they are for
    for request in (token_request, put):
        assert request.headers["X-Connector-Tenant"] == TENANT
        assert request.headers["X-Connector-Events-Url"] == (
            f"https://connector.example.com/api/tenants/{TENANT}/contact-center/events"
        )


def test_set_available_uses_aux_code_zero_and_truncates_the_reason(webex: Webex) -> None:
    webex.client.set_available("agent-1", "r" * 300)
    (put,) = webex.server.calls("PUT", STATE)
    assert body(put)["state"] == "Available"
    assert body(put)["auxCodeId"] == "0"
    assert body(put)["lastStateChangeReason"] == "r" * 128


def test_the_token_is_reused_until_shortly_before_it_expires(webex: Webex) -> None:
    # GIVEN a first call got a one-hour token
    webex.client.set_available("agent-1", "r")
    # WHEN more calls follow within the hour (minus the refresh margin)
    webex.clock.advance(minutes=54)
    webex.client.set_available("agent-1", "r")
    assert webex.tokens_issued == 1
    # THEN only past that point a new token is fetched
    webex.clock.advance(minutes=1, seconds=1)
    webex.client.set_available("agent-1", "r")
    assert webex.tokens_issued == 2
    assert [webex.bearer(r) for r in webex.server.calls("PUT", STATE)] == [
        "Bearer token-1",
        "Bearer token-1",
        "Bearer token-2",
    ]


def test_a_refused_token_is_dropped_so_the_next_attempt_gets_a_new_one(webex: Webex) -> None:
    webex.server.then(
        "PUT", STATE, answer(401, {"error": {"key": 401, "message": [{"description": "expired"}]}})
    )
    with pytest.raises(ContactCenterAuthFailed, match="expired"):
        webex.client.set_available("agent-1", "r")
    webex.client.set_available("agent-1", "r")
    assert webex.tokens_issued == 2


def test_bad_client_credentials_are_an_auth_failure(webex: Webex) -> None:
    webex.server.then(
        "POST",
        "/v1/access_token",
        answer(400, {"error": "invalid_client", "error_description": "bad secret"}),
    )
    with pytest.raises(ContactCenterAuthFailed, match="invalid_client"):
        webex.client.set_available("agent-1", "r")
    assert webex.server.calls("PUT", STATE) == []


def test_a_token_answer_without_access_token_is_a_passing_fault(webex: Webex) -> None:
    webex.server.then("POST", "/v1/access_token", answer(200, {"token_type": "Bearer"}))
    with pytest.raises(ContactCenterUnavailable):
        webex.client.set_available("agent-1", "r")


def test_a_token_endpoint_outage_is_transient(webex: Webex) -> None:
    webex.server.then("POST", "/v1/access_token", answer(503, None, {"Retry-After": "4"}))
    with pytest.raises(ContactCenterUnavailable) as raised:
        webex.client.set_available("agent-1", "r")
    assert raised.value.retry_after == 4
    assert raised.value.transient


def test_429_is_throttled_with_retry_after_seconds(webex: Webex) -> None:
    webex.server.then("PUT", STATE, answer(429, {"error": {"key": 429}}, {"Retry-After": "7"}))
    with pytest.raises(ContactCenterThrottled) as raised:
        webex.client.set_available("agent-1", "r")
    assert raised.value.retry_after == 7
    assert raised.value.status == 429
    assert raised.value.transient


def test_429_with_an_http_date_retry_after(webex: Webex) -> None:
    when = (webex.clock() + timedelta(seconds=30)).strftime("%a, %d %b %Y %H:%M:%S GMT")
    webex.server.then("PUT", STATE, answer(429, None, {"Retry-After": when}))
    with pytest.raises(ContactCenterThrottled) as raised:
        webex.client.set_available("agent-1", "r")
    assert raised.value.retry_after == 30


def test_429_without_retry_after_leaves_the_back_off_to_the_caller(webex: Webex) -> None:
    webex.server.then("PUT", STATE, answer(429))
    with pytest.raises(ContactCenterThrottled) as raised:
        webex.client.set_available("agent-1", "r")
    assert raised.value.retry_after is None


@pytest.mark.parametrize(("status", "retry_after"), [(503, "2"), (500, None), (502, None), (408, None)])
def test_server_errors_are_unavailable(webex: Webex, status: int, retry_after: str | None) -> None:
    headers = {"Retry-After": retry_after} if retry_after else None
    webex.server.then("PUT", STATE, answer(status, None, headers))
    with pytest.raises(ContactCenterUnavailable) as raised:
        webex.client.set_available("agent-1", "r")
    assert raised.value.status == status
    assert raised.value.retry_after == (float(retry_after) if retry_after else None)


@pytest.mark.parametrize("status", [400, 404, 409, 422])
def test_client_errors_are_rejections_with_webex_detail(webex: Webex, status: int) -> None:
    detail = {"error": {"key": status, "message": [{"description": "auxCodeId is invalid"}]}}
    webex.server.then("PUT", STATE, answer(status, detail))
    with pytest.raises(ContactCenterRejected, match="auxCodeId is invalid") as raised:
        webex.client.set_idle("agent-1", "nope", None, "r")
    assert not raised.value.transient


def test_403_is_an_auth_failure_that_keeps_the_token(webex: Webex) -> None:
    webex.server.then("PUT", STATE, answer(403))
    with pytest.raises(ContactCenterAuthFailed):
        webex.client.set_available("agent-1", "r")
    webex.client.set_available("agent-1", "r")
    assert webex.tokens_issued == 1


@pytest.mark.parametrize(
    "error",
    [
        httpx.ConnectError("refused"),
        httpx.ReadTimeout("slow"),
        httpx.ConnectTimeout("slow"),
        httpx.RemoteProtocolError("garbage"),
    ],
)
def test_network_failures_and_timeouts_are_unavailable(webex: Webex, error: Exception) -> None:
    webex.server.then("PUT", STATE, fail_with(error))
    with pytest.raises(ContactCenterUnavailable) as raised:
        webex.client.set_available("agent-1", "r")
    assert raised.value.retry_after is None


def _activity(state: str, start: datetime, *, active: bool, end: int = -1, **extra: Any) -> dict[str, Any]:
    return {
        "agentId": "agent-1",
        "currentState": state,
        "active": active,
        "startTime": int(start.timestamp() * 1000),
        "endTime": end,
        "channelType": "telephony",
        "idleCode": extra.get("idleCode", ""),
        "idleCodeName": extra.get("idleCodeName", ""),
    }


def test_status_is_the_newest_active_activity(webex: Webex) -> None:
    # GIVEN Webex lists an ended available activity and the current idle one
    start = datetime(2026, 11, 21, 8, 30, tzinfo=UTC)
    activities = [
        _activity("available", start - timedelta(hours=1), active=False, end=int(start.timestamp() * 1000)),
        _activity("idle", start, active=True, idleCode="AXlunch", idleCodeName="Lunch"),
    ]
    webex.server.on("GET", ACTIVITIES, answer(200, {"meta": {"orgId": "org-1"}, "data": activities}))
    # WHEN the adapter reads the agent's status
    status = webex.client.get_status("agent-1")
    # THEN it is the idle activity, with its code and start time
    assert status == AgentStatus(AgentState.IDLE, "AXlunch", "Lunch", start)
    (request,) = webex.server.calls("GET", ACTIVITIES)
    params = dict(request.url.params)
    assert params["agentIds"] == "agent-1"
    assert params["orgId"] == "org-1"
    assert int(params["from"]) == int((webex.clock() - timedelta(hours=24, minutes=-1)).timestamp() * 1000)


@pytest.mark.parametrize(
    ("webex_state", "ours"),
    [
        ("available", AgentState.AVAILABLE),
        ("connected", AgentState.ON_CALL),
        ("Engaged", AgentState.ON_CALL),
        ("ringing", AgentState.RINGING),
        ("reserved", AgentState.RINGING),
        ("wrapup", AgentState.WRAP_UP),
        ("wrap-up", AgentState.WRAP_UP),
    ],
)
def test_webex_states_map_to_ours(webex: Webex, webex_state: str, ours: AgentState) -> None:
    activities = [_activity(webex_state, webex.clock(), active=True, idleCode="x")]
    webex.server.on("GET", ACTIVITIES, answer(200, {"data": activities}))
    status = webex.client.get_status("agent-1")
    assert status is not None
    assert status.state is ours
    assert status.idle_code_id is None


def test_no_active_activity_means_logged_out_since_the_last_end(webex: Webex) -> None:
    end = datetime(2026, 11, 21, 8, 0, tzinfo=UTC)
    activities = [
        _activity("available", end - timedelta(hours=2), active=False, end=int(end.timestamp() * 1000) - 5),
        _activity("idle", end - timedelta(hours=1), active=False, end=int(end.timestamp() * 1000)),
    ]
    webex.server.on("GET", ACTIVITIES, answer(200, {"data": activities}))
    assert webex.client.get_status("agent-1") == AgentStatus(AgentState.LOGGED_OUT, changed_at=end)


def test_no_activity_or_an_unknown_state_means_unknown(webex: Webex) -> None:
    webex.server.then("GET", ACTIVITIES, answer(200, {"data": []}))
    assert webex.client.get_status("agent-1") is None
    webex.server.then(
        "GET", ACTIVITIES, answer(200, {"data": [_activity("levitating", webex.clock(), active=True)]})
    )
    assert webex.client.get_status("agent-1") is None


def test_activities_are_read_page_by_page(webex: Webex) -> None:
    # GIVEN a busy agent with 1,000 activities on the first page and the current one on the second
    first_page = [
        _activity("available", webex.clock() - timedelta(hours=2), active=False, end=1) for _ in range(1000)
    ]
    current = _activity("connected", webex.clock(), active=True)
    webex.server.then("GET", ACTIVITIES, answer(200, {"data": first_page}), answer(200, {"data": [current]}))
    # WHEN the status is read
    status = webex.client.get_status("agent-1")
    # THEN both pages were fetched and the newest activity wins
    assert status is not None
    assert status.state is AgentState.ON_CALL
    assert [dict(r.url.params)["page"] for r in webex.server.calls("GET", ACTIVITIES)] == ["0", "1"]


def test_an_unreadable_activities_answer_is_a_passing_fault(webex: Webex) -> None:
    webex.server.then("GET", ACTIVITIES, answer(200, {"items": []}))
    with pytest.raises(ContactCenterUnavailable):
        webex.client.get_status("agent-1")


def test_idle_codes_are_the_active_idle_aux_codes(webex: Webex) -> None:
    codes = [
        {"id": "AXnr", "name": "Not Ready", "workTypeCode": "IDLE_CODE", "active": True, "defaultCode": True},
        {
            "id": "AXmeet",
            "name": "Meeting",
            "workTypeCode": "IDLE_CODE",
            "active": True,
            "defaultCode": False,
        },
        {"id": "AXold", "name": "Old", "workTypeCode": "IDLE_CODE", "active": False, "defaultCode": False},
        {
            "id": "AXres",
            "name": "Resolved",
            "workTypeCode": "WRAP_UP_CODE",
            "active": True,
            "defaultCode": True,
        },
    ]
    webex.server.on("GET", "/organization/org-1/auxiliary-code", answer(200, codes))
    assert webex.client.idle_codes() == [IdleCode("AXnr", "Not Ready", True), IdleCode("AXmeet", "Meeting")]


def test_the_same_configuration_reuses_the_client_and_its_token(webex: Webex) -> None:
    assert webex.clients.client_for(TENANT, CONFIG) is webex.client
    changed = WebexContactCenter(BASE, "org-1", "client-1", "rotated-secret")
    replacement = webex.clients.client_for(TENANT, changed)
    assert replacement is not webex.client
    replacement.set_available("agent-1", "r")
    assert form(webex.server.calls("POST", "/v1/access_token")[0])["client_secret"] == "rotated-secret"
