"""The Webex routes' request and response models (OpenAPI; the views build the JSON)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import Field

from shared.http.schemas import Guid, RequestModel, ResponseModel

MAX_CALLBACK_PARAM_LENGTH = 4096


class WebexAuthorizeView(ResponseModel):
    authorize_url: str = Field(description="Open it in the browser and sign in to Webex as a supervisor")
    expires_at: datetime


class WebexCallbackQuery(RequestModel):
    state: str | None = Field(default=None, max_length=MAX_CALLBACK_PARAM_LENGTH)
    code: str | None = Field(default=None, max_length=MAX_CALLBACK_PARAM_LENGTH)
    error: str | None = Field(default=None, max_length=MAX_CALLBACK_PARAM_LENGTH)
    error_description: str | None = Field(
        default=None, alias="error_description", max_length=MAX_CALLBACK_PARAM_LENGTH
    )


class WebexConnectedView(ResponseModel):
    tenant_id: Guid
    status: Literal["authorized", "reauthorizationRequired"]
    org_id: str
    subscribed: bool = Field(description="False until the connector is active")


class IdleCodeView(ResponseModel):
    id: str
    name: str
    is_default: bool


class IdleCodesView(ResponseModel):
    idle_codes: list[IdleCodeView]
