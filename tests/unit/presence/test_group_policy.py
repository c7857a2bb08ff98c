"""The engine follows each agent's group: a group with presenceSync off records Teams presence and
sends nothing either way (worker and reconcile timer), a group's own mappings replace the tenant's, and
a group change reaches the engine like a mapping change."""

from __future__ import annotations

from datetime import timedelta

from shared.agents.groups import AgentGroup
from shared.contact_center.model import AgentState
from shared.graph.model import Presence
from shared.mappings.model import ContactCenterToTeamsRule, MappingRules, TeamsToContactCenterRule
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
OTHER_USER = "1d3e5c1a-7a8b-4c2d-9e0f-123456789abc"
AVAILABLE_AGENT = AgentSyncState(
    teams=seen_in_teams("Available", "Available", "0001", BEFORE),
    contact_center=seen_in_contact_center(AgentState.AVAILABLE, BEFORE),
)
OWN_RULES = MappingRules(
    teams_to_contact_center=(TeamsToContactCenterRule("Away", "Away", "sales-away", "Sales: away"),),
    contact_center_to_teams=(ContactCenterToTeamsRule(AgentState.ON_CALL, "DoNotDisturb", "Presenting"),),
)


def with_group(
    engine: Engine, group_id: str, *, presence_sync: bool, mappings: MappingRules | None = None
) -> None:
    engine.group_rows.insert(AgentGroup(TENANT, group_id, group_id, presence_sync, mappings, START, START))


def test_a_group_that_is_not_synced_records_presence_and_sends_nothing_either_way() -> None:
    engine = build_engine()
    with_group(engine, "quiet", presence_sync=False)
    engine.states.add_agent(state=AVAILABLE_AGENT, group_id="quiet")
    change = teams_change("DoNotDisturb", "DoNotDisturb", "0002", START)
    # WHEN a mapped Teams change and a mapped agent event arrive
    engine.teams(change)
    engine.event(agent_event(AgentState.ON_CALL, 2, START))
    # THEN nothing is sent and the sync state is not written
    assert engine.contact_centers.calls == []
    assert engine.graph.calls == []
    assert engine.states.count("save") == 0
    # AND the Teams presence still reaches the agents list
    assert engine.recorder.recorded == [(TENANT, change)]


def test_a_synced_group_beside_it_is_synced() -> None:
    engine = build_engine()
    with_group(engine, "quiet", presence_sync=False)
    with_group(engine, "loud", presence_sync=True)
    engine.states.add_agent(state=AVAILABLE_AGENT, group_id="loud")
    engine.states.add_agent(
        user_id=OTHER_USER, agent_id="agent-quiet", state=AVAILABLE_AGENT, group_id="quiet"
    )
    engine.teams(teams_change("DoNotDisturb", "DoNotDisturb", "0002", START))
    engine.teams(teams_change("DoNotDisturb", "DoNotDisturb", "0002", START, user_id=OTHER_USER))
    assert engine.contact_centers.commands == [("set_idle", TENANT, AGENT, "teams-dnd")]


def test_a_groups_own_mappings_replace_the_tenants() -> None:
    engine = build_engine()
    with_group(engine, "sales", presence_sync=True, mappings=OWN_RULES)
    engine.states.add_agent(state=AVAILABLE_AGENT, group_id="sales")
    # WHEN Teams shows Do not disturb, which only the tenant's (default) mappings map
    engine.teams(teams_change("DoNotDisturb", "DoNotDisturb", "0002", START))
    assert engine.contact_centers.commands == []
    # AND Away, which the group maps
    engine.teams(teams_change("Away", "Away", "0003", START + timedelta(seconds=1)))
    assert engine.contact_centers.commands == [("set_idle", TENANT, AGENT, "sales-away")]


def test_a_group_switched_on_reaches_the_engine_within_the_cache_ttl() -> None:
    engine = build_engine()
    with_group(engine, "quiet", presence_sync=False)
    engine.states.add_agent(state=AVAILABLE_AGENT, group_id="quiet")
    engine.teams(teams_change("Away", "Away", "0002", START))
    # WHEN another instance switches the group on
    engine.group_rows.replace(AgentGroup(TENANT, "quiet", "quiet", True, None, START, START), None)
    engine.clock.advance(seconds=10)
    engine.teams(teams_change("DoNotDisturb", "DoNotDisturb", "0003", START + timedelta(seconds=10)))
    # THEN the next change is synced
    assert engine.contact_centers.commands == [("set_idle", TENANT, AGENT, "teams-dnd")]


def test_the_reconcile_timer_leaves_agents_of_an_unsynced_group_alone() -> None:
    engine = build_engine()
    with_group(engine, "quiet", presence_sync=False)
    engine.subscriptions.subscribed[TENANT] = frozenset({USER})
    engine.states.add_agent(state=AVAILABLE_AGENT, group_id="quiet")
    engine.graph.show(TENANT, USER, "DoNotDisturb", "DoNotDisturb", "0003")
    report = engine.reconciler.run()
    assert engine.contact_centers.calls == []
    assert engine.states.count("save") == 0
    assert report.repaired == 0


def test_the_reconcile_read_of_automatic_replies_maps_out_of_office() -> None:
    engine = build_engine()
    rules = MappingRules(
        teams_to_contact_center=(TeamsToContactCenterRule("*", "OutOfOffice", "ooo", "Out of office"),),
        contact_center_to_teams=(),
    )
    with_group(engine, "sales", presence_sync=True, mappings=rules)
    engine.subscriptions.subscribed[TENANT] = frozenset({USER})
    engine.states.add_agent(state=AVAILABLE_AGENT, group_id="sales")
    # WHEN Graph's read says his automatic replies are on (the activity still Available)
    engine.graph.presences[(TENANT, USER)] = Presence(
        USER, "Available", "Available", "0003", out_of_office=True
    )
    engine.reconciler.run()
    # THEN he is read as out of office, which the group maps
    assert engine.contact_centers.commands == [("set_idle", TENANT, AGENT, "ooo")]
