"""The roster as CSV: `agentId,userPrincipalName,userId,groupId`, UTF-8 with or without a BOM.

Reading is strict and all-or-nothing for the file itself: bad UTF-8, a header other than exactly the
four columns, broken quoting, more than MAX_CSV_ROWS rows or more than MAX_CSV_BYTES refuse the whole
file (InvalidRosterCsv / TooManyAgents / PayloadTooLarge, nothing written). A bad row only fails that
row: wrong number of fields, an invalid agent id, neither or both of userPrincipalName and userId, a
bad groupId. Empty lines are skipped. `row` is the line's record number (the header is row 1).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Final

from shared.agents.commands import ImportItem, RejectedItem, parse_import_fields
from shared.agents.exceptions import InvalidRosterCsv, TooManyAgents
from shared.agents.model import Agent
from shared.http.exceptions import PayloadTooLarge

HEADER: Final = ("agentId", "userPrincipalName", "userId", "groupId")
MAX_CSV_ROWS: Final = 10_000
# 10,000 rows of the longest valid values stay below this; the Functions host itself stops at 100 MB.
MAX_CSV_BYTES: Final = 8 * 1024 * 1024
_BOM: Final = "\ufeff"
# A cell a spreadsheet would run as a formula. Agent ids and group ids cannot start with = or +, but a
# userPrincipalName comes from the directory: such a cell is exported with a leading apostrophe.
_FORMULA_STARTS: Final = ("=", "+", "\t", "\r")


@dataclass(frozen=True)
class CsvRow:
    row: int
    item: ImportItem | RejectedItem


def parse_roster_csv(body: bytes) -> list[CsvRow]:
    if len(body) > MAX_CSV_BYTES:
        raise PayloadTooLarge(f"a roster CSV must be at most {MAX_CSV_BYTES} bytes")
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InvalidRosterCsv(f"the CSV is not UTF-8 (byte {exc.start} is invalid)") from None
    text = text.removeprefix(_BOM)
    if "\x00" in text:
        raise InvalidRosterCsv("the CSV contains a NUL character")
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    try:
        header = next(reader, None)
        if header is None:
            raise InvalidRosterCsv(f"the CSV is empty; its first line must be {','.join(HEADER)}")
        if tuple(name.strip() for name in header) != HEADER:
            raise InvalidRosterCsv(f"the first line must be exactly {','.join(HEADER)}")
        rows = list(_rows(reader))
    except csv.Error as exc:
        raise InvalidRosterCsv(f"the CSV cannot be read at line {reader.line_num}: {exc}") from None
    if not rows:
        raise InvalidRosterCsv("the CSV has a header but no agents")
    return rows


def _rows(reader: Iterator[list[str]]) -> Iterator[CsvRow]:
    count = 0
    for number, fields in enumerate(reader, start=2):
        if not fields or all(not field.strip() for field in fields):
            continue
        count += 1
        if count > MAX_CSV_ROWS:
            raise TooManyAgents(count, MAX_CSV_ROWS)
        where = f"row {number}: "
        if len(fields) != len(HEADER):
            yield CsvRow(number, RejectedItem(None, f"{where}{len(fields)} fields, {len(HEADER)} expected"))
            continue
        agent_id, upn, user_id, group_id = (field.strip() for field in fields)
        item = parse_import_fields(
            agent_id,
            user_principal_name=upn or None,
            user_id=user_id or None,
            group_id=group_id or None,
            prefix="",
        )
        if isinstance(item, RejectedItem):
            item = RejectedItem(item.agent_id, where + item.message)
        yield CsvRow(number, item)


def roster_csv(agents: Iterable[Agent]) -> str:
    """The roster in the import's own format, so an export imported again changes nothing."""
    out = io.StringIO(newline="")
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(HEADER)
    for agent in agents:
        writer.writerow(
            (agent.agent_id, _cell(agent.user_principal_name or ""), agent.user_id, agent.group_id)
        )
    return out.getvalue()


def _cell(value: str) -> str:
    return "'" + value if value.startswith(_FORMULA_STARTS) else value
