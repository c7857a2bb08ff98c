"""The agent roster's value objects. Pure data: no I/O, no framework types."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from shared.agents.groups import DEFAULT_GROUP_ID


@dataclass(frozen=True)
class Agent:
    """A contact-center agent (the contact center's id) backed by one Entra user of the tenant."""

    tenant_id: str
    agent_id: str
    # Entra object id, lower-case.
    user_id: str
    # Looked up in the directory; None when the lookup was not possible (no consent yet, Graph down).
    user_principal_name: str | None
    display_name: str | None
    created_at: datetime
    updated_at: datetime
    # The storage version (Table Storage ETag) of the agent row this instance was read at.
    etag: str | None = None
    # The agent group whose presence policy his changes follow (shared.agents.groups).
    group_id: str = DEFAULT_GROUP_ID


@dataclass(frozen=True)
class UserDetails:
    """What the directory says about an agent's user, shown next to the agent."""

    user_principal_name: str | None
    display_name: str | None


@dataclass(frozen=True)
class SeenPresence:
    """The newest Teams presence recorded for an agent's user."""

    availability: str
    activity: str
    sequence_number: str | None
    # When Graph observed it (from the notification) and when we stored it.
    observed_at: datetime
    recorded_at: datetime


@dataclass(frozen=True)
class AgentListItem:
    agent: Agent
    subscribed: bool
    last_presence: SeenPresence | None


@dataclass(frozen=True)
class AgentPage:
    items: list[AgentListItem]
    # Opaque; None on the last page.
    next_cursor: str | None


class WriteStatus(StrEnum):
    CREATED = "created"
    UPDATED = "updated"
    UNCHANGED = "unchanged"


@dataclass(frozen=True)
class SavedAgent:
    """The outcome of storing an agent; `user_changed` says whether its user (the roster) changed."""

    agent: Agent
    status: WriteStatus
    user_changed: bool


@dataclass(frozen=True)
class ContinuationToken:
    """Where Table Storage resumes a range query (its NextPartitionKey / NextRowKey, opaque to us)."""

    partition_key: str
    row_key: str


@dataclass(frozen=True)
class RosterPage:
    agents: list[Agent]
    continuation: ContinuationToken | None


class ImportStatus(StrEnum):
    CREATED = "created"
    UPDATED = "updated"
    UNCHANGED = "unchanged"
    FAILED = "failed"


@dataclass(frozen=True)
class ItemError:
    code: str
    message: str


@dataclass(frozen=True)
class ImportResult:
    """One import item's outcome, in the order of the request; agent_id is None when none was readable."""

    agent_id: str | None
    status: ImportStatus
    error: ItemError | None = None
    # The CSV row (record number, the header is 1) of a CSV import; None for a JSON one.
    row: int | None = None


@dataclass(frozen=True)
class ImportReport:
    results: list[ImportResult]

    def count(self, status: ImportStatus) -> int:
        return sum(1 for result in self.results if result.status is status)
