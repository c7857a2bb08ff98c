"""An echo in one table operation: the engine decides it on the row it last wrote (SyncStateCache) and
commits with a write conditional on that row's ETag; on 412 or a miss it reads the row as before."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from shared.contact_center.model import AgentState
from shared.mappings.defaults import DND_IDLE_CODE_ID
from shared.presence.state_cache import SyncStateCache
from shared.presence.sync_state import AgentSyncState
from tests.unit.presence.engine_fakes import (
    AGENT,
    START,
    TENANT,
    USER,
    Engine,
    agent_event,
    build_engine,
    seen_in_contact_center,
    seen_in_teams,
    teams_change,
)

BEFORE = START - timedelta(hours=1)


def cached_engine(max_entries: int = 10) -> Engine:
    engine = replace(build_engine(), state_cache=SyncStateCache(max_entries))
    engine.states.add_agent(
        state=AgentSyncState(
            teams=seen_in_teams("Available", "Available", "0001", BEFORE),
            contact_center=seen_in_contact_center(AgentState.AVAILABLE, BEFORE),
        )
    )
    return engine


def dnd_sent(engine: Engine) -> int:
    """The connector puts the agent in Do-not-disturb's idle code; the operations logged so far."""
    engine.teams(teams_change("DoNotDisturb", "DoNotDisturb", "0002", START))
    assert engine.contact_centers.commands == [("set_idle", TENANT, AGENT, DND_IDLE_CODE_ID)]
    assert engine.states.state_of().pending
    engine.clock.advance(seconds=1)
    return len(engine.states.operations)


def echo(engine: Engine) -> None:
    engine.event(agent_event(AgentState.IDLE, 2, engine.clock(), idle_code_id=DND_IDLE_CODE_ID))


def test_an_echo_on_the_cached_row_costs_one_conditional_write() -> None:
    engine = cached_engine()
    before = dnd_sent(engine)
    # WHEN the contact center's echo of the command arrives
    echo(engine)
    # THEN one table operation: the write conditional on the ETag the command's save got back
    assert [op[0] for op in engine.states.operations[before:]] == ["save"]
    state = engine.states.state_of()
    assert state.in_connector_idle
    assert not state.pending
    assert engine.contact_centers.commands == [("set_idle", TENANT, AGENT, DND_IDLE_CODE_ID)]


def test_a_row_written_meanwhile_fails_the_cached_write_and_is_read_and_decided_again() -> None:
    engine = cached_engine()
    before = dnd_sent(engine)
    # GIVEN another writer (another instance, the timer) changed the row after the engine cached it
    current = engine.states.state_of()
    engine.states.write_foreign(TENANT, USER, replace(current, idle_code_id=current.idle_code_id))
    # WHEN the echo arrives
    echo(engine)
    # THEN the cached write fails on its ETag (412), the row is read and the echo applied on it
    assert [op[0] for op in engine.states.operations[before:]] == ["save", "load", "save"]
    state = engine.states.state_of()
    assert state.in_connector_idle
    assert not state.pending
    # AND the row now cached is the one written last: the next echo is one write again
    engine.clock.advance(seconds=30)
    engine.teams(teams_change("Available", "Available", "0003", engine.clock()))
    engine.clock.advance(seconds=1)
    middle = len(engine.states.operations)
    engine.event(agent_event(AgentState.AVAILABLE, 3, engine.clock()))
    assert [op[0] for op in engine.states.operations[middle:]] == ["save"]
    assert not engine.states.state_of().pending


def test_a_stale_cached_row_never_sends_a_command() -> None:
    engine = cached_engine()
    before = dnd_sent(engine)
    # GIVEN the row was removed from under the cache (the agent left the roster)
    engine.states.remove()
    # WHEN the echo arrives
    echo(engine)
    # THEN the conditional write finds no row and nothing else happens
    assert [op[0] for op in engine.states.operations[before:]] == ["save"]
    assert engine.contact_centers.commands == [("set_idle", TENANT, AGENT, DND_IDLE_CODE_ID)]
    # AND the next message reads the table (the entry is gone): not an agent
    engine.clock.advance(seconds=1)
    middle = len(engine.states.operations)
    echo(engine)
    assert [op[0] for op in engine.states.operations[middle:]] == ["load"]


def test_a_row_not_cached_is_read_then_written() -> None:
    # GIVEN a cache of one row, pushed out by another agent's
    engine = cached_engine(max_entries=1)
    dnd_sent(engine)
    engine.states.add_agent(user_id="other-user", agent_id="other-agent")
    assert engine.state_cache is not None
    other = engine.states.load(TENANT, "other-user")
    assert other is not None
    engine.state_cache.put(other)
    before = len(engine.states.operations)
    # WHEN the echo arrives
    echo(engine)
    # THEN the miss costs today's read and conditional write
    assert [op[0] for op in engine.states.operations[before:]] == ["load", "save"]
    assert not engine.states.state_of().pending


def test_a_decision_that_sends_a_command_reads_the_row_first() -> None:
    engine = cached_engine()
    dnd_sent(engine)
    echo(engine)
    engine.clock.advance(seconds=30)
    before = len(engine.states.operations)
    # WHEN a Teams change that sends a command is decided on the cached row
    engine.teams(teams_change("Available", "Available", "0003", engine.clock()))
    # THEN the row is read before anything leaves the process (the cached decision is not taken)
    assert [op[0] for op in engine.states.operations[before:]] == ["load", "save"]
    assert engine.contact_centers.commands[-1] == ("set_available", TENANT, AGENT)


def test_the_cache_keeps_its_bound_and_drops_the_least_recently_used() -> None:
    cache = SyncStateCache(max_entries=2)
    engine = cached_engine()
    for user in ("a", "b", "c"):
        engine.states.add_agent(user_id=user, agent_id=f"agent-{user}")
        stored = engine.states.load(TENANT, user)
        assert stored is not None
        cache.put(stored)
        if user == "b":
            assert cache.get(TENANT, "a") is not None  # a used last: b goes next
    assert len(cache) == 2
    assert cache.get(TENANT, "b") is None
    assert cache.get(TENANT, "a") is not None
    assert cache.get(TENANT, "C") is not None
