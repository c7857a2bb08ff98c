"""The expert directory API's query and answer models (OpenAPI; commands.py validates, views.py builds)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from shared.directory.commands import MAX_SKIP_TOKEN_LENGTH
from shared.directory.model import DEFAULT_TOP, MAX_TOP, MAX_VALUE_LENGTH
from shared.http.schemas import RequestModel, ResponseModel

_TEXT = f"Trimmed; at most {MAX_VALUE_LENGTH} characters, no control characters."


class DirectoryQueryParameters(RequestModel):
    search: str | None = Field(
        default=None,
        max_length=MAX_VALUE_LENGTH,
        description="Tokenized search on displayName and mail (every word starts a word of the name). "
        + _TEXT,
    )
    department: str | None = Field(
        default=None, max_length=MAX_VALUE_LENGTH, description="Department prefix. " + _TEXT
    )
    job_title: str | None = Field(
        default=None, max_length=MAX_VALUE_LENGTH, description="Job title prefix. " + _TEXT
    )
    available: Literal["true", "false"] | None = Field(
        default=None, description="true: only users who are Available and not out of office."
    )
    top: int = Field(default=DEFAULT_TOP, ge=1, le=MAX_TOP, description="Page size.")
    skip_token: str | None = Field(
        default=None,
        max_length=MAX_SKIP_TOKEN_LENGTH,
        description="nextSkipToken of the previous page, sent with the same other parameters.",
    )


class TransferTargetView(ResponseModel):
    type: Literal["pstn"]
    number: str = Field(description="E.164, e.g. +14255550100.")


class ExpertPresenceView(ResponseModel):
    availability: str
    activity: str
    out_of_office: bool
    status_message: str | None


class ExpertView(ResponseModel):
    id: str
    display_name: str | None
    department: str | None
    job_title: str | None
    user_principal_name: str | None
    mail: str | None
    business_phone: str | None = Field(
        description="The first business phone, else the mobile phone, in E.164."
    )
    transferable: bool
    transfer_target: TransferTargetView | None
    presence: ExpertPresenceView


class DirectoryPageView(ResponseModel):
    value: list[ExpertView]
    next_skip_token: str | None = Field(description="Opaque and signed; null on the last page.")
