"""The sync-account API's request and response models (OpenAPI and validation; views.py builds the JSON)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import Field

from shared.http.contract import JsonBody
from shared.http.schemas import Guid, RequestModel, ResponseModel, TenantPath
from shared.sync_accounts.commands import (
    MAX_CALLBACK_PARAM_LENGTH,
    MAX_ERROR_DESCRIPTION_LENGTH,
    MAX_ERROR_LENGTH,
    MAX_LOGIN_HINT_LENGTH,
)
from shared.sync_accounts.exceptions import InvalidSyncAccountInput


class StartSignInInput(RequestModel):
    login_hint: str | None = Field(
        default=None,
        min_length=3,
        max_length=MAX_LOGIN_HINT_LENGTH,
        description="The userPrincipalName of the account to sign in (prefills the sign-in page).",
    )


START_BODY = JsonBody(StartSignInInput, InvalidSyncAccountInput, required=False)


class SyncAccountPath(TenantPath):
    account_id: Guid = Field(description="The sync account's Entra object id.")


class SignInCallbackQuery(RequestModel):
    state: str | None = Field(default=None, max_length=MAX_CALLBACK_PARAM_LENGTH)
    code: str | None = Field(default=None, max_length=MAX_CALLBACK_PARAM_LENGTH)
    error: str | None = Field(default=None, description=f"Shown cut to {MAX_ERROR_LENGTH} characters.")
    error_description: str | None = Field(
        default=None,
        alias="error_description",
        description=f"Shown cut to {MAX_ERROR_DESCRIPTION_LENGTH} characters.",
    )


class SignInStartView(ResponseModel):
    authorize_url: str = Field(description="Open it and sign in as the sync account.")
    expires_at: datetime


class SyncAccountView(ResponseModel):
    id: Guid
    user_principal_name: str
    display_name: str | None
    status: Literal["healthy", "reauthorizationRequired"]
    created_at: datetime
    last_token_at: datetime
    last_error: str | None = None


class CapacityUseView(ResponseModel):
    used: int
    limit: int


class ListedSyncAccountView(SyncAccountView):
    capacity: CapacityUseView


class CapacityView(ResponseModel):
    agents_per_account: int


class SyncAccountListingView(ResponseModel):
    sync_accounts: list[ListedSyncAccountView]
    capacity: CapacityView


class SignedInView(ResponseModel):
    tenant_id: Guid
    sync_account: SyncAccountView
