"""The in-process Service Bus: sessions, duplicate detection, retries, dead letters, stop, settings."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import azure.functions as func
import pytest

from devstack import __main__ as devstack_main
from devstack.host import LocalHost
from devstack.service_bus import (
    DEFAULT_MAX_CONCURRENT_SESSIONS,
    DELIVERY_LOG_SIZE,
    MAX_DELIVERY_COUNT_EXCEEDED,
    TTL_EXPIRED,
    BusState,
    InProcessServiceBus,
    InvalidMessageError,
    LocalMessage,
    Outcome,
    QueueBindingError,
    UnresolvedAppSettingError,
    max_concurrent_sessions_from_host_json,
    resolve_app_settings,
)
from shared.presence.exceptions import TransientSyncFailure
from shared.presence.messages import PresenceChange

QUEUE = "presence-changes"
ENVIRON = {"Q": QUEUE}
WAIT_LIMIT_SECONDS = 20.0


@dataclass(frozen=True)
class Seen:
    body: str
    session_id: str | None
    delivery_count: int | None


@dataclass
class Recorder:
    """What the test queue function saw, and how it should behave."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    seen: list[Seen] = field(default_factory=list)
    messages: list[func.ServiceBusMessage] = field(default_factory=list)
    failures_left: dict[str, int] = field(default_factory=dict)
    # Failures the app raises on purpose (a contact center saying "later").
    expected_failures_left: dict[str, int] = field(default_factory=dict)
    in_flight: dict[str, int] = field(default_factory=dict)
    max_in_flight_per_session: int = 0
    entered: dict[str, threading.Event] = field(default_factory=dict)
    gates: dict[str, threading.Event] = field(default_factory=dict)
    barrier: threading.Barrier | None = None

    def handle(self, message: func.ServiceBusMessage) -> None:
        body = message.get_body().decode()
        session = message.session_id or ""
        with self.lock:
            self.seen.append(Seen(body, message.session_id, message.delivery_count))
            self.messages.append(message)
            self.in_flight[session] = self.in_flight.get(session, 0) + 1
            self.max_in_flight_per_session = max(self.max_in_flight_per_session, self.in_flight[session])
            entered = self.entered.get(body)
            gate = self.gates.get(body)
            fail = self.failures_left.get(body, 0) > 0
            if fail:
                self.failures_left[body] -= 1
            later = self.expected_failures_left.get(body, 0) > 0
            if later:
                self.expected_failures_left[body] -= 1
        try:
            if entered is not None:
                entered.set()
            if gate is not None:
                assert gate.wait(WAIT_LIMIT_SECONDS), "the test never released the gate"
            if body.startswith("barrier") and self.barrier is not None:
                self.barrier.wait()
            # Widens the window in which a second worker could wrongly enter the same session.
            time.sleep(0.001)
            if fail:
                raise RuntimeError(f"cannot handle {body}")
            if later:
                raise TransientSyncFailure(f"the contact center cannot be reached for {body}")
        finally:
            with self.lock:
                self.in_flight[session] -= 1

    def bodies(self, session_id: str) -> list[str]:
        with self.lock:
            return [seen.body for seen in self.seen if seen.session_id == session_id]

    def gate(self, body: str) -> tuple[threading.Event, threading.Event]:
        entered, gate = threading.Event(), threading.Event()
        with self.lock:
            self.entered[body] = entered
            self.gates[body] = gate
        return entered, gate


RECORDER = Recorder()

app = func.FunctionApp()


@app.service_bus_queue_trigger(
    arg_name="msg", queue_name="%Q%", connection="ServiceBusConnection", is_sessions_enabled=True
)
def on_message(msg: func.ServiceBusMessage) -> None:
    RECORDER.handle(msg)


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
def recorder() -> Iterator[Recorder]:
    global RECORDER  # noqa: PLW0603 - the function registered on the module-level app reads it
    RECORDER = Recorder()
    try:
        yield RECORDER
    finally:
        with RECORDER.lock:
            for gate in RECORDER.gates.values():
                gate.set()


@pytest.fixture
def host(recorder: Recorder) -> Iterator[LocalHost]:
    local_host = LocalHost(app, host="127.0.0.1", port=0, route_prefix="api")
    local_host.start()
    try:
        yield local_host
    finally:
        local_host.stop()


def new_bus(host: LocalHost, **options: Any) -> InProcessServiceBus:
    settings: dict[str, Any] = {
        "environ": ENVIRON,
        "max_concurrent_sessions": 4,
        "retry_backoff": timedelta(0),
    }
    settings.update(options)
    return InProcessServiceBus(host, **settings)


def running_bus(host: LocalHost, **options: Any) -> InProcessServiceBus:
    bus = new_bus(host, **options)
    host.add_background_service(bus)
    return bus


def message(session_id: str, body: str, message_id: str | None = None) -> LocalMessage:
    return LocalMessage(
        body=body.encode(),
        session_id=session_id,
        message_id=message_id or f"{session_id}/{body}",
        content_type="text/plain",
    )


def wait_until(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + WAIT_LIMIT_SECONDS
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"gave up waiting for {what}")
        time.sleep(0.01)


# Ordering and concurrency ------------------------------------------------------------------------


def test_each_session_keeps_its_order_while_sessions_are_processed_in_parallel(
    host: LocalHost, recorder: Recorder
) -> None:
    # GIVEN a bus with 4 workers and 8 sessions of 25 messages each
    bus = running_bus(host)
    sessions = [f"tenant:user-{number}" for number in range(8)]
    expected = {session: [f"m{index:02d}" for index in range(25)] for session in sessions}

    # WHEN half the sessions send theirs in one burst each, the other half interleaved
    for session in sessions[:4]:
        bus.send_batch([message(session, body) for body in expected[session]])
    for index in range(25):
        bus.send_batch([message(session, expected[session][index]) for session in sessions[4:]])

    # THEN each session saw its messages exactly once, in the order sent, never two at a time
    assert bus.wait_idle(WAIT_LIMIT_SECONDS)
    for session in sessions:
        assert recorder.bodies(session) == expected[session]
    assert recorder.max_in_flight_per_session == 1
    counters = bus.counters()
    assert (counters.sent, counters.completed, counters.pending, counters.sessions) == (200, 200, 0, 0)


def test_different_sessions_run_at_the_same_time(host: LocalHost, recorder: Recorder) -> None:
    # GIVEN a function that finishes only when two messages are inside it at once
    recorder.barrier = threading.Barrier(2, timeout=WAIT_LIMIT_SECONDS)
    bus = running_bus(host)

    # WHEN two sessions each get such a message
    bus.send_batch([message("t:a", "barrier-a"), message("t:b", "barrier-b")])

    # THEN both complete on their first delivery: they were processed in parallel
    assert bus.wait_idle(WAIT_LIMIT_SECONDS)
    assert sorted((seen.body, seen.delivery_count) for seen in recorder.seen) == [
        ("barrier-a", 1),
        ("barrier-b", 1),
    ]


def test_a_busy_session_holds_its_next_message_while_other_sessions_proceed(
    host: LocalHost, recorder: Recorder
) -> None:
    # GIVEN a first message of session S that blocks inside the function
    entered, gate = recorder.gate("s-1")
    bus = running_bus(host)
    bus.send(message("t:s", "s-1"))
    assert entered.wait(WAIT_LIMIT_SECONDS)

    # WHEN S gets a second message and another session gets one too (publish does not block)
    bus.send(message("t:s", "s-2"))
    bus.send(message("t:other", "o-1"))

    # THEN the other session is served while S's second message waits for the first
    wait_until(
        lambda: [record.outcome for record in bus.deliveries(session_id="t:other")] == [Outcome.COMPLETED],
        "the other session's message to complete",
    )
    assert recorder.bodies("t:s") == ["s-1"]
    assert bus.counters().in_flight == 1

    # WHEN the first message finishes THEN the second follows
    gate.set()
    assert bus.wait_idle(WAIT_LIMIT_SECONDS)
    assert recorder.bodies("t:s") == ["s-1", "s-2"]


# Duplicate detection -----------------------------------------------------------------------------


def test_a_message_id_seen_within_ten_minutes_is_dropped_at_send(host: LocalHost, recorder: Recorder) -> None:
    # GIVEN a running bus on a controllable clock
    clock = FakeClock()
    bus = running_bus(host, clock=clock)

    # WHEN the same message id is sent twice, the second time 9 minutes later
    first = bus.send(message("t:u", "once", message_id="id-1"))
    assert bus.wait_idle(WAIT_LIMIT_SECONDS)
    clock.advance(timedelta(minutes=9))
    second = bus.send(message("t:u", "again", message_id="id-1"))

    # THEN only the first is delivered; the second is counted and logged as a duplicate
    assert (first, second) == (True, False)
    assert bus.wait_idle(WAIT_LIMIT_SECONDS)
    assert recorder.bodies("t:u") == ["once"]
    assert bus.counters().duplicates == 1
    assert [record.outcome for record in bus.deliveries()] == [Outcome.COMPLETED, Outcome.DUPLICATE]

    # WHEN the window has passed since the first send THEN the id is accepted again
    clock.advance(timedelta(minutes=1, seconds=1))
    assert bus.send(message("t:u", "later", message_id="id-1")) is True
    assert bus.wait_idle(WAIT_LIMIT_SECONDS)
    assert recorder.bodies("t:u") == ["once", "later"]


def test_duplicates_within_one_batch_are_dropped(host: LocalHost, recorder: Recorder) -> None:
    bus = running_bus(host)

    accepted = bus.send_batch([message("t:u", "a", "x"), message("t:u", "b", "x"), message("t:u", "c", "y")])

    assert accepted == [True, False, True]
    assert bus.wait_idle(WAIT_LIMIT_SECONDS)
    assert recorder.bodies("t:u") == ["a", "c"]


# Retries and dead letters ------------------------------------------------------------------------


def test_a_failing_message_is_redelivered_before_the_rest_of_its_session(
    host: LocalHost, recorder: Recorder
) -> None:
    # GIVEN a message that fails twice, followed by another message of the same session
    recorder.failures_left["first"] = 2
    bus = running_bus(host, retry_backoff=timedelta(milliseconds=5))

    # WHEN both are sent
    bus.send_batch([message("t:u", "first"), message("t:u", "second")])

    # THEN the same message comes back with a growing delivery count, and only then the next one
    assert bus.wait_idle(WAIT_LIMIT_SECONDS)
    assert [(seen.body, seen.delivery_count) for seen in recorder.seen] == [
        ("first", 1),
        ("first", 2),
        ("first", 3),
        ("second", 1),
    ]
    assert [record.outcome for record in bus.deliveries()] == [
        Outcome.ABANDONED,
        Outcome.ABANDONED,
        Outcome.COMPLETED,
        Outcome.COMPLETED,
    ]
    assert bus.deliveries()[0].error == "RuntimeError: cannot handle first"
    counters = bus.counters()
    assert (counters.abandoned, counters.completed, counters.dead_lettered) == (2, 2, 0)


def test_a_message_failing_ten_deliveries_is_dead_lettered(
    host: LocalHost, recorder: Recorder, caplog: pytest.LogCaptureFixture
) -> None:
    # GIVEN a message that always fails, then a good one in the same session
    recorder.failures_left["poison"] = 1000
    bus = running_bus(host)

    # WHEN both are sent
    with caplog.at_level(logging.WARNING, logger="devstack.service_bus"):
        bus.send_batch([message("t:u", "poison"), message("t:u", "good")])
        assert bus.wait_idle(WAIT_LIMIT_SECONDS)

    # THEN the poison message was delivered 10 times, then dead-lettered, and the session moved on
    assert [seen.delivery_count for seen in recorder.seen if seen.body == "poison"] == list(range(1, 11))
    assert recorder.bodies("t:u")[-1] == "good"
    (letter,) = bus.dead_letters()
    assert letter.message_id == "t:u/poison"
    assert letter.delivery_count == 10
    assert letter.reason == MAX_DELIVERY_COUNT_EXCEEDED
    assert letter.description == "RuntimeError: cannot handle poison"
    outcomes = [record.outcome for record in bus.deliveries(session_id="t:u")]
    assert outcomes == [Outcome.ABANDONED] * 9 + [Outcome.DEAD_LETTERED, Outcome.COMPLETED]
    errors = [r for r in caplog.records if r.name == "devstack.service_bus" and r.levelno == logging.ERROR]
    assert len(errors) == 1
    assert "dead-lettered" in errors[0].getMessage()
    assert "cannot handle poison" in errors[0].getMessage()
    assert bus.counters().dead_lettered == 1


class _HoldsTheDeadLetterLine(logging.Handler):
    """Holds the dead-letter line until wait_idle() has returned (or a while), then keeps it."""

    def __init__(self, idle_returned: threading.Event) -> None:
        super().__init__(logging.ERROR)
        self.idle_returned = idle_returned
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        if "dead-lettered" in record.getMessage():
            # A bus that shows the settlement before writing its line lets wait_idle() return here.
            self.idle_returned.wait(2.0)
            self.lines.append(record.getMessage())


def test_the_dead_letter_line_is_written_before_the_queue_shows_idle(
    host: LocalHost, recorder: Recorder
) -> None:
    # GIVEN a message that always fails, and a log handler slow to take the dead-letter line
    recorder.failures_left["poison"] = 1000
    idle_returned = threading.Event()
    handler = _HoldsTheDeadLetterLine(idle_returned)
    bus_logger = logging.getLogger("devstack.service_bus")
    bus_logger.addHandler(handler)
    try:
        bus = running_bus(host, max_delivery_count=2)
        bus.send(message("t:u", "poison"))

        # WHEN the test waits for the queue to settle
        assert bus.wait_idle(WAIT_LIMIT_SECONDS)
        idle_returned.set()
        written_when_idle = list(handler.lines)
    finally:
        bus_logger.removeHandler(handler)

    # THEN the line was already written: waiting for idle is enough to read the bus's logs
    assert len(written_when_idle) == 1
    assert "dead-lettered after 2 deliveries" in written_when_idle[0]


def test_an_expected_retry_logs_no_warning_and_no_traceback_but_a_bug_does(
    host: LocalHost, recorder: Recorder, caplog: pytest.LogCaptureFixture
) -> None:
    # GIVEN one message the app refuses on purpose twice (a "later"), one a bug breaks once
    recorder.expected_failures_left["later"] = 2
    recorder.failures_left["bug"] = 1
    bus = running_bus(host)

    def abandoned(session: str) -> list[logging.LogRecord]:
        return [
            r
            for r in caplog.records
            if "abandoned" in r.getMessage() and f"session {session}" in r.getMessage()
        ]

    with caplog.at_level(logging.INFO, logger="devstack.service_bus"):
        bus.send_batch([message("t:a", "later"), message("t:b", "bug")])
        # Each line is written before its settlement shows: once idle, all of them are there.
        assert bus.wait_idle(WAIT_LIMIT_SECONDS)
    expected, bug = abandoned("t:a"), abandoned("t:b")
    assert (len(expected), len(bug)) == (2, 1)
    # THEN the expected retries are one INFO line each, with the app's reason and no traceback
    assert [(r.levelno, r.exc_info) for r in expected] == [(logging.INFO, None)] * 2
    assert "the contact center cannot be reached for later" in expected[0].getMessage()
    # AND the bug is a warning with its traceback
    [broken] = bug
    assert broken.levelno == logging.WARNING
    assert broken.exc_info is not None
    assert recorder.bodies("t:a") == ["later"] * 3


def test_a_message_older_than_its_time_to_live_is_dead_lettered_unread(
    host: LocalHost, recorder: Recorder
) -> None:
    # GIVEN a message queued while nothing receives, then a day passes
    clock = FakeClock()
    bus = new_bus(host, clock=clock)
    bus.send(message("t:u", "stale"))
    clock.advance(timedelta(days=1))

    # WHEN the receivers start
    host.add_background_service(bus)

    # THEN the message is dead-lettered without reaching the function
    assert bus.wait_idle(WAIT_LIMIT_SECONDS)
    assert recorder.seen == []
    (letter,) = bus.dead_letters()
    assert letter.reason == TTL_EXPIRED


# Stop --------------------------------------------------------------------------------------------


def test_stop_lets_the_delivery_in_flight_finish_and_leaves_the_rest_queued(
    host: LocalHost, recorder: Recorder, caplog: pytest.LogCaptureFixture
) -> None:
    # GIVEN three messages of one session, the first blocked inside the function
    entered, gate = recorder.gate("one")
    bus = running_bus(host)
    bus.send_batch([message("t:u", "one"), message("t:u", "two"), message("t:u", "three")])
    assert entered.wait(WAIT_LIMIT_SECONDS)

    # WHEN the bus is stopped while the first is in flight, and that delivery then finishes
    with caplog.at_level(logging.INFO, logger="devstack.service_bus"):
        stopper = threading.Thread(target=bus.stop)
        stopper.start()
        wait_until(lambda: bus.state is BusState.STOPPING, "stop() to begin")
        gate.set()
        stopper.join(WAIT_LIMIT_SECONDS)

    # THEN the first was completed, the other two were not delivered and are reported
    assert not stopper.is_alive()
    assert bus.state is BusState.STOPPED
    assert recorder.bodies("t:u") == ["one"]
    counters = bus.counters()
    assert (counters.completed, counters.pending, counters.in_flight) == (1, 2, 0)
    assert any(
        "2 message(s) in 1 session(s)" in record.getMessage() and record.levelno == logging.WARNING
        for record in caplog.records
    )

    # WHEN the bus starts again THEN the queued messages are delivered, still in order
    bus.start()
    try:
        assert bus.wait_idle(WAIT_LIMIT_SECONDS)
    finally:
        bus.stop()
    assert recorder.bodies("t:u") == ["one", "two", "three"]


def test_stop_without_start_is_a_no_op_and_start_twice_is_refused(host: LocalHost) -> None:
    bus = new_bus(host)
    bus.stop()
    assert bus.state is BusState.STOPPED

    host.add_background_service(bus)
    with pytest.raises(RuntimeError, match="can only start when stopped"):
        bus.start()


# The message the function receives ---------------------------------------------------------------


def test_published_presence_changes_reach_the_function_as_the_worker_builds_them(
    host: LocalHost, recorder: Recorder
) -> None:
    # GIVEN a presence change published through the PresenceQueue port
    clock = FakeClock()
    bus = running_bus(host, clock=clock)
    change = PresenceChange(
        tenant_id="11111111-1111-1111-1111-111111111111",
        user_id="22222222-2222-2222-2222-222222222222",
        availability="Busy",
        activity="InACall",
        sequence_number="0001",
        observed_at=datetime(2024, 5, 1, 11, 59, tzinfo=UTC),
        subscription_id="sub-1",
    )

    # WHEN it is delivered
    bus.publish([change])
    assert bus.wait_idle(WAIT_LIMIT_SECONDS)

    # THEN the function got an azure.functions.ServiceBusMessage with the sender's fields
    (received,) = recorder.messages
    assert isinstance(received, func.ServiceBusMessage)
    assert received.get_body() == change.to_json()
    assert received.session_id == change.session_id
    assert received.message_id == change.message_id
    assert received.content_type == "application/json"
    assert received.subject == change.kind
    assert received.delivery_count == 1
    assert received.sequence_number == 1
    assert received.enqueued_time_utc == clock.now
    assert received.expires_at_utc == clock.now + timedelta(days=1)
    assert received.locked_until == clock.now + timedelta(minutes=1)
    assert received.application_properties == {"tenantId": change.tenant_id, "schemaVersion": 1}
    assert received.user_properties == received.application_properties
    assert received.lock_token
    assert received.metadata is not None
    assert received.metadata["SessionId"] == change.session_id
    assert PresenceChange.from_json(received.get_body()) == change


@pytest.mark.parametrize(
    ("bad", "reason"),
    [
        (LocalMessage(body=b"x", session_id="", message_id="m"), "no session id"),
        (LocalMessage(body=b"x", session_id="s" * 129, message_id="m"), "session id is longer"),
        (LocalMessage(body=b"x", session_id="s", message_id=""), "no message id"),
        (LocalMessage(body=b"x" * (256 * 1024 + 1), session_id="s", message_id="m"), "at most"),
        (
            LocalMessage(body=b"x", session_id="s", message_id="m", application_properties={"p": [1]}),
            "application property 'p'",
        ),
    ],
)
def test_messages_the_real_queue_refuses_are_refused_and_nothing_is_queued(
    host: LocalHost, bad: LocalMessage, reason: str
) -> None:
    bus = new_bus(host)

    with pytest.raises(InvalidMessageError, match=reason):
        bus.send_batch([message("t:u", "fine"), bad])

    assert bus.counters().sent == 0


def test_the_delivery_log_keeps_the_last_thousand_entries(host: LocalHost) -> None:
    # GIVEN one message and more duplicates of it than the log holds
    bus = new_bus(host)
    bus.send(message("t:u", "first", "same"))

    # WHEN the duplicates are sent
    bus.send_batch([message("t:u", f"copy-{index}", "same") for index in range(DELIVERY_LOG_SIZE + 5)])

    # THEN the log holds the newest entries only; the counter has them all
    records = bus.deliveries()
    assert len(records) == DELIVERY_LOG_SIZE
    assert records[-1].body == f"copy-{DELIVERY_LOG_SIZE + 4}".encode()
    assert bus.counters().duplicates == DELIVERY_LOG_SIZE + 5
    assert bus.clear_deliveries() == DELIVERY_LOG_SIZE
    assert bus.deliveries() == []


def test_deliveries_filter_by_session_and_time(host: LocalHost) -> None:
    clock = FakeClock()
    bus = running_bus(host, clock=clock)
    bus.send(message("t:a", "1"))
    assert bus.wait_idle(WAIT_LIMIT_SECONDS)
    cut = clock.now
    clock.advance(timedelta(seconds=1))
    bus.send_batch([message("t:a", "2"), message("t:b", "3")])
    assert bus.wait_idle(WAIT_LIMIT_SECONDS)

    assert [record.body for record in bus.deliveries(session_id="t:a")] == [b"1", b"2"]
    assert sorted(record.body for record in bus.deliveries(since=cut)) == [b"2", b"3"]
    assert [record.body for record in bus.deliveries(session_id="t:b", since=cut)] == [b"3"]


# Binding to the function: app settings and host.json ----------------------------------------------


def test_app_setting_references_are_resolved_from_the_environment() -> None:
    assert resolve_app_settings("%Q%", {"Q": "presence-changes"}) == "presence-changes"
    assert resolve_app_settings("pre-%A%-%B%", {"A": "x", "B": "y"}) == "pre-x-y"
    assert resolve_app_settings("plain", {}) == "plain"
    with pytest.raises(UnresolvedAppSettingError, match="'%MISSING%' does not resolve"):
        resolve_app_settings("%MISSING%", {})
    with pytest.raises(UnresolvedAppSettingError):
        resolve_app_settings("%EMPTY%", {"EMPTY": ""})


def test_the_function_is_found_by_its_resolved_queue_name(host: LocalHost) -> None:
    # GIVEN the function listens on %Q%
    # WHEN Q names the presence queue (from PRESENCE_QUEUE_NAME or its default) THEN it is bound
    assert new_bus(host, environ={"Q": "presence-changes"}).function_name == "on_message"


def test_the_queue_name_setting_moves_the_queue(recorder: Recorder) -> None:
    with LocalHost(app, port=0, route_prefix="api") as local_host:
        bus = InProcessServiceBus(local_host, environ={"PRESENCE_QUEUE_NAME": "custom", "Q": "custom"})
        assert (bus.queue_name, bus.function_name) == ("custom", "on_message")
    with LocalHost(app, port=0, route_prefix="api") as local_host:
        bus = InProcessServiceBus(local_host, environ={"PRESENCE_QUEUE_NAME": "custom", "Q": QUEUE})
        assert (bus.queue_name, bus.function_name) == ("custom", None)


def test_without_a_listening_function_messages_wait(
    host: LocalHost, recorder: Recorder, caplog: pytest.LogCaptureFixture
) -> None:
    # GIVEN Q names another queue, so nothing listens on the presence queue
    with caplog.at_level(logging.WARNING, logger="devstack.service_bus"):
        bus = running_bus(host, environ={"Q": "elsewhere"})

    # WHEN a message is sent THEN it is queued, not delivered, and the start said why
    bus.send(message("t:u", "waiting"))
    assert bus.function_name is None
    assert bus.counters().pending == 1
    assert any("no sessions-enabled queue function listens on" in r.getMessage() for r in caplog.records)


def test_an_unresolved_setting_unbinds_the_function(
    host: LocalHost, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.ERROR, logger="devstack.service_bus"):
        bus = new_bus(host, environ={})

    assert bus.function_name is None
    assert any("'%Q%' does not resolve to a value" in record.getMessage() for record in caplog.records)
    with pytest.raises(QueueBindingError, match="does not resolve"):
        InProcessServiceBus(host, "on_message", environ={})


def test_named_functions_are_checked(host: LocalHost) -> None:
    with pytest.raises(QueueBindingError, match="no Service Bus queue function named 'nope'"):
        InProcessServiceBus(host, "nope", environ=ENVIRON)
    with pytest.raises(QueueBindingError, match="listens on presence-changes, not on other"):
        InProcessServiceBus(host, "on_message", queue_name="other", environ=ENVIRON)
    bus = InProcessServiceBus(host, "on_message", environ={"Q": "named-queue"})
    assert (bus.queue_name, bus.function_name) == ("named-queue", "on_message")


def test_a_function_without_sessions_cannot_receive_from_the_session_queue(
    caplog: pytest.LogCaptureFixture,
) -> None:
    # GIVEN a queue function on the presence queue that does not enable sessions
    plain_app = func.FunctionApp()

    @plain_app.service_bus_queue_trigger(arg_name="msg", queue_name=QUEUE, connection="ServiceBusConnection")
    def no_sessions(msg: func.ServiceBusMessage) -> None:
        raise AssertionError("never invoked")

    local_host = LocalHost(plain_app, port=0, route_prefix="api")

    # WHEN a bus is built THEN it does not bind the function, and says why
    with caplog.at_level(logging.ERROR, logger="devstack.service_bus"):
        assert InProcessServiceBus(local_host, environ={}).function_name is None
    assert any("requires sessions" in record.getMessage() for record in caplog.records)
    with pytest.raises(QueueBindingError, match="is_sessions_enabled"):
        InProcessServiceBus(LocalHost(plain_app, port=0, route_prefix="api"), "no_sessions", environ={})


def test_two_functions_on_the_queue_must_be_told_apart() -> None:
    twin_app = func.FunctionApp()
    for name in ("first", "second"):

        def handler(msg: func.ServiceBusMessage) -> None:
            raise AssertionError("never invoked")

        handler.__name__ = name
        twin_app.service_bus_queue_trigger(
            arg_name="msg", queue_name=QUEUE, connection="ServiceBusConnection", is_sessions_enabled=True
        )(handler)

    with pytest.raises(QueueBindingError, match="first, second all listen on presence-changes"):
        InProcessServiceBus(LocalHost(twin_app, port=0, route_prefix="api"), environ={})
    bus = InProcessServiceBus(LocalHost(twin_app, port=0, route_prefix="api"), "second", environ={})
    assert bus.function_name == "second"


def test_max_concurrent_sessions_comes_from_host_json(tmp_path: Path, host: LocalHost) -> None:
    host_json = tmp_path / "host.json"
    host_json.write_text('{"version": "2.0", "extensions": {"serviceBus": {"maxConcurrentSessions": 3}}}')

    assert max_concurrent_sessions_from_host_json(host_json) == 3
    assert new_bus(host, max_concurrent_sessions=None, host_json=host_json).max_concurrent_sessions == 3
    assert max_concurrent_sessions_from_host_json(tmp_path / "absent.json") == DEFAULT_MAX_CONCURRENT_SESSIONS
    host_json.write_text('{"extensions": {"serviceBus": {}}}')
    assert max_concurrent_sessions_from_host_json(host_json) == DEFAULT_MAX_CONCURRENT_SESSIONS
    host_json.write_text('{"extensions": {"serviceBus": {"maxConcurrentSessions": "many"}}}')
    with pytest.raises(ValueError, match="must be a positive integer"):
        max_concurrent_sessions_from_host_json(host_json)


# Wiring in `python -m devstack` ------------------------------------------------------------------


def test_the_dev_stack_gives_the_app_the_bus_as_its_presence_queue(
    host: LocalHost, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN a composition root that records what it was given, and usable settings
    built: list[tuple[object, object]] = []
    installed: list[object] = []

    def build_services(settings: object, *, presence_queue: object = None) -> object:
        built.append((settings, presence_queue))
        return "services"

    settings = object()
    monkeypatch.setattr(devstack_main, "build_services", build_services)
    monkeypatch.setattr(devstack_main, "use_services", installed.append)
    monkeypatch.setattr(devstack_main, "load_settings", lambda: settings)
    bus = new_bus(host)

    # WHEN the stack installs the app's services
    devstack_main.install_app_services(bus)

    # THEN they were built with the bus as presence queue and installed for every function
    assert built == [(settings, bus)]
    assert installed == ["services"]
