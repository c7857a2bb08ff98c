"""The presence-mappings blueprint called directly, with the service wired to fakes: status codes, the
JSON shapes, ETag / If-Match, and that bad input gets a 4xx envelope and changes nothing."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime
from types import SimpleNamespace
from typing import Any, cast

import azure.functions as func
import pytest

from shared.bootstrap import Services, use_services
from shared.connectors.model import Connector, ConnectorSettings, ConnectorStatus
from shared.http import errors
from shared.mappings.exceptions import InvalidMapping, StaleMappings
from shared.mappings.service import PresenceMappingService
from shared.triggers import presence_mappings_api
from tests.fakes import FakeAuditLog, FakeClock, FakeConnectorRepository
from tests.support.identity import AdminTokens
from tests.unit.mappings.fakes import FakeMappingRepository, RecordingCache

TENANT = "72f988bf-86f1-41af-91ab-2d7cd011db47"
ROUTE = f"tenants/{TENANT}/presence-mappings"
TOKENS = AdminTokens()
BODY: dict[str, Any] = {
    "teamsToContactCenter": [
        {"availability": "DoNotDisturb", "activity": "*", "idleCodeId": "aux-7", "idleCodeName": "Focus"}
    ],
    "contactCenterToTeams": [{"agentState": "onCall", "availability": "Busy", "activity": "InACall"}],
}


class Wired:
    def __init__(self) -> None:
        self.clock = FakeClock()
        self.repo = FakeMappingRepository()
        self.connectors = FakeConnectorRepository()
        self.cache = RecordingCache()
        service = PresenceMappingService(self.repo, self.connectors, self.cache, FakeAuditLog(), self.clock)
        # Only the part of the container this blueprint uses.
        use_services(
            cast(Services, SimpleNamespace(presence_mappings=service, authenticator=TOKENS.authenticator()))
        )

    def connector(self, status: ConnectorStatus = ConnectorStatus.ACTIVE) -> None:
        now: datetime = self.clock()
        self.connectors.add(Connector(TENANT, status, ConnectorSettings(), None, now, now))


@pytest.fixture
def wired(monkeypatch: pytest.MonkeyPatch) -> Iterator[Wired]:
    # The statuses this feature asks shared/http/errors.py for (idempotent once the table has them).
    monkeypatch.setitem(errors.STATUS_BY_ERROR, InvalidMapping, 400)
    monkeypatch.setitem(errors.STATUS_BY_ERROR, StaleMappings, 412)
    yield Wired()
    use_services(None)


def request(
    method: str, *, body: Any = None, headers: dict[str, str] | None = None, tenant: str = TENANT
) -> func.HttpRequest:
    raw = body if isinstance(body, bytes) else (b"" if body is None else json.dumps(body).encode())
    return func.HttpRequest(
        method,
        f"http://127.0.0.1:7071/api/{ROUTE}",
        headers={
            "content-type": "application/json",
            **TOKENS.route_headers(tenant, TENANT),
            **(headers or {}),
        },
        params={},
        route_params={"tenantId": tenant},
        body=raw,
    )


def get(req: func.HttpRequest) -> func.HttpResponse:
    response: func.HttpResponse = presence_mappings_api.get_presence_mappings(req)
    return response


def put(req: func.HttpRequest) -> func.HttpResponse:
    response: func.HttpResponse = presence_mappings_api.put_presence_mappings(req)
    return response


def payload(response: func.HttpResponse) -> Any:
    return json.loads(response.get_body())


def test_get_shows_the_defaults_with_their_etag(wired: Wired) -> None:
    # GIVEN a connector that never stored mappings
    wired.connector()
    # WHEN its mappings are read
    response = get(request("GET"))
    # THEN the defaults come back, marked as such, with the defaults' version
    assert response.status_code == 200
    body = payload(response)
    assert body["isDefault"] is True
    assert response.headers["ETag"] == 'W/"defaults"'
    assert {"availability": "DoNotDisturb", "activity": "*", "idleCodeId": "teams-dnd"}.items() <= body[
        "teamsToContactCenter"
    ][0].items()
    assert body["contactCenterToTeams"] == [
        {"agentState": "onCall", "availability": "Busy", "activity": "InACall"}
    ]


def test_put_stores_and_answers_200_with_the_stored_mappings_and_etag(wired: Wired) -> None:
    wired.connector()
    response = put(request("PUT", body=BODY))
    assert response.status_code == 200
    # (wired without a contact center to ask: the idle codes are not checked, and the answer says so)
    assert payload(response) == {**BODY, "isDefault": False, "idleCodesChecked": False, "idleCodesNote": None}
    assert response.headers["ETag"] == wired.repo.rows[TENANT].etag
    # AND GET shows the same, with the same version
    again = get(request("GET"))
    assert payload(again) == {**BODY, "isDefault": False}
    assert again.headers["ETag"] == response.headers["ETag"]


def test_put_with_a_stale_if_match_is_412_and_changes_nothing(wired: Wired) -> None:
    # GIVEN mappings stored twice
    wired.connector()
    first = put(request("PUT", body=BODY)).headers["ETag"]
    put(request("PUT", body={**BODY, "contactCenterToTeams": []}, headers={"If-Match": first}))
    stored = wired.repo.rows[TENANT]
    # WHEN someone still holding the first version writes
    response = put(request("PUT", body=BODY, headers={"If-Match": first}))
    # THEN 412 and the stored mappings stay
    assert response.status_code == 412
    assert payload(response)["error"]["code"] == "preconditionFailed"
    assert wired.repo.rows[TENANT] == stored


def test_put_over_the_defaults_with_their_etag_works_once(wired: Wired) -> None:
    wired.connector()
    etag = get(request("GET")).headers["ETag"]
    assert put(request("PUT", body=BODY, headers={"If-Match": etag})).status_code == 200
    assert put(request("PUT", body=BODY, headers={"If-Match": etag})).status_code == 412


@pytest.mark.parametrize(
    ("body", "status", "code", "message"),
    [
        ({**BODY, "isDefault": False}, 400, "invalidMapping", 'the body has an unknown field "isDefault"'),
        (
            {**BODY, "teamsToContactCenter": [{**BODY["teamsToContactCenter"][0], "availability": "dnd"}]},
            400,
            "invalidMapping",
            "teamsToContactCenter[0].availability must be one of Graph's availability values",
        ),
        (
            {
                **BODY,
                "contactCenterToTeams": [
                    {"agentState": "available", "availability": "Away", "activity": "Away"}
                ],
            },
            400,
            "invalidMapping",
            "contactCenterToTeams[0].agentState available cannot be mapped",
        ),
        (b"{not json", 400, "malformedJson", "the body is not valid JSON"),
        (b"", 400, "malformedJson", "a JSON object body is required"),
        ([BODY], 400, "malformedJson", "the body must be a JSON object"),
    ],
)
def test_bad_bodies_get_a_4xx_envelope_and_change_nothing(
    wired: Wired, body: Any, status: int, code: str, message: str
) -> None:
    wired.connector()
    response = put(request("PUT", body=body))
    assert response.status_code == status
    error = payload(response)["error"]
    assert error["code"] == code
    assert error["message"].startswith(message)
    assert wired.repo.rows == {}
    assert wired.cache.invalidated == []


def test_a_non_json_content_type_is_415(wired: Wired) -> None:
    wired.connector()
    response = put(request("PUT", body=BODY, headers={"content-type": "text/plain"}))
    assert response.status_code == 415
    assert wired.repo.rows == {}


@pytest.mark.parametrize("method", ["GET", "PUT"])
def test_an_unknown_connector_is_404(wired: Wired, method: str) -> None:
    handler = get if method == "GET" else put
    response = handler(request(method, body=BODY if method == "PUT" else None))
    assert response.status_code == 404
    assert payload(response)["error"]["code"] == "connectorNotFound"


@pytest.mark.parametrize("method", ["GET", "PUT"])
def test_a_connector_being_deleted_is_409(wired: Wired, method: str) -> None:
    wired.connector(ConnectorStatus.DELETING)
    handler = get if method == "GET" else put
    response = handler(request(method, body=BODY if method == "PUT" else None))
    assert response.status_code == 409
    assert payload(response)["error"]["code"] == "invalidStatus"
    assert wired.repo.rows == {}


@pytest.mark.parametrize("tenant", ["contoso.com", "a/b", "72f988bf-86f1-41af-91ab-2d7cd011db47\n"])
def test_a_tenant_id_that_is_not_a_guid_is_400(wired: Wired, tenant: str) -> None:
    response = get(request("GET", tenant=tenant))
    assert response.status_code == 400
    assert payload(response)["error"]["code"] == "invalidRequest"


def http_trigger_of(function: func.Function) -> tuple[str, list[str], func.AuthLevel]:
    trigger: Any = function.get_trigger()
    return trigger.route, [str(method.value) for method in trigger.methods], trigger.auth_level


def test_the_routes_are_registered_without_function_keys() -> None:
    app = func.FunctionApp()
    app.register_functions(presence_mappings_api.bp)
    routes = {function.get_function_name(): http_trigger_of(function) for function in app.get_functions()}
    assert routes == {
        "get_presence_mappings": ("tenants/{tenantId}/presence-mappings", ["GET"], func.AuthLevel.ANONYMOUS),
        "put_presence_mappings": ("tenants/{tenantId}/presence-mappings", ["PUT"], func.AuthLevel.ANONYMOUS),
    }
