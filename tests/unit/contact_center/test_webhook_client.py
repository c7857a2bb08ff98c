"""The generic signed-webhook adapter against a scripted receiver: the documented contract, signatures
a receiver can check, and failure classification."""

from __future__ import annotations

import json
from collections.abc import Iterator

import httpx
import pytest

from shared.connectors.model import WebhookContactCenter
from shared.contact_center.clients import HttpContactCenterClients
from shared.contact_center.exceptions import (
    ContactCenterAuthFailed,
    ContactCenterRejected,
    ContactCenterThrottled,
    ContactCenterUnavailable,
)
from shared.contact_center.model import AgentState, AgentStatus, IdleCode
from shared.contact_center.ports import ContactCenterClient
from shared.contact_center.signatures import get_request_payload, verify_signature
from tests.fakes import FakeClock
from tests.unit.contact_center.fake_http import ScriptedServer, answer, body, fail_with
from tests.unit.contact_center.support import SECRET, TENANT, iso

URL = "https://cc.example.com/hooks/teams"
CONFIG = WebhookContactCenter(URL, SECRET)


class Receiver:
    def __init__(self) -> None:
        self.server = ScriptedServer()
        self.server.on("POST", "/hooks/teams", answer(204))
        self.clock = FakeClock()
        self.clients = HttpContactCenterClients(
            "https://connector.example.com/", clock=self.clock, transport=self.server.transport()
        )
        self.client: ContactCenterClient = self.clients.client_for(TENANT, CONFIG)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    fake = Receiver()
    try:
        yield fake
    finally:
        fake.clients.close()


def test_set_idle_posts_the_signed_contract(receiver: Receiver) -> None:
    # WHEN the adapter puts an agent in idle
    receiver.client.set_idle("agent-1", "meeting", "Meeting", "Teams: Busy/InAMeeting")
    # THEN the receiver gets the documented JSON
    (post,) = receiver.server.calls("POST", "/hooks/teams")
    sent = body(post)
    assert sent.pop("eventId")
    assert sent == {
        "type": "setAgentState",
        "tenantId": TENANT,
        "agentId": "agent-1",
        "state": "idle",
        "idleCodeId": "meeting",
        "idleCodeName": "Meeting",
        "reason": "Teams: Busy/InAMeeting",
        "occurredAt": iso(receiver.clock()),
    }
    # AND a signature over the raw body that the receiver can check with the shared secret
    assert post.headers["Content-Type"] == "application/json"
    assert verify_signature(post.content, post.headers["X-Connector-Signature"], SECRET)
    assert not verify_signature(post.content, post.headers["X-Connector-Signature"], "another-secret")
    assert post.headers["X-Connector-Timestamp"] == str(int(receiver.clock().timestamp()))
    assert post.headers["X-Connector-Tenant"] == TENANT
    assert post.headers["X-Connector-Events-Url"] == (
        f"https://connector.example.com/api/tenants/{TENANT}/contact-center/events"
    )


def test_set_available_sends_no_idle_code_and_a_new_event_id_each_time(receiver: Receiver) -> None:
    receiver.client.set_available("agent-1", "Teams: Available")
    receiver.client.set_available("agent-1", "Teams: Available")
    first, second = (body(p) for p in receiver.server.calls("POST", "/hooks/teams"))
    assert first["state"] == "available"
    assert (first["idleCodeId"], first["idleCodeName"]) == (None, None)
    assert first["eventId"] != second["eventId"]


def test_get_status_reads_the_agent_with_a_signed_get(receiver: Receiver) -> None:
    # GIVEN the receiver knows the agent (whose id needs escaping in a path)
    payload = {
        "state": "idle",
        "idleCodeId": "lunch",
        "idleCodeName": "Lunch",
        "changedAt": "2026-11-21T08:00:00Z",
    }
    receiver.server.on("GET", "/hooks/teams/agents/team a/1", answer(200, payload))
    # WHEN the adapter reads the status
    status = receiver.client.get_status("team a/1")
    # THEN the answer is read into an AgentStatus
    assert status is not None
    assert (status.state, status.idle_code_id, status.idle_code_name) == (AgentState.IDLE, "lunch", "Lunch")
    assert status.changed_at is not None
    assert iso(status.changed_at) == "2026-11-21T08:00:00Z"
    # AND the GET signs its raw path and timestamp
    (get,) = receiver.server.requests
    raw_path = get.url.raw_path.decode()
    assert raw_path == "/hooks/teams/agents/team%20a%2F1"
    timestamp = get.headers["X-Connector-Timestamp"]
    assert verify_signature(
        get_request_payload(raw_path, timestamp), get.headers["X-Connector-Signature"], SECRET
    )


def test_an_unknown_agent_has_no_status(receiver: Receiver) -> None:
    receiver.server.on("GET", "/hooks/teams/agents/nobody", answer(404))
    assert receiver.client.get_status("nobody") is None


def test_idle_codes_are_only_reported_for_the_idle_state(receiver: Receiver) -> None:
    receiver.server.on("GET", "/hooks/teams/agents/a", answer(200, {"state": "onCall", "idleCodeId": "x"}))
    assert receiver.client.get_status("a") == AgentStatus(AgentState.ON_CALL)


@pytest.mark.parametrize("payload", [[], {"state": "sleeping"}, {"idleCodeId": "x"}])
def test_an_unreadable_status_is_a_passing_fault(receiver: Receiver, payload: object) -> None:
    receiver.server.on("GET", "/hooks/teams/agents/a", answer(200, payload))
    with pytest.raises(ContactCenterUnavailable):
        receiver.client.get_status("a")


def test_a_status_body_that_is_not_json_is_a_passing_fault(receiver: Receiver) -> None:
    receiver.server.on("GET", "/hooks/teams/agents/a", lambda r: httpx.Response(200, content=b"<html>"))
    with pytest.raises(ContactCenterUnavailable):
        receiver.client.get_status("a")


def test_429_is_throttled_with_retry_after(receiver: Receiver) -> None:
    receiver.server.then("POST", "/hooks/teams", answer(429, None, {"Retry-After": "12"}))
    with pytest.raises(ContactCenterThrottled) as raised:
        receiver.client.set_available("agent-1", "r")
    assert raised.value.retry_after == 12


def test_503_is_unavailable_with_retry_after(receiver: Receiver) -> None:
    receiver.server.then("POST", "/hooks/teams", answer(503, None, {"Retry-After": "3"}))
    with pytest.raises(ContactCenterUnavailable) as raised:
        receiver.client.set_available("agent-1", "r")
    assert raised.value.retry_after == 3


@pytest.mark.parametrize("status", [400, 404, 410, 301])
def test_other_refusals_are_final(receiver: Receiver, status: int) -> None:
    receiver.server.then("POST", "/hooks/teams", answer(status, {"error": "unknown agent"}))
    with pytest.raises(ContactCenterRejected) as raised:
        receiver.client.set_idle("agent-9", "meeting", None, "r")
    assert raised.value.status == status


def test_a_refused_signature_is_an_auth_failure(receiver: Receiver) -> None:
    receiver.server.then("POST", "/hooks/teams", answer(401, {"error": {"code": "invalidSignature"}}))
    with pytest.raises(ContactCenterAuthFailed):
        receiver.client.set_available("agent-1", "r")


def test_a_dead_receiver_is_unavailable(receiver: Receiver) -> None:
    receiver.server.then("POST", "/hooks/teams", fail_with(httpx.ConnectError("refused")))
    with pytest.raises(ContactCenterUnavailable):
        receiver.client.set_available("agent-1", "r")


def test_the_secret_never_travels(receiver: Receiver) -> None:
    receiver.client.set_idle("agent-1", "meeting", "Meeting", "r")
    (post,) = receiver.server.requests
    assert SECRET not in json.dumps(dict(post.headers)) + post.content.decode()


def test_a_query_string_in_the_configured_url_stays_at_the_end(receiver: Receiver) -> None:
    # GIVEN a tenant whose webhook URL carries a query string (e.g. a function key)
    client = receiver.clients.client_for(TENANT, WebhookContactCenter(URL + "?code=abc", SECRET))
    receiver.server.on("GET", "/hooks/teams/agents/a", answer(200, {"state": "available"}))
    # WHEN the status is read
    client.get_status("a")
    # THEN the agent path goes before the query, and the signature covers the path only
    (get,) = receiver.server.requests
    assert get.url.raw_path == b"/hooks/teams/agents/a?code=abc"
    payload = get_request_payload("/hooks/teams/agents/a", get.headers["X-Connector-Timestamp"])
    assert verify_signature(payload, get.headers["X-Connector-Signature"], SECRET)


def test_a_webhook_without_an_idle_code_list_says_so(receiver: Receiver) -> None:
    from shared.contact_center.exceptions import IdleCodesNotOffered

    receiver.server.on("GET", "/hooks/teams/idle-codes", answer(404))
    with pytest.raises(IdleCodesNotOffered):
        receiver.client.idle_codes()


def test_idle_codes_are_read_with_a_signed_get(receiver: Receiver) -> None:
    payload = {"idleCodes": [{"id": "meeting", "name": "Meeting", "isDefault": True}, {"id": "lunch"}]}
    receiver.server.on("GET", "/hooks/teams/idle-codes", answer(200, payload))
    codes = receiver.client.idle_codes()
    assert codes == [IdleCode("meeting", "Meeting", True), IdleCode("lunch", "lunch")]
    (get,) = receiver.server.requests
    raw_path = get.url.raw_path.decode()
    assert raw_path == "/hooks/teams/idle-codes"
    assert verify_signature(
        get_request_payload(raw_path, get.headers["X-Connector-Timestamp"]),
        get.headers["X-Connector-Signature"],
        SECRET,
    )


@pytest.mark.parametrize(
    "payload", [[], {"codes": []}, {"idleCodes": [{"name": "no id"}]}, {"idleCodes": [1]}]
)
def test_an_unreadable_idle_code_list_is_a_passing_fault(receiver: Receiver, payload: object) -> None:
    receiver.server.on("GET", "/hooks/teams/idle-codes", answer(200, payload))
    with pytest.raises(ContactCenterUnavailable):
        receiver.client.idle_codes()
