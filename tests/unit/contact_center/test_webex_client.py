"""The Webex Contact Center adapter against a scripted Webex (httpx.MockTransport): request shapes,
the tenant's access token, and how every failure is classified for the presence worker."""

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
from tests.unit.contact_center.fake_http import ScriptedServer, answer, body, fail_with
from tests.unit.contact_center.support import TENANT

BASE = "https://api.wxcc-us1.cisco.com"
STATE = "/v1/agents/session/state"
ACTIVITIES = "/v1/agents/activities"
ORG = "2f9eecc5-0472-4549-9a83-2afdae0d4ba1"
CONFIG = WebexContactCenter(BASE, ORG)
AUX_CODES = f"/organization/{ORG}/v2/auxiliary-code"
MARK = "[teams-connector] "


class FakeWebexTokens:
    """The tenant's Webex sign-in (WebexTokens port): one token until it is forgotten."""

    def __init__(self) -> None:
        self.issued = 0
        self.current: str | None = None
        self.tenants: list[str] = []

    def access_token(self, tenant_id: str) -> str:
        self.tenants.append(tenant_id)
        if self.current is None:
            self.issued += 1
            self.current = f"token-{self.issued}"
        return self.current

    def forget_token(self, tenant_id: str) -> None:
        self.current = None


class Webex:
    def __init__(self) -> None:
        self.server = ScriptedServer()
        self.clock = FakeClock()
        self.tokens = FakeWebexTokens()
        self.server.on("PUT", STATE, answer(202, {"trackingId": "t"}))
        self.clients = HttpContactCenterClients(
            "https://connector.example.com",
            webex_tokens=self.tokens,
            clock=self.clock,
            transport=self.server.transport(),
        )
        client = self.clients.client_for(TENANT, CONFIG)
        assert isinstance(client, WebexContactCenterClient)
        self.client = client

    @property
    def tokens_issued(self) -> int:
        return self.tokens.issued

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
    # THEN Webex gets its State Change request, with the tenant's token from the Webex sign-in
    assert webex.tokens.tenants == [TENANT]
    (put,) = webex.server.calls("PUT", STATE)
    assert str(put.url) == BASE + STATE
    assert body(put) == {
        "state": "Idle",
        "auxCodeId": "AXUH3oN12eV-WekpnDpl",
        # The connector's marker first, so the event this change causes reads as our echo.
        "lastStateChangeReason": MARK + "Teams: DoNotDisturb/Presenting",
        "agentId": "agent-1",
    }
    assert webex.bearer(put) == "Bearer token-1"
    assert put.headers["TrackingId"].startswith("TEAMSCONNECTOR_")
    # AND none of the webhook contract's headers goes to Webex (our tenant id and URLs stay ours)
    assert not any(name.lower().startswith("x-connector") for name in put.headers)


def test_set_available_uses_aux_code_zero_and_truncates_the_reason(webex: Webex) -> None:
    webex.client.set_available("agent-1", "r" * 300)
    (put,) = webex.server.calls("PUT", STATE)
    assert body(put)["state"] == "Available"
    assert body(put)["auxCodeId"] == "0"
    assert body(put)["lastStateChangeReason"] == (MARK + "r" * 300)[:128]
    assert len(body(put)["lastStateChangeReason"]) == 128


def test_a_refused_token_is_dropped_so_the_next_attempt_gets_a_new_one(webex: Webex) -> None:
    webex.server.then(
        "PUT", STATE, answer(401, {"error": {"key": 401, "message": [{"description": "expired"}]}})
    )
    with pytest.raises(ContactCenterAuthFailed, match="expired"):
        webex.client.set_available("agent-1", "r")
    webex.client.set_available("agent-1", "r")
    assert webex.tokens_issued == 2


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


def test_403_on_a_state_change_is_a_recorded_refusal_that_keeps_the_token(webex: Webex) -> None:
    # Webex lets only a supervisor of the agent's team change his state: retrying cannot help.
    webex.server.then("PUT", STATE, answer(403, {"error": {"key": 403, "message": "not a supervisor"}}))
    with pytest.raises(ContactCenterRejected, match="Change Agent States") as raised:
        webex.client.set_available("agent-1", "r")
    assert raised.value.status == 403
    assert not raised.value.transient
    webex.client.set_available("agent-1", "r")
    assert webex.tokens_issued == 1


def test_403_on_a_read_is_an_auth_failure(webex: Webex) -> None:
    webex.server.then("GET", ACTIVITIES, answer(403))
    with pytest.raises(ContactCenterAuthFailed):
        webex.client.get_status("agent-1")


def test_no_webex_sign_in_is_an_auth_failure_before_any_call() -> None:
    from shared.contact_center.webex.exceptions import WebexReauthorizationRequired

    server = ScriptedServer()
    clients = HttpContactCenterClients("https://connector.example.com", transport=server.transport())
    with pytest.raises(WebexReauthorizationRequired):
        clients.client_for(TENANT, CONFIG).set_available("agent-1", "r")
    assert server.calls("PUT", STATE) == []
    clients.close()


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
    assert params["orgId"] == ORG
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
    webex.server.on(
        "GET",
        AUX_CODES,
        answer(200, {"meta": {"orgid": ORG, "page": 0, "pageSize": 100, "totalPages": 1}, "data": codes}),
    )
    assert webex.client.idle_codes() == [IdleCode("AXnr", "Not Ready", True), IdleCode("AXmeet", "Meeting")]


def test_idle_codes_follow_total_pages(webex: Webex) -> None:
    def page(request: httpx.Request) -> httpx.Response:
        number = int(request.url.params["page"])
        code = {
            "id": f"AX{number}",
            "name": f"Code {number}",
            "workTypeCode": "IDLE_CODE",
            "active": True,
            "defaultCode": number == 0,
        }
        return httpx.Response(200, json={"meta": {"page": number, "totalPages": 3}, "data": [code]})

    webex.server.on("GET", AUX_CODES, page)
    assert [code.id for code in webex.client.idle_codes()] == ["AX0", "AX1", "AX2"]
    assert len(webex.server.calls("GET", AUX_CODES)) == 3


def test_the_same_configuration_reuses_the_client(webex: Webex) -> None:
    assert webex.clients.client_for(TENANT, CONFIG) is webex.client
    changed = WebexContactCenter("https://api.wxcc-eu1.cisco.com", ORG)
    replacement = webex.clients.client_for(TENANT, changed)
    assert replacement is not webex.client
    replacement.set_available("agent-1", "r")
    assert str(webex.server.calls("PUT", STATE)[0].url).startswith("https://api.wxcc-eu1.cisco.com/")
