"""Microsoft Graph's change-notification and lifecycle-event collections (the OpenAPI document).

Graph's own contract (changeNotificationCollection): documented here as Graph sends it, open to the
properties Graph adds over time; the intake verifies every notification (clientState, validation
tokens, the encrypted content) instead of a schema.
"""

from __future__ import annotations

from typing import Any

from pydantic import ConfigDict, Field

from shared.http.schemas import RequestModel, ResponseModel


class GraphModel(RequestModel):
    model_config = ConfigDict(extra="allow", strict=True, frozen=True)


class ChangeNotification(GraphModel):
    subscription_id: str = Field(alias="subscriptionId")
    client_state: str | None = Field(default=None, alias="clientState")
    change_type: str | None = Field(default=None, alias="changeType")
    lifecycle_event: str | None = Field(default=None, alias="lifecycleEvent")
    resource: str | None = None
    tenant_id: str | None = Field(default=None, alias="tenantId")
    encrypted_content: dict[str, Any] | None = Field(default=None, alias="encryptedContent")


class ChangeNotificationCollection(GraphModel):
    value: list[ChangeNotification]
    validation_tokens: list[str] | None = Field(default=None, alias="validationTokens")


class HandshakeQuery(RequestModel):
    validation_token: str | None = Field(
        default=None,
        alias="validationToken",
        description="Sent by Graph when a subscription is created: echoed back as text/plain.",
    )


class NotificationsAccepted(ResponseModel):
    received: int
    accepted: int


class LifecycleHandled(ResponseModel):
    received: int
    handled: int
