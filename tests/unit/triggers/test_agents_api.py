"""The agents blueprint called directly, with the roster service wired to fakes: routes, status codes,
JSON shapes, and that every bad input is a 4xx envelope that changes nothing."""

from __future__ import annotations

import json
from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any, cast

import azure.functions as func
import pytest

from devstack.function_index import HttpFunction, index_functions
from devstack.routing import RouteMatch, RouteTable
from shared.agents import exceptions as agent_errors
from shared.agents.model import SeenPresence
from shared.agents.service import AgentService
from shared.bootstrap import Services, use_services
from shared.connectors.exceptions import ConnectorNotActive
from shared.connectors.model import Connector, ConnectorSettings, ConnectorStatus
from shared.errors import AppError
from shared.graph.exceptions import GraphThrottled, GraphUnavailable
from shared.http import errors as http_errors
from shared.triggers import agents_api
from tests.fakes import FakeClock, FakeConnectorRepository
from tests.support.identity import AdminTokens
from tests.unit.agents.fakes import FakeAgentRepository, FakeCoverage, FakeDirectory, RecordingListener

TENANT = "72f988bf-86f1-41af-91ab-2d7cd011db47"
ANN = "6e7b768e-07e2-4810-8459-485f84f8f204"
BOB = "0d6c2f5a-1b3e-4c7d-9e8f-a1b2c3d4e5f6"
TOKENS = AdminTokens()

# The statuses this API relies on (the integrator registers them in shared/http/errors.py).
AGENT_STATUSES: dict[type[AppError], int] = {
    agent_errors.InvalidAgentInput: 400,
    agent_errors.AgentNotFound: 404,
    agent_errors.UserNotFound: 404,
    agent_errors.UserAlreadyAssigned: 409,
    ConnectorNotActive: 409,
    agent_errors.ConnectorDeleting: 409,
    agent_errors.ConcurrentAgentChange: 409,
    agent_errors.UserLookupFailed: 502,
    GraphUnavailable: 503,
    GraphThrottled: 503,
}


class Wired:
    def __init__(self) -> None:
        self.clock = FakeClock()
        self.connectors = FakeConnectorRepository()
        self.repo = FakeAgentRepository()
        self.directory = FakeDirectory()
        self.directory.add(ANN, "ann@contoso.com", "Ann Lee")
        self.directory.add(BOB, "bob@contoso.com", "Bob Ray")
        self.coverage = FakeCoverage()
        self.listener = RecordingListener()
        self.set_status(ConnectorStatus.ACTIVE)
        service = AgentService(
            self.repo, self.directory, self.connectors, self.coverage, self.listener, self.clock
        )
        # Until bootstrap's Services has its `agents` field, a stand-in carries the service.
        use_services(cast(Services, SimpleNamespace(agents=service, authenticator=TOKENS.authenticator())))

    def set_status(self, status: ConnectorStatus) -> None:
        now = self.clock()
        self.connectors.rows[TENANT] = Connector(TENANT, status, ConnectorSettings(), None, now, now)


@pytest.fixture
def wired(monkeypatch: pytest.MonkeyPatch) -> Iterator[Wired]:
    for error, status in AGENT_STATUSES.items():
        if error not in http_errors.STATUS_BY_ERROR:
            monkeypatch.setitem(http_errors.STATUS_BY_ERROR, error, status)
    yield Wired()
    use_services(None)


def request(
    method: str,
    *,
    agent_id: str | None = None,
    body: Any = None,
    params: dict[str, str] | None = None,
    tenant: str = TENANT,
) -> func.HttpRequest:
    raw = body if isinstance(body, bytes) else (b"" if body is None else json.dumps(body).encode())
    route_params = {"tenantId": tenant}
    if agent_id is not None:
        route_params["agentId"] = agent_id
    return func.HttpRequest(
        method,
        f"http://127.0.0.1:7071/api/tenants/{tenant}/agents",
        headers={"content-type": "application/json", **TOKENS.route_headers(tenant, TENANT)},
        params=params or {},
        route_params=route_params,
        body=raw,
    )


def payload(response: func.HttpResponse) -> Any:
    return json.loads(response.get_body())


def call(function: Any, req: func.HttpRequest) -> func.HttpResponse:
    result: func.HttpResponse = function(req)
    return result


def put(agent_id: str, body: Any, tenant: str = TENANT) -> func.HttpResponse:
    return call(agents_api.put_agent, request("PUT", agent_id=agent_id, body=body, tenant=tenant))


@pytest.mark.parametrize(
    ("method", "path", "function", "agent_id"),
    [
        ("PUT", f"/api/tenants/{TENANT}/agents/ann@contoso.com", "put_agent", "ann@contoso.com"),
        ("PUT", f"/api/tenants/{TENANT}/agents/import", "put_agent", "import"),
        ("POST", f"/api/tenants/{TENANT}/agents/import", "import_agents", None),
        ("GET", f"/api/tenants/{TENANT}/agents", "list_agents", None),
        ("DELETE", f"/api/tenants/{TENANT}/agents/cc:42", "delete_agent", "cc:42"),
    ],
)
def test_routes_resolve_as_the_functions_host_would(
    method: str, path: str, function: str, agent_id: str | None
) -> None:
    # GIVEN the blueprint indexed like the host indexes it
    app = func.FunctionApp(http_auth_level=func.AuthLevel.FUNCTION)
    app.register_functions(agents_api.bp)
    index = index_functions(app)
    table: RouteTable[HttpFunction] = RouteTable()
    for http_function in index.http:
        table.add(http_function.route, http_function.methods, http_function)
    # WHEN a request arrives
    match = table.resolve(method, path)
    # THEN it reaches the right function, with no function key (the admin's token is the authentication)
    # and the agent id from the path
    assert isinstance(match, RouteMatch)
    assert match.target.name == function
    assert match.target.auth_level.lower() == "anonymous"
    assert match.route_params.get("agentId") == agent_id
    assert match.route_params["tenantId"] == TENANT


def test_put_answers_201_then_200(wired: Wired) -> None:
    # WHEN an agent is added
    created = put("agent-1", {"userPrincipalName": "ann@contoso.com"})
    # THEN 201 with the agent as GET shows it
    assert created.status_code == 201
    assert payload(created) == {
        "agentId": "agent-1",
        "userId": ANN,
        "userPrincipalName": "ann@contoso.com",
        "displayName": "Ann Lee",
        "groupId": "default",
        "subscribed": False,
        "lastPresence": None,
        "createdAt": "2026-11-21T09:00:00Z",
        "updatedAt": "2026-11-21T09:00:00Z",
    }
    # AND the same PUT again is a 200 that changed nothing
    again = put("agent-1", {"userId": ANN})
    assert again.status_code == 200
    assert payload(again)["userId"] == ANN
    assert wired.listener.changes == [TENANT]


@pytest.mark.parametrize(
    ("agent_id", "body", "tenant", "status", "code"),
    [
        ("agent-1", {"userId": ANN, "userPrincipalName": "ann@contoso.com"}, TENANT, 400, "invalidRequest"),
        ("agent-1", {}, TENANT, 400, "invalidRequest"),
        ("agent-1", {"userId": "ann"}, TENANT, 400, "invalidRequest"),
        ("agent-1", {"userId": ANN, "role": "x"}, TENANT, 400, "invalidRequest"),
        ("agent-1", None, TENANT, 400, "malformedJson"),
        ("agent-1", b"{oops", TENANT, 400, "malformedJson"),
        ("agent-1", [ANN], TENANT, 400, "malformedJson"),
        ("a/b", {"userId": ANN}, TENANT, 400, "invalidRequest"),
        ("x" * 129, {"userId": ANN}, TENANT, 400, "invalidRequest"),
        ("agent-1", {"userId": ANN}, "contoso.com", 400, "invalidRequest"),
        ("agent-1", {"userPrincipalName": "nobody@contoso.com"}, TENANT, 404, "userNotFound"),
        ("agent-1", {"userId": ANN}, "11111111-2222-3333-4444-555555555555", 404, "connectorNotFound"),
    ],
)
def test_bad_puts_get_an_error_envelope_and_change_nothing(
    wired: Wired, agent_id: str, body: Any, tenant: str, status: int, code: str
) -> None:
    response = put(agent_id, body, tenant)
    assert response.status_code == status
    error = payload(response)["error"]
    assert error["code"] == code
    assert error["message"]
    assert wired.repo.agents == {}
    assert wired.listener.changes == []


def test_a_user_of_another_agent_is_409_naming_it(wired: Wired) -> None:
    put("agent-a", {"userId": ANN})
    response = put("agent-b", {"userId": ANN})
    assert response.status_code == 409
    assert payload(response)["error"]["code"] == "userAlreadyAssigned"
    assert "agent-a" in payload(response)["error"]["message"]


def test_a_name_before_consent_is_409_with_advice(wired: Wired) -> None:
    wired.set_status(ConnectorStatus.PENDING_CONSENT)
    response = put("agent-1", {"userPrincipalName": "ann@contoso.com"})
    assert response.status_code == 409
    assert payload(response)["error"]["code"] == "connectorNotActive"
    assert "userId" in payload(response)["error"]["message"]
    assert put("agent-1", {"userId": ANN}).status_code == 201


def test_graph_down_on_a_name_is_a_503(wired: Wired) -> None:
    wired.directory.failure = GraphUnavailable("Graph timed out")
    response = put("agent-1", {"userPrincipalName": "ann@contoso.com"})
    assert response.status_code == 503
    assert response.headers["Retry-After"]
    assert wired.repo.agents == {}


def test_import_answers_200_with_a_result_per_item(wired: Wired) -> None:
    body = {
        "agents": [
            {"agentId": "agent-1", "userId": ANN},
            {"agentId": "agent-2", "userPrincipalName": "nobody@contoso.com"},
            {"agentId": "agent-3", "userPrincipalName": "bob@contoso.com"},
        ]
    }
    response = call(agents_api.import_agents, request("POST", body=body))
    assert response.status_code == 200
    assert payload(response) == {
        "results": [
            {"agentId": "agent-1", "status": "created"},
            {
                "agentId": "agent-2",
                "status": "failed",
                "error": {
                    "code": "userNotFound",
                    "message": f"the directory of tenant {TENANT} has no user nobody@contoso.com",
                },
            },
            {"agentId": "agent-3", "status": "created"},
        ],
        "summary": {"created": 2, "updated": 0, "unchanged": 0, "failed": 1},
    }
    assert wired.listener.changes == [TENANT]


def test_an_import_of_too_many_agents_is_a_413(wired: Wired) -> None:
    body = {"agents": [{"agentId": f"a{i}", "userId": ANN} for i in range(1001)]}
    response = call(agents_api.import_agents, request("POST", body=body))
    assert response.status_code == 413
    assert payload(response)["error"]["code"] == "tooManyAgents"
    assert wired.repo.agents == {}


def test_list_pages_with_limit_and_cursor(wired: Wired) -> None:
    # GIVEN two agents, Bob subscribed with a presence seen
    put("agent-1", {"userId": ANN})
    put("agent-2", {"userId": BOB})
    wired.coverage.subscribed.add(BOB)
    wired.repo.presences[(TENANT, BOB)] = SeenPresence(
        "Busy", "InACall", "00A1", wired.clock(), wired.clock()
    )
    # WHEN read one at a time
    first = call(agents_api.list_agents, request("GET", params={"limit": "1"}))
    cursor = payload(first)["nextCursor"]
    second = call(agents_api.list_agents, request("GET", params={"limit": "1", "cursor": cursor}))
    # THEN each page has one agent, and the last page says there is no more
    assert first.status_code == second.status_code == 200
    assert [a["agentId"] for a in payload(first)["agents"]] == ["agent-1"]
    assert payload(second)["nextCursor"] is None
    bob = payload(second)["agents"][0]
    assert bob["subscribed"] is True
    assert bob["lastPresence"] == {
        "availability": "Busy",
        "activity": "InACall",
        "sequenceNumber": "00A1",
        "observedAt": "2026-11-21T09:00:00Z",
    }


@pytest.mark.parametrize(
    ("params", "code"),
    [
        ({"limit": "0"}, "invalidRequest"),
        ({"limit": "501"}, "invalidRequest"),
        ({"limit": "abc"}, "invalidRequest"),
        ({"cursor": "not-a-cursor"}, "invalidCursor"),
    ],
)
def test_bad_paging_input_is_a_400(wired: Wired, params: dict[str, str], code: str) -> None:
    response = call(agents_api.list_agents, request("GET", params=params))
    assert response.status_code == 400
    assert payload(response)["error"]["code"] == code


def test_delete_answers_204_then_404(wired: Wired) -> None:
    put("agent-1", {"userId": ANN})
    deleted = call(agents_api.delete_agent, request("DELETE", agent_id="agent-1"))
    assert deleted.status_code == 204
    assert deleted.get_body() == b""
    missing = call(agents_api.delete_agent, request("DELETE", agent_id="agent-1"))
    assert missing.status_code == 404
    assert payload(missing)["error"]["code"] == "agentNotFound"
    assert wired.listener.changes == [TENANT, TENANT]
