"""The base classes of every request and response model of the HTTP API, and the models all routes share.

Request models validate what a client sent (strict types, unknown fields refused, lengths capped) and
are the request bodies of the OpenAPI document; response models describe what the views return. Both
are pydantic v2 models with camelCase aliases, so the document, the validation and the JSON agree.
"""

from __future__ import annotations

from typing import Annotated, Any, Final

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

GUID_PATTERN: Final = r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"

Guid = Annotated[str, Field(pattern=GUID_PATTERN, examples=["72f988bf-86f1-41af-91ab-2d7cd011db47"])]


class RequestModel(BaseModel):
    """What a client sends: exactly these fields (camelCase), of exactly these JSON types."""

    model_config = ConfigDict(
        extra="forbid", strict=True, alias_generator=to_camel, populate_by_name=False, frozen=True
    )


class ResponseModel(BaseModel):
    """What the API answers: every field without a default is always present; no other field appears."""

    model_config = ConfigDict(extra="forbid", alias_generator=to_camel, populate_by_name=True)


class ErrorDetail(ResponseModel):
    code: str = Field(description="Stable machine-readable code (README: the error table).")
    message: str = Field(description="What went wrong and how to fix it, safe to show.")


class ErrorEnvelope(ResponseModel):
    """Every 4xx and 5xx JSON answer."""

    error: ErrorDetail


class TenantPath(RequestModel):
    """The `{tenantId}` of every `tenants/...` route."""

    tenant_id: Guid = Field(description="The Microsoft Entra tenant id (a GUID).")


def _drop_default(schema: dict[str, Any]) -> None:
    schema.pop("default", None)


def optional(**field_arguments: Any) -> Any:
    """A field the client may leave out but, when sent, must not be null (`bool = optional()`)."""
    return Field(default=None, json_schema_extra=_drop_default, **field_arguments)
