"""The Webex routes' request and response models (OpenAPI; the views build the JSON)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import Field

from shared.http.schemas import Guid, RequestModel, ResponseModel

# Webex's codes and our states are far shorter; the limits keep a callback URL under any host's limit.
MAX_STATE_LENGTH = 1024
MAX_CODE_LENGTH = 1024
MAX_ERROR_LENGTH = 100
MAX_ERROR_DESCRIPTION_LENGTH = 500


class WebexAuthorizeView(ResponseModel):
    authorize_url: str = Field(description="Open it in the browser and sign in to Webex as a supervisor")
    expires_at: datetime


class WebexCallbackQuery(RequestModel):
    state: str | None = Field(default=None, max_length=MAX_STATE_LENGTH)
    code: str | None = Field(default=None, max_length=MAX_CODE_LENGTH)
    error: str | None = Field(default=None, max_length=MAX_ERROR_LENGTH)
    error_description: str | None = Field(
        default=None, alias="error_description", max_length=MAX_ERROR_DESCRIPTION_LENGTH
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
