"""PresenceWorker: each queue message to the handler of its kind; messages that can never be applied
are logged and completed, transient failures raise so Service Bus delivers the message again."""

from __future__ import annotations

import json
import logging
from datetime import timedelta

import pytest

from shared.contact_center.messages import SCHEMA as AGENT_STATE_CHANGE
from shared.contact_center.model import AgentState
from shared.mappings.defaults import DND_IDLE_CODE_ID
from shared.operations.ports import ChangeOutcome
from shared.presence.exceptions import InvalidPresenceMessage, TransientSyncFailure
from shared.presence.messages import SCHEMA as PRESENCE_CHANGE
from shared.presence.worker import PresenceWorker, RecordTeamsPresence, message_kind
from tests.fakes import FakeOperationsReporter
from tests.unit.presence.engine_fakes import (
    AGENT,
    START,
    TENANT,
    FakeRecorder,
    agent_event,
    build_engine,
    teams_change,
)

CHANGE = teams_change("DoNotDisturb", "DoNotDisturb", "0002", START)
EVENT = agent_event(AgentState.ON_CALL, 2, START)


class RecordingHandler:
    def __init__(self, failure: Exception | None = None) -> None:
        self.messages: list[tuple[bytes, str | None, int]] = []
        self.failure = failure

    def __call__(self, body: bytes, *, message_id: str | None, delivery_count: int) -> None:
        self.messages.append((body, message_id, delivery_count))
        if self.failure is not None:
            raise self.failure


def test_each_kind_goes_to_its_handler_with_the_delivery_details() -> None:
    teams, events = RecordingHandler(), RecordingHandler()
    worker = PresenceWorker({PRESENCE_CHANGE: teams, AGENT_STATE_CHANGE: events})
    # WHEN one message of each kind arrives
    worker.handle(CHANGE.to_json(), message_id="m-1", delivery_count=1)
    worker.handle(EVENT.to_json(), message_id="m-2", delivery_count=3)
    # THEN each handler got its own, as delivered
    assert teams.messages == [(CHANGE.to_json(), "m-1", 1)]
    assert events.messages == [(EVENT.to_json(), "m-2", 3)]


@pytest.mark.parametrize(
    "body",
    [
        b"not json",
        b"\xff\xfe",
        b"[1, 2]",
        b'{"version": 1}',
        b'{"schema": 7}',
        json.dumps({"schema": "somethingElse", "version": 1}).encode(),
    ],
    ids=["not-json", "not-utf8", "not-an-object", "no-schema", "schema-not-text", "unknown-kind"],
)
def test_a_message_that_can_never_be_applied_is_logged_and_completed(
    body: bytes, caplog: pytest.LogCaptureFixture
) -> None:
    teams, events = RecordingHandler(), RecordingHandler()
    worker = PresenceWorker({PRESENCE_CHANGE: teams, AGENT_STATE_CHANGE: events})
    # WHEN it is handled
    with caplog.at_level(logging.ERROR, logger="shared.presence.worker"):
        worker.handle(body, message_id="m-bad", delivery_count=1)
    # THEN no handler ran, nothing was raised (no retry), and the drop is logged with the message id
    assert teams.messages == events.messages == []
    assert any("m-bad" in record.getMessage() for record in caplog.records)


def test_a_message_its_handler_cannot_read_is_completed() -> None:
    worker = PresenceWorker({PRESENCE_CHANGE: RecordingHandler(InvalidPresenceMessage("version 2"))})
    worker.handle(CHANGE.to_json(), message_id="m-1", delivery_count=1)


def test_a_transient_failure_raises_so_the_message_is_delivered_again() -> None:
    worker = PresenceWorker({PRESENCE_CHANGE: RecordingHandler(TransientSyncFailure("429"))})
    with pytest.raises(TransientSyncFailure):
        worker.handle(CHANGE.to_json(), message_id="m-1", delivery_count=1)


def test_a_worker_without_a_presence_change_handler_is_refused() -> None:
    with pytest.raises(ValueError, match="presence changes"):
        PresenceWorker({AGENT_STATE_CHANGE: RecordingHandler()})


def test_message_kind_reads_the_schema() -> None:
    assert message_kind(CHANGE.to_json()) == PRESENCE_CHANGE
    assert message_kind(EVENT.to_json()) == AGENT_STATE_CHANGE
    with pytest.raises(InvalidPresenceMessage):
        message_kind(b"[]")


def test_record_teams_presence_keeps_the_newest_presence() -> None:
    recorder = FakeRecorder()
    worker = PresenceWorker({PRESENCE_CHANGE: RecordTeamsPresence(recorder)})
    worker.handle(CHANGE.to_json(), message_id=CHANGE.message_id, delivery_count=1)
    assert recorder.recorded == [(TENANT, CHANGE)]


def test_the_worker_wired_to_the_sync_engine_applies_both_kinds() -> None:
    # GIVEN the worker wired like the composition root, and an agent the contact center reports
    engine = build_engine()
    worker = PresenceWorker(
        {PRESENCE_CHANGE: engine.sync.teams_change, AGENT_STATE_CHANGE: engine.sync.agent_event}
    )
    engine.states.add_agent()
    login = agent_event(AgentState.AVAILABLE, 1, START - timedelta(minutes=5))
    # WHEN his login and then a mapped Teams change arrive through the queue
    worker.handle(login.to_json(), message_id=login.message_id, delivery_count=1)
    worker.handle(CHANGE.to_json(), message_id=CHANGE.message_id, delivery_count=1)
    # THEN he is subscribed at once and put in the idle code
    assert engine.subscriptions.roster_changes == [TENANT]
    assert engine.contact_centers.commands == [("set_idle", TENANT, AGENT, DND_IDLE_CODE_ID)]
    # AND a message of the right kind with a broken body is completed, not retried
    broken = json.dumps({"schema": PRESENCE_CHANGE, "version": 1, "tenantId": TENANT}).encode()
    worker.handle(broken, message_id="m-broken", delivery_count=1)
    assert len(engine.contact_centers.commands) == 1


def test_a_failure_of_the_last_delivery_is_reported_as_dead_lettered() -> None:
    reporter = FakeOperationsReporter()
    worker = PresenceWorker(
        {PRESENCE_CHANGE: RecordingHandler(TransientSyncFailure("503"))},
        reporter=reporter,
        max_delivery_count=10,
    )
    # WHEN the 9th delivery fails, nothing is dead-lettered yet
    with pytest.raises(TransientSyncFailure):
        worker.handle(CHANGE.to_json(), message_id="m-1", delivery_count=9, tenant_id=CHANGE.tenant_id)
    assert reporter.of("dead_lettered") == []
    # WHEN the 10th fails, Service Bus dead-letters it: reported with the tenant and the kind
    with pytest.raises(TransientSyncFailure):
        worker.handle(CHANGE.to_json(), message_id="m-1", delivery_count=10, tenant_id=CHANGE.tenant_id)
    assert reporter.of("dead_lettered") == [("dead_lettered", CHANGE.tenant_id, PRESENCE_CHANGE)]


def test_an_unreadable_message_is_reported_dropped() -> None:
    reporter = FakeOperationsReporter()
    worker = PresenceWorker({PRESENCE_CHANGE: RecordingHandler()}, reporter=reporter)
    worker.handle(b"not json", message_id="m-bad", delivery_count=1, tenant_id="t-1")
    assert [r[1:] for r in reporter.of("change")] == [("t-1", ChangeOutcome.DROPPED, "invalidMessage")]
