"""First sync without waiting for reconcile: an added agent's contact-center status is read once at once,
and a Teams change for an agent never seen in the contact center reads it first."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from shared.contact_center.exceptions import ContactCenterUnavailable
from shared.contact_center.model import AgentState, AgentStatus
from shared.presence.commands import CommandRunner
from shared.presence.exceptions import InvalidPresenceMessage
from shared.presence.first_sync import FirstSyncRequest, QueuedFirstSync
from shared.presence.ports import SyncMessage
from shared.presence.sync_service import PresenceSyncService
from tests.unit.presence.engine_fakes import (
    AGENT,
    APP_ID,
    START,
    TENANT,
    USER,
    Engine,
    build_engine,
    teams_change,
)


@pytest.fixture
def engine() -> Engine:
    built = build_engine()
    # The production wiring: the engine reads first statuses from the same contact-center clients.
    built.sync = PresenceSyncService(
        built.connector_cache,
        built.policies,
        built.states,
        CommandRunner(built.contact_centers, built.graph, APP_ID, sleep=built.sleep),
        built.recorder,
        built.subscriptions,
        built.clock,
        statuses=built.contact_centers,
    )
    return built


def first_sync(engine: Engine, agent_id: str = AGENT) -> None:
    request = FirstSyncRequest(TENANT, USER, agent_id)
    engine.sync.first_sync(request.to_json(), message_id=request.message_id, delivery_count=1)


def test_an_added_agent_already_on_a_call_shows_busy_in_teams_at_once(engine: Engine) -> None:
    # GIVEN a new agent (no state seen yet) who is on a call in the contact center
    engine.states.add_agent()
    engine.contact_centers.statuses[(TENANT, AGENT)] = AgentStatus(AgentState.ON_CALL, changed_at=START)
    # WHEN the first-sync message is handled
    first_sync(engine)
    # THEN his status was read once, and Teams shows him in a call (the default onCall rule)
    assert engine.contact_centers.calls == [("get_status", TENANT, AGENT)]
    assert [call[0] for call in engine.graph.calls] == ["set_presence"]
    assert engine.graph.calls[0][4:6] == ("Busy", "InACall")
    state = engine.states.state_of()
    assert state.contact_center is not None
    assert state.contact_center.state is AgentState.ON_CALL
    # AND a second first-sync (a re-delivery) reads nothing: the state is known now
    first_sync(engine)
    assert engine.contact_centers.calls == [("get_status", TENANT, AGENT)]


def test_a_teams_change_for_an_agent_never_seen_reads_the_contact_center_first(engine: Engine) -> None:
    # GIVEN a new agent who sits in an idle code he chose himself
    engine.states.add_agent()
    engine.contact_centers.statuses[(TENANT, AGENT)] = AgentStatus(
        AgentState.IDLE, "lunch", "Lunch", changed_at=START
    )
    # WHEN Teams reports Do not disturb
    engine.teams(teams_change("DoNotDisturb", "DoNotDisturb", "0002", START))
    # THEN the status was read first, and his own idle code is not overridden
    assert engine.contact_centers.calls[0] == ("get_status", TENANT, AGENT)
    assert engine.contact_centers.commands == []
    # AND the next Teams change reads nothing more
    engine.teams(teams_change("Available", "Available", "0003", START))
    assert [c for c in engine.contact_centers.calls if c[0] == "get_status"] == [
        ("get_status", TENANT, AGENT)
    ]


def test_a_failed_first_read_does_not_stop_the_teams_change(engine: Engine) -> None:
    engine.states.add_agent()
    engine.contact_centers.status_failures[(TENANT, AGENT)] = ContactCenterUnavailable("down")
    engine.teams(teams_change("DoNotDisturb", "DoNotDisturb", "0002", START))
    # The Teams state is recorded all the same; reconcile reads the contact center later.
    assert engine.states.state_of().teams is not None


def test_an_unknown_agent_at_the_contact_center_changes_nothing(engine: Engine) -> None:
    engine.states.add_agent()
    first_sync(engine)
    assert engine.contact_centers.calls == [("get_status", TENANT, AGENT)]
    assert engine.graph.calls == []
    assert engine.states.state_of().contact_center is None


def test_a_first_sync_for_an_agent_given_to_another_user_meanwhile_is_ignored(engine: Engine) -> None:
    engine.states.add_agent(agent_id="agent-2")
    first_sync(engine, agent_id=AGENT)
    assert engine.contact_centers.calls == []


def test_the_message_round_trips_and_bad_ones_are_refused() -> None:
    request = FirstSyncRequest(TENANT, USER, AGENT)
    assert FirstSyncRequest.from_json(request.to_json()) == request
    assert request.session_id == f"{TENANT}:{USER}"
    assert request.message_id == FirstSyncRequest(TENANT, USER, AGENT).message_id
    for raw in (b"", b"[]", b'{"schema":"firstSync","version":1}', b'{"schema":"other"}', b"x" * 5000):
        with pytest.raises(InvalidPresenceMessage):
            FirstSyncRequest.from_json(raw)


class RecordingQueue:
    def __init__(self, fail: bool = False) -> None:
        self.published: list[list[SyncMessage]] = []
        self.fail = fail

    def publish(self, changes: Sequence[SyncMessage]) -> None:
        if self.fail:
            raise RuntimeError("queue down")
        self.published.append(list(changes))


def test_added_agents_are_queued_in_one_batch_and_a_queue_outage_is_only_logged() -> None:
    queue = RecordingQueue()
    QueuedFirstSync(queue).agents_added(TENANT, [(AGENT, USER.upper()), ("agent-2", "u2")])
    (batch,) = queue.published
    assert [(m.kind, m.session_id) for m in batch] == [
        ("firstSync", f"{TENANT}:{USER}"),
        ("firstSync", f"{TENANT}:u2"),
    ]
    QueuedFirstSync(queue).agents_added(TENANT, [])
    assert len(queue.published) == 1
    QueuedFirstSync(RecordingQueue(fail=True)).agents_added(TENANT, [(AGENT, USER)])


def test_a_teams_change_of_a_known_agent_costs_one_read_and_one_write(engine: Engine) -> None:
    # GIVEN an agent whose contact-center state is known (the first read is not needed)
    engine.states.add_agent()
    engine.contact_centers.statuses[(TENANT, AGENT)] = AgentStatus(AgentState.AVAILABLE, changed_at=START)
    first_sync(engine)
    engine.states.operations.clear()
    # WHEN Teams reports Do not disturb
    engine.teams(teams_change("DoNotDisturb", "DoNotDisturb", "0002", START))
    # THEN the row the first-read check loaded decided the change: one read, one conditional write
    assert engine.states.count("load") == 1
    assert engine.states.count("save") == 1
    assert engine.contact_centers.commands != []


def test_a_row_changed_after_the_first_read_check_is_decided_again_on_a_fresh_read(
    engine: Engine,
) -> None:
    # GIVEN a known agent, and a writer outside the session that changes his row before the save
    engine.states.add_agent()
    engine.contact_centers.statuses[(TENANT, AGENT)] = AgentStatus(AgentState.AVAILABLE, changed_at=START)
    first_sync(engine)
    engine.states.operations.clear()
    known = engine.states.state_of()
    engine.states.before_save.append(lambda: engine.states.write_foreign(TENANT, USER, known))
    # WHEN Teams reports Do not disturb
    engine.teams(teams_change("DoNotDisturb", "DoNotDisturb", "0002", START))
    # THEN the stale save was refused and the change decided again on a second read
    assert engine.states.count("load") == 2
    assert engine.states.count("save") == 2
    assert engine.states.state_of().teams is not None


def test_a_teams_change_for_a_user_who_is_no_agent_reads_once(engine: Engine) -> None:
    engine.teams(teams_change("DoNotDisturb", "DoNotDisturb", "0002", START))
    assert engine.states.count("load") == 1
    assert engine.states.count("save") == 0
