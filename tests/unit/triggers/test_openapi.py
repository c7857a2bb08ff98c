"""The OpenAPI document describes every registered HTTP route, and the request models are what the
routes validate with.

The routes are read from `function_app.app.get_functions()` (the host's own index, the same walk as the
route-protection test), never from a list kept here: a route any branch adds without an `@operation`
declaration, a method, a path parameter or the security it has fails these tests.
"""

from __future__ import annotations

import json
import re
from typing import Any

import azure.functions as func
import pytest
from pydantic import BaseModel, Field

from shared.agents.exceptions import InvalidAgentInput
from shared.agents.schemas import IMPORT_BODY
from shared.connectors.exceptions import InvalidConnectorInput
from shared.connectors.schemas import CREATE_BODY, UPDATE_BODY
from shared.http.auth import policy_of
from shared.http.contract import Json, JsonBody, Security, operation, operation_of
from shared.http.exceptions import PayloadTooLarge
from shared.http.openapi import SECURITY_SCHEMES, ContractError, openapi_document
from shared.http.schemas import RequestModel
from shared.mappings.exceptions import InvalidMapping
from shared.mappings.schemas import PUT_BODY as MAPPINGS_BODY
from shared.triggers import openapi_api
from tests.unit.triggers.test_route_protection import ROUTES, Route, registered_http_routes

_PARAMETER = re.compile(r"\{\*?(?P<name>\w+)[^}]*\}")


def _app() -> func.FunctionApp:
    import function_app

    registered_http_routes()  # sets the example settings and imports function_app
    return function_app.app


DOCUMENT = openapi_document(_app())


def _path_of(route: Route) -> str:
    return "/" + _PARAMETER.sub(lambda m: "{" + m.group("name") + "}", route.route)


def _resolve(schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        schema = DOCUMENT["components"]["schemas"][schema["$ref"].rsplit("/", 1)[-1]]
    return schema


def test_there_are_routes_to_describe() -> None:
    assert len(ROUTES) >= 20
    assert DOCUMENT["openapi"].startswith("3.1.")


@pytest.mark.parametrize(("route", "method"), [(r, m) for r in ROUTES for m in r.methods], ids=str)
def test_every_registered_route_and_method_is_described(route: Route, method: str) -> None:
    operation = DOCUMENT["paths"].get(_path_of(route), {}).get(method.lower())
    assert operation is not None, f"{method} /api/{route.route} ({route.name}) is not in the document"
    assert operation["operationId"].startswith(route.name)
    declared = {p["name"] for p in operation.get("parameters", []) if p["in"] == "path"}
    assert declared == {m.group("name") for m in _PARAMETER.finditer(route.route)}
    own = operation_of(route.function)
    assert own is not None
    for status, response in operation["responses"].items():
        # Every error answer is the envelope, unless the route declares its own body for it (health's 503).
        if int(status) >= 400 and int(status) not in own.responses and method != "HEAD":
            schema = response["content"]["application/json"]["schema"]
            assert schema == {"$ref": "#/components/schemas/ErrorEnvelope"}, (route.name, status)


@pytest.mark.parametrize("route", ROUTES, ids=lambda r: r.name)
def test_security_follows_the_routes_policy(route: Route) -> None:
    for method in route.methods:
        operation = DOCUMENT["paths"][_path_of(route)][method.lower()]
        schemes = {name for requirement in operation["security"] for name in requirement}
        policy = policy_of(route.function)
        if policy is not None:
            # Each credential kind the policy accepts is one alternative (the directory also takes the
            # contact center's signed GET); every policy takes the Entra bearer token.
            assert schemes == {SECURITY_SCHEMES[m][0] for m in policy.methods if m in SECURITY_SCHEMES}
            assert "entraBearer" in schemes
            assert len(operation["security"]) == len(schemes)
            assert {"401", "403"} <= set(operation["responses"])
        elif route.name == "contact_center_events":
            assert schemes == {"contactCenterSignature"}
            assert "401" in operation["responses"]
        elif route.name == "webex_events":
            assert schemes == {"webexSignature"}
            assert "401" in operation["responses"]
        else:
            assert schemes == set(), f"{route.name} is anonymous: security must be []"


def test_the_document_is_served_anonymously_as_json() -> None:
    openapi_api.document_text.cache_clear()
    request = func.HttpRequest("GET", "http://127.0.0.1:7071/api/openapi.json", headers={}, body=b"")
    response = openapi_api.openapi(request)
    assert response.status_code == 200
    assert response.mimetype == "application/json"
    assert json.loads(response.get_body()) == DOCUMENT


def test_the_document_passes_schemathesis_loading() -> None:
    import schemathesis
    from schemathesis.core.result import Err

    results = list(schemathesis.openapi.from_dict(DOCUMENT).get_all_operations())
    assert [r for r in results if isinstance(r, Err)] == []
    assert len(results) == sum(len(item) for item in DOCUMENT["paths"].values())


def test_a_route_without_a_declaration_fails_the_document() -> None:
    app = func.FunctionApp(http_auth_level=func.AuthLevel.ANONYMOUS)
    bp = func.Blueprint()

    @bp.function_name("undescribed")
    @bp.route(route="things", methods=["GET"], auth_level=func.AuthLevel.ANONYMOUS)
    def undescribed(req: func.HttpRequest) -> func.HttpResponse:
        return func.HttpResponse("")

    app.register_functions(bp)
    with pytest.raises(ContractError, match="undescribed"):
        openapi_document(app)


def test_a_path_parameter_the_model_does_not_describe_fails_the_document() -> None:
    app = func.FunctionApp(http_auth_level=func.AuthLevel.ANONYMOUS)
    bp = func.Blueprint()

    @bp.function_name("thing")
    @bp.route(
        route="tenants/{tenantId}/things/{thingId}", methods=["GET"], auth_level=func.AuthLevel.ANONYMOUS
    )
    @operation(summary="a thing", tags=("x",), security=Security.NONE, responses={204: Json(None, "ok")})
    def thing(req: func.HttpRequest) -> func.HttpResponse:
        return func.HttpResponse("")

    app.register_functions(bp)
    with pytest.raises(ContractError, match="thingId"):
        openapi_document(app)


def test_the_request_bodies_in_the_document_are_the_models_the_routes_read() -> None:
    operations = {
        op["operationId"]: op
        for item in DOCUMENT["paths"].values()
        for op in item.values()
        if "operationId" in op
    }
    expected: dict[str, type[BaseModel]] = {
        "create_connector": CREATE_BODY.model,
        "update_connector": UPDATE_BODY.model,
        "import_agents": IMPORT_BODY.model,
        "put_presence_mappings": MAPPINGS_BODY.model,
    }
    for operation_id, model in expected.items():
        schema = operations[operation_id]["requestBody"]["content"]["application/json"]["schema"]
        assert schema == {"$ref": f"#/components/schemas/{model.__name__}"}
        assert _resolve(schema)["additionalProperties"] is False


class _Sample(RequestModel):
    name: str
    count: int = 0
    flag: bool = False
    items: list[int] = Field(default_factory=list)


_SAMPLE = JsonBody(_Sample, InvalidConnectorInput)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({}, "name is required"),
        ({"name": 1}, "name must be a string"),
        ({"name": "a", "count": "1"}, "count must be a whole number"),
        ({"name": "a", "count": True}, "count must be a whole number"),
        ({"name": "a", "flag": "yes"}, "flag must be true or false"),
        ({"name": "a", "nmae": "b"}, 'the body has an unknown field "nmae"'),
        ({"name": "a", "items": [1, "x"]}, "items[1] must be a whole number"),
    ],
)
def test_a_model_violation_is_the_areas_400_naming_the_field(body: dict[str, Any], message: str) -> None:
    with pytest.raises(InvalidConnectorInput) as raised:
        _SAMPLE.check(body)
    assert raised.value.message == message


def test_violations_keep_the_error_code_of_their_area() -> None:
    with pytest.raises(InvalidConnectorInput, match=r'settings has an unknown field "x"'):
        UPDATE_BODY.check({"settings": {"x": 1}})
    with pytest.raises(InvalidConnectorInput, match=r"contactCenter.url must be a string"):
        UPDATE_BODY.check({"contactCenter": {"type": "webhook", "url": 5}})
    with pytest.raises(InvalidAgentInput, match=r"agents must have at least 1 items"):
        IMPORT_BODY.check({"agents": []})
    with pytest.raises(InvalidMapping, match=r"teamsToContactCenter\[0\].idleCodeId is required"):
        MAPPINGS_BODY.check(
            {"teamsToContactCenter": [{"availability": "Busy", "activity": "*"}], "contactCenterToTeams": []}
        )


def test_a_list_over_its_cap_is_a_413() -> None:
    with pytest.raises(PayloadTooLarge, match="teamsToContactCenter has more than 100 items"):
        MAPPINGS_BODY.check({"teamsToContactCenter": [{}] * 101, "contactCenterToTeams": []})
