"""The OpenAPI 3.1 document of the app, built from what is registered: nothing here lists a route.

For every HTTP function of the `func.FunctionApp` (as the Functions host indexes it): its route and
methods from `@bp.route`, its security from its `@authorized` policy or its declared `security`, and
the rest from its `@operation` declaration (shared/http/contract.py) with the pydantic models it names.
A function without a declaration, a route parameter its path model does not describe or a policy whose
credential has no security scheme is a `ContractError`: the completeness test fails on it, so a new
route cannot ship undescribed.

Every operation answers its declared responses plus the error statuses its kind implies, each with the
error envelope: 500 and 503 always; 400 when it takes any input; 401/403 for a policy (401 only for a
signature); 413/415 with a body; 414 with path or query parameters.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, Final, Literal

import azure.functions as func
from pydantic import BaseModel
from pydantic.json_schema import JsonSchemaMode, models_json_schema

from shared.contact_center.signatures import SIGNATURE_HEADER
from shared.contact_center.webex.contract import SIGNATURE_HEADER as WEBEX_SIGNATURE_HEADER
from shared.errors import AppError
from shared.http.auth import policy_of
from shared.http.contract import HTML, JSON, Json, Operation, Response, Security, Text, operation_of
from shared.http.schemas import ErrorEnvelope
from shared.identity.principal import AuthMethod

TITLE: Final = "Teams contact-center connector"
VERSION: Final = "0.1.0"
ROUTE_PREFIX: Final = "/api"
_REF: Final = "#/components/schemas/{model}"
_PARAMETER: Final = re.compile(r"\{\*?(?P<name>\w+)(?::[^}]*)?\??\}")
_ALL_METHODS: Final = ("GET", "POST", "PUT", "PATCH", "DELETE")

# The OpenAPI security scheme of each credential kind a policy may accept. A policy whose methods
# include a kind missing here gets no requirement for it (the console session adds its own).
SECURITY_SCHEMES: dict[AuthMethod, tuple[str, dict[str, Any]]] = {
    AuthMethod.BEARER: (
        "entraBearer",
        {
            "type": "http",
            "scheme": "bearer",
            "bearerFormat": "JWT",
            "description": "An access token of Microsoft Entra ID for the connector's API, issued in the "
            "route's tenant (README: Authentication).",
        },
    ),
    AuthMethod.SIGNATURE: (
        "contactCenterSignature",
        {
            "type": "apiKey",
            "in": "header",
            "name": SIGNATURE_HEADER,
            "description": "sha256=<hex HMAC-SHA256 keyed with the tenant's contact-center secret> of the "
            "raw body (POST), or of 'GET {path}?{query}\\n{X-Connector-Timestamp}' with the path and query "
            "as sent and the unix time in X-Connector-Timestamp (GET; 5 minutes either way).",
        },
    ),
}

# Not a policy's credential: only Webex's deliveries carry it.
WEBEX_SIGNATURE_SCHEME: Final = (
    "webexSignature",
    {
        "type": "apiKey",
        "in": "header",
        "name": WEBEX_SIGNATURE_HEADER,
        "description": "<hex HMAC-SHA256 of the raw body, keyed with the secret of the tenant's Webex "
        "subscription> (Webex sends it; README: Webex Contact Center).",
    },
)

_ERROR_TEXT: Final = {
    400: "The input is malformed or not allowed (see error.code and error.message)",
    401: "No valid credential",
    403: "The credential is valid but may not call this route in this tenant",
    413: "The body or a list in it is larger than allowed",
    414: "The URL is longer than the host takes",
    415: "The body is not application/json",
    500: "A bug: nothing was changed",
    503: "A dependency is unavailable; retry after Retry-After seconds",
}


class ContractError(AppError):
    """A registered route the document cannot describe: a programming error, caught by the tests."""

    code = "contractError"


@dataclass(frozen=True)
class HttpRoute:
    name: str
    route: str
    methods: tuple[str, ...]
    function: Callable[..., Any]


def http_routes(app: func.FunctionApp) -> list[HttpRoute]:
    """The app's HTTP functions as the host indexes them (without the duplicate-name bookkeeping of
    get_functions(), which refuses a second call)."""
    routes = []
    builders: list[Any] = app._function_builders  # the only listing azure-functions has
    for builder in builders:
        function: func.decorators.core.Function = builder.build(app.auth_level)  # type: ignore[name-defined]
        trigger: Any = function.get_trigger()
        if trigger is None or str(trigger.type) != "httpTrigger":
            continue
        methods = tuple(str(getattr(m, "value", m)).upper() for m in trigger.methods or ()) or _ALL_METHODS
        routes.append(
            HttpRoute(
                name=function.get_function_name(),
                route=str(trigger.route or function.get_function_name()),
                methods=methods,
                function=function.get_user_function(),
            )
        )
    return routes


def openapi_document(app: func.FunctionApp) -> dict[str, Any]:
    routes = http_routes(app)
    declared = [(route, _declaration(route)) for route in routes]
    schemas = _Schemas(declared)
    paths: dict[str, dict[str, Any]] = {}
    used_schemes: dict[str, dict[str, Any]] = {}
    for route, op in declared:
        item = paths.setdefault(_path(route.route), {})
        parameters = _parameters(route, op, schemas)
        for method in route.methods:
            security = _security(route, op)
            for name in security:
                used_schemes[name] = _scheme(name)
            item[method.lower()] = _operation(route, op, method, parameters, security, schemas)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": TITLE,
            "version": VERSION,
            "description": "The HTTP API of the connector. Errors are always "
            '{"error": {"code", "message"}}; README lists every code.',
        },
        "servers": [{"url": ROUTE_PREFIX}],
        "paths": dict(sorted(paths.items())),
        "components": {"schemas": schemas.components, "securitySchemes": used_schemes},
    }


def _declaration(route: HttpRoute) -> Operation:
    op = operation_of(route.function)
    if op is None:
        raise ContractError(
            f"function {route.name} ({route.route}) has no @operation(...) declaration "
            "(shared/http/contract.py): describe it under its @bp.route"
        )
    has_policy = policy_of(route.function) is not None
    if has_policy == (op.security is not None):
        raise ContractError(
            f"function {route.name}: declare security= exactly when the route has no @authorized policy"
        )
    return op


def _path(route: str) -> str:
    return "/" + _PARAMETER.sub(lambda m: "{" + m.group("name") + "}", route.strip("/"))


def _security(route: HttpRoute, op: Operation) -> dict[str, list[str]]:
    policy = policy_of(route.function)
    if policy is not None:
        return {SECURITY_SCHEMES[m][0]: [] for m in sorted(policy.methods) if m in SECURITY_SCHEMES}
    if op.security is Security.CONTACT_CENTER_SIGNATURE:
        return {SECURITY_SCHEMES[AuthMethod.SIGNATURE][0]: []}
    if op.security is Security.WEBEX_SIGNATURE:
        return {WEBEX_SIGNATURE_SCHEME[0]: []}
    return {}


def _scheme(name: str) -> dict[str, Any]:
    if name == WEBEX_SIGNATURE_SCHEME[0]:
        return WEBEX_SIGNATURE_SCHEME[1]
    return next(scheme for scheme_name, scheme in SECURITY_SCHEMES.values() if scheme_name == name)


def _parameters(route: HttpRoute, op: Operation, schemas: _Schemas) -> list[dict[str, Any]]:
    names = [m.group("name") for m in _PARAMETER.finditer(route.route)]
    parameters: list[dict[str, Any]] = []
    if names:
        described = schemas.properties(op.path_model)
        missing = [name for name in names if name not in described]
        extra = [name for name in described if name not in names]
        if missing or extra:
            raise ContractError(
                f"function {route.name}: the path model {op.path_model.__name__} must describe exactly "
                f"{names} (missing {missing}, not in the route {extra})"
            )
        parameters += [
            {"name": name, "in": "path", "required": True, **_documented(described[name])} for name in names
        ]
    if op.query is not None:
        required = set(schemas.required(op.query))
        parameters += [
            {"name": name, "in": "query", "required": name in required, **_documented(schema)}
            for name, schema in schemas.properties(op.query).items()
        ]
    return parameters


def _documented(schema: dict[str, Any]) -> dict[str, Any]:
    """A parameter object's description beside its schema, as OpenAPI places it."""
    body = dict(schema)
    description = body.pop("description", None)
    body.pop("title", None)
    return {"schema": body, **({"description": description} if description else {})}


def _operation(
    route: HttpRoute,
    op: Operation,
    method: str,
    parameters: list[dict[str, Any]],
    security: dict[str, list[str]],
    schemas: _Schemas,
) -> dict[str, Any]:
    head = method == "HEAD"
    many = len(route.methods) > 1
    answer: dict[str, Any] = {
        "operationId": f"{route.name}_{method.lower()}" if many else route.name,
        "summary": op.summary,
        "tags": list(op.tags),
        "security": [{name: scopes} for name, scopes in security.items()],
        "responses": {},
    }
    if op.description:
        answer["description"] = op.description
    policy = policy_of(route.function)
    if policy is not None:
        answer["x-policy"] = policy.name
    if parameters:
        answer["parameters"] = parameters
    if op.body is not None and method in ("POST", "PUT", "PATCH"):
        answer["requestBody"] = {
            "required": op.body.required,
            "content": {JSON: {"schema": schemas.ref(op.body.model, "validation")}},
            **({"description": op.body.description} if op.body.description else {}),
        }
    responses: dict[int, Response] = dict(op.responses)
    for status, text in _errors(op, parameters, security).items():
        responses.setdefault(status, Json(ErrorEnvelope, text, also=_html_also(op)))
    for status in sorted(responses):
        answer["responses"][str(status)] = _response(responses[status], status, schemas, head=head)
    return answer


def _html_also(op: Operation) -> tuple[str, ...]:
    # A route that answers browsers with HTML pages does so for its errors too.
    return (HTML,) if any(isinstance(r, Json) and HTML in r.also for r in op.responses.values()) else ()


def _errors(
    op: Operation, parameters: list[dict[str, Any]], security: dict[str, list[str]]
) -> dict[int, str]:
    statuses = {500: _ERROR_TEXT[500], 503: _ERROR_TEXT[503]}
    if parameters or op.body is not None:
        statuses[400] = _ERROR_TEXT[400]
    if parameters:
        statuses[414] = _ERROR_TEXT[414]
    if security:
        statuses[401] = _ERROR_TEXT[401]
    if any(name == SECURITY_SCHEMES[AuthMethod.BEARER][0] for name in security):
        statuses[403] = _ERROR_TEXT[403]
    if op.body is not None:
        statuses[413] = _ERROR_TEXT[413]
        statuses[415] = _ERROR_TEXT[415]
    return {**statuses, **op.errors}


def _response(response: Response, status: int, schemas: _Schemas, *, head: bool) -> dict[str, Any]:
    if isinstance(response, Text):
        return {
            "description": response.description,
            "content": {response.media_type: {"schema": {"type": "string"}}},
        }
    body: dict[str, Any] = {"description": response.description}
    headers = dict(response.headers)
    if status == 401:
        headers.setdefault("WWW-Authenticate", 'The challenge: Bearer error="invalid_token" (RFC 6750)')
    if status == 503:
        headers.setdefault("Retry-After", "Seconds to wait before retrying")
    if headers:
        body["headers"] = {
            name: {"description": text, "schema": {"type": "string"}} for name, text in headers.items()
        }
    if response.model is None or head:
        return body
    content: dict[str, Any] = {JSON: {"schema": schemas.ref(response.model, "serialization")}}
    for media_type in response.also:
        content[media_type] = {"schema": {"type": "string"}}
    body["content"] = content
    return body


class _Schemas:
    """The JSON schemas of every model the declarations name, as OpenAPI components."""

    def __init__(self, declared: list[tuple[HttpRoute, Operation]]) -> None:
        wanted: dict[tuple[type[BaseModel], JsonSchemaMode], None] = {}
        for _route, op in declared:
            for model, mode in _models(op):
                wanted[(model, mode)] = None
        wanted[(ErrorEnvelope, "serialization")] = None
        keys, top = models_json_schema(list(wanted), ref_template=_REF)
        self._refs = keys
        self.components: dict[str, Any] = dict(sorted(top.get("$defs", {}).items()))

    def ref(self, model: type[BaseModel], mode: JsonSchemaMode) -> dict[str, Any]:
        return dict(self._refs[(model, mode)])

    def _resolved(self, model: type[BaseModel]) -> dict[str, Any]:
        reference = self.ref(model, "validation")["$ref"]
        resolved: dict[str, Any] = self.components[reference.rsplit("/", 1)[-1]]
        return resolved

    def properties(self, model: type[BaseModel]) -> dict[str, dict[str, Any]]:
        properties: dict[str, dict[str, Any]] = self._resolved(model).get("properties", {})
        return properties

    def required(self, model: type[BaseModel]) -> list[str]:
        required: list[str] = self._resolved(model).get("required", [])
        return required


def _models(op: Operation) -> Iterator[tuple[type[BaseModel], Literal["validation", "serialization"]]]:
    yield op.path_model, "validation"
    if op.query is not None:
        yield op.query, "validation"
    if op.body is not None:
        yield op.body.model, "validation"
    for response in op.responses.values():
        if isinstance(response, Json) and response.model is not None:
            yield response.model, "serialization"
