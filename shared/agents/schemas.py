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
from shared.agents.exceptions import InvalidAgentInput
from shared.http.contract import JsonBody
from shared.http.schemas import GUID_PATTERN, Guid, RequestModel, ResponseModel, TenantPath

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


class AgentPath(TenantPath):
    agent_id: AgentId


class ListQuery(RequestModel):
    limit: int = Field(default=100, ge=1, le=MAX_PAGE_SIZE, description="Page size.")
    cursor: str | None = Field(
        default=None, max_length=MAX_CURSOR_LENGTH, description="nextCursor of the previous page."
    )


class AgentUserInput(RequestModel):
    """Exactly one of userId and userPrincipalName."""

    user_id: UserId = None
    user_principal_name: UserPrincipalName = None


class ImportItemInput(RequestModel):
    agent_id: AgentId
    user_id: UserId = None
    user_principal_name: UserPrincipalName = None


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


class ImportSummaryView(ResponseModel):
    created: int
    updated: int
    unchanged: int
    failed: int


class ImportView(ResponseModel):
    results: list[ImportResultView]
    summary: ImportSummaryView
