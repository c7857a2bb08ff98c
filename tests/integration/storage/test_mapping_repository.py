"""The presence-mappings Table Storage adapter against Azurite: round trip, ETag concurrency, long rule
sets split over several columns, rows that cannot be read, purge."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from shared.contact_center.model import AgentState
from shared.mappings.exceptions import StaleMappings, UnreadableMappings
from shared.mappings.model import (
    ACTIVITIES,
    AVAILABILITIES,
    ContactCenterToTeamsRule,
    MappingRules,
    TeamsToContactCenterRule,
)
from shared.mappings.validation import MAX_RULES
from shared.settings import Settings
from shared.storage.exceptions import InvalidTableKey
from shared.storage.mapping_repository import MAX_PART_CHARS, ROW_KEY, TableMappingRepository
from shared.storage.table_names import PRESENCE_MAPPINGS
from shared.storage.table_store import TableStore
from shared.storage.tenant_purge import TableTenantPurger

pytestmark = pytest.mark.integration

NOW = datetime(2026, 11, 21, 9, 30, 15, tzinfo=UTC)
RULES = MappingRules(
    teams_to_contact_center=(
        TeamsToContactCenterRule("DoNotDisturb", "*", "aux-1", "Do not disturb"),
        TeamsToContactCenterRule("Busy", "InACall", "aux-2", None),
    ),
    contact_center_to_teams=(ContactCenterToTeamsRule(AgentState.ON_CALL, "Busy", "InACall"),),
)
OTHER_RULES = MappingRules(teams_to_contact_center=(), contact_center_to_teams=())


@pytest.fixture
def store(azurite_settings: Settings) -> TableStore:
    return TableStore.from_settings(azurite_settings)


@pytest.fixture
def repo(store: TableStore) -> TableMappingRepository:
    return TableMappingRepository(store)


def largest_rules() -> MappingRules:
    """100 rules whose idle codes are as long as allowed and mostly outside ASCII."""
    pairs = [(a, b) for a in AVAILABILITIES for b in (*ACTIVITIES, "*")][:MAX_RULES]
    return MappingRules(
        teams_to_contact_center=tuple(
            TeamsToContactCenterRule(a, b, f"{i:03d}" + "\U0001f4de" * 125, "Pause café " + "é" * 245)
            for i, (a, b) in enumerate(pairs)
        ),
        contact_center_to_teams=(ContactCenterToTeamsRule(AgentState.WRAP_UP, "Busy", "InAConferenceCall"),),
    )


def test_a_tenant_without_a_row_has_no_stored_mappings(repo: TableMappingRepository, tenant_id: str) -> None:
    assert repo.get(tenant_id) is None


def test_inserted_mappings_read_back_with_their_etag(repo: TableMappingRepository, tenant_id: str) -> None:
    # GIVEN mappings inserted
    saved = repo.insert(tenant_id, RULES, NOW)
    # WHEN read back
    read = repo.get(tenant_id)
    # THEN rules, order and the ETag Table Storage assigned survive
    assert read is not None
    assert read.rules == RULES
    assert not read.is_default
    assert saved.etag
    assert read.etag == saved.etag


def test_a_second_insert_is_stale(repo: TableMappingRepository, tenant_id: str) -> None:
    repo.insert(tenant_id, RULES, NOW)
    with pytest.raises(StaleMappings):
        repo.insert(tenant_id, OTHER_RULES, NOW)
    read = repo.get(tenant_id)
    assert read is not None
    assert read.rules == RULES


def test_replace_needs_the_current_etag(repo: TableMappingRepository, tenant_id: str) -> None:
    # GIVEN stored mappings replaced once with their etag
    first = repo.insert(tenant_id, RULES, NOW)
    assert first.etag is not None
    second = repo.replace(tenant_id, OTHER_RULES, first.etag, NOW)
    assert second.etag != first.etag
    # WHEN replaced again with the first etag THEN it is refused and nothing changes
    with pytest.raises(StaleMappings):
        repo.replace(tenant_id, RULES, first.etag, NOW)
    read = repo.get(tenant_id)
    assert read is not None
    assert read.rules == OTHER_RULES


def test_replace_of_a_missing_row_is_stale(repo: TableMappingRepository, tenant_id: str) -> None:
    with pytest.raises(StaleMappings):
        repo.replace(tenant_id, RULES, "W/\"datetime'2026-01-01T00%3A00%3A00Z'\"", NOW)
    assert repo.get(tenant_id) is None


def test_upsert_writes_whatever_is_stored(repo: TableMappingRepository, tenant_id: str) -> None:
    repo.upsert(tenant_id, RULES, NOW)
    saved = repo.upsert(tenant_id, OTHER_RULES, NOW)
    assert repo.get(tenant_id) == saved


def test_the_largest_allowed_mappings_round_trip_over_several_columns(
    repo: TableMappingRepository, store: TableStore, tenant_id: str
) -> None:
    # GIVEN the largest mappings the validator lets through
    rules = largest_rules()
    # WHEN stored and read back
    repo.upsert(tenant_id, rules, NOW)
    read = repo.get(tenant_id)
    # THEN they are intact, and no column holds more than Table Storage allows
    assert read is not None
    assert read.rules == rules
    entity = store.table(PRESENCE_MAPPINGS).get_entity(tenant_id, ROW_KEY)
    parts = [name for name in entity if name.startswith("TeamsToContactCenter")]
    assert len(parts) > 1
    assert all(len(entity[name]) <= MAX_PART_CHARS for name in parts)


def test_a_shorter_version_leaves_no_continuation_columns_behind(
    repo: TableMappingRepository, store: TableStore, tenant_id: str
) -> None:
    # GIVEN long mappings replaced by short ones
    saved = repo.insert(tenant_id, largest_rules(), NOW)
    assert saved.etag is not None
    repo.replace(tenant_id, RULES, saved.etag, NOW)
    # THEN only one column per direction is left and it reads as the short version
    entity = store.table(PRESENCE_MAPPINGS).get_entity(tenant_id, ROW_KEY)
    assert [name for name in entity if name.startswith("TeamsToContactCenter")] == ["TeamsToContactCenter"]
    read = repo.get(tenant_id)
    assert read is not None
    assert read.rules == RULES


@pytest.mark.parametrize(
    "broken",
    [
        {"TeamsToContactCenter": "{not json"},
        {"ContactCenterToTeams": '[{"agentState": "napping", "availability": "Away", "activity": "Away"}]'},
        {"TeamsToContactCenter": '[{"availability": "Busy"}]'},
        {"SchemaVersion": 99},
    ],
)
def test_a_row_that_cannot_be_read_is_reported_not_guessed(
    repo: TableMappingRepository, store: TableStore, tenant_id: str, broken: dict[str, object]
) -> None:
    # GIVEN a stored row edited by hand
    repo.insert(tenant_id, RULES, NOW)
    entity = dict(store.table(PRESENCE_MAPPINGS).get_entity(tenant_id, ROW_KEY))
    store.table(PRESENCE_MAPPINGS).upsert_entity({**entity, **broken})
    # WHEN read THEN it is refused with a clear error
    with pytest.raises(UnreadableMappings, match=tenant_id):
        repo.get(tenant_id)


def test_an_illegal_tenant_key_never_reaches_the_service(repo: TableMappingRepository) -> None:
    with pytest.raises(InvalidTableKey):
        repo.get("a/b")
    with pytest.raises(InvalidTableKey):
        repo.upsert("a#b", RULES, NOW)


def test_the_tenant_purge_removes_the_mappings(
    repo: TableMappingRepository, store: TableStore, tenant_id: str
) -> None:
    # GIVEN stored mappings WHEN the tenant's data is purged THEN they are gone
    repo.insert(tenant_id, RULES, NOW)
    TableTenantPurger(store).purge(tenant_id)
    assert repo.get(tenant_id) is None
