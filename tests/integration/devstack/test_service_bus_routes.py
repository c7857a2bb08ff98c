"""The in-process Service Bus's diagnostics under /_devstack/service-bus, over HTTP on a real LocalHost."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from urllib.parse import quote

import azure.functions as func
import pytest

from devstack.host import HostRequest, HttpReply, LocalHost
from devstack.service_bus import MAX_DELIVERY_COUNT_EXCEEDED, InProcessServiceBus, LocalMessage
from tests.integration.devstack.http_calls import call

pytestmark = pytest.mark.integration

WAIT_LIMIT_SECONDS = 20.0
SESSION_A = "tenant:user-a"
SESSION_B = "tenant:user-b"

app = func.FunctionApp(http_auth_level=func.AuthLevel.ANONYMOUS)


@app.service_bus_queue_trigger(
    arg_name="msg", queue_name="%Q%", connection="ServiceBusConnection", is_sessions_enabled=True
)
def on_message(msg: func.ServiceBusMessage) -> None:
    if json.loads(msg.get_body()).get("poison"):
        raise ValueError("poison message")


@app.route(route="{*path}", methods=["GET", "POST", "DELETE"])
def catch_all(req: func.HttpRequest) -> func.HttpResponse:
    """Would answer every path if host routes went through the function route table."""
    return func.HttpResponse(json.dumps({"function": "catch_all"}), mimetype="application/json")


class FakeClock:
    def __init__(self) -> None:
        self.now = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
        self._lock = threading.Lock()

    def __call__(self) -> datetime:
        with self._lock:
            return self.now

    def advance(self, delta: timedelta) -> None:
        with self._lock:
            self.now += delta


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def stack(clock: FakeClock) -> Iterator[tuple[LocalHost, InProcessServiceBus]]:
    # An empty route prefix puts every function route at the root, next to /_devstack/.
    host = LocalHost(app, host="127.0.0.1", port=0, route_prefix="")
    bus = InProcessServiceBus(
        host,
        environ={"Q": "presence-changes"},
        max_concurrent_sessions=2,
        max_delivery_count=2,
        retry_backoff=timedelta(0),
        clock=clock,
    )
    host.add_background_service(bus)
    host.start()
    try:
        yield host, bus
    finally:
        host.stop()


def json_message(session_id: str, message_id: str, body: dict[str, object]) -> LocalMessage:
    return LocalMessage(
        body=json.dumps(body).encode(),
        session_id=session_id,
        message_id=message_id,
        content_type="application/json",
        application_properties={"tenantId": "tenant"},
    )


def test_summary_reports_the_queue_counters_and_dead_letters(
    stack: tuple[LocalHost, InProcessServiceBus],
) -> None:
    # GIVEN one good message, one poison message and one duplicate
    host, bus = stack
    bus.send_batch(
        [
            json_message(SESSION_A, "good", {"n": 1}),
            json_message(SESSION_B, "bad", {"poison": True}),
            json_message(SESSION_A, "good", {"n": 1}),
        ]
    )
    assert bus.wait_idle(WAIT_LIMIT_SECONDS)

    # WHEN the summary is read
    answer = call("GET", host.base_url + "/_devstack/service-bus")

    # THEN it describes the queue, counts what happened and lists the dead letter
    assert answer.status == 200
    assert answer.headers["Content-Type"].startswith("application/json")
    summary = answer.json()
    assert summary["queueName"] == "presence-changes"
    assert summary["functionName"] == "on_message"
    assert summary["state"] == "running"
    assert summary["maxConcurrentSessions"] == 2
    assert summary["maxDeliveryCount"] == 2
    assert summary["duplicateDetectionWindowSeconds"] == 600
    assert summary["counters"] == {
        "sent": 2,
        "duplicates": 1,
        "completed": 1,
        "abandoned": 1,
        "deadLettered": 1,
        "pending": 0,
        "inFlight": 0,
        "sessions": 0,
    }
    (letter,) = summary["deadLetters"]
    assert letter["messageId"] == "bad"
    assert letter["sessionId"] == SESSION_B
    assert letter["deliveryCount"] == 2
    assert letter["deadLetterReason"] == MAX_DELIVERY_COUNT_EXCEEDED
    assert letter["deadLetterErrorDescription"] == "ValueError: poison message"
    assert letter["body"] == {"poison": True}


def test_deliveries_are_listed_filtered_and_cleared(
    stack: tuple[LocalHost, InProcessServiceBus], clock: FakeClock
) -> None:
    # GIVEN a delivery to session A, then (a second later) one to A and one to B
    host, bus = stack
    bus.send(json_message(SESSION_A, "a-1", {"n": 1}))
    assert bus.wait_idle(WAIT_LIMIT_SECONDS)
    cut = clock.now
    clock.advance(timedelta(seconds=1))
    bus.send_batch([json_message(SESSION_A, "a-2", {"n": 2}), json_message(SESSION_B, "b-1", {"n": 3})])
    assert bus.wait_idle(WAIT_LIMIT_SECONDS)
    deliveries_url = host.base_url + "/_devstack/service-bus/deliveries"

    # WHEN the whole log is read THEN every delivery is there with its details
    everything = call("GET", deliveries_url).json()
    assert everything["count"] == 3
    first = everything["deliveries"][0]
    assert first["messageId"] == "a-1"
    assert first["sessionId"] == SESSION_A
    assert first["deliveryCount"] == 1
    assert first["outcome"] == "completed"
    assert first["enqueuedAt"] == "2024-05-01T12:00:00Z"
    assert first["startedAt"] == "2024-05-01T12:00:00Z"
    assert first["finishedAt"] == "2024-05-01T12:00:00Z"
    assert first["latencyMs"] == 0
    assert first["body"] == {"n": 1}
    assert "error" not in first

    # WHEN it is filtered by session, by time, or both THEN only the matching deliveries come back
    by_session = call("GET", deliveries_url + f"?sessionId={quote(SESSION_A)}").json()
    assert [record["messageId"] for record in by_session["deliveries"]] == ["a-1", "a-2"]
    since = call("GET", deliveries_url + f"?since={quote(cut.isoformat())}").json()
    assert sorted(record["messageId"] for record in since["deliveries"]) == ["a-2", "b-1"]
    # A '+' left unencoded reaches the server as a space and still means the offset
    unencoded = call("GET", deliveries_url + f"?since={cut.isoformat()}").json()
    assert unencoded == since
    zulu = cut.isoformat().replace("+00:00", "Z")
    both = call("GET", deliveries_url + f"?sessionId={quote(SESSION_B)}&since={zulu}").json()
    assert [record["messageId"] for record in both["deliveries"]] == ["b-1"]

    # WHEN the log is deleted THEN it is empty, and the counters still count
    deleted = call("DELETE", deliveries_url)
    assert deleted.status == 204
    assert call("GET", deliveries_url).json() == {"deliveries": [], "count": 0}
    assert call("GET", host.base_url + "/_devstack/service-bus").json()["counters"]["completed"] == 3


def test_a_bad_since_is_a_400_json_error(stack: tuple[LocalHost, InProcessServiceBus]) -> None:
    host, _ = stack

    answer = call("GET", host.base_url + "/_devstack/service-bus/deliveries?since=yesterday")

    assert answer.status == 400
    assert answer.json()["error"]["code"] == "badRequest"
    assert "ISO 8601" in answer.json()["error"]["message"]


def test_host_routes_answer_before_the_function_route_table(
    stack: tuple[LocalHost, InProcessServiceBus],
) -> None:
    # GIVEN an app whose catch-all function route starts at the root
    host, _ = stack

    # WHEN paths under /_devstack/ are called THEN the host answers them, never the function
    assert call("GET", host.base_url + "/_devstack/service-bus/").status == 200
    not_allowed = call("POST", host.base_url + "/_devstack/service-bus")
    assert not_allowed.status == 405
    assert not_allowed.headers["Allow"] == "GET, HEAD"
    assert not_allowed.json()["error"]["code"] == "methodNotAllowed"
    assert call("POST", host.base_url + "/_devstack/service-bus/deliveries").status == 405
    unknown = call("GET", host.base_url + "/_devstack/nothing-here")
    assert unknown.status == 404
    assert unknown.json()["error"]["code"] == "notFound"
    assert call("GET", host.base_url + "/_devstack/service-bus/other").status == 404

    # AND every other path still reaches the function
    assert call("GET", host.base_url + "/_devstacks/x").json() == {"function": "catch_all"}
    assert call("GET", host.base_url + "/anything").json() == {"function": "catch_all"}


def test_host_routes_must_live_under_devstack_and_not_overlap() -> None:
    host = LocalHost(app, port=0, route_prefix="")

    with pytest.raises(ValueError, match="under /_devstack/"):
        host.add_host_route("/api/mine", unreachable)
    InProcessServiceBus(host, environ={"Q": "presence-changes"})
    with pytest.raises(ValueError, match="already served"):
        InProcessServiceBus(host, environ={"Q": "presence-changes"})


def unreachable(request: HostRequest) -> HttpReply:
    raise AssertionError("never called")
