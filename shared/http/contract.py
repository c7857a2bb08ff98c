"""The API contract of one HTTP route, declared next to it, and the request validation that uses it.

Every HTTP function carries one `@operation(...)`, placed directly under `@bp.route(...)`:

    CREATE_BODY = JsonBody(ConnectorCreate, InvalidConnectorInput, required=False)

    @bp.function_name("create_connector")
    @bp.route(route="tenants/{tenantId}/connector", methods=["POST"], auth_level=func.AuthLevel.ANONYMOUS)
    @operation(
        summary="Start the setup of the tenant's connector",
        tags=("connector",),
        body=CREATE_BODY,
        responses={201: Json(ConnectorCreated, "Created; consentUrl is the admin consent link")},
        errors={409: "The tenant already has a connector"},
    )
    @authorized(ADMIN)
    def create_connector(req, caller):
        body = CREATE_BODY.read(req)          # the same model the document shows
        ...

The route, its methods and its path parameters come from the Functions metadata (the blueprint's own
`@bp.route`), the security from the route's `@authorized` policy (or the `security=` a route without
one must state), so only what the metadata cannot say is declared here. shared/http/openapi.py turns
the declarations of every registered function into the OpenAPI 3.1 document; a route without one fails
the completeness test (tests/unit/triggers/test_openapi.py).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Generic, TypeVar

import azure.functions as func
from pydantic import BaseModel, ValidationError

from shared.errors import AppError
from shared.http.exceptions import PayloadTooLarge
from shared.http.requests import json_object
from shared.http.schemas import RequestModel, TenantPath

F = TypeVar("F", bound=Callable[..., Any])
M = TypeVar("M", bound=BaseModel)

_OPERATION_ATTRIBUTE = "__api_operation__"
_SHOWN_LENGTH = 60

JSON = "application/json"
HTML = "text/html"
TEXT = "text/plain"


class Security(StrEnum):
    """How a route without an `@authorized` policy authenticates its caller."""

    # The body is signed with the tenant's contact-center secret (X-Connector-Signature).
    CONTACT_CENTER_SIGNATURE = "contactCenterSignature"
    # Webex's delivery signature (X-WebexCC-Signature) with the tenant's subscription secret.
    WEBEX_SIGNATURE = "webexSignature"
    # No credential: a probe, Microsoft's redirects (signed state) or Graph's callbacks (clientState).
    NONE = "none"


@dataclass(frozen=True)
class Json:
    """A response with a JSON body of `model` (None: no body, as for 204)."""

    model: type[BaseModel] | None
    description: str
    # Other representations of the same answer, e.g. the HTML page a browser gets instead of JSON.
    also: tuple[str, ...] = ()
    headers: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Text:
    """A response whose body is not JSON (the Graph validation handshake echoes a token as text/plain)."""

    media_type: str
    description: str


Response = Json | Text


@dataclass(frozen=True)
class JsonBody(Generic[M]):
    """A JSON request body: the model the document shows and `read` validates with.

    A violation raises `invalid` (the area's input error, so the error code stays the area's), except a
    list longer than its cap, which is a 413 like an oversized body.
    """

    model: type[M]
    invalid: type[AppError]
    required: bool = True
    description: str = ""

    def read(self, req: func.HttpRequest) -> dict[str, Any] | None:
        """The validated body as decoded JSON; None when it is optional and absent."""
        raw = json_object(req, required=self.required)
        if raw is None:
            return None
        self.check(raw)
        return raw

    def check(self, raw: Any) -> M:
        try:
            return self.model.model_validate(raw)
        except ValidationError as failure:
            raise _input_error(failure, self.invalid) from None


@dataclass(frozen=True)
class Operation:
    summary: str
    tags: tuple[str, ...]
    responses: Mapping[int, Response]
    description: str = ""
    body: JsonBody[Any] | None = None
    path: type[RequestModel] | None = None
    query: type[RequestModel] | None = None
    # Error statuses this route answers beyond the ones every route of its kind has (shared/http/openapi.py).
    errors: Mapping[int, str] = field(default_factory=dict)
    # Only for routes without an @authorized policy: how the caller is authenticated.
    security: Security | None = None
    # The HTTP methods this declaration covers (None: all the route's methods).
    methods: tuple[str, ...] | None = None

    @property
    def path_model(self) -> type[RequestModel]:
        return self.path or TenantPath


def operation(
    *,
    summary: str,
    tags: tuple[str, ...],
    responses: Mapping[int, Response],
    description: str = "",
    body: JsonBody[Any] | None = None,
    path: type[RequestModel] | None = None,
    query: type[RequestModel] | None = None,
    errors: Mapping[int, str] | None = None,
    security: Security | None = None,
) -> Callable[[F], F]:
    """Declare the contract of the function below; the function itself is returned unchanged."""
    declared = Operation(
        summary=summary,
        tags=tags,
        responses=responses,
        description=description,
        body=body,
        path=path,
        query=query,
        errors=dict(errors or {}),
        security=security,
    )

    def attach(function: F) -> F:
        setattr(function, _OPERATION_ATTRIBUTE, declared)
        return function

    return attach


def operation_of(function: Callable[..., Any]) -> Operation | None:
    found = getattr(function, _OPERATION_ATTRIBUTE, None)
    return found if isinstance(found, Operation) else None


def _input_error(failure: ValidationError, invalid: type[AppError]) -> AppError:
    """The first violation, said the way the hand-written parsers say it (`settings.presenceSync ...`)."""
    error = failure.errors(include_url=False)[0]
    kind = error["type"]
    context = error.get("ctx") or {}
    if kind == "extra_forbidden":
        *parent, name = error["loc"]
        where = _where([part for part in parent if not _is_union_tag(part)]) or "the body"
        return invalid(f"{where} has an unknown field {_shown(name)}")
    location = [part for part in error["loc"] if not _is_union_tag(part)]
    where = _where(location) or "the body"
    if kind == "too_long" and isinstance(error.get("input"), list):
        return PayloadTooLarge(f"{where} has more than {context.get('max_length')} items; split it up")
    messages = {
        "missing": "is required",
        "bool_type": "must be true or false",
        "string_type": "must be a string",
        "int_type": "must be a whole number",
        "float_type": "must be a number",
        "list_type": "must be an array",
        "dict_type": "must be an object",
        "model_type": "must be an object",
        "model_attributes_type": "must be an object",
        "string_too_short": f"must be at least {context.get('min_length')} characters",
        "string_too_long": f"must be at most {context.get('max_length')} characters",
        "too_short": f"must have at least {context.get('min_length')} items",
        "literal_error": f"must be one of {context.get('expected')}",
        "enum": f"must be one of {context.get('expected')}",
        "union_tag_invalid": f"must have a type of {context.get('expected_tags')}",
        "union_tag_not_found": "must have a type",
        "string_pattern_mismatch": "has the wrong format",
        "greater_than_equal": f"must be at least {context.get('ge')}",
        "less_than_equal": f"must be at most {context.get('le')}",
        "none_required": "must be null",
    }
    return invalid(f"{where} {messages.get(kind, 'is not valid: ' + error['msg'])}")


def _is_union_tag(part: str | int) -> bool:
    # pydantic names the branch of a union in the location (`contactCenter.webhook.url`, `str`, ...):
    # the client never wrote it, so it is left out of the message.
    return isinstance(part, str) and (part[:1].islower() is False or "[" in part or part in _UNION_TAGS)


# Discriminator values of the request unions (contactCenter.type); see _is_union_tag.
_UNION_TAGS: set[str] = {"webexcc", "webhook", "str", "int", "bool", "none", "list", "dict"}


def _where(location: list[str | int]) -> str:
    text = ""
    for part in location:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else part)
    return text


def _shown(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=True)
    return text if len(text) <= _SHOWN_LENGTH else text[: _SHOWN_LENGTH - 3] + "..."
