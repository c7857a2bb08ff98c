"""The agent roster API's request and response models (OpenAPI and validation; views.py builds the JSON).

commands.py keeps the rules a schema cannot say (exactly one user reference, the UPN's shape); an import
item that breaks them fails alone, so an import item is an object or anything else (reported failed).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import Field

from shared.agents.commands import (
    MAX_AGENT_ID_LENGTH,
    MAX_IMPORT_ITEMS,
    MAX_PAGE_SIZE,
    MAX_UPN_LENGTH,
)
from shared.agents.cursors import MAX_CURSOR_LENGTH
from shared.agents.exceptions import InvalidAgentInput, InvalidGroupInput
from shared.agents.group_commands import (
    MAX_DISPLAY_NAME_LENGTH,
    MAX_GROUP_ID_LENGTH,
    MAX_STATUS_MESSAGE_LENGTH,
    STATUS_MESSAGE_STATES,
)
from shared.http.contract import JsonBody
from shared.http.schemas import GUID_PATTERN, Guid, RequestModel, ResponseModel, TenantPath
from shared.mappings.schemas import MappingsInput, RulesView

AGENT_ID_PATTERN = rf"^[A-Za-z0-9\-_.@:]{{1,{MAX_AGENT_ID_LENGTH}}}$"
AgentId = Annotated[
    str,
    Field(
        pattern=AGENT_ID_PATTERN,
        description="The contact center's agent id: letters, digits and - _ . @ :",
        examples=["agent-1001"],
    ),
]
UserId = Annotated[str | None, Field(pattern=GUID_PATTERN, description="The user's Entra object id.")]
UserPrincipalName = Annotated[str | None, Field(min_length=3, max_length=MAX_UPN_LENGTH)]
GROUP_ID_PATTERN = rf"^[A-Za-z0-9_-]{{1,{MAX_GROUP_ID_LENGTH}}}$"
GroupId = Annotated[
    str,
    Field(
        pattern=GROUP_ID_PATTERN,
        description="An agent group id: letters, digits, - and _.",
        examples=["sales"],
    ),
]
OptionalGroupId = Annotated[
    str | None,
    Field(
        pattern=GROUP_ID_PATTERN,
        description="The agent's group (absent or null: the default group).",
        examples=["sales"],
    ),
]


class AgentPath(TenantPath):
    agent_id: AgentId


class ListQuery(RequestModel):
    format: Literal["json", "csv"] = Field(
        default="json", description="csv: the whole roster as text/csv (the import's format), not paged."
    )
    limit: int = Field(default=100, ge=1, le=MAX_PAGE_SIZE, description="Page size.")
    cursor: str | None = Field(
        default=None, max_length=MAX_CURSOR_LENGTH, description="nextCursor of the previous page."
    )


class AgentUserInput(RequestModel):
    """Exactly one of userId and userPrincipalName."""

    user_id: UserId = None
    user_principal_name: UserPrincipalName = None
    group_id: OptionalGroupId = None


class ImportItemInput(RequestModel):
    agent_id: AgentId
    user_id: UserId = None
    user_principal_name: UserPrincipalName = None
    group_id: OptionalGroupId = None


class AgentImport(RequestModel):
    # The cap is commands.py's (413 tooManyAgents, before any item is looked at).
    agents: list[ImportItemInput | Any] = Field(
        min_length=1,
        json_schema_extra={"maxItems": MAX_IMPORT_ITEMS},
        description="Items that are not valid fail one by one (results[i].status failed).",
    )


PUT_BODY = JsonBody(AgentUserInput, InvalidAgentInput)
IMPORT_BODY = JsonBody(AgentImport, InvalidAgentInput)


class PresenceView(ResponseModel):
    availability: str
    activity: str
    sequence_number: str | None
    observed_at: datetime


class AgentView(ResponseModel):
    agent_id: str
    user_id: Guid
    user_principal_name: str | None
    display_name: str | None
    group_id: str
    subscribed: bool
    last_presence: PresenceView | None
    created_at: datetime
    updated_at: datetime


class AgentPageView(ResponseModel):
    agents: list[AgentView]
    next_cursor: str | None


class ItemErrorView(ResponseModel):
    code: str
    message: str


class ImportResultView(ResponseModel):
    agent_id: str | None
    status: Literal["created", "updated", "unchanged", "failed"]
    error: ItemErrorView | None = None
    row: int | None = Field(default=None, description="CSV imports: the row (the header is row 1).")


class ImportSummaryView(ResponseModel):
    created: int
    updated: int
    unchanged: int
    failed: int


class ImportView(ResponseModel):
    results: list[ImportResultView]
    summary: ImportSummaryView


# -- agent groups ------------------------------------------------------------------------------------


class GroupPath(TenantPath):
    group_id: GroupId


class GroupDeleteQuery(RequestModel):
    move_to: GroupId | None = Field(default=None, description="Move the group's agents here first.")


StatusMessageState = Annotated[str, Field(json_schema_extra={"enum": list(STATUS_MESSAGE_STATES)})]
StatusMessageText = Annotated[str, Field(min_length=1, max_length=MAX_STATUS_MESSAGE_LENGTH)]


class GroupInput(RequestModel):
    display_name: str = Field(min_length=1, max_length=MAX_DISPLAY_NAME_LENGTH)
    presence_sync: bool = Field(description="False: agents' presence is recorded, no command is sent.")
    mappings: MappingsInput | None = Field(
        default=None, description="The group's own mappings (absent or null: the tenant's)."
    )
    status_messages: dict[StatusMessageState, StatusMessageText] | None = Field(
        default=None,
        description=(
            "Teams status message shown while the agent is in a contact-center state (agent state -> "
            "text); never written over a message the user set himself. Absent or null: none."
        ),
    )


GROUP_BODY = JsonBody(GroupInput, InvalidGroupInput)


class GroupView(ResponseModel):
    group_id: str
    display_name: str
    presence_sync: bool
    mappings: RulesView | None = Field(description="null: the tenant's presence mappings apply.")
    status_messages: dict[str, str] = Field(description="Teams status message per agent state.")
    is_default: bool
    created_at: datetime | None
    updated_at: datetime | None


class GroupsView(ResponseModel):
    groups: list[GroupView]
