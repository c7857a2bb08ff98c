"""The agent-event webhook's request and response models (the OpenAPI document).

The body is checked after its signature, by events.py (same limits, same vocabulary), so an unsigned
caller learns nothing about what would have been accepted.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import Field, RootModel

from shared.contact_center.events import MAX_EVENTS, MAX_ID_LENGTH, MAX_NAME_LENGTH, MAX_SEQUENCE_NUMBER
from shared.contact_center.exceptions import InvalidAgentEvents
from shared.contact_center.model import AgentState
from shared.http.contract import JsonBody
from shared.http.schemas import RequestModel, ResponseModel

Text = Annotated[str, Field(min_length=1, max_length=MAX_ID_LENGTH)]


class AgentEventInput(RequestModel):
    event_id: Text
    type: Literal["agentLogin", "agentLogout", "agentStateChanged"]
    agent_id: Text
    state: Literal[tuple(state.value for state in AgentState)] | None = Field(  # type: ignore[valid-type]
        default=None, description="Required except for agentLogout (loggedOut)."
    )
    idle_code_id: Text | None = Field(default=None, description="Only with state idle.")
    idle_code_name: Annotated[str, Field(min_length=1, max_length=MAX_NAME_LENGTH)] | None = None
    occurred_at: datetime = Field(description="ISO 8601 with a UTC offset.")
    sequence_number: Annotated[int, Field(ge=0, le=MAX_SEQUENCE_NUMBER)] | None = None


class AgentEventBatch(RequestModel):
    events: list[AgentEventInput] = Field(min_length=1, max_length=MAX_EVENTS)


class AgentEventsBody(RootModel[AgentEventBatch | AgentEventInput]):
    """A batch, or one event without the wrapper."""


EVENTS_BODY = JsonBody(AgentEventsBody, InvalidAgentEvents, description="Signed: X-Connector-Signature.")


class DroppedEventView(ResponseModel):
    event_id: str
    agent_id: str
    reason: Literal["unknownAgent", "tooOld", "fromTheFuture"]


class EventReportView(ResponseModel):
    accepted: int
    dropped: int
    dropped_events: list[DroppedEventView]
