"""The presence-mappings API's request and response models (OpenAPI and validation).

The vocabularies (availability, activity, agent state) are listed in the document from the constants
validation.py checks against, with its detailed messages; the schema checks types, fields and sizes.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Any

from pydantic import Field, JsonValue

from shared.contact_center.model import AgentState
from shared.http.contract import JsonBody
from shared.http.schemas import RequestModel, ResponseModel
from shared.mappings.exceptions import InvalidMapping
from shared.mappings.model import ACTIVITIES, ANY_ACTIVITY, AVAILABILITIES, UNMAPPABLE_AGENT_STATES
from shared.mappings.validation import MAX_IDLE_CODE_ID_LENGTH, MAX_IDLE_CODE_NAME_LENGTH, MAX_RULES


def _one_of(values: Sequence[str]) -> Any:
    allowed: list[JsonValue] = list(values)
    return Field(json_schema_extra={"enum": allowed})


Availability = Annotated[str, _one_of(list(AVAILABILITIES))]
TeamsActivity = Annotated[str, _one_of([ANY_ACTIVITY, *ACTIVITIES])]
Activity = Annotated[str, _one_of(list(ACTIVITIES))]
MappableState = Annotated[
    str, _one_of([state.value for state in AgentState if state not in UNMAPPABLE_AGENT_STATES])
]
IdleCodeId = Annotated[str, Field(min_length=1, max_length=MAX_IDLE_CODE_ID_LENGTH)]
IdleCodeName = Annotated[str | None, Field(min_length=1, max_length=MAX_IDLE_CODE_NAME_LENGTH)]


class TeamsRuleInput(RequestModel):
    availability: Availability
    activity: TeamsActivity = Field(description=f'"{ANY_ACTIVITY}" matches every activity.')
    idle_code_id: IdleCodeId
    idle_code_name: IdleCodeName = None


class ContactCenterRuleInput(RequestModel):
    agent_state: MappableState
    availability: Availability
    activity: Activity


class MappingsInput(RequestModel):
    teams_to_contact_center: list[TeamsRuleInput] = Field(max_length=MAX_RULES)
    contact_center_to_teams: list[ContactCenterRuleInput] = Field(max_length=MAX_RULES)


PUT_BODY = JsonBody(MappingsInput, InvalidMapping)


class TeamsRuleView(ResponseModel):
    availability: str
    activity: str
    idle_code_id: str
    idle_code_name: str | None


class ContactCenterRuleView(ResponseModel):
    agent_state: str
    availability: str
    activity: str


class MappingsView(ResponseModel):
    teams_to_contact_center: list[TeamsRuleView]
    contact_center_to_teams: list[ContactCenterRuleView]
    is_default: bool = Field(description="True while the tenant uses the built-in defaults.")


class MappingsSaved(MappingsView):
    idle_codes_checked: bool = Field(
        description="True when every idleCodeId was checked against the contact center's idle codes."
    )
    idle_codes_note: str | None = Field(description="Why the idle codes could not be checked, when not.")
