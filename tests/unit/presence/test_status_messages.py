"""The engine shows a group's status message per contact-center state through the Graph port: it reads
the current message first, sets the configured text with an expiry, clears it after, leaves the user's
own message alone, and a Graph failure never holds the presence sync back."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from shared.agents.groups import AgentGroup
from shared.contact_center.model import AgentState
from shared.graph.exceptions import GraphThrottled
from shared.graph.model import Presence
from shared.presence.status_message_rules import STATUS_MESSAGE_EXPIRY
from shared.presence.sync_state import AgentSyncState
from tests.unit.presence.engine_fakes import (
    START,
    TENANT,
    USER,
    Engine,
    agent_event,
    build_engine,
    seen_in_contact_center,
    seen_in_teams,
)

BEFORE = START - timedelta(hours=1)
AVAILABLE_AGENT = AgentSyncState(
    teams=seen_in_teams("Available", "Available", "0001", BEFORE),
    contact_center=seen_in_contact_center(AgentState.AVAILABLE, BEFORE),
)
TEXTS = {"onCall": "On a customer call"}


def engine_with(texts: dict[str, str], *, user_message: str | None = None) -> Engine:
    engine = build_engine()
    engine.group_rows.insert(
        AgentGroup(TENANT, "sales", "Sales", True, None, START, START, status_messages=texts)
    )
    engine.states.add_agent(state=AVAILABLE_AGENT, group_id="sales")
    engine.graph.presences[(TENANT, USER)] = Presence(
        USER, "Available", "Available", "0001", status_message=user_message
    )
    return engine


def test_on_a_call_the_configured_text_is_set_with_an_expiry_and_cleared_after() -> None:
    engine = engine_with(TEXTS)
    engine.event(agent_event(AgentState.ON_CALL, 2, START))
    assert engine.graph.calls_of("set_status_message") == [
        ("set_status_message", TENANT, USER, "On a customer call", START + STATUS_MESSAGE_EXPIRY)
    ]
    engine.event(agent_event(AgentState.AVAILABLE, 3, START + timedelta(minutes=5)))
    assert engine.graph.calls_of("set_status_message")[-1] == ("set_status_message", TENANT, USER, "", None)
    assert engine.graph.presences[(TENANT, USER)].status_message is None


def test_the_users_own_message_is_read_first_and_left_alone() -> None:
    engine = engine_with(TEXTS, user_message="At the dentist until 11")
    engine.event(agent_event(AgentState.ON_CALL, 2, START))
    engine.event(agent_event(AgentState.AVAILABLE, 3, START + timedelta(minutes=5)))
    assert engine.graph.calls_of("set_status_message") == []
    assert len(engine.graph.calls_of("get_presences")) == 2
    assert engine.graph.presences[(TENANT, USER)].status_message == "At the dentist until 11"


def test_a_group_without_status_messages_costs_no_graph_call() -> None:
    engine = engine_with({})
    engine.event(agent_event(AgentState.ON_CALL, 2, START))
    assert engine.graph.calls_of("get_presences") == []
    assert engine.graph.calls_of("set_status_message") == []


def test_an_out_of_order_event_sets_no_message() -> None:
    engine = engine_with(TEXTS)
    engine.event(agent_event(AgentState.AVAILABLE, 5, START))
    calls = len(engine.graph.calls)
    # An older onCall event arrives after the newer available one: it is discarded.
    engine.event(agent_event(AgentState.ON_CALL, 4, START - timedelta(seconds=1)))
    assert engine.graph.calls_of("set_status_message") == []
    assert len(engine.graph.calls) == calls


def test_a_graph_failure_is_logged_and_the_state_is_still_applied() -> None:
    engine = engine_with(TEXTS)
    engine.graph.read_failures[TENANT] = GraphThrottled("slow down", retry_after=1.0)
    engine.event(agent_event(AgentState.ON_CALL, 2, START))
    assert engine.graph.calls_of("set_status_message") == []
    state = engine.states.state_of()
    assert state.contact_center is not None
    assert state.contact_center.state is AgentState.ON_CALL


def test_an_unsynced_group_shows_no_message() -> None:
    engine = engine_with(TEXTS)
    group = engine.group_rows.get(TENANT, "sales")
    assert group is not None
    engine.group_rows.replace(replace(group, presence_sync=False), None)
    engine.policies.invalidate(TENANT)
    engine.event(agent_event(AgentState.ON_CALL, 2, START))
    assert engine.graph.calls == []
