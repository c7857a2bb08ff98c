"""The sync-account blueprint called directly, with the service wired to fakes: routes and auth levels,
status codes, JSON shapes, the callback's HTML and JSON answers, and that no secret is ever echoed."""

from __future__ import annotations

import json
from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any, cast

import azure.functions as func
import pytest

from devstack.function_index import index_functions
from shared.bootstrap import Services, use_services
from shared.connectors.exceptions import ConnectorNotActive
from shared.connectors.model import ConnectorStatus
from shared.errors import AppError
from shared.http import errors as http_errors
from shared.sync_accounts import exceptions as sync_errors
from shared.triggers import sync_accounts_api
from tests.support.identity import AdminTokens
from tests.unit.sync_accounts.world import OTHER_TENANT, TENANT, World, identity

# The statuses the integrator maps in shared/http/errors.py (STATUS_BY_ERROR); installed here so these
# tests pin the answers whether or not that table already lists them.
SYNC_ACCOUNT_STATUSES: dict[type[AppError], int] = {
    sync_errors.InvalidSyncAccountInput: 400,
    sync_errors.InvalidSignInCallback: 400,
    sync_errors.SignInExpired: 400,
    sync_errors.SignInAlreadyUsed: 400,
    sync_errors.SignInDenied: 400,
    sync_errors.SignInRejected: 400,
    sync_errors.WrongTenant: 400,
    sync_errors.SyncAccountNotFound: 404,
    ConnectorNotActive: 409,
    sync_errors.SyncAccountReauthorizationRequired: 409,
    sync_errors.StaleSyncAccount: 412,
    sync_errors.AppCredentialRejected: 502,
    sync_errors.IdentityPlatformUnavailable: 503,
    sync_errors.SyncAccountTokenUnavailable: 503,
}

ROUTE = "tenants/x/sync-accounts"
TOKENS = AdminTokens()


@pytest.fixture
def world(monkeypatch: pytest.MonkeyPatch) -> Iterator[World]:
    for error, status in SYNC_ACCOUNT_STATUSES.items():
        monkeypatch.setitem(http_errors.STATUS_BY_ERROR, error, status)
    wired = World()
    use_services(
        cast(Services, SimpleNamespace(sync_accounts=wired.service, authenticator=TOKENS.authenticator()))
    )
    try:
        yield wired
    finally:
        use_services(None)


def request(
    method: str,
    route: str = ROUTE,
    *,
    body: Any = None,
    headers: dict[str, str] | None = None,
    params: dict[str, str] | None = None,
    route_params: dict[str, str] | None = None,
) -> func.HttpRequest:
    raw = body if isinstance(body, bytes) else (b"" if body is None else json.dumps(body).encode())
    route_params = {"tenantId": TENANT} if route_params is None else route_params
    admin = TOKENS.route_headers(route_params.get("tenantId", TENANT), TENANT)
    return func.HttpRequest(
        method,
        f"http://127.0.0.1:7071/api/{route}",
        headers={"content-type": "application/json", **admin, **(headers or {})},
        params=params or {},
        route_params=route_params,
        body=raw,
    )


def call(function: Any, req: func.HttpRequest) -> func.HttpResponse:
    result: func.HttpResponse = function(req)
    return result


def payload(response: func.HttpResponse) -> Any:
    return json.loads(response.get_body())


def callback(params: dict[str, str], *, json_answer: bool = False) -> func.HttpResponse:
    headers = {"accept": "application/json"} if json_answer else {}
    req = request("GET", "auth/callback", params=params, headers=headers, route_params={})
    return call(sync_accounts_api.sync_account_sign_in_callback, req)


def test_routes_methods_and_auth_levels() -> None:
    app = func.FunctionApp()
    app.register_functions(sync_accounts_api.bp)
    index = index_functions(app)
    described = {(f.name, f.route.text, tuple(sorted(f.methods or ())), f.auth_level) for f in index.http}
    assert described == {
        ("start_sync_account_sign_in", "tenants/{tenantId}/sync-accounts", ("POST",), "anonymous"),
        ("list_sync_accounts", "tenants/{tenantId}/sync-accounts", ("GET",), "anonymous"),
        ("delete_sync_account", "tenants/{tenantId}/sync-accounts/{accountId}", ("DELETE",), "anonymous"),
        ("sync_account_sign_in_callback", "auth/callback", ("GET",), "anonymous"),
    }
    assert index.skipped == ()


def test_start_answers_201_with_the_authorize_url_and_its_expiry(world: World) -> None:
    response = call(
        sync_accounts_api.start_sync_account_sign_in,
        request("POST", body={"loginHint": "sync1@contoso.example"}),
    )
    assert response.status_code == 201
    body = payload(response)
    assert set(body) == {"authorizeUrl", "expiresAt"}
    assert body["authorizeUrl"].startswith(f"https://login.example/{TENANT}/authorize?")
    assert body["expiresAt"] == "2026-11-21T09:15:00Z"
    assert world.sign_ins.added[-1].code_verifier not in response.get_body().decode()


def test_start_without_a_body_is_fine(world: World) -> None:
    response = call(sync_accounts_api.start_sync_account_sign_in, request("POST"))
    assert response.status_code == 201
    assert world.platform.authorize_calls[-1]["login_hint"] is None


@pytest.mark.parametrize(
    ("req", "status", "code"),
    [
        (request("POST", body={"loginHint": 1}), 400, "invalidRequest"),
        (request("POST", body={"hint": "a@b.c"}), 400, "invalidRequest"),
        (request("POST", body=b"{nope"), 400, "malformedJson"),
        (request("POST", body=["a@b.c"]), 400, "malformedJson"),
        (request("POST", body={}, headers={"content-type": "text/plain"}), 415, "unsupportedMediaType"),
        (request("POST", route_params={"tenantId": "contoso.com"}), 400, "invalidRequest"),
        (request("POST", route_params={"tenantId": OTHER_TENANT}), 404, "connectorNotFound"),
    ],
)
def test_bad_starts_get_a_4xx_envelope_and_store_nothing(
    world: World, req: func.HttpRequest, status: int, code: str
) -> None:
    response = call(sync_accounts_api.start_sync_account_sign_in, req)
    assert response.status_code == status
    assert payload(response)["error"]["code"] == code
    assert world.sign_ins.rows == {}


def test_start_for_an_inactive_connector_is_409(world: World) -> None:
    world.add_connector(OTHER_TENANT, ConnectorStatus.INACTIVE)
    response = call(
        sync_accounts_api.start_sync_account_sign_in, request("POST", route_params={"tenantId": OTHER_TENANT})
    )
    assert response.status_code == 409
    assert payload(response)["error"]["code"] == "connectorNotActive"


def test_list_shows_accounts_with_capacity_and_token_health(world: World) -> None:
    # GIVEN a healthy account covering 600 agents and one that must sign in again
    healthy = world.sign_in(identity())
    world.clock.advance(hours=1)
    broken = world.sign_in(identity("6a7b8c9d-0e1f-4a2b-9c3d-4e5f6a7b8c9d", upn="sync2@contoso.example"))
    world.service.mark_reauthorization_required(
        TENANT, broken.account_id, "refresh token revoked, sign in again"
    )
    world.usage.used_by_tenant[TENANT] = {healthy.account_id: 600}
    # WHEN they are listed
    response = call(sync_accounts_api.list_sync_accounts, request("GET"))
    # THEN each shows status, last token time, last error (only when there is one) and capacity
    assert response.status_code == 200
    assert payload(response) == {
        "syncAccounts": [
            {
                "id": healthy.account_id,
                "userPrincipalName": "sync1@contoso.example",
                "displayName": "Sync One",
                "status": "healthy",
                "createdAt": "2026-11-21T09:00:00Z",
                "lastTokenAt": "2026-11-21T09:00:00Z",
                "capacity": {"used": 600, "limit": 650},
            },
            {
                "id": broken.account_id,
                "userPrincipalName": "sync2@contoso.example",
                "displayName": "Sync One",
                "status": "reauthorizationRequired",
                "createdAt": "2026-11-21T10:00:00Z",
                "lastTokenAt": "2026-11-21T10:00:00Z",
                "lastError": "refresh token revoked, sign in again",
                "capacity": {"used": 0, "limit": 650},
            },
        ],
        "capacity": {"agentsPerAccount": 650},
    }
    assert "refresh" not in json.dumps(payload(response)["syncAccounts"][0])


def test_list_of_a_tenant_without_connector_is_404(world: World) -> None:
    response = call(
        sync_accounts_api.list_sync_accounts, request("GET", route_params={"tenantId": OTHER_TENANT})
    )
    assert response.status_code == 404


def test_delete_answers_204_then_404(world: World) -> None:
    account = world.sign_in()
    route_params = {"tenantId": TENANT, "accountId": account.account_id.upper()}
    deleted = call(sync_accounts_api.delete_sync_account, request("DELETE", route_params=route_params))
    assert deleted.status_code == 204
    assert deleted.get_body() == b""
    assert world.accounts.rows == {}
    again = call(sync_accounts_api.delete_sync_account, request("DELETE", route_params=route_params))
    assert again.status_code == 404
    assert payload(again)["error"]["code"] == "syncAccountNotFound"


def test_delete_with_a_malformed_account_id_is_400(world: World) -> None:
    route_params = {"tenantId": TENANT, "accountId": "sync1@contoso.example"}
    response = call(sync_accounts_api.delete_sync_account, request("DELETE", route_params=route_params))
    assert response.status_code == 400
    assert payload(response)["error"]["code"] == "invalidRequest"


def test_callback_page_says_201_for_a_new_account_and_200_when_signed_in_again(world: World) -> None:
    first = callback(world.approve(world.start(), identity(upn="<b>sync1</b>@contoso.example")))
    page = first.get_body().decode()
    assert first.status_code == 201
    assert first.mimetype == "text/html"
    assert "&lt;b&gt;sync1&lt;/b&gt;@contoso.example" in page
    assert "<b>" not in page
    world.clock.advance(minutes=5)
    again = callback(world.approve(world.start(), identity()))
    assert again.status_code == 200


def test_callback_answers_json_when_asked_and_never_echoes_the_code(world: World) -> None:
    params = world.approve(world.start(), identity())
    response = callback(params, json_answer=True)
    assert response.status_code == 201
    body = payload(response)
    assert body["tenantId"] == TENANT
    assert body["syncAccount"]["id"] == identity().account_id
    assert body["syncAccount"]["status"] == "healthy"
    assert params["code"] not in response.get_body().decode()


def test_a_replayed_callback_is_400(world: World) -> None:
    params = world.approve(world.start(), identity())
    assert callback(params).status_code == 201
    replay = callback(params, json_answer=True)
    assert replay.status_code == 400
    assert payload(replay)["error"]["code"] == "signInAlreadyUsed"
    page = callback(params)
    assert page.status_code == 400
    assert page.mimetype == "text/html"


def test_callback_error_page_shows_microsofts_words_escaped(world: World) -> None:
    params = {**world.start(), "error": "access_denied", "error_description": "<script>alert(1)</script>"}
    response = callback(params)
    page = response.get_body().decode()
    assert response.status_code == 400
    assert "access_denied" in page
    assert "<script>" not in page
    assert "&lt;script&gt;" in page


def test_callback_error_as_json(world: World) -> None:
    params = {**world.start(), "error": "access_denied", "error_description": "declined"}
    response = callback(params, json_answer=True)
    assert response.status_code == 400
    assert payload(response)["error"]["code"] == "signInDenied"
    assert "access_denied" in payload(response)["error"]["message"]


@pytest.mark.parametrize(
    ("make_params", "status", "code"),
    [
        (lambda w: {}, 400, "invalidSignInState"),
        (lambda w: {"state": "forged.state", "code": "c"}, 400, "invalidSignInState"),
        (lambda w: w.start(), 400, "invalidSignInState"),
        (lambda w: w.approve(w.start(), identity(tenant_id=OTHER_TENANT)), 400, "wrongTenant"),
        (lambda w: {**w.start(), "code": "not-issued"}, 400, "signInFailed"),
    ],
)
def test_bad_callbacks_are_4xx(world: World, make_params: Any, status: int, code: str) -> None:
    response = callback(make_params(world), json_answer=True)
    assert response.status_code == status
    assert payload(response)["error"]["code"] == code
    assert world.accounts.rows == {}


def test_an_expired_sign_in_link_says_so(world: World) -> None:
    params = world.approve(world.start(), identity())
    world.clock.advance(minutes=20)
    response = callback(params)
    assert response.status_code == 400
    assert "expired" in response.get_body().decode()


def test_identity_platform_outage_is_503(world: World) -> None:
    world.platform.unavailable = True
    response = callback(world.approve(world.start(), identity()), json_answer=True)
    assert response.status_code == 503
    assert payload(response)["error"]["code"] == "identityPlatformUnavailable"


def test_an_unexpected_failure_is_a_500_page_without_details(world: World, mocker: Any) -> None:
    mocker.patch.object(world.accounts, "save_signed_in", side_effect=KeyError("internal detail"))
    response = callback(world.approve(world.start(), identity()))
    assert response.status_code == 500
    assert "internal detail" not in response.get_body().decode()
