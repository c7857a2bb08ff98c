"""The console routes' request and response models, as the OpenAPI document shows them."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from shared.http.schemas import Guid, RequestModel, ResponseModel


class AssetPath(RequestModel):
    name: str = Field(description="A file of the console (app.js, console.css, icon.svg, ...).")


class SignInQuery(RequestModel):
    tenant: Guid = Field(description="The tenant to sign in to (its Microsoft Entra tenant id).")
    page: Literal["admin", "directory"] | None = Field(
        default=None, description="Where the console opens after the sign-in (default admin)."
    )
    popup: Literal["1"] | None = Field(
        default=None, description="1: started from the Teams client's authentication window."
    )


class SignInCallbackQuery(RequestModel):
    """Microsoft's redirect after the sign-in (the pending-sign-in cookie must come with it)."""

    code: str | None = None
    state: str | None = None
    error: str | None = None
    error_description: str | None = Field(default=None, alias="error_description")
    session_state: str | None = Field(default=None, alias="session_state")


class ConsoleSessionView(ResponseModel):
    tenant_id: Guid
    object_id: Guid
    user_principal_name: str | None
    display_name: str | None
    is_admin: bool = Field(description="Whether the admin pages are open to this user (admin role).")
    csrf_token: str = Field(description="Send it as X-CSRF-Token with every change made with the session.")
    expires_at: str = Field(description="When the session ends (ISO 8601, UTC); then sign in again.")
