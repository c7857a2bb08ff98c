"""The HTTP blueprints called directly, with services wired to fakes: status codes, JSON envelopes,
ETag headers, and that bad input changes nothing."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import replace
from datetime import timedelta
from typing import Any, cast
from urllib.parse import parse_qs, urlsplit

import azure.functions as func
import pytest

from shared.bootstrap import Services, use_services
from shared.connectors.consent import ConsentLinks
from shared.connectors.model import ConnectorStatus
from shared.connectors.service import ConnectorService
from shared.health import HealthService
from shared.security.signed_state import StateSigner
from shared.settings import load_settings
from shared.storage.exceptions import StorageUnavailable
from shared.triggers import connector_api, consent_callback, health_api
from tests.fakes import FakeAuditLog, FakeClock, FakeConnectorRepository, FakeTenantPurger
from tests.support.identity import AdminTokens

TENANT = "72f988bf-86f1-41af-91ab-2d7cd011db47"
# Every admin call below carries a Global Administrator's token of TENANT (the parametrised requests
# are built at import time, before fixtures exist).
TOKENS = AdminTokens()


class Wired:
    def __init__(self, example_values: dict[str, str]) -> None:
        self.settings = load_settings(example_values)
        self.clock = FakeClock()
        self.repo = FakeConnectorRepository()
        self.audit = FakeAuditLog()
        self.storage_up = True
        links = ConsentLinks(
            StateSigner(self.settings.state_signing_key, self.clock),
            authority_host=self.settings.entra_authority_host,
            client_id=self.settings.entra_app_client_id,
            redirect_uri=self.settings.consent_redirect_uri,
            ttl=timedelta(minutes=15),
        )
        service = ConnectorService(
            self.repo,
            self.audit,
            FakeTenantPurger(self.audit),
            links,
            app_client_id=self.settings.entra_app_client_id,
            clock=self.clock,
        )
        # The presence services are not reached by these routes.
        unused = cast(Any, None)
        use_services(
            Services(
                self.settings,
                service,
                HealthService({"tableStorage": self._probe}),
                agents=unused,
                sync_accounts=unused,
                subscriptions=unused,
                notifications=unused,
                presence_worker=unused,
                contact_center_events=unused,
                presence_mappings=unused,
                reconcile=unused,
                contact_center_test=unused,
                directory=unused,
                webex=unused,
                webex_events=unused,
                idle_codes=unused,
                authenticator=TOKENS.authenticator(),
            )
        )

    def _probe(self) -> None:
        if not self.storage_up:
            raise StorageUnavailable("down")


@pytest.fixture
def wired(example_values: dict[str, str]) -> Iterator[Wired]:
    yield Wired(example_values)
    use_services(None)


def request(
    method: str,
    route: str,
    *,
    body: Any = None,
    headers: dict[str, str] | None = None,
    params: dict[str, str] | None = None,
    tenant: str = TENANT,
) -> func.HttpRequest:
    raw = body if isinstance(body, bytes) else (b"" if body is None else json.dumps(body).encode())
    return func.HttpRequest(
        method,
        f"http://127.0.0.1:7071/api/{route}",
        headers={"content-type": "application/json", **TOKENS.headers(TENANT), **(headers or {})},
        params=params or {},
        route_params={"tenantId": tenant},
        body=raw,
    )


def payload(response: func.HttpResponse) -> Any:
    return json.loads(response.get_body())


def call(function: Any, req: func.HttpRequest) -> func.HttpResponse:
    result: func.HttpResponse = function(req)
    return result


def test_create_answers_201_with_consent_url_and_etag(wired: Wired) -> None:
    response = call(connector_api.create_connector, request("POST", "tenants/x/connector"))
    body = payload(response)
    assert response.status_code == 201
    assert body["status"] == "pendingConsent"
    assert body["consentUrl"].startswith(f"{wired.settings.entra_authority_host}/{TENANT}/v2.0/adminconsent?")
    assert response.headers["ETag"] == wired.repo.rows[TENANT].etag
    assert body["settings"] == {"showUserDetails": False, "presenceSync": True}


def test_deeply_nested_valid_json_says_it_is_nested_too_deeply(wired: Wired) -> None:
    # GIVEN a well-formed JSON body nested 5,000 levels deep (small: 10 KB)
    deep = b'{"settings": ' + b"[" * 5000 + b"]" * 5000 + b"}"
    json.loads(deep.replace(b"[" * 5000, b"[").replace(b"]" * 5000, b"]"))  # the same shape, shallow, is JSON
    # WHEN it is sent THEN the answer names the limit it hit, not "not valid JSON"
    response = call(connector_api.create_connector, request("POST", "t", body=deep))
    assert response.status_code == 400
    error = payload(response)["error"]
    assert error["code"] == "malformedJson"
    assert error["message"].startswith("the body is nested too deeply")
    assert wired.repo.rows == {}


@pytest.mark.parametrize(
    ("req", "status", "code"),
    [
        (request("POST", "t", body=b"{not json"), 400, "malformedJson"),
        (request("POST", "t", body=[1, 2]), 400, "malformedJson"),
        (request("POST", "t", body={"settings": {"presenceSync": "on"}}), 400, "invalidRequest"),
        (request("POST", "t", body={"unknown": 1}), 400, "invalidRequest"),
        (request("POST", "t", tenant="contoso.com"), 400, "invalidRequest"),
        (request("POST", "t", tenant="a/b"), 400, "invalidRequest"),
        (request("POST", "t", body={}, headers={"content-type": "text/plain"}), 415, "unsupportedMediaType"),
        (request("POST", "t", body=b"{" + b" " * 300_000 + b"}"), 413, "payloadTooLarge"),
        (request("POST", "t", body=b"[" * 100_000), 400, "malformedJson"),
        (
            request("POST", "t", body=b'{"settings": {"presenceSync": ' + b"1" * 5000 + b"}}"),
            400,
            "malformedJson",
        ),
        (request("POST", "t", body=b"\xff\xfe"), 400, "malformedJson"),
        (request("POST", "t", tenant="72f988bf-86f1-41af-91ab-2d7cd011db47\n"), 400, "invalidRequest"),
    ],
)
def test_bad_create_requests_get_a_4xx_envelope_and_change_nothing(
    wired: Wired, req: func.HttpRequest, status: int, code: str
) -> None:
    response = call(connector_api.create_connector, req)
    assert response.status_code == status
    assert payload(response)["error"]["code"] == code
    assert payload(response)["error"]["message"]
    assert wired.repo.rows == {}


def test_get_redacts_secrets_and_reports_counts(wired: Wired) -> None:
    hook = {"type": "webhook", "url": "https://cc.example.com/hook", "secret": "super-secret-value-123"}
    call(connector_api.create_connector, request("POST", "t", body={"contactCenter": hook}))
    response = call(connector_api.get_connector, request("GET", "t"))
    assert response.status_code == 200
    assert "super-secret-value-123" not in response.get_body().decode()
    body = payload(response)
    assert body["contactCenter"] == {
        "type": "webhook",
        "url": "https://cc.example.com/hook",
        "secret": "<redacted>",
    }
    assert body["counts"] == {
        "agents": 0,
        "subscribedAgents": 0,
        "subscriptions": 0,
        "syncAccounts": {"signedIn": 0, "needed": 0, "agentsPerAccount": 650},
        "missing": None,
    }


def test_patch_honours_if_match(wired: Wired) -> None:
    created = call(connector_api.create_connector, request("POST", "t"))
    etag = created.headers["ETag"]
    ok = call(
        connector_api.update_connector,
        request("PATCH", "t", body={"settings": {"presenceSync": False}}, headers={"if-match": etag}),
    )
    assert ok.status_code == 200
    assert payload(ok)["settings"]["presenceSync"] is False
    stale = call(
        connector_api.update_connector,
        request("PATCH", "t", body={"settings": {"presenceSync": True}}, headers={"if-match": etag}),
    )
    assert stale.status_code == 412
    assert payload(stale)["error"]["code"] == "preconditionFailed"
    assert wired.repo.rows[TENANT].settings.presence_sync is False


def test_state_conflicts_are_409_naming_the_status(wired: Wired) -> None:
    call(connector_api.create_connector, request("POST", "t"))
    response = call(connector_api.deactivate_connector, request("POST", "t"))
    assert response.status_code == 409
    assert "pendingConsent" in payload(response)["error"]["message"]
    # An active connector must be deactivated before it is deleted
    wired.repo.rows[TENANT] = replace(wired.repo.rows[TENANT], status=ConnectorStatus.ACTIVE)
    refused = call(connector_api.delete_connector, request("DELETE", "t"))
    assert refused.status_code == 409
    assert "deactivate the connector first" in payload(refused)["error"]["message"]


def test_a_setup_waiting_for_consent_is_deleted_at_once(wired: Wired) -> None:
    call(connector_api.create_connector, request("POST", "t"))
    deleted = call(connector_api.delete_connector, request("DELETE", "t"))
    assert deleted.status_code == 200
    assert payload(deleted)["deleted"] is True
    assert call(connector_api.get_connector, request("GET", "t")).status_code == 404


def test_missing_connector_is_404(wired: Wired) -> None:
    for function, method in [
        (connector_api.get_connector, "GET"),
        (connector_api.delete_connector, "DELETE"),
        (connector_api.get_audit_trail, "GET"),
    ]:
        response = call(function, request(method, "t"))
        assert response.status_code == 404
        assert payload(response)["error"]["code"] == "connectorNotFound"


def test_consent_callback_renders_html_and_activates(wired: Wired) -> None:
    url = payload(call(connector_api.create_connector, request("POST", "t")))["consentUrl"]
    state = parse_qs(urlsplit(url).query)["state"][0]
    params = {"admin_consent": "True", "tenant": TENANT, "state": state}
    response = call(consent_callback.consent_callback, request("GET", "consent/callback", params=params))
    assert response.status_code == 200
    assert response.mimetype == "text/html"
    assert "active" in response.get_body().decode()
    assert wired.repo.rows[TENANT].status.value == "active"


def test_consent_error_page_escapes_what_microsoft_sent(wired: Wired) -> None:
    url = payload(call(connector_api.create_connector, request("POST", "t")))["consentUrl"]
    state = parse_qs(urlsplit(url).query)["state"][0]
    params = {"error": "access_denied", "error_description": "<script>alert(1)</script>", "state": state}
    response = call(consent_callback.consent_callback, request("GET", "consent/callback", params=params))
    page = response.get_body().decode()
    assert response.status_code == 400
    assert "<script>" not in page
    assert "&lt;script&gt;" in page


def test_consent_callback_with_a_forged_state_answers_json_when_asked(wired: Wired) -> None:
    call(connector_api.create_connector, request("POST", "t"))
    response = call(
        consent_callback.consent_callback,
        request(
            "GET",
            "c",
            params={"state": "forged.state", "admin_consent": "True"},
            headers={"accept": "application/json"},
        ),
    )
    assert response.status_code == 400
    assert payload(response)["error"]["code"] == "invalidConsentState"


def test_health_is_503_when_storage_is_down(wired: Wired) -> None:
    assert call(health_api.health, request("GET", "health")).status_code == 200
    wired.storage_up = False
    response = call(health_api.health, request("GET", "health"))
    assert response.status_code == 503
    assert payload(response)["checks"] == {"tableStorage": "unavailable"}


def test_storage_outage_on_an_admin_call_is_a_503_envelope(wired: Wired, mocker: Any) -> None:
    mocker.patch.object(wired.repo, "get", side_effect=StorageUnavailable("Table Storage is unreachable"))
    response = call(connector_api.get_connector, request("GET", "t"))
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "5"
    assert payload(response)["error"]["code"] == "storageUnavailable"


def test_an_unexpected_bug_is_a_500_without_details(wired: Wired, mocker: Any) -> None:
    mocker.patch.object(wired.repo, "get", side_effect=KeyError("internal detail"))
    response = call(connector_api.get_connector, request("GET", "t"))
    assert response.status_code == 500
    assert "internal detail" not in response.get_body().decode()
