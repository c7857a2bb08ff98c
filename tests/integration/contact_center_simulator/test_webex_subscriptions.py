"""Webex subscriptions at the simulator: CRUD with the published validation, and deliveries as signed
CloudEvents (retries, keep-alive, order per agent, duplicates and reordering on demand)."""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import Any

import pytest

from devstack.contact_center_simulator import ContactCenterSimulator
from tests.integration.contact_center_simulator.helpers import EventsReceiver, wait_until
from tests.integration.contact_center_simulator.webex_helpers import (
    CLIENT_ID,
    CLIENT_SECRET,
    ORG_ID,
    REDIRECT_URI,
    SUBSCRIPTION_SECRET,
    api,
    description,
    events_of,
    sign_in,
    subscription_body,
    webex_control,
)

pytestmark = pytest.mark.integration


@pytest.fixture
def tokens(simulator: ContactCenterSimulator) -> dict[str, Any]:
    simulator.register_webex_integration(CLIENT_ID, CLIENT_SECRET, [REDIRECT_URI])
    return sign_in(simulator)


def _subscribe(sim: ContactCenterSimulator, tokens: dict[str, Any], url: str, **extra: Any) -> dict[str, Any]:
    created = api(sim, "POST", "/v1/subscriptions", tokens, subscription_body(url, **extra))
    assert created.status == 201, created.body
    data: dict[str, Any] = created.json()["data"]
    return data


def _agent(sim: ContactCenterSimulator, agent_id: str, **extra: Any) -> None:
    result = webex_control(sim, "POST", "/agents", {"agentId": agent_id, **extra})
    assert result.status == 201, result.body


def _move(
    sim: ContactCenterSimulator, agent_id: str, action: str, body: dict[str, Any] | None = None
) -> None:
    result = webex_control(sim, "POST", f"/agents/{agent_id}/{action}", body or {})
    assert result.status == 202, result.body


def test_a_subscription_is_created_listed_read_updated_and_deleted(
    simulator: ContactCenterSimulator, tokens: dict[str, Any], receiver_url: str
) -> None:
    created = api(simulator, "POST", "/v1/subscriptions", tokens, subscription_body(receiver_url))
    assert created.status == 201
    body = created.json()
    assert body["meta"] == {"orgId": ORG_ID}
    data = body["data"]
    assert data["status"] == "active"
    assert data["createdBy"] == "supervisor@wxcc-sim.example.com"
    assert data["destinationUrl"] == receiver_url
    assert "secret" not in data
    assert set(data) >= {"id", "name", "eventTypes", "createdTime", "lastUpdatedTime", "lastUpdatedBy"}
    listed = api(simulator, "GET", "/v1/subscriptions", tokens).json()
    assert [s["id"] for s in listed["data"]] == [data["id"]]
    assert listed["meta"]["subscriptionCount"] == 1
    assert api(simulator, "GET", f"/v1/subscriptions/{data['id']}", tokens).json()["data"] == data
    patched = api(simulator, "PATCH", f"/v1/subscriptions/{data['id']}", tokens, {"status": "inactive"})
    assert patched.status == 200
    assert patched.json()["data"]["status"] == "inactive"
    assert api(simulator, "DELETE", f"/v1/subscriptions/{data['id']}", tokens).status == 204
    assert api(simulator, "GET", f"/v1/subscriptions/{data['id']}", tokens).status == 404
    assert api(simulator, "GET", "/v1/subscriptions", tokens).json()["data"] == []


@pytest.mark.parametrize(
    ("change", "words"),
    [
        ({"name": "abc"}, "name"),
        ({"name": None}, "name"),
        ({"eventTypes": []}, "eventTypes"),
        ({"eventTypes": ["agent:teleport"]}, "unknown event types"),
        ({"destinationUrl": None}, "destinationUrl"),
        ({"secret": "too-short"}, "secret"),
        ({"description": "x" * 1025}, "description"),
        ({"status": "active"}, "status"),
        ({"orgId": "not-a-uuid"}, "orgId"),
    ],
)
def test_an_invalid_subscription_is_refused_with_webexs_validation_body(
    simulator: ContactCenterSimulator,
    tokens: dict[str, Any],
    receiver_url: str,
    change: dict[str, Any],
    words: str,
) -> None:
    body = {k: v for k, v in {**subscription_body(receiver_url), **change}.items() if v is not None}
    refused = api(simulator, "POST", "/v1/subscriptions", tokens, body)
    assert refused.status == 400
    assert refused.json()["error"]["key"] == 400
    assert words in description(refused)
    assert api(simulator, "GET", "/v1/subscriptions", tokens).json()["data"] == []


@pytest.mark.parametrize("suffix", ["?tenant=1", "#frag", ""], ids=["query", "fragment", "no path"])
def test_a_destination_url_with_a_query_fragment_or_no_path_is_refused_even_locally(
    simulator: ContactCenterSimulator, tokens: dict[str, Any], receiver: EventsReceiver, suffix: str
) -> None:
    url = receiver.url + ("/events" + suffix if suffix else "")
    refused = api(simulator, "POST", "/v1/subscriptions", tokens, subscription_body(url))
    assert refused.status == 400


@pytest.mark.parametrize(
    ("url", "allowed"),
    [
        ("https://connector.contoso.com/api/webex/events", True),
        ("https://connector.contoso.com:443/", True),
        ("https://connector.contoso.de/x", True),
        ("http://connector.contoso.com/x", False),
        ("https://connector.contoso.com:8443/x", False),
        ("https://user:pw@connector.contoso.com/x", False),
        ("https://10.1.2.3/x", False),
        ("https://connector.internal/x", False),
        ("https://localhost:7071/x", False),
        ("http://127.0.0.1:7071/api/events", False),
    ],
)
def test_strict_mode_applies_webexs_https_port_443_and_tld_rules(
    simulator: ContactCenterSimulator, tokens: dict[str, Any], url: str, allowed: bool
) -> None:
    simulator.allow_loopback_destinations = False
    result = api(simulator, "POST", "/v1/subscriptions", tokens, subscription_body(url))
    assert result.status == (201 if allowed else 400), result.body


def test_patch_validates_and_cannot_rename(
    simulator: ContactCenterSimulator, tokens: dict[str, Any], receiver_url: str
) -> None:
    sub = _subscribe(simulator, tokens, receiver_url)
    path = f"/v1/subscriptions/{sub['id']}"
    assert api(simulator, "PATCH", path, tokens, {"name": "Other name"}).status == 400
    assert api(simulator, "PATCH", path, tokens, {"status": "paused"}).status == 400
    assert api(simulator, "PATCH", path, tokens, {"destinationUrl": receiver_url + "?x=1"}).status == 400
    assert api(simulator, "PATCH", path, tokens, {"eventTypes": ["agent:login"]}).json()["data"][
        "eventTypes"
    ] == ["agent:login"]
    assert api(simulator, "PATCH", "/v1/subscriptions/not-a-uuid", tokens, {}).status == 400
    unknown = "/v1/subscriptions/7d3c1b2a-0000-4000-8000-000000000000"
    assert api(simulator, "PATCH", unknown, tokens, {"status": "inactive"}).status == 404
    assert api(simulator, "DELETE", unknown, tokens).status == 404


def test_an_agent_event_arrives_as_a_signed_cloud_event(
    simulator: ContactCenterSimulator, tokens: dict[str, Any], receiver: EventsReceiver, receiver_url: str
) -> None:
    sub = _subscribe(simulator, tokens, receiver_url)
    _agent(simulator, "agent-1")
    _move(simulator, "agent-1", "login", {"state": "available"})
    assert simulator.wait_for_deliveries(10)
    (post,) = receiver.posts()
    assert post.path == "/api/contact-center/webex/events"
    expected = hmac.new(SUBSCRIPTION_SECRET.encode(), post.body, hashlib.sha256).hexdigest()
    assert post.headers["x-webexcc-signature"] == expected
    event = json.loads(post.body)
    assert event["type"] == "agent:login"
    assert event["specversion"] == "1.0"
    assert event["comciscoorgid"] == ORG_ID
    assert event["datacontenttype"] == "application/json"
    assert event["source"]
    assert event["id"]
    data = event["data"]
    assert (data["agentId"], data["currentState"], data["auxCodeId"]) == ("agent-1", "available", "0")
    assert isinstance(data["createdTime"], int)
    deliveries = webex_control(simulator, "GET", "/deliveries").json()["deliveries"]
    assert [(d["subscriptionId"], d["status"], d["signed"]) for d in deliveries] == [(sub["id"], 202, True)]


def test_without_a_secret_nothing_is_signed(
    simulator: ContactCenterSimulator, tokens: dict[str, Any], receiver: EventsReceiver, receiver_url: str
) -> None:
    body = subscription_body(receiver_url)
    del body["secret"]
    assert api(simulator, "POST", "/v1/subscriptions", tokens, body).status == 201
    _agent(simulator, "agent-1", loggedIn=True)
    assert simulator.wait_for_deliveries(10)
    (post,) = receiver.posts()
    assert "x-webexcc-signature" not in post.headers


def test_only_subscribed_types_of_active_subscriptions_are_delivered(
    simulator: ContactCenterSimulator, tokens: dict[str, Any], receiver: EventsReceiver, receiver_url: str
) -> None:
    sub = _subscribe(simulator, tokens, receiver_url, eventTypes=["agent:state_change"])
    _agent(simulator, "agent-1")
    _move(simulator, "agent-1", "login")
    _move(simulator, "agent-1", "state", {"state": "available"})
    assert simulator.wait_for_deliveries(10)
    assert [e["type"] for e in events_of(receiver.posts())] == ["agent:state_change"]
    api(simulator, "PATCH", f"/v1/subscriptions/{sub['id']}", tokens, {"status": "inactive"})
    _move(simulator, "agent-1", "state", {"state": "idle"})
    assert simulator.wait_for_deliveries(10)
    assert len(receiver.posts()) == 1


def test_a_failed_delivery_is_retried(
    simulator: ContactCenterSimulator, tokens: dict[str, Any], receiver: EventsReceiver, receiver_url: str
) -> None:
    _subscribe(simulator, tokens, receiver_url)
    _agent(simulator, "agent-1")
    receiver.fail_next = 2
    _move(simulator, "agent-1", "login")
    assert simulator.wait_for_deliveries(10)
    attempts = [
        (d["attempt"], d["status"])
        for d in webex_control(simulator, "GET", "/deliveries").json()["deliveries"]
    ]
    assert attempts == [(1, 503), (2, 503), (3, 202)]
    assert len({json.loads(p.body)["id"] for p in receiver.posts()}) == 1


def test_events_of_one_agent_keep_their_order_and_connections_are_kept_alive(
    simulator: ContactCenterSimulator, tokens: dict[str, Any], receiver: EventsReceiver, receiver_url: str
) -> None:
    _subscribe(simulator, tokens, receiver_url)
    for agent in ("a1", "a2"):
        _agent(simulator, agent)
        _move(simulator, agent, "login")
    for _ in range(5):
        for agent in ("a1", "a2"):
            _move(simulator, agent, "state", {"state": "available"})
            _move(simulator, agent, "state", {"state": "idle"})
    assert simulator.wait_for_deliveries(20)
    posts = receiver.posts()
    assert len(posts) == 22
    emitted = [e for e in webex_control(simulator, "GET", "/events").json()["events"]]
    for agent in ("a1", "a2"):
        sent = [e["id"] for e in emitted if e["data"]["agentId"] == agent]
        received = [e["id"] for e in events_of(posts) if e["data"]["agentId"] == agent]
        assert received == sent
    # 22 posts over at most one connection per delivery worker (8): connections were reused
    opened = webex_control(simulator, "GET", "").json()["deliveryConnectionsOpened"]
    assert opened <= 8
    assert len({p.peer for p in posts}) <= opened


def test_duplicates_on_demand_repeat_the_same_event_id(
    simulator: ContactCenterSimulator, tokens: dict[str, Any], receiver: EventsReceiver, receiver_url: str
) -> None:
    _subscribe(simulator, tokens, receiver_url)
    _agent(simulator, "agent-1")
    assert webex_control(simulator, "PUT", "/deliveries/chaos", {"duplicateNext": 1}).status == 200
    _move(simulator, "agent-1", "login")
    _move(simulator, "agent-1", "state", {"state": "available"})
    assert simulator.wait_for_deliveries(10)
    ids = [e["id"] for e in events_of(receiver.posts())]
    assert len(ids) == 3
    assert ids[0] == ids[1] != ids[2]
    assert webex_control(simulator, "GET", "/deliveries/chaos").json()["duplicateNext"] == 0


def test_reordering_on_demand_delivers_an_event_after_the_next_one(
    simulator: ContactCenterSimulator, tokens: dict[str, Any], receiver: EventsReceiver, receiver_url: str
) -> None:
    _subscribe(simulator, tokens, receiver_url)
    _agent(simulator, "agent-1", loggedIn=True)
    assert simulator.wait_for_deliveries(10)
    webex_control(simulator, "PUT", "/deliveries/chaos", {"reorderNext": 1})
    _move(simulator, "agent-1", "state", {"state": "idle"})
    assert simulator.wait_for_deliveries(10)
    assert len(receiver.posts()) == 1
    assert webex_control(simulator, "GET", "/deliveries/chaos").json()["held"] == 1
    _move(simulator, "agent-1", "state", {"state": "available"})
    assert simulator.wait_for_deliveries(10)
    states = [e["data"]["currentState"] for e in events_of(receiver.posts())]
    assert states == ["available", "available", "idle"]
    times = [e["data"]["createdTime"] for e in events_of(receiver.posts())[1:]]
    assert times[0] >= times[1]


def test_a_held_event_can_be_released(
    simulator: ContactCenterSimulator, tokens: dict[str, Any], receiver: EventsReceiver, receiver_url: str
) -> None:
    _subscribe(simulator, tokens, receiver_url)
    _agent(simulator, "agent-1")
    webex_control(simulator, "PUT", "/deliveries/chaos", {"reorderNext": 1})
    _move(simulator, "agent-1", "login")
    assert webex_control(simulator, "POST", "/deliveries/release").json() == {"released": 1}
    assert wait_until(lambda: len(receiver.posts()) == 1)
    assert webex_control(simulator, "PUT", "/deliveries/chaos", {"shuffle": 1}).status == 400


def test_a_subscription_webex_lost_gets_nothing(
    simulator: ContactCenterSimulator, tokens: dict[str, Any], receiver: EventsReceiver, receiver_url: str
) -> None:
    sub = _subscribe(simulator, tokens, receiver_url)
    assert webex_control(simulator, "DELETE", f"/subscriptions/{sub['id']}").status == 204
    _agent(simulator, "agent-1", loggedIn=True)
    assert simulator.wait_for_deliveries(10)
    assert receiver.posts() == []
    assert api(simulator, "GET", "/v1/subscriptions", tokens).json()["data"] == []
