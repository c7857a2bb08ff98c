"""Agent groups: policy resolution, the group body, the groups use cases and the engine's cache."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from shared.agents.exceptions import (
    DefaultGroupReadOnly,
    GroupNotEmpty,
    GroupNotFound,
    InvalidGroupInput,
    StaleGroup,
    UnknownGroup,
)
from shared.agents.group_commands import MAX_GROUPS, parse_group_id, parse_group_spec
from shared.agents.group_policies import CachedGroupPolicies
from shared.agents.group_service import AgentGroupService
from shared.agents.groups import DEFAULT_GROUP_ID, AgentGroup, resolve_policy
from shared.connectors.model import Connector, ConnectorSettings, ConnectorStatus
from shared.contact_center.model import AgentState
from shared.mappings.defaults import DEFAULT_MAPPINGS
from shared.mappings.exceptions import InvalidMapping
from shared.mappings.model import ContactCenterToTeamsRule, MappingRules, PresenceMappings
from tests.fakes import FakeAuditLog, FakeClock, FakeConnectorRepository
from tests.support.identity import ADMIN
from tests.unit.agents.fakes import FakeAgentRepository, FakeGroupRepository

TENANT = "11111111-1111-1111-1111-111111111111"
T0 = datetime(2026, 11, 21, 9, 0, tzinfo=UTC)
USER = "6e7b768e-07e2-4810-8459-485f84f8f204"
OWN_RULES = MappingRules(
    teams_to_contact_center=(),
    contact_center_to_teams=(ContactCenterToTeamsRule(AgentState.WRAP_UP, "Away", "Away"),),
)
OWN_JSON = {
    "teamsToContactCenter": [],
    "contactCenterToTeams": [{"agentState": "wrapUp", "availability": "Away", "activity": "Away"}],
}


def group(
    group_id: str = "sales", *, presence_sync: bool = True, mappings: MappingRules | None = None
) -> AgentGroup:
    return AgentGroup(TENANT, group_id, group_id.title(), presence_sync, mappings, T0, T0, etag='W/"x"')


# -- policy resolution -------------------------------------------------------------------------------


def test_an_agent_without_a_group_follows_the_tenant() -> None:
    policy = resolve_policy(None, {}, DEFAULT_MAPPINGS)
    assert (policy.group_id, policy.presence_sync, policy.mappings, policy.own_mappings) == (
        DEFAULT_GROUP_ID,
        True,
        DEFAULT_MAPPINGS,
        False,
    )


def test_a_group_that_disappeared_falls_back_to_the_default_group() -> None:
    policy = resolve_policy("gone", {}, DEFAULT_MAPPINGS, tenant_presence_sync=False)
    assert (policy.group_id, policy.presence_sync) == (DEFAULT_GROUP_ID, False)


def test_a_groups_own_mappings_replace_the_tenants_whole() -> None:
    policy = resolve_policy("sales", {"sales": group(mappings=OWN_RULES)}, DEFAULT_MAPPINGS)
    assert policy.mappings.rules == OWN_RULES
    assert policy.own_mappings
    assert policy.mappings.teams_to_contact_center == ()


def test_a_group_without_mappings_uses_the_tenants() -> None:
    policy = resolve_policy("sales", {"sales": group()}, DEFAULT_MAPPINGS)
    assert policy.mappings is DEFAULT_MAPPINGS
    assert policy.group_id == "sales"


@pytest.mark.parametrize(
    ("tenant_sync", "group_sync", "synced"),
    [(True, True, True), (True, False, False), (False, True, False), (False, False, False)],
)
def test_the_tenant_switch_is_the_master_switch(tenant_sync: bool, group_sync: bool, synced: bool) -> None:
    groups = {"sales": group(presence_sync=group_sync)}
    assert (
        resolve_policy("sales", groups, DEFAULT_MAPPINGS, tenant_presence_sync=tenant_sync).presence_sync
        is synced
    )


# -- the body ------------------------------------------------------------------------------------------


def test_a_group_body_is_parsed_with_its_mappings() -> None:
    spec = parse_group_spec({"displayName": "Sales", "presenceSync": False, "mappings": OWN_JSON})
    assert (spec.display_name, spec.presence_sync, spec.mappings) == ("Sales", False, OWN_RULES)
    assert parse_group_spec({"displayName": "Sales", "presenceSync": True}).mappings is None


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (None, "displayName and presenceSync is required"),
        ({"displayName": "S", "presenceSync": True, "color": "red"}, "unknown field(s): color"),
        ({"presenceSync": True}, "displayName must be"),
        ({"displayName": " Sales", "presenceSync": True}, "displayName must be"),
        ({"displayName": "x" * 129, "presenceSync": True}, "displayName must be"),
        ({"displayName": "Sales", "presenceSync": "true"}, "presenceSync must be true or false"),
        ({"displayName": "Sales"}, "presenceSync must be true or false"),
    ],
)
def test_bad_group_bodies_are_refused(body: dict[str, Any] | None, message: str) -> None:
    with pytest.raises(InvalidGroupInput) as raised:
        parse_group_spec(body)
    assert message in raised.value.message


def test_a_groups_bad_mapping_is_refused_naming_the_rule() -> None:
    bad = {"teamsToContactCenter": [], "contactCenterToTeams": [{"agentState": "available"}]}
    with pytest.raises(InvalidMapping) as raised:
        parse_group_spec({"displayName": "Sales", "presenceSync": True, "mappings": bad})
    assert raised.value.message.startswith("mappings: contactCenterToTeams[0]")


@pytest.mark.parametrize("raw", ["", "a/b", "a b", "x" * 65, "é", None, 5, "a|b"])
def test_group_ids_take_a_safe_alphabet_only(raw: object) -> None:
    with pytest.raises(InvalidGroupInput):
        parse_group_id(raw)


# -- the use cases -------------------------------------------------------------------------------------


class Harness:
    def __init__(self, *, presence_sync: bool = True) -> None:
        self.clock = FakeClock(T0)
        self.groups = FakeGroupRepository()
        self.agents = FakeAgentRepository()
        self.connectors = FakeConnectorRepository()
        self.connectors.add(
            Connector(
                TENANT, ConnectorStatus.ACTIVE, ConnectorSettings(presence_sync=presence_sync), None, T0, T0
            )
        )
        self.mapping_reads = 0
        self.cache = CachedGroupPolicies(self.groups, self, self.clock)
        self.audit = FakeAuditLog()
        self.service = AgentGroupService(
            self.groups, self.agents, self.connectors, self.cache, self.audit, self.clock
        )

    def get(self, tenant_id: str) -> PresenceMappings:
        self.mapping_reads += 1
        return DEFAULT_MAPPINGS

    def put(self, group_id: str = "sales", if_match: str | None = None, **body: Any) -> Any:
        fields = {"displayName": "Sales", "presenceSync": True, **body}
        return self.service.put(TENANT, group_id, fields, if_match, ADMIN)

    def trail(self) -> list[tuple[str, str, str | None]]:
        return [(entry.action, entry.outcome, entry.detail) for entry in self.audit.entries]


def test_put_creates_then_replaces_and_the_same_body_writes_nothing() -> None:
    h = Harness()
    created, is_new = h.put(mappings=OWN_JSON)
    assert (is_new, created.mappings) == (True, OWN_RULES)
    assert created.etag
    again, is_new = h.put(mappings=OWN_JSON)
    assert (is_new, again.etag) == (False, created.etag)
    assert h.groups.writes == 1
    changed, _ = h.put(presenceSync=False)
    assert (changed.presence_sync, changed.mappings, changed.etag != created.etag) == (False, None, True)
    assert [action for action, _, _ in h.trail()] == ["putAgentGroup", "putAgentGroup"]


def test_if_match_is_honoured_on_put_and_delete() -> None:
    h = Harness()
    with pytest.raises(StaleGroup):
        h.put(if_match="*")  # nothing to match yet
    created, _ = h.put()
    with pytest.raises(StaleGroup):
        h.put(if_match='W/"old"', presenceSync=False)
    updated, _ = h.put(if_match=created.etag, presenceSync=False)
    with pytest.raises(StaleGroup):
        h.service.delete(TENANT, "sales", created.etag, None, ADMIN)
    h.service.delete(TENANT, "sales", updated.etag, None, ADMIN)
    assert h.groups.get(TENANT, "sales") is None
    assert ("putAgentGroup", "failed") in [(action, outcome) for action, outcome, _ in h.trail()]


def test_the_default_group_follows_the_tenant_and_cannot_be_changed() -> None:
    h = Harness(presence_sync=False)
    default = h.service.get(TENANT, DEFAULT_GROUP_ID)
    assert (default.is_default, default.presence_sync, default.mappings, default.etag) == (
        True,
        False,
        None,
        None,
    )
    with pytest.raises(DefaultGroupReadOnly):
        h.put(DEFAULT_GROUP_ID)
    with pytest.raises(DefaultGroupReadOnly):
        h.service.delete(TENANT, DEFAULT_GROUP_ID, None, None, ADMIN)


def test_the_list_shows_the_default_group_first() -> None:
    h = Harness()
    h.put("zeta")
    h.put("alpha")
    assert [view.group_id for view in h.service.list(TENANT)] == [DEFAULT_GROUP_ID, "alpha", "zeta"]


def test_an_unknown_group_is_404() -> None:
    with pytest.raises(GroupNotFound):
        Harness().service.get(TENANT, "nope")
    with pytest.raises(GroupNotFound):
        Harness().service.delete(TENANT, "nope", None, None, ADMIN)


def test_a_group_with_agents_is_deleted_only_with_move_to() -> None:
    h = Harness()
    h.put("sales")
    h.put("support")
    h.agents.save(TENANT, "a1", USER, None, T0, "sales")
    with pytest.raises(GroupNotEmpty) as raised:
        h.service.delete(TENANT, "sales", None, None, ADMIN)
    assert raised.value.agents == 1
    with pytest.raises(UnknownGroup):
        h.service.delete(TENANT, "sales", None, "nowhere", ADMIN)
    with pytest.raises(InvalidGroupInput):
        h.service.delete(TENANT, "sales", None, "sales", ADMIN)
    assert h.groups.get(TENANT, "sales") is not None
    moved = h.service.delete(TENANT, "sales", None, "support", ADMIN)
    assert moved == 1
    assert h.agents.get(TENANT, "a1").group_id == "support"  # type: ignore[union-attr]
    assert h.groups.get(TENANT, "sales") is None
    assert h.trail()[-1] == (
        "deleteAgentGroup",
        "succeeded",
        "group sales deleted; 1 agent(s) moved to support",
    )


def test_agents_may_move_to_the_default_group() -> None:
    h = Harness()
    h.put("sales")
    h.agents.save(TENANT, "a1", USER, None, T0, "sales")
    assert h.service.delete(TENANT, "sales", None, DEFAULT_GROUP_ID, ADMIN) == 1
    assert h.agents.get(TENANT, "a1").group_id == DEFAULT_GROUP_ID  # type: ignore[union-attr]


def test_a_tenant_has_at_most_max_groups() -> None:
    h = Harness()
    for index in range(MAX_GROUPS):
        h.groups.insert(group(f"g{index}"))
    with pytest.raises(InvalidGroupInput):
        h.put("one-more")
    # AND an existing one can still be changed
    h.put("g0", presenceSync=False)


# -- the engine's cache ---------------------------------------------------------------------------------


def test_a_group_change_reaches_this_instance_at_once_and_others_within_the_ttl() -> None:
    h = Harness()
    h.put("sales")
    assert h.cache.policy(TENANT, "sales").presence_sync
    # WHEN another instance switches it off (a write this cache is not told about)
    h.groups.replace(group("sales", presence_sync=False), None)
    assert h.cache.policy(TENANT, "sales").presence_sync  # cached
    h.clock.advance(seconds=10)
    assert not h.cache.policy(TENANT, "sales").presence_sync
    # AND a change through the service on this instance is seen at once
    h.put("sales", presenceSync=True)
    assert h.cache.policy(TENANT, "sales").presence_sync


def test_the_cache_reads_a_tenants_groups_once_per_ttl() -> None:
    h = Harness()
    h.put("sales")
    reads = []
    original = h.groups.list

    def counting(tenant_id: str) -> list[AgentGroup]:
        reads.append(tenant_id)
        return original(tenant_id)

    h.groups.list = counting  # type: ignore[method-assign]
    for _ in range(50):
        h.cache.policy(TENANT, "sales")
        h.clock.advance(seconds=0.1)
    assert len(reads) == 1
    h.clock.advance(seconds=timedelta(seconds=10).total_seconds())
    h.cache.policy(TENANT, "sales")
    assert len(reads) == 2


def test_status_messages_are_parsed_per_agent_state() -> None:
    spec = parse_group_spec(
        {"displayName": "Sales", "presenceSync": True, "statusMessages": {"onCall": "On a customer call"}}
    )
    assert spec.status_messages == {"onCall": "On a customer call"}
    assert parse_group_spec({"displayName": "Sales", "presenceSync": True}).status_messages == {}
    assert (
        parse_group_spec({"displayName": "S", "presenceSync": True, "statusMessages": None}).status_messages
        == {}
    )


@pytest.mark.parametrize(
    ("messages", "message"),
    [
        (["On a call"], "statusMessages must be an object"),
        ({"busy": "On a call"}, "'busy' is not an agent state"),
        ({"loggedOut": "Gone"}, "'loggedOut' is not an agent state"),
        ({"onCall": ""}, "statusMessages.onCall must be 1 to 280"),
        ({"onCall": "x" * 281}, "statusMessages.onCall must be 1 to 280"),
        ({"onCall": " padded"}, "statusMessages.onCall must be 1 to 280"),
        ({"onCall": "line\nbreak"}, "statusMessages.onCall must be 1 to 280"),
        ({"onCall": 5}, "statusMessages.onCall must be 1 to 280"),
    ],
)
def test_bad_status_messages_are_refused(messages: object, message: str) -> None:
    with pytest.raises(InvalidGroupInput) as raised:
        parse_group_spec({"displayName": "Sales", "presenceSync": True, "statusMessages": messages})
    assert message in raised.value.message


def test_a_status_message_of_280_characters_is_accepted_and_a_change_is_written() -> None:
    h = Harness()
    created, _ = h.put()
    changed, _ = h.put(statusMessages={"wrapUp": "w" * 280})
    assert changed.status_messages == {"wrapUp": "w" * 280}
    assert changed.etag != created.etag
    again, _ = h.put(statusMessages={"wrapUp": "w" * 280})
    assert again.etag == changed.etag
    assert h.groups.writes == 2
    policy = resolve_policy("sales", {"sales": h.groups.get(TENANT, "sales")}, DEFAULT_MAPPINGS)  # type: ignore[dict-item]
    assert policy.status_messages == {"wrapUp": "w" * 280}
