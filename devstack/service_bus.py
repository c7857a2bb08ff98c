"""An in-process stand-in for the sessions-enabled presence queue and the Functions host's Service Bus
trigger, for local runs only: in Azure the app always talks to real Service Bus.

What it keeps from the real pair (infra/modules/service-bus.bicep, host.json):
- one FIFO per session id; a session is handled by at most one worker at a time, and sessions run in
  parallel on `extensions.serviceBus.maxConcurrentSessions` workers;
- duplicate detection: a message id accepted within the last 10 minutes is dropped at send;
- peek-lock with auto-complete: a function that returns completes its message; one that raises
  abandons it, and the same message is delivered again (delivery count + 1) after a back-off, ahead
  of the rest of its session; a message that fails its 10th delivery is dead-lettered
  (MaxDeliveryCountExceeded), one that outlives its time to live is dead-lettered unread
  (TTLExpiredException);
- the function receives an `azure.functions.ServiceBusMessage` decoded from trigger metadata by the
  Python worker's own converter, so it sees what it would see in Azure.
What it does not keep is durability: messages live in this process. stop() lets in-flight deliveries
finish and reports what is left undelivered.

Deliveries, counters and dead letters are served under /_devstack/service-bus on the local host.
"""

from __future__ import annotations

import heapq
import json
import logging
import os
import re
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from pathlib import Path
from typing import Any, Final

import azure.functions as func
from azure.functions.meta import Datum
from azure.functions.servicebus import ServiceBusMessageInConverter
from azure.servicebus import ServiceBusMessage as SdkServiceBusMessage

from devstack.function_index import ServiceBusQueueFunction
from devstack.host import REPO_ROOT, STOP_JOIN_TIMEOUT_SECONDS, HostRequest, HttpReply, LocalHost, error_reply
from shared.errors import AppError
from shared.presence.ports import SyncMessage
from shared.queueing.service_bus_queue import to_service_bus_message

logger = logging.getLogger(__name__)

QUEUE_NAME_SETTING: Final = "PRESENCE_QUEUE_NAME"
DEFAULT_QUEUE_NAME: Final = "presence-changes"
DEFAULT_MAX_CONCURRENT_SESSIONS: Final = 8
MAX_DELIVERY_COUNT: Final = 10
DUPLICATE_DETECTION_WINDOW: Final = timedelta(minutes=10)
LOCK_DURATION: Final = timedelta(minutes=1)
MESSAGE_TIME_TO_LIVE: Final = timedelta(days=1)
DEFAULT_RETRY_BACKOFF: Final = timedelta(milliseconds=500)
MAX_RETRY_BACKOFF: Final = timedelta(seconds=8)
# Standard tier limits: 256 KB per message, 128 characters per message id and session id.
MAX_MESSAGE_BYTES: Final = 256 * 1024
MAX_ID_LENGTH: Final = 128
DELIVERY_LOG_SIZE: Final = 1000
DEAD_LETTER_LIMIT: Final = 1000
ROUTE: Final = "/_devstack/service-bus"
DELIVERIES_ROUTE: Final = ROUTE + "/deliveries"

MAX_DELIVERY_COUNT_EXCEEDED: Final = "MaxDeliveryCountExceeded"
TTL_EXPIRED: Final = "TTLExpiredException"

_APP_SETTING_REFERENCE = re.compile(r"%([^%]+)%")
_DECODED_PLUS_OFFSET = re.compile(r"(T[\d:.]+) (\d{2}:?\d{2})$")
_ACTIVE_MESSAGE_STATE = 0


def utc_now() -> datetime:
    return datetime.now(UTC)


class InvalidMessageError(ValueError):
    """A message the real queue would refuse at send (no session id, too large, ...)."""


class QueueBindingError(ValueError):
    """No function can be bound to the queue the way the caller asked; the message says why."""


class UnresolvedAppSettingError(LookupError):
    """A `%NAME%` reference in a trigger attribute names an app setting that is not set."""


class BusState(StrEnum):
    STOPPED = "stopped"
    RUNNING = "running"
    # From stop() until the deliveries in flight have settled.
    STOPPING = "stopping"


class Outcome(StrEnum):
    COMPLETED = "completed"
    ABANDONED = "abandoned"
    DEAD_LETTERED = "deadLettered"
    DUPLICATE = "duplicate"


@dataclass(frozen=True)
class LocalMessage:
    """What a sender hands to the queue: the parts of a Service Bus message the app sets."""

    body: bytes
    session_id: str
    message_id: str
    content_type: str | None = None
    subject: str | None = None
    correlation_id: str | None = None
    application_properties: Mapping[str, object] = field(default_factory=dict)

    @classmethod
    def from_sdk_message(cls, message: SdkServiceBusMessage) -> LocalMessage:
        """The message the azure-servicebus SDK would send, so both paths share one mapping."""
        body = message.body
        raw = body if isinstance(body, bytes) else b"".join(body)
        properties = message.application_properties or {}
        return cls(
            body=raw,
            session_id=message.session_id or "",
            message_id=message.message_id or "",
            content_type=message.content_type,
            subject=message.subject,
            correlation_id=message.correlation_id,
            application_properties={_text(name): value for name, value in properties.items()},
        )


@dataclass(frozen=True)
class DeliveryRecord:
    """One settlement of one delivery attempt (or a send dropped as a duplicate)."""

    message_id: str
    session_id: str
    sequence_number: int | None
    delivery_count: int
    outcome: Outcome
    error: str | None
    enqueued_at: datetime
    started_at: datetime | None
    finished_at: datetime
    body: bytes = field(repr=False)
    content_type: str | None

    @property
    def latency_ms(self) -> float:
        """From send to settlement, back-offs and waiting behind the session included."""
        return (self.finished_at - self.enqueued_at).total_seconds() * 1000

    def to_json(self) -> dict[str, Any]:
        document: dict[str, Any] = {
            "messageId": self.message_id,
            "sessionId": self.session_id,
            "sequenceNumber": self.sequence_number,
            "deliveryCount": self.delivery_count,
            "outcome": self.outcome.value,
            "enqueuedAt": _iso(self.enqueued_at),
            "startedAt": None if self.started_at is None else _iso(self.started_at),
            "finishedAt": _iso(self.finished_at),
            "latencyMs": round(self.latency_ms, 3),
            "durationMs": (
                None
                if self.started_at is None
                else round((self.finished_at - self.started_at).total_seconds() * 1000, 3)
            ),
            "body": _body_document(self.body, self.content_type),
        }
        if self.error is not None:
            document["error"] = self.error
        return document


@dataclass(frozen=True)
class DeadLetter:
    message_id: str
    session_id: str
    sequence_number: int
    delivery_count: int
    reason: str
    description: str
    enqueued_at: datetime
    dead_lettered_at: datetime
    body: bytes = field(repr=False)
    content_type: str | None

    def to_json(self) -> dict[str, Any]:
        return {
            "messageId": self.message_id,
            "sessionId": self.session_id,
            "sequenceNumber": self.sequence_number,
            "deliveryCount": self.delivery_count,
            "deadLetterReason": self.reason,
            "deadLetterErrorDescription": self.description,
            "enqueuedAt": _iso(self.enqueued_at),
            "deadLetteredAt": _iso(self.dead_lettered_at),
            "body": _body_document(self.body, self.content_type),
        }


@dataclass(frozen=True)
class BusCounters:
    """`sent` .. `dead_lettered` count since construction; the rest are the current state."""

    sent: int
    duplicates: int
    completed: int
    abandoned: int
    dead_lettered: int
    pending: int
    in_flight: int
    sessions: int

    def to_json(self) -> dict[str, int]:
        return {
            "sent": self.sent,
            "duplicates": self.duplicates,
            "completed": self.completed,
            "abandoned": self.abandoned,
            "deadLettered": self.dead_lettered,
            "pending": self.pending,
            "inFlight": self.in_flight,
            "sessions": self.sessions,
        }


@dataclass
class _Envelope:
    message: LocalMessage
    sequence_number: int
    enqueued_at: datetime
    expires_at: datetime
    delivery_count: int = 0


@dataclass
class _Session:
    """One session's FIFO. While it has messages it is in exactly one place: the ready queue, the
    delayed heap (back-off after an abandon) or a worker's hands."""

    session_id: str
    messages: deque[_Envelope] = field(default_factory=deque)


class InProcessServiceBus:
    """The presence queue (PresenceQueue) and its session receivers (a BackgroundService of the host).

    `function_name` picks the queue function to invoke; by default it is the one whose queue name,
    with `%SETTING%` references resolved from `environ`, is `queue_name` (default: the
    PRESENCE_QUEUE_NAME setting, else "presence-changes"). Without such a function messages wait in
    the queue, as they would in Azure with no consumer.
    """

    def __init__(
        self,
        host: LocalHost,
        function_name: str | None = None,
        *,
        queue_name: str | None = None,
        environ: Mapping[str, str] | None = None,
        max_concurrent_sessions: int | None = None,
        host_json: Path = REPO_ROOT / "host.json",
        max_delivery_count: int = MAX_DELIVERY_COUNT,
        duplicate_detection_window: timedelta = DUPLICATE_DETECTION_WINDOW,
        message_time_to_live: timedelta = MESSAGE_TIME_TO_LIVE,
        retry_backoff: timedelta = DEFAULT_RETRY_BACKOFF,
        max_retry_backoff: timedelta = MAX_RETRY_BACKOFF,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        if max_delivery_count < 1:
            raise ValueError("max_delivery_count must be at least 1")
        self._host = host
        self._environ: Mapping[str, str] = os.environ if environ is None else environ
        self._function, self._queue_name = _bind_function(host, function_name, queue_name, self._environ)
        self._max_concurrent_sessions = (
            max_concurrent_sessions_from_host_json(host_json)
            if max_concurrent_sessions is None
            else max_concurrent_sessions
        )
        if self._max_concurrent_sessions < 1:
            raise ValueError("max_concurrent_sessions must be at least 1")
        self._max_delivery_count = max_delivery_count
        self._duplicate_window = duplicate_detection_window
        self._time_to_live = message_time_to_live
        self._retry_backoff = retry_backoff
        self._max_retry_backoff = max_retry_backoff
        self._clock = clock

        self._lock = threading.Lock()
        # Two conditions on one lock: workers wait for work, wait_idle() waits for an empty queue.
        self._work = threading.Condition(self._lock)
        self._settled = threading.Condition(self._lock)
        self._sessions: dict[str, _Session] = {}
        self._ready: deque[str] = deque()
        self._delayed: list[tuple[float, int, str]] = []
        self._delay_order = 0
        self._seen: dict[str, datetime] = {}
        self._seen_order: deque[tuple[datetime, str]] = deque()
        self._next_sequence_number = 1
        self._queued = 0
        self._in_flight = 0
        self._sent = 0
        self._duplicates = 0
        self._completed = 0
        self._abandoned = 0
        self._dead_lettered = 0
        self._deliveries: deque[DeliveryRecord] = deque(maxlen=DELIVERY_LOG_SIZE)
        self._dead_letters: deque[DeadLetter] = deque(maxlen=DEAD_LETTER_LIMIT)
        self._state = BusState.STOPPED
        self._workers: list[threading.Thread] = []
        host.add_host_route(ROUTE, self.handle_http)

    @property
    def queue_name(self) -> str:
        return self._queue_name

    @property
    def function_name(self) -> str | None:
        return None if self._function is None else self._function.name

    @property
    def max_concurrent_sessions(self) -> int:
        return self._max_concurrent_sessions

    @property
    def state(self) -> BusState:
        with self._lock:
            return self._state

    # Sending -----------------------------------------------------------------------------------

    def publish(self, changes: Sequence[SyncMessage]) -> None:
        """PresenceQueue: queue the messages exactly as the Service Bus sender would send them."""
        self.send_batch([LocalMessage.from_sdk_message(to_service_bus_message(change)) for change in changes])

    def send(self, message: LocalMessage) -> bool:
        """Queue one message; False when duplicate detection dropped it."""
        return self.send_batch([message])[0]

    def send_batch(self, messages: Sequence[LocalMessage]) -> list[bool]:
        """Queue the messages in order, all or none (each is checked first); per message, whether it
        was accepted (False: dropped as a duplicate)."""
        for message in messages:
            _check_message(message)
        accepted: list[bool] = []
        with self._lock:
            now = self._clock()
            self._forget_old_message_ids(now)
            for message in messages:
                if message.message_id in self._seen:
                    self._record_duplicate(message, now)
                    accepted.append(False)
                    continue
                self._seen[message.message_id] = now
                self._seen_order.append((now, message.message_id))
                self._enqueue_locked(message, now)
                accepted.append(True)
        return accepted

    # Lifecycle ---------------------------------------------------------------------------------

    def start(self) -> None:
        with self._lock:
            if self._state is not BusState.STOPPED:
                raise RuntimeError(
                    f"the in-process Service Bus is {self._state}; it can only start when stopped"
                )
            self._state = BusState.RUNNING
            if self._function is not None:
                self._workers = [
                    threading.Thread(target=self._work_loop, name=f"service-bus-session-{index}", daemon=True)
                    for index in range(self._max_concurrent_sessions)
                ]
            for worker in self._workers:
                worker.start()
        logger.info(
            "Service Bus: in-process queue %s (sessions, duplicate detection %d min, max delivery %d) "
            "- Azure uses real Service Bus",
            self._queue_name,
            int(self._duplicate_window.total_seconds() // 60),
            self._max_delivery_count,
        )
        if self._function is None:
            logger.warning(
                "Service Bus: no sessions-enabled queue function listens on %s; messages wait in the queue",
                self._queue_name,
            )
        else:
            logger.info(
                "Service Bus: %s receives %s on up to %d concurrent sessions",
                self._function.name,
                self._queue_name,
                self._max_concurrent_sessions,
            )

    def stop(self) -> None:
        """Stop receiving: deliveries in flight finish and settle, queued messages stay undelivered."""
        with self._lock:
            if self._state is not BusState.RUNNING:
                return
            workers = self._workers
            self._state = BusState.STOPPING
            self._work.notify_all()
        for worker in workers:
            worker.join(STOP_JOIN_TIMEOUT_SECONDS)
            if worker.is_alive():
                logger.warning(
                    "Service Bus: a delivery on %s did not finish within %.0f s",
                    worker.name,
                    STOP_JOIN_TIMEOUT_SECONDS,
                )
        with self._lock:
            self._workers = []
            self._state = BusState.STOPPED
            left, sessions = self._queued, len(self._sessions)
        if left:
            logger.warning(
                "Service Bus: stopped with %d message(s) in %d session(s) of %s undelivered "
                "(abandoned: the in-process queue is lost when the process exits)",
                left,
                sessions,
                self._queue_name,
            )
        else:
            logger.info("Service Bus: stopped; queue %s is empty", self._queue_name)

    def wait_idle(self, timeout: float) -> bool:
        """Wait until every accepted message is settled (completed or dead-lettered)."""
        with self._lock:
            return self._settled.wait_for(lambda: self._queued == 0, timeout)

    # Observation -------------------------------------------------------------------------------

    def deliveries(
        self, session_id: str | None = None, since: datetime | None = None
    ) -> list[DeliveryRecord]:
        """The delivery log (last DELIVERY_LOG_SIZE settlements), oldest first."""
        with self._lock:
            records = list(self._deliveries)
        return [
            record
            for record in records
            if (session_id is None or record.session_id == session_id)
            and (since is None or record.finished_at > since)
        ]

    def clear_deliveries(self) -> int:
        with self._lock:
            cleared = len(self._deliveries)
            self._deliveries.clear()
        return cleared

    def dead_letters(self) -> list[DeadLetter]:
        with self._lock:
            return list(self._dead_letters)

    def counters(self) -> BusCounters:
        with self._lock:
            return BusCounters(
                sent=self._sent,
                duplicates=self._duplicates,
                completed=self._completed,
                abandoned=self._abandoned,
                dead_lettered=self._dead_lettered,
                pending=self._queued - self._in_flight,
                in_flight=self._in_flight,
                sessions=len(self._sessions),
            )

    def summary(self) -> dict[str, Any]:
        return {
            "queueName": self._queue_name,
            "functionName": self.function_name,
            "state": self.state.value,
            "maxConcurrentSessions": self._max_concurrent_sessions,
            "maxDeliveryCount": self._max_delivery_count,
            "duplicateDetectionWindowSeconds": self._duplicate_window.total_seconds(),
            "lockDurationSeconds": LOCK_DURATION.total_seconds(),
            "messageTimeToLiveSeconds": self._time_to_live.total_seconds(),
            "counters": self.counters().to_json(),
            "deadLetters": [letter.to_json() for letter in self.dead_letters()],
        }

    def handle_http(self, request: HostRequest) -> HttpReply:
        """GET /_devstack/service-bus, GET|DELETE /_devstack/service-bus/deliveries."""
        path = request.path.rstrip("/")
        if path == ROUTE:
            if request.method not in ("GET", "HEAD"):
                return _method_not_allowed(request, "GET, HEAD")
            return _json_reply(200, self.summary())
        if path == DELIVERIES_ROUTE:
            if request.method in ("GET", "HEAD"):
                return self._deliveries_reply(request)
            if request.method == "DELETE":
                self.clear_deliveries()
                return HttpReply(204)
            return _method_not_allowed(request, "DELETE, GET, HEAD")
        return error_reply(404, "notFound", f"Nothing in the local stack serves {request.path}")

    # Receiving ---------------------------------------------------------------------------------

    def _work_loop(self) -> None:
        while (taken := self._take()) is not None:
            function, session, envelope = taken
            self._deliver(function, session, envelope)

    def _take(self) -> tuple[ServiceBusQueueFunction, _Session, _Envelope] | None:
        """Lock the next available session for this worker and hand out its first message."""
        with self._lock:
            while self._state is BusState.RUNNING and self._function is not None:
                self._release_due_sessions(time.monotonic())
                if self._ready:
                    session = self._sessions[self._ready.popleft()]
                    envelope = session.messages[0]
                    now = self._clock()
                    if envelope.expires_at <= now:
                        self._dead_letter_locked(
                            session, envelope, TTL_EXPIRED, "The message expired and was dead lettered.", now
                        )
                        self._record_locked(envelope, Outcome.DEAD_LETTERED, TTL_EXPIRED, None, now)
                        self._after_settlement_locked(session)
                        logger.error(
                            "Service Bus: message %s (session %s) dead-lettered unread (%s): enqueued at %s",
                            envelope.message.message_id,
                            session.session_id,
                            TTL_EXPIRED,
                            _iso(envelope.enqueued_at),
                        )
                        continue
                    envelope.delivery_count += 1
                    self._in_flight += 1
                    return self._function, session, envelope
                timeout = self._delayed[0][0] - time.monotonic() if self._delayed else None
                self._work.wait(timeout)
            return None

    def _deliver(self, function: ServiceBusQueueFunction, session: _Session, envelope: _Envelope) -> None:
        started = self._clock()
        error: Exception | None = None
        delay: float | None = None
        try:
            self._host.invoke_service_bus(function.name, self._function_message(envelope, started))
        except Exception as exc:
            error = exc
        finished = self._clock()
        with self._lock:
            self._in_flight -= 1
            if error is None:
                self._completed += 1
                session.messages.popleft()
                self._queued -= 1
                self._record_locked(envelope, Outcome.COMPLETED, None, started, finished)
                self._after_settlement_locked(session)
            elif envelope.delivery_count >= self._max_delivery_count:
                description = _describe(error)
                self._dead_letter_locked(
                    session, envelope, MAX_DELIVERY_COUNT_EXCEEDED, description, finished
                )
                self._record_locked(envelope, Outcome.DEAD_LETTERED, description, started, finished)
                self._after_settlement_locked(session)
            else:
                self._abandoned += 1
                self._record_locked(envelope, Outcome.ABANDONED, _describe(error), started, finished)
                delay = self._backoff(envelope.delivery_count)
                self._delay_locked(session, delay)
            # Logged under the lock, before anyone can see the settlement: wait_idle() returning (or the
            # session's next message running) means this message's line is already written.
            if error is None:
                logger.debug(
                    "Service Bus: %s completed message %s (session %s, delivery %d)",
                    function.name,
                    envelope.message.message_id,
                    session.session_id,
                    envelope.delivery_count,
                )
            elif delay is None:
                logger.error(
                    "Service Bus: message %s (session %s) dead-lettered after %d deliveries (%s): %s",
                    envelope.message.message_id,
                    session.session_id,
                    envelope.delivery_count,
                    MAX_DELIVERY_COUNT_EXCEEDED,
                    _describe(error),
                )
            elif isinstance(error, AppError):
                # An expected retry (the contact center or Graph said "later"): the function has logged what
                # happened in one line already, so no traceback and no second warning.
                logger.info(
                    "Service Bus: message %s (session %s) abandoned on delivery %d of %d (%s); "
                    "redelivered in %.1f s",
                    envelope.message.message_id,
                    session.session_id,
                    envelope.delivery_count,
                    self._max_delivery_count,
                    _describe(error),
                    delay,
                )
            else:
                logger.warning(
                    "Service Bus: %s failed on message %s (session %s, delivery %d of %d); abandoned, "
                    "redelivered in %.1f s",
                    function.name,
                    envelope.message.message_id,
                    session.session_id,
                    envelope.delivery_count,
                    self._max_delivery_count,
                    delay,
                    # A bug: the traceback once per message; the later failures are usually the same.
                    exc_info=error if envelope.delivery_count == 1 else None,
                )

    def _function_message(self, envelope: _Envelope, delivered_at: datetime) -> func.ServiceBusMessage:
        """The message as the Python worker builds it from the host's trigger data."""
        message = envelope.message
        properties = json.dumps(_json_properties(message.application_properties))
        metadata: dict[str, Datum] = {
            "MessageId": Datum(message.message_id, "string"),
            "SessionId": Datum(message.session_id, "string"),
            "DeliveryCount": Datum(envelope.delivery_count, "int"),
            "SequenceNumber": Datum(envelope.sequence_number, "int"),
            "EnqueuedTimeUtc": Datum(_metadata_time(envelope.enqueued_at), "string"),
            "ExpiresAtUtc": Datum(_metadata_time(envelope.expires_at), "string"),
            "LockedUntil": Datum(_metadata_time(delivered_at + LOCK_DURATION), "string"),
            "LockToken": Datum(str(uuid.uuid4()), "string"),
            "State": Datum(_ACTIVE_MESSAGE_STATE, "int"),
            "ApplicationProperties": Datum(properties, "json"),
            "UserProperties": Datum(properties, "json"),
        }
        if message.content_type is not None:
            metadata["ContentType"] = Datum(message.content_type, "string")
        if message.correlation_id is not None:
            metadata["CorrelationId"] = Datum(message.correlation_id, "string")
        if message.subject is not None:
            metadata["Subject"] = Datum(message.subject, "string")
            metadata["Label"] = Datum(message.subject, "string")
        return ServiceBusMessageInConverter.decode_single_message(
            Datum(message.body, "bytes"), trigger_metadata=metadata
        )

    # State changes, all under self._lock -------------------------------------------------------

    def _enqueue_locked(self, message: LocalMessage, now: datetime) -> None:
        envelope = _Envelope(
            message=message,
            sequence_number=self._next_sequence_number,
            enqueued_at=now,
            expires_at=now + self._time_to_live,
        )
        self._next_sequence_number += 1
        self._sent += 1
        self._queued += 1
        session = self._sessions.get(message.session_id)
        if session is None:
            session = _Session(message.session_id)
            self._sessions[message.session_id] = session
            self._ready.append(message.session_id)
            self._work.notify()
        session.messages.append(envelope)

    def _after_settlement_locked(self, session: _Session) -> None:
        """The head message left the session: hand the session back, or forget it when empty."""
        if session.messages:
            self._ready.append(session.session_id)
            self._work.notify()
        else:
            del self._sessions[session.session_id]
        if self._queued == 0:
            self._settled.notify_all()

    def _delay_locked(self, session: _Session, delay: float) -> None:
        self._delay_order += 1
        heapq.heappush(self._delayed, (time.monotonic() + delay, self._delay_order, session.session_id))
        # Every waiting worker recomputes how long it may sleep.
        self._work.notify_all()

    def _release_due_sessions(self, now: float) -> None:
        while self._delayed and self._delayed[0][0] <= now:
            _, _, session_id = heapq.heappop(self._delayed)
            self._ready.append(session_id)

    def _dead_letter_locked(
        self, session: _Session, envelope: _Envelope, reason: str, description: str, now: datetime
    ) -> None:
        session.messages.popleft()
        self._queued -= 1
        self._dead_lettered += 1
        message = envelope.message
        self._dead_letters.append(
            DeadLetter(
                message_id=message.message_id,
                session_id=message.session_id,
                sequence_number=envelope.sequence_number,
                delivery_count=envelope.delivery_count,
                reason=reason,
                description=description,
                enqueued_at=envelope.enqueued_at,
                dead_lettered_at=now,
                body=message.body,
                content_type=message.content_type,
            )
        )

    def _record_locked(
        self,
        envelope: _Envelope,
        outcome: Outcome,
        error: str | None,
        started: datetime | None,
        finished: datetime,
    ) -> None:
        message = envelope.message
        self._deliveries.append(
            DeliveryRecord(
                message_id=message.message_id,
                session_id=message.session_id,
                sequence_number=envelope.sequence_number,
                delivery_count=envelope.delivery_count,
                outcome=outcome,
                error=error,
                enqueued_at=envelope.enqueued_at,
                started_at=started,
                finished_at=finished,
                body=message.body,
                content_type=message.content_type,
            )
        )

    def _record_duplicate(self, message: LocalMessage, now: datetime) -> None:
        self._duplicates += 1
        self._deliveries.append(
            DeliveryRecord(
                message_id=message.message_id,
                session_id=message.session_id,
                sequence_number=None,
                delivery_count=0,
                outcome=Outcome.DUPLICATE,
                error=None,
                enqueued_at=now,
                started_at=None,
                finished_at=now,
                body=message.body,
                content_type=message.content_type,
            )
        )
        logger.debug(
            "Service Bus: duplicate message %s (session %s) dropped", message.message_id, message.session_id
        )

    def _forget_old_message_ids(self, now: datetime) -> None:
        horizon = now - self._duplicate_window
        while self._seen_order and self._seen_order[0][0] <= horizon:
            _, message_id = self._seen_order.popleft()
            del self._seen[message_id]

    def _backoff(self, delivery_count: int) -> float:
        seconds = self._retry_backoff.total_seconds() * 2.0 ** (delivery_count - 1)
        return min(seconds, self._max_retry_backoff.total_seconds())

    def _deliveries_reply(self, request: HostRequest) -> HttpReply:
        since_text = request.query.get("since")
        since: datetime | None = None
        if since_text:
            try:
                since = parse_timestamp(since_text)
            except ValueError:
                return error_reply(
                    400, "badRequest", "since must be an ISO 8601 timestamp, e.g. 2024-05-01T12:00:00Z"
                )
        session_id = request.query.get("sessionId") or None
        records = self.deliveries(session_id=session_id, since=since)
        return _json_reply(
            200, {"deliveries": [record.to_json() for record in records], "count": len(records)}
        )


def max_concurrent_sessions_from_host_json(host_json: Path) -> int:
    """`extensions.serviceBus.maxConcurrentSessions` from host.json; 8 (the host's default) when the file
    or the setting is absent."""
    if not host_json.is_file():
        return DEFAULT_MAX_CONCURRENT_SESSIONS
    document = json.loads(host_json.read_text(encoding="utf-8"))
    extensions = document.get("extensions") if isinstance(document, dict) else None
    service_bus = extensions.get("serviceBus") if isinstance(extensions, dict) else None
    value = service_bus.get("maxConcurrentSessions") if isinstance(service_bus, dict) else None
    if value is None:
        return DEFAULT_MAX_CONCURRENT_SESSIONS
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(
            f"{host_json}: extensions.serviceBus.maxConcurrentSessions must be a positive integer, "
            f"got {value!r}"
        )
    return value


def resolve_app_settings(value: str, environ: Mapping[str, str]) -> str:
    """Replace `%NAME%` references with app settings, as the host resolves trigger attributes."""

    def setting(match: re.Match[str]) -> str:
        name = match.group(1)
        resolved = environ.get(name)
        if not resolved:
            raise UnresolvedAppSettingError(f"'%{name}%' does not resolve to a value (app setting {name})")
        return resolved

    return _APP_SETTING_REFERENCE.sub(setting, value)


def parse_timestamp(text: str) -> datetime:
    """An ISO 8601 instant; one without an offset is UTC. A '+' turned into ' ' by query-string
    decoding is put back."""
    parsed = datetime.fromisoformat(_DECODED_PLUS_OFFSET.sub(r"\1+\2", text.strip()))
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


def _bind_function(
    host: LocalHost, function_name: str | None, queue_name: str | None, environ: Mapping[str, str]
) -> tuple[ServiceBusQueueFunction | None, str]:
    if function_name is not None:
        return _bind_named_function(host, function_name, queue_name, environ)
    queue = queue_name or environ.get(QUEUE_NAME_SETTING) or DEFAULT_QUEUE_NAME
    listeners: list[ServiceBusQueueFunction] = []
    for function in host.service_bus_functions:
        try:
            resolved = resolve_app_settings(function.queue_name, environ)
        except UnresolvedAppSettingError as error:
            logger.error("Service Bus: function %s is not bound to any queue: %s", function.name, error)
            continue
        if resolved.casefold() != queue.casefold():
            continue
        if not function.is_sessions_enabled:
            # A receiver without sessions cannot open a queue that requires them; the real host fails too.
            logger.error(
                "Service Bus: function %s cannot receive from %s: the queue requires sessions and the "
                "trigger does not set is_sessions_enabled=True",
                function.name,
                queue,
            )
            continue
        listeners.append(function)
    if len(listeners) > 1:
        names = ", ".join(sorted(function.name for function in listeners))
        raise QueueBindingError(f"functions {names} all listen on {queue}; name the one to invoke")
    return (listeners[0] if listeners else None), queue


def _bind_named_function(
    host: LocalHost, function_name: str, queue_name: str | None, environ: Mapping[str, str]
) -> tuple[ServiceBusQueueFunction, str]:
    functions = {function.name: function for function in host.service_bus_functions}
    function = functions.get(function_name)
    if function is None:
        known = ", ".join(sorted(functions)) or "none"
        raise QueueBindingError(f"no Service Bus queue function named {function_name!r} (known: {known})")
    try:
        resolved = resolve_app_settings(function.queue_name, environ)
    except UnresolvedAppSettingError as error:
        raise QueueBindingError(f"function {function_name}: {error}") from error
    if queue_name is not None and resolved.casefold() != queue_name.casefold():
        raise QueueBindingError(f"function {function_name} listens on {resolved}, not on {queue_name}")
    if not function.is_sessions_enabled:
        raise QueueBindingError(
            f"function {function_name} does not set is_sessions_enabled=True; the queue requires sessions"
        )
    return function, queue_name or resolved


def _check_message(message: LocalMessage) -> None:
    if not message.session_id:
        raise InvalidMessageError(
            "the message has no session id; a queue that requires sessions refuses it at send"
        )
    if len(message.session_id) > MAX_ID_LENGTH:
        raise InvalidMessageError(f"the session id is longer than {MAX_ID_LENGTH} characters")
    if not message.message_id:
        raise InvalidMessageError("the message has no message id; duplicate detection needs one")
    if len(message.message_id) > MAX_ID_LENGTH:
        raise InvalidMessageError(f"the message id is longer than {MAX_ID_LENGTH} characters")
    if len(message.body) > MAX_MESSAGE_BYTES:
        raise InvalidMessageError(
            f"the message body is {len(message.body)} bytes; the queue takes at most {MAX_MESSAGE_BYTES}"
        )
    _json_properties(message.application_properties)


def _json_properties(properties: Mapping[str, object]) -> dict[str, Any]:
    """Application properties as the host passes them to the worker (JSON; instants as ISO text)."""
    converted: dict[str, Any] = {}
    for name, value in properties.items():
        if isinstance(value, datetime):
            converted[name] = _iso(value)
        elif isinstance(value, uuid.UUID):
            converted[name] = str(value)
        elif value is None or isinstance(value, str | int | float | bool):
            converted[name] = value
        else:
            raise InvalidMessageError(
                f"application property {name!r} is a {type(value).__name__}; "
                "use text, numbers, booleans, datetimes or UUIDs"
            )
    return converted


def _describe(error: BaseException) -> str:
    text = str(error)
    return f"{type(error).__name__}: {text}" if text else type(error).__name__


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _metadata_time(moment: datetime) -> str:
    # The format the worker's converter parses as UTC.
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _text(value: str | bytes) -> str:
    return value.decode("utf-8") if isinstance(value, bytes) else value


def _body_document(body: bytes, content_type: str | None) -> Any:
    """JSON bodies as JSON, anything else as text, so the log reads well in a browser."""
    if content_type is not None and "json" in content_type.lower():
        try:
            return json.loads(body)
        except (UnicodeDecodeError, json.JSONDecodeError):
            pass
    return body.decode("utf-8", errors="replace")


def _json_reply(status: int, document: object) -> HttpReply:
    return HttpReply(
        status, [("Content-Type", "application/json; charset=utf-8")], json.dumps(document).encode("utf-8")
    )


def _method_not_allowed(request: HostRequest, allowed: str) -> HttpReply:
    return error_reply(
        405,
        "methodNotAllowed",
        f"Method {request.method} is not allowed on {request.path}; allowed: {allowed}",
        [("Allow", allowed)],
    )
