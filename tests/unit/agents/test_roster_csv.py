"""Roster CSV: strict reading of the file, per-row failures, the batched import, the export."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from shared.agents.commands import ImportItem, RejectedItem, UserById, UserByPrincipalName, is_csv
from shared.agents.exceptions import InvalidRosterCsv, TooManyAgents
from shared.agents.groups import AgentGroup
from shared.agents.model import Agent, ImportStatus
from shared.agents.roster_csv import MAX_CSV_BYTES, MAX_CSV_ROWS, parse_roster_csv, roster_csv
from shared.agents.service import AgentService
from shared.connectors.model import Connector, ConnectorSettings, ConnectorStatus
from shared.graph.exceptions import GraphBadRequest, GraphThrottled
from shared.http.exceptions import PayloadTooLarge, UnsupportedMediaType
from tests.fakes import FakeClock, FakeConnectorRepository
from tests.unit.agents.fakes import (
    FakeAgentRepository,
    FakeCoverage,
    FakeDirectory,
    FakeGroupRepository,
    RecordingListener,
)

TENANT = "11111111-1111-1111-1111-111111111111"
T0 = datetime(2026, 11, 21, 9, 0, tzinfo=UTC)
ANN = "6e7b768e-07e2-4810-8459-485f84f8f204"
BOB = "0d6c2f5a-1b3e-4c7d-9e8f-a1b2c3d4e5f6"
HEADER = "agentId,userPrincipalName,userId,groupId\r\n"


# -- reading the file ------------------------------------------------------------------------------


def test_rows_are_read_with_or_without_a_bom_and_empty_lines_skipped() -> None:
    body = HEADER + f"a1,ann@contoso.com,,sales\r\n\r\na2,,{ANN.upper()},\n"
    for raw in (body.encode(), b"\xef\xbb\xbf" + body.encode()):
        rows = parse_roster_csv(raw)
        assert [(row.row, row.item) for row in rows] == [
            (2, ImportItem("a1", UserByPrincipalName("ann@contoso.com"), "sales")),
            (4, ImportItem("a2", UserById(ANN), "default")),
        ]


def test_quoted_fields_are_read() -> None:
    rows = parse_roster_csv((HEADER + '"a1","ann@contoso.com","",""\r\n').encode())
    assert rows[0].item == ImportItem("a1", UserByPrincipalName("ann@contoso.com"))


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("a1,ann@contoso.com\r\n", "row 2: 2 fields, 4 expected"),
        ("a1,ann@contoso.com,,,x\r\n", "row 2: 5 fields"),
        ("a 1,ann@contoso.com,,\r\n", "row 2: agentId must be"),
        (f"a1,ann@contoso.com,{ANN},\r\n", "row 2: send exactly one of"),
        ("a1,,,\r\n", "row 2: send exactly one of"),
        ("a1,,not-a-guid,\r\n", "row 2: userId must be"),
        ("a1,ann@contoso.com,,bad/group\r\n", "row 2: groupId must be"),
    ],
)
def test_a_bad_row_fails_alone(line: str, message: str) -> None:
    rows = parse_roster_csv((HEADER + line + f"ok,,{BOB},\r\n").encode())
    assert isinstance(rows[0].item, RejectedItem)
    assert message in rows[0].item.message
    assert rows[1].item == ImportItem("ok", UserById(BOB))


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"", "the CSV is empty"),
        (b"agentId,userPrincipalName,userId\r\n", "first line must be exactly"),
        (b"agentid,userPrincipalName,userId,groupId\r\n", "first line must be exactly"),
        (HEADER.encode(), "no agents"),
        (HEADER.encode() + b"a1,\xff\xfe,,\r\n", "not UTF-8"),
        (HEADER.encode() + b'a1,"ann@contoso.com,,\r\n', "cannot be read at line"),
        (HEADER.encode() + b'a1,"ann"x,,\r\n', "cannot be read"),
        (HEADER.encode() + b"a1,\x00,,\r\n", "NUL"),
    ],
)
def test_an_unreadable_file_is_refused_whole(body: bytes, message: str) -> None:
    with pytest.raises(InvalidRosterCsv) as raised:
        parse_roster_csv(body)
    assert message in raised.value.message


def test_size_caps() -> None:
    rows = "".join(f"a{index},,{ANN},\r\n" for index in range(MAX_CSV_ROWS + 1))
    with pytest.raises(TooManyAgents):
        parse_roster_csv((HEADER + rows).encode())
    assert len(parse_roster_csv((HEADER + rows.split("\r\n", 1)[1]).encode())) == MAX_CSV_ROWS
    with pytest.raises(PayloadTooLarge):
        parse_roster_csv(b"x" * (MAX_CSV_BYTES + 1))


@pytest.mark.parametrize(
    ("content_type", "csv"),
    [
        ("text/csv", True),
        ("text/csv; charset=utf-8", True),
        ('Text/CSV;charset="UTF-8"', True),
        ("application/json", False),
        (None, False),
        ("text/csvx", False),
    ],
)
def test_csv_is_recognised_by_its_media_type(content_type: str | None, csv: bool) -> None:
    assert is_csv(content_type) is csv


def test_a_csv_in_another_charset_is_415() -> None:
    with pytest.raises(UnsupportedMediaType):
        is_csv("text/csv; charset=latin-1")


def test_the_export_is_the_import_format_and_defuses_formulas() -> None:
    agents = [
        Agent(TENANT, "a1", ANN, "ann@contoso.com", "Ann", T0, T0, group_id="sales"),
        Agent(TENANT, "a2", BOB, "=cmd@contoso.com", None, T0, T0),
        Agent(TENANT, "a3", BOB, None, None, T0, T0),
    ]
    text = roster_csv(agents)
    assert text == (
        HEADER
        + f"a1,ann@contoso.com,{ANN},sales\r\n"
        + f"a2,'=cmd@contoso.com,{BOB},default\r\n"
        + f"a3,,{BOB},default\r\n"
    )


# -- the import --------------------------------------------------------------------------------------


class World:
    def __init__(self, status: ConnectorStatus = ConnectorStatus.ACTIVE) -> None:
        self.clock = FakeClock(T0)
        self.repository = FakeAgentRepository()
        self.directory = FakeDirectory()
        self.connectors = FakeConnectorRepository()
        self.connectors.add(Connector(TENANT, status, ConnectorSettings(), None, T0, T0))
        self.groups = FakeGroupRepository()
        self.groups.insert(AgentGroup(TENANT, "sales", "Sales", True, None, T0, T0))
        self.listener = RecordingListener()
        self.sleeps: list[float] = []
        self.service = AgentService(
            self.repository,
            self.directory,
            self.connectors,
            FakeCoverage(),
            self.listener,
            self.clock,
            groups=self.groups,
            sleep=self.sleeps.append,
        )

    def csv(self, *lines: str) -> Any:
        return self.service.import_csv(TENANT, (HEADER + "".join(line + "\r\n" for line in lines)).encode())


def outcomes(report: Any) -> list[tuple[int | None, str | None, str, str | None]]:
    return [
        (r.row, r.agent_id, r.status.value, None if r.error is None else r.error.code) for r in report.results
    ]


def test_each_row_gets_its_outcome_and_a_reimport_changes_nothing() -> None:
    world = World()
    world.directory.add(ANN, "ann@contoso.com", "Ann")
    world.directory.add(BOB, "bob@contoso.com", "Bob")
    lines = (
        "a1,ann@contoso.com,,sales",
        f"a2,,{BOB},",
        "a3,nobody@contoso.com,,",
        "a4,ann@contoso.com,,",
        f"a5,,{ANN},nope",
        "a6,,,",
    )
    report = world.csv(*lines)
    assert outcomes(report) == [
        (2, "a1", "failed", "duplicateInImport"),
        (3, "a2", "created", None),
        (4, "a3", "failed", "userNotFound"),
        (5, "a4", "failed", "duplicateInImport"),
        (6, "a5", "failed", "unknownAgentGroup"),
        (7, "a6", "failed", "invalidRequest"),
    ]
    # AND the users were read in one batch call, not one call per row
    assert world.directory.calls == []
    assert len(world.directory.batches) == 1
    again = world.csv(*lines)
    assert [r.status.value for r in again.results][1] == "unchanged"
    assert world.repository.writes == 1


def test_the_groups_of_rows_are_stored() -> None:
    world = World()
    world.directory.add(ANN, "ann@contoso.com", "Ann")
    world.csv("a1,ann@contoso.com,,sales")
    assert world.repository.get(TENANT, "a1").group_id == "sales"  # type: ignore[union-attr]
    moved = world.csv("a1,ann@contoso.com,,")
    assert moved.results[0].status is ImportStatus.UPDATED
    assert world.repository.get(TENANT, "a1").group_id == "default"  # type: ignore[union-attr]


def test_lookups_are_batched_20_per_call() -> None:
    world = World()
    lines = []
    for index in range(45):
        user_id = f"00000000-0000-4000-8000-{index:012d}"
        world.directory.add(user_id, f"u{index}@contoso.com", f"User {index}")
        lines.append(f"a{index},u{index}@contoso.com,,")
    report = world.csv(*lines)
    assert report.count(ImportStatus.CREATED) == 45
    assert sorted(len(batch) for batch in world.directory.batches) == [5, 20, 20]


def test_throttled_reads_are_asked_again_after_retry_after() -> None:
    world = World()
    world.directory.add(ANN, "ann@contoso.com", "Ann")
    world.directory.item_failures["ann@contoso.com"] = GraphThrottled(
        "slow down", retry_after=2.0, status=429
    )
    original = world.directory.get_users

    def heal_after_first(tenant_id: str, refs: Any) -> Any:
        answer = original(tenant_id, refs)
        world.directory.item_failures.clear()
        return answer

    world.directory.get_users = heal_after_first  # type: ignore[method-assign,assignment]
    report = world.csv("a1,ann@contoso.com,,")
    assert outcomes(report) == [(2, "a1", "created", None)]
    assert world.sleeps == [2.0]


def test_a_read_throttled_for_good_fails_its_row_only() -> None:
    world = World()
    world.directory.add(ANN, "ann@contoso.com", "Ann")
    world.directory.add(BOB, "bob@contoso.com", "Bob")
    world.directory.item_failures["ann@contoso.com"] = GraphThrottled(
        "slow down", retry_after=30.0, status=429
    )
    report = world.csv("a1,ann@contoso.com,,", "a2,bob@contoso.com,,")
    assert outcomes(report) == [(2, "a1", "failed", "graphThrottled"), (3, "a2", "created", None)]
    assert world.sleeps == [5.0, 5.0]


def test_a_refused_read_fails_its_row_and_a_refused_batch_its_rows() -> None:
    world = World()
    world.directory.add(BOB, "bob@contoso.com", "Bob")
    world.directory.item_failures["ann@contoso.com"] = GraphBadRequest("no", status=400)
    report = world.csv("a1,ann@contoso.com,,", "a2,bob@contoso.com,,")
    assert outcomes(report) == [(2, "a1", "failed", "userLookupFailed"), (3, "a2", "created", None)]
    world.directory.item_failures.clear()
    world.directory.failure = GraphBadRequest("the batch is refused", status=400)
    report = world.csv(f"a3,,{ANN},")
    # A userId is stored without its name when the directory cannot say it (as for one agent)
    assert outcomes(report) == [(2, "a3", "created", None)]


def test_without_consent_user_ids_are_stored_and_principal_names_fail() -> None:
    world = World(ConnectorStatus.PENDING_CONSENT)
    report = world.csv("a1,ann@contoso.com,,", f"a2,,{BOB},")
    assert outcomes(report) == [(2, "a1", "failed", "connectorNotActive"), (3, "a2", "created", None)]
    assert world.directory.batches == []


def test_an_unreadable_file_writes_nothing() -> None:
    world = World()
    with pytest.raises(InvalidRosterCsv):
        world.service.import_csv(TENANT, b"agentId,userId\r\na1,x\r\n")
    assert world.repository.writes == 0


def test_the_export_lists_the_whole_roster() -> None:
    world = World()
    for index in range(1203):
        world.repository.save(TENANT, f"a{index:05d}", f"00000000-0000-4000-8000-{index:012d}", None, T0)
    text = world.service.export_csv(TENANT)
    lines = text.splitlines()
    assert lines[0] == HEADER.strip()
    assert len(lines) == 1204
    assert lines[1] == "a00000,,00000000-0000-4000-8000-000000000000,default"


def test_a_row_taking_a_user_another_row_gives_up_is_written_whatever_the_timing() -> None:
    world = World()
    world.directory.add(ANN, "ann@contoso.com", "Ann")
    world.directory.add(BOB, "bob@contoso.com", "Bob")
    world.csv("old,ann@contoso.com,,")
    # WHEN one file gives Ann to a new agent (first) and moves the old agent to Bob (second)
    report = world.csv("new,ann@contoso.com,,", "old,bob@contoso.com,,")
    # THEN both rows succeed, though the first was refused while the old agent still held Ann
    assert outcomes(report) == [(2, "new", "created", None), (3, "old", "updated", None)]
    assert world.repository.get(TENANT, "new").user_id == ANN  # type: ignore[union-attr]
