"""TableMappingRepository against Azurite: round trip, long rule sets, ETag concurrency, unreadable rows."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from azure.data.tables import TableServiceClient

from shared.contact_center.model import AgentState
from shared.mappings.defaults import DEFAULT_RULES
from shared.mappings.exceptions import StaleMappings, UnreadableMappings
from shared.mappings.model import ContactCenterToTeamsRule, MappingRules, TeamsToContactCenterRule
from shared.settings import Settings
from shared.storage.exceptions import InvalidTableKey
from shared.storage.mapping_repository import MAX_PART_CHARS, ROW_KEY, TEAMS_COLUMN, TableMappingRepository
from shared.storage.table_names import PRESENCE_MAPPINGS
from shared.storage.table_store import TableStore

pytestmark = pytest.mark.integration

NOW = datetime(2026, 11, 21, 9, 30, 15, tzinfo=UTC)

RULES = MappingRules(
    teams_to_contact_center=(
        TeamsToContactCenterRule("DoNotDisturb", "*", "dnd", "Ne pas déranger ✋"),
        TeamsToContactCenterRule("Busy", "InACall", "call", None),
    ),
    contact_center_to_teams=(
        ContactCenterToTeamsRule(AgentState.ON_CALL, "Busy", "InACall"),
        ContactCenterToTeamsRule(AgentState.WRAP_UP, "Away", "Away"),
    ),
)


@pytest.fixture
def repo(azurite_settings: Settings) -> TableMappingRepository:
    return TableMappingRepository(TableStore.from_settings(azurite_settings))


def test_nothing_stored_reads_as_none(repo: TableMappingRepository, tenant_id: str) -> None:
    assert repo.get(tenant_id) is None


def test_inserted_mappings_round_trip(repo: TableMappingRepository, tenant_id: str) -> None:
    # GIVEN rules with a wildcard, a null name, non-ASCII text and several agent states
    # WHEN they are inserted and read back
    saved = repo.insert(tenant_id, RULES, NOW)
    read = repo.get(tenant_id)
    # THEN they come back equal, stored (not default), at the ETag the insert returned
    assert read is not None
    assert read.rules == RULES
    assert read.is_default is False
    assert saved.etag
    assert read.etag == saved.etag


def test_the_defaults_round_trip(repo: TableMappingRepository, tenant_id: str) -> None:
    repo.upsert(tenant_id, DEFAULT_RULES, NOW)
    read = repo.get(tenant_id)
    assert read is not None
    assert read.rules == DEFAULT_RULES


def test_empty_rule_sets_round_trip(repo: TableMappingRepository, tenant_id: str) -> None:
    repo.insert(tenant_id, MappingRules((), ()), NOW)
    read = repo.get(tenant_id)
    assert read is not None
    assert read.rules == MappingRules((), ())


def test_rules_longer_than_one_column_round_trip_and_shrink(
    repo: TableMappingRepository, azurite_settings: Settings, tenant_id: str
) -> None:
    # GIVEN 100 rules with long non-ASCII idle code names: more JSON than one string property holds
    long_rules = MappingRules(
        teams_to_contact_center=tuple(
            TeamsToContactCenterRule("Busy", f"a{index}", f"code-{index}", "é" * 256) for index in range(100)
        ),
        contact_center_to_teams=(),
    )
    # WHEN they are stored and read back
    saved = repo.insert(tenant_id, long_rules, NOW)
    read = repo.get(tenant_id)
    # THEN they span continuation columns and still come back whole
    raw = TableServiceClient.from_connection_string(azurite_settings.tables_connection_string or "")
    entity = raw.get_table_client(PRESENCE_MAPPINGS).get_entity(tenant_id, ROW_KEY)
    assert f"{TEAMS_COLUMN}_2" in entity
    assert all(len(value) <= MAX_PART_CHARS for value in entity.values() if isinstance(value, str))
    assert read is not None
    assert read.rules == long_rules
    # AND replacing them with a short set leaves no stale continuation behind
    repo.replace(tenant_id, RULES, saved.etag or "", NOW)
    entity = raw.get_table_client(PRESENCE_MAPPINGS).get_entity(tenant_id, ROW_KEY)
    assert f"{TEAMS_COLUMN}_2" not in entity
    shrunk = repo.get(tenant_id)
    assert shrunk is not None
    assert shrunk.rules == RULES


def test_a_second_insert_is_stale(repo: TableMappingRepository, tenant_id: str) -> None:
    # GIVEN stored mappings WHEN another writer inserts "the first" mappings THEN it is refused
    repo.insert(tenant_id, RULES, NOW)
    with pytest.raises(StaleMappings):
        repo.insert(tenant_id, DEFAULT_RULES, NOW)
    read = repo.get(tenant_id)
    assert read is not None
    assert read.rules == RULES


def test_replace_at_the_current_etag_wins_and_a_stale_etag_is_refused(
    repo: TableMappingRepository, tenant_id: str
) -> None:
    # GIVEN two writers that read the same version
    first = repo.insert(tenant_id, RULES, NOW)
    assert first.etag is not None
    # WHEN the first replaces at that version
    second = repo.replace(tenant_id, DEFAULT_RULES, first.etag, NOW)
    # THEN it gets a new ETag
    assert second.etag
    assert second.etag != first.etag
    # AND the other writer, still holding the old ETag, is refused without changing anything
    with pytest.raises(StaleMappings):
        repo.replace(tenant_id, MappingRules((), ()), first.etag, NOW)
    read = repo.get(tenant_id)
    assert read is not None
    assert read.rules == DEFAULT_RULES
    assert read.etag == second.etag


def test_replace_of_a_missing_row_is_stale(repo: TableMappingRepository, tenant_id: str) -> None:
    other = "22222222-2222-2222-2222-222222222222"
    etag = repo.insert(other, RULES, NOW).etag
    assert etag is not None
    with pytest.raises(StaleMappings):
        repo.replace(tenant_id, RULES, etag, NOW)
    assert repo.get(tenant_id) is None


def test_upsert_writes_whatever_is_stored(repo: TableMappingRepository, tenant_id: str) -> None:
    first = repo.upsert(tenant_id, RULES, NOW)
    second = repo.upsert(tenant_id, DEFAULT_RULES, NOW)
    assert first.etag != second.etag
    read = repo.get(tenant_id)
    assert read is not None
    assert read.rules == DEFAULT_RULES


def test_a_row_that_cannot_be_read_is_reported_unreadable(
    repo: TableMappingRepository, azurite_settings: Settings, tenant_id: str
) -> None:
    # GIVEN a mappings row edited by hand into something that is not the schema
    repo.insert(tenant_id, RULES, NOW)
    raw = TableServiceClient.from_connection_string(azurite_settings.tables_connection_string or "")
    table = raw.get_table_client(PRESENCE_MAPPINGS)
    entity = table.get_entity(tenant_id, ROW_KEY)
    entity[TEAMS_COLUMN] = '[{"availability": "Busy"}]'
    table.upsert_entity(entity)
    # WHEN it is read THEN the repository says so instead of returning half a mapping
    with pytest.raises(UnreadableMappings):
        repo.get(tenant_id)


def test_illegal_tenant_keys_never_reach_the_service(repo: TableMappingRepository) -> None:
    for bad in ("a/b", "a#b", "a?b", ""):
        with pytest.raises(InvalidTableKey):
            repo.get(bad)
