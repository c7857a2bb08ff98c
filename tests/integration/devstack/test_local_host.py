"""The local Functions host over real HTTP, serving the sample FunctionApp."""

from __future__ import annotations

import http.client
import json
import logging
import socket
import threading
import time
from collections.abc import Callable

import azure.functions as func
import pytest
from azure.functions.timer import TimerRequest

from devstack.azurite import port_accepts_connections
from devstack.host import LocalHost
from tests.fixtures import sample_function_app
from tests.fixtures.sample_function_app import Recorded
from tests.integration.devstack.http_calls import Answer, call

pytestmark = pytest.mark.integration

GUID = "3f2504e0-4f89-11d3-9a0c-0305e82c3301"
WAIT_LIMIT_SECONDS = 15.0


def eventually(condition: Callable[[], bool], what: str) -> None:
    """Poll until `condition` holds; fail (not time) after a generous limit."""
    deadline = time.monotonic() + WAIT_LIMIT_SECONDS
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"gave up waiting for {what}")
        time.sleep(0.05)


def get(host: LocalHost, path: str, headers: dict[str, str] | None = None) -> Answer:
    return call("GET", host.base_url + path, headers=headers)


def test_request_is_converted_like_the_python_worker(local_host: LocalHost) -> None:
    # GIVEN a route with an int-constrained and an optional parameter
    # WHEN calling it with an encoded optional value, repeated query names and a custom header
    answer = get(local_host, "/api/items/5/x%20y?a=1&a=2&b=", headers={"X-Custom-Header": "v"})

    # THEN the function got the full URL, first query values, decoded route params and lower-cased headers
    assert answer.status == 200
    echoed = answer.json()
    assert echoed["function"] == "get_item"
    assert echoed["method"] == "GET"
    assert echoed["url"] == f"{local_host.base_url}/api/items/5/x%20y?a=1&a=2&b="
    assert echoed["params"] == {"a": "1", "b": ""}
    assert echoed["routeParams"] == {"id": "5", "label": "x y"}
    assert echoed["headers"]["x-custom-header"] == "v"


def test_optional_parameter_may_be_left_out(local_host: LocalHost) -> None:
    answer = get(local_host, "/api/items/5")

    assert answer.status == 200
    assert answer.json()["routeParams"] == {"id": "5"}


def test_post_body_reaches_the_function_without_a_function_key(local_host: LocalHost) -> None:
    # GIVEN a FUNCTION-level route and no key WHEN posting JSON THEN it is served, body intact
    answer = call(
        "POST",
        local_host.base_url + "/api/items",
        body=b'{"x": 1}',
        headers={"Content-Type": "application/json"},
    )

    assert answer.status == 200
    assert answer.json()["method"] == "POST"
    assert answer.json()["body"] == '{"x": 1}'


def test_chunked_request_body_is_read(local_host: LocalHost) -> None:
    connection = http.client.HTTPConnection("127.0.0.1", local_host.port, timeout=30)
    try:
        connection.request("POST", "/api/items", body=iter([b"ab", b"cd"]), encode_chunked=True)
        response = connection.getresponse()
        payload = response.read()
    finally:
        connection.close()

    assert response.status == 200
    assert b'"body": "abcd"' in payload


def test_bad_content_length_is_a_400(local_host: LocalHost) -> None:
    with socket.create_connection(("127.0.0.1", local_host.port), timeout=30) as raw:
        raw.sendall(b"POST /api/items HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n")
        # The host closes the connection after this answer, so read to the end.
        reply = b"".join(iter(lambda: raw.recv(65536), b""))

    assert reply.startswith(b"HTTP/1.1 400")
    assert b'"badRequest"' in reply


def test_a_body_over_the_hosts_limit_gets_the_apps_payload_too_large_envelope(local_host: LocalHost) -> None:
    # GIVEN a request announcing 150 MB (the host refuses it from the header, before reading it)
    with socket.create_connection(("127.0.0.1", local_host.port), timeout=30) as raw:
        raw.sendall(
            b"POST /api/items HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b"Content-Length: 157286400\r\n\r\n{"
        )
        reply = b"".join(iter(lambda: raw.recv(65536), b""))
    head, _, body = reply.partition(b"\r\n\r\n")
    # THEN it is the same 413 envelope the app answers for its own limit
    assert head.startswith(b"HTTP/1.1 413")
    assert json.loads(body) == {
        "error": {
            "code": "payloadTooLarge",
            "message": "the body must be at most 104857600 bytes (the Functions host's limit)",
        }
    }


@pytest.mark.parametrize(
    ("request_head", "status", "code"),
    [
        # Found by schemathesis: a sign-in callback with a long query got the stdlib's HTML 414 page.
        (b"GET /api/items?q=" + b"%F2%B7%98%99" * 6000 + b" HTTP/1.1\r\nHost: x\r\n\r\n", 414, "uriTooLong"),
        (
            b"GET /api/items HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 70000 + b"\r\n\r\n",
            431,
            "headersTooLarge",
        ),
        (b"GET /api/items extra HTTP/1.1\r\nHost: x\r\n\r\n", 400, "badRequest"),
    ],
    ids=["uri-too-long", "header-too-long", "bad-request-line"],
)
def test_what_the_host_refuses_before_any_function_is_the_error_envelope(
    local_host: LocalHost, request_head: bytes, status: int, code: str
) -> None:
    with socket.create_connection(("127.0.0.1", local_host.port), timeout=30) as raw:
        raw.sendall(request_head)
        reply = b"".join(iter(lambda: raw.recv(65536), b""))
    head, _, body = reply.partition(b"\r\n\r\n")
    assert head.split(b"\r\n")[0].split(b" ")[1] == str(status).encode()
    assert b"application/json" in head
    assert json.loads(body)["error"]["code"] == code


def test_head_reaches_only_functions_that_list_it_like_in_azure(local_host: LocalHost) -> None:
    # The Functions host does not serve HEAD from a GET-only function; a function must list HEAD
    refused = call("HEAD", local_host.base_url + "/api/items")
    assert refused.status == 405
    assert refused.headers["Allow"] == "GET, POST"
    assert call("HEAD", local_host.base_url + "/api/custom").status == 202


def test_other_method_on_a_known_path_is_405_with_allow(local_host: LocalHost) -> None:
    answer = call("PUT", local_host.base_url + "/api/items", body=b"{}")

    assert answer.status == 405
    assert answer.headers["Allow"] == "GET, POST"
    assert answer.json()["error"]["code"] == "methodNotAllowed"


@pytest.mark.parametrize(
    "path", ["/api/nothing-here", "/api/items/not-an-int", "/items/5", f"/api/tenants/x{GUID}/files/a"]
)
def test_unknown_paths_and_failed_constraints_are_404(local_host: LocalHost, path: str) -> None:
    answer = get(local_host, path)

    assert answer.status == 404
    assert answer.json()["error"]["code"] == "notFound"


def test_literal_route_beats_parameter_route(local_host: LocalHost) -> None:
    assert get(local_host, "/api/things/new").json()["function"] == "new_thing"
    assert get(local_host, "/api/things/old").json()["function"] == "thing"


def test_catch_all_and_guid_constraint(local_host: LocalHost) -> None:
    answer = call("DELETE", f"{local_host.base_url}/api/tenants/{GUID.upper()}/files/a/b.txt")

    assert answer.status == 200
    assert answer.json()["routeParams"] == {"tenantId": GUID.upper(), "path": "a/b.txt"}


def test_async_function_runs_on_the_event_loop_thread(local_host: LocalHost) -> None:
    answer = call("POST", local_host.base_url + "/api/async/echo", body=b"hello")

    assert answer.status == 200
    assert answer.json()["body"] == "hello"
    assert answer.json()["thread"] == "devstack-event-loop"


def test_failing_function_is_a_500_with_the_traceback_only_in_the_log(
    local_host: LocalHost, caplog: pytest.LogCaptureFixture
) -> None:
    # GIVEN a function that raises WHEN it is called
    with caplog.at_level(logging.INFO, logger="devstack.host"):
        answer = get(local_host, "/api/boom")

    # THEN the client sees the host's generic 500 and the log has the traceback
    assert answer.status == 500
    assert answer.json()["error"]["code"] == "internalError"
    assert "internal detail" not in answer.body.decode()
    assert "sample failure with internal detail" in caplog.text
    assert "Traceback" in caplog.text


def test_status_headers_mimetype_and_charset_come_from_the_response(local_host: LocalHost) -> None:
    answer = get(local_host, "/api/custom")

    assert answer.status == 202
    assert answer.headers["X-Sample"] == "yes"
    assert answer.headers["Cache-Control"] == "no-store"
    assert answer.headers["Content-Type"] == "text/html; charset=latin-1"
    assert answer.body == "<p>caf\u00e9</p>".encode("latin-1")


def test_head_answers_headers_without_body(local_host: LocalHost) -> None:
    answer = call("HEAD", local_host.base_url + "/api/custom")

    assert answer.status == 202
    assert answer.headers["Content-Length"] == str(len("<p>caf\u00e9</p>".encode("latin-1")))
    assert answer.body == b""


def test_returned_string_is_a_plain_text_200(local_host: LocalHost) -> None:
    answer = get(local_host, "/api/plain")

    assert answer.status == 200
    assert answer.headers["Content-Type"] == "text/plain; charset=utf-8"
    assert answer.body == b"just text"


def test_each_request_is_logged_once_without_its_query(
    local_host: LocalHost, caplog: pytest.LogCaptureFixture
) -> None:
    def lines() -> list[str]:
        return [r.getMessage() for r in caplog.records if r.getMessage().startswith("GET /api/items/7")]

    with caplog.at_level(logging.INFO, logger="devstack.host"):
        get(local_host, "/api/items/7?state=secret-value")
        # The line is written once the response has been sent, so it may trail the client a little.
        eventually(lambda: len(lines()) > 0, "the request log line")

    assert len(lines()) == 1
    assert lines()[0].startswith("GET /api/items/7 200 ")
    assert "secret-value" not in caplog.text


def test_timers_run_on_schedule_and_a_failing_timer_keeps_its_schedule(
    local_host: LocalHost, recorded: Recorded
) -> None:
    # GIVEN the every-second timers of the sample app WHEN the host runs
    # THEN the good timer fires repeatedly, not past due, and the failing one keeps being called
    eventually(lambda: len(recorded.ticks) >= 2, "two ticks")
    eventually(lambda: recorded.failing_ticks >= 2, "the failing timer to be called twice")
    assert not any(recorded.ticks)


def test_run_on_startup_timer_fires_at_start() -> None:
    # GIVEN a yearly timer marked run_on_startup
    app = func.FunctionApp()
    calls: list[func.TimerRequest] = []

    @app.timer_trigger(arg_name="timer", schedule="0 0 0 1 1 *", run_on_startup=True)
    def yearly(timer: func.TimerRequest) -> None:
        calls.append(timer)

    # WHEN the host starts THEN it runs once right away
    with LocalHost(app, port=0, route_prefix="api"):
        eventually(lambda: len(calls) == 1, "the startup run")
    (request,) = calls
    assert isinstance(request, TimerRequest)
    assert request.past_due is False
    assert "Next" in request.schedule_status


def test_service_bus_function_is_invoked_with_the_message(local_host: LocalHost, recorded: Recorded) -> None:
    # GIVEN the registered queue function
    assert [f.queue_name for f in local_host.service_bus_functions] == [sample_function_app.SERVICE_BUS_QUEUE]

    # WHEN a message is delivered
    local_host.invoke_service_bus("on_sample_event", func.ServiceBusMessage(body=b"hi", correlation_id="c-1"))

    # THEN the (async) function saw it
    assert recorded.messages == [(b"hi", "c-1")]


def test_service_bus_failures_reach_the_caller(local_host: LocalHost) -> None:
    with pytest.raises(ValueError, match="poison"):
        local_host.invoke_service_bus("on_sample_event", func.ServiceBusMessage(body=b"poison"))
    with pytest.raises(LookupError, match="no Service Bus queue function named 'missing'"):
        local_host.invoke_service_bus("missing", func.ServiceBusMessage(body=b"x"))


def test_background_services_start_and_stop_with_the_host() -> None:
    # GIVEN a host with a background service
    events: list[str] = []

    class Service:
        def start(self) -> None:
            events.append("start")

        def stop(self) -> None:
            events.append("stop")

    host = LocalHost(sample_function_app.app, port=0, route_prefix="api")
    host.add_background_service(Service())

    # WHEN the host starts and stops THEN so does the service, once each
    with host:
        assert events == ["start"]
    assert events == ["start", "stop"]


def test_stop_lets_an_in_flight_request_finish_and_refuses_new_ones(
    local_host: LocalHost, recorded: Recorded
) -> None:
    # GIVEN a request in flight
    answers: list[Answer] = []
    client = threading.Thread(target=lambda: answers.append(get(local_host, "/api/slow")))
    client.start()
    assert recorded.slow_entered.wait(WAIT_LIMIT_SECONDS)
    port = local_host.port

    # WHEN the host is asked to stop
    stopper = threading.Thread(target=local_host.stop)
    stopper.start()

    # THEN it stops accepting connections while the request is still running
    eventually(lambda: not port_accepts_connections(port), "the listener to close")
    assert stopper.is_alive()

    # AND the request completes normally once released, then stop() returns
    recorded.slow_release.set()
    client.join(WAIT_LIMIT_SECONDS)
    stopper.join(WAIT_LIMIT_SECONDS)
    assert [answer.status for answer in answers] == [200]
    assert answers[0].body == b"released"
    assert not stopper.is_alive()


def test_idle_keep_alive_connection_does_not_hold_up_stop(local_host: LocalHost) -> None:
    # GIVEN a client holding a keep-alive connection open after a request
    connection = http.client.HTTPConnection("127.0.0.1", local_host.port, timeout=30)
    try:
        connection.request("GET", "/api/plain")
        assert connection.getresponse().read() == b"just text"

        # WHEN stopping the host THEN stop() returns while the connection is still open
        stopper = threading.Thread(target=local_host.stop)
        stopper.start()
        stopper.join(WAIT_LIMIT_SECONDS)
        assert not stopper.is_alive()
    finally:
        connection.close()


def test_context_manager_binds_a_free_port_and_releases_it() -> None:
    with LocalHost(sample_function_app.app, port=0, route_prefix="") as host:
        running_inside = host.running
        port = host.port
        assert get(host, "/plain").body == b"just text"
    assert running_inside
    assert host.running is False
    assert not port_accepts_connections(port)
