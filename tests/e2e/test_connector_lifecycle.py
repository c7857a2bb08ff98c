"""The whole connector lifecycle over HTTP on the local host, with state in Azurite, and every 4xx."""

from __future__ import annotations

import urllib.error
import urllib.request
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest

from tests.e2e.conftest import HostClient, RunningHost

pytestmark = pytest.mark.e2e

APP_ID = "00000000-0000-0000-0000-00000000c0de"


def connector_path(tenant_id: str, suffix: str = "") -> str:
    return f"/api/tenants/{tenant_id}/connector{suffix}"


def consent_callback(host: HostClient, consent_url: str, **overrides: str) -> Any:
    query = parse_qs(urlsplit(consent_url).query)
    tenant = urlsplit(consent_url).path.split("/")[1]
    params = {"admin_consent": "True", "tenant": tenant, "state": query["state"][0], **overrides}
    params = {k: v for k, v in params.items() if v}
    return host.call("GET", "/api/consent/callback?" + urlencode(params), headers={"accept": "text/html"})


def test_the_full_walk(host: HostClient, tenant_id: str) -> None:
    # create -> pendingConsent with Microsoft's consent URL
    created = host.call("POST", connector_path(tenant_id), {"settings": {"showUserDetails": True}})
    assert created.status == 201, created.body
    body = created.json()
    assert body["status"] == "pendingConsent"
    assert body["settings"] == {"showUserDetails": True, "presenceSync": True}
    consent_url = body["consentUrl"]
    assert urlsplit(consent_url).path == f"/{tenant_id}/v2.0/adminconsent"
    assert parse_qs(urlsplit(consent_url).query)["client_id"] == [APP_ID]

    # consent callback -> active, an HTML page
    page = consent_callback(host, consent_url)
    assert page.status == 200
    assert page.headers["Content-Type"].startswith("text/html")
    got = host.call("GET", connector_path(tenant_id))
    assert got.status == 200
    assert got.json()["status"] == "active"
    assert got.json()["activatedAt"]
    assert got.json()["counts"]["agents"] == 0
    etag = got.headers["ETag"]

    # patch with If-Match; the stale ETag then fails
    patched = host.call(
        "PATCH",
        connector_path(tenant_id),
        {
            "settings": {"presenceSync": False},
            "contactCenter": {"type": "webhook", "url": "https://cc.example.com/hook", "secret": "s" * 24},
        },
        {"if-match": etag},
    )
    assert patched.status == 200, patched.body
    assert patched.json()["contactCenter"]["secret"] == "<redacted>"
    assert patched.headers["ETag"] != etag
    stale = host.call(
        "PATCH", connector_path(tenant_id), {"settings": {"presenceSync": True}}, {"if-match": etag}
    )
    assert stale.status == 412

    # delete refused while active
    refused = host.call("DELETE", connector_path(tenant_id))
    assert refused.status == 409
    assert "deactivate the connector first" in refused.json()["error"]["message"]

    # deactivate -> reactivate -> deactivate
    assert host.call("POST", connector_path(tenant_id, "/deactivate")).json()["status"] == "inactive"
    assert host.call("POST", connector_path(tenant_id, "/reactivate")).json()["status"] == "active"
    assert host.call("POST", connector_path(tenant_id, "/deactivate")).json()["status"] == "inactive"

    # the audit trail has it all, newest first
    audit = host.call("GET", f"/api/tenants/{tenant_id}/audit").json()["value"]
    assert [(entry["action"], entry["outcome"]) for entry in audit] == [
        ("deactivate", "succeeded"),
        ("reactivate", "succeeded"),
        ("deactivate", "succeeded"),
        ("delete", "failed"),
        ("update", "failed"),
        ("update", "succeeded"),
        ("grantConsent", "succeeded"),
        ("create", "succeeded"),
    ]
    assert audit[3]["detail"].startswith("invalidStatus: cannot delete a connector whose status is active")
    assert audit[4]["detail"].startswith("preconditionFailed:")

    # delete -> everything gone, with the next steps for Entra
    deleted = host.call("DELETE", connector_path(tenant_id))
    assert deleted.status == 200
    assert deleted.json()["deleted"] is True
    assert f"az ad sp delete --id {APP_ID}" in deleted.json()["nextSteps"]["commands"]
    assert host.call("GET", connector_path(tenant_id)).status == 404
    # the trail went with the rest; the deletion record stays, and says who and when
    [record] = host.call("GET", f"/api/tenants/{tenant_id}/audit").json()["value"]
    assert (record["action"], record["outcome"]) == ("delete", "succeeded")
    assert record["detail"].startswith("connector deleted:")

    # recreate works, and starts from scratch
    again = host.call("POST", connector_path(tenant_id))
    assert again.status == 201
    assert again.json()["status"] == "pendingConsent"
    audit = host.call("GET", f"/api/tenants/{tenant_id}/audit").json()["value"]
    assert [entry["action"] for entry in audit] == ["create", "delete"]


def test_consent_states_are_single_use_and_superseded(host: HostClient, tenant_id: str) -> None:
    first = host.call("POST", connector_path(tenant_id)).json()["consentUrl"]
    second = host.call("POST", connector_path(tenant_id, "/consent")).json()["consentUrl"]
    assert consent_callback(host, first).status == 400  # superseded
    assert consent_callback(host, second, tenant="11111111-1111-1111-1111-111111111111").status == 400
    assert host.call("GET", connector_path(tenant_id)).json()["status"] == "pendingConsent"
    assert consent_callback(host, second).status == 200  # still usable after the failed tries
    assert consent_callback(host, second).status == 400  # used up
    assert host.call("POST", connector_path(tenant_id, "/consent")).status == 409


def test_a_consent_error_is_shown_recorded_and_uses_up_the_state(host: HostClient, tenant_id: str) -> None:
    url = host.call("POST", connector_path(tenant_id)).json()["consentUrl"]
    page = consent_callback(
        host, url, admin_consent="", error="access_denied", error_description="AADSTS65004: declined"
    )
    assert page.status == 400
    assert b"AADSTS65004" in page.body
    details = host.call("GET", connector_path(tenant_id)).json()
    assert details["status"] == "pendingConsent"
    assert details["lastConsentError"]["error"] == "access_denied"
    assert consent_callback(host, url).status == 400


@pytest.mark.parametrize(
    ("method", "suffix", "body", "headers", "status", "code"),
    [
        ("POST", "", b"{oops", {}, 400, "malformedJson"),
        ("POST", "", {"settings": {"presenceSync": "yes"}}, {}, 400, "invalidRequest"),
        ("POST", "", {"contactCenter": {"type": "avaya"}}, {}, 400, "invalidRequest"),
        ("PATCH", "", {"nope": True}, {}, 400, "invalidRequest"),
        ("PATCH", "", {}, {}, 400, "invalidRequest"),
        (
            "PATCH",
            "",
            {"settings": {"presenceSync": False}},
            {"if-match": 'W/"stale"'},
            412,
            "preconditionFailed",
        ),
        ("POST", "/reactivate", None, {}, 409, "invalidStatus"),
        ("POST", "/deactivate", None, {}, 409, "invalidStatus"),
        # (A setup waiting for consent can be deleted; with a stale If-Match it is not.)
        ("DELETE", "", None, {"if-match": 'W/"stale"'}, 412, "preconditionFailed"),
        ("POST", "", None, {}, 409, "connectorExists"),
    ],
)
def test_every_client_error_is_a_4xx_envelope_and_changes_nothing(
    host: HostClient,
    tenant_id: str,
    method: str,
    suffix: str,
    body: Any,
    headers: dict[str, str],
    status: int,
    code: str,
) -> None:
    # GIVEN a pending connector
    assert host.call("POST", connector_path(tenant_id)).status == 201
    before = host.call("GET", connector_path(tenant_id))
    # WHEN a bad request arrives
    reply = host.call(method, connector_path(tenant_id, suffix), body, headers)
    # THEN it gets the error envelope, and the connector is exactly as it was
    assert reply.status == status, reply.body
    assert reply.json()["error"]["code"] == code
    assert reply.json()["error"]["message"]
    after = host.call("GET", connector_path(tenant_id))
    assert after.body == before.body
    assert after.headers["ETag"] == before.headers["ETag"]


@pytest.mark.parametrize(
    "tenant",
    [
        "not-a-guid",
        "contoso.onmicrosoft.com",
        "72f988bf-86f1-41af-91ab-2d7cd011db47%0A",
        "a%23b",
        "a%3Fb",
        "%01",
    ],
)
def test_bad_tenant_ids_are_400(host: HostClient, tenant_id: str, tenant: str) -> None:
    # An authenticated admin (of some tenant) whose path names no tenant id: the path is refused.
    reply = host.call("POST", f"/api/tenants/{tenant}/connector", headers=host.admin_headers(tenant_id))
    assert reply.status == 400, reply.body
    assert reply.json()["error"]["code"] == "invalidRequest"


@pytest.mark.parametrize("tenant", ["a%2Fb", "a%5Cb"])
def test_tenant_ids_with_slashes_never_reach_a_handler_as_500(
    host: HostClient, tenant_id: str, tenant: str
) -> None:
    reply = host.call("POST", f"/api/tenants/{tenant}/connector", headers=host.admin_headers(tenant_id))
    assert reply.status in (400, 404), reply.body
    # AND without a token it is refused before anything else
    assert host.call("POST", f"/api/tenants/{tenant}/connector").status in (401, 404)
    assert "error" in reply.json()


def test_missing_connector_is_404(host: HostClient, tenant_id: str) -> None:
    for method, suffix in [
        ("GET", ""),
        ("PATCH", ""),
        ("DELETE", ""),
        ("POST", "/deactivate"),
        ("POST", "/consent"),
    ]:
        body = {"settings": {"presenceSync": False}} if method == "PATCH" else None
        reply = host.call(method, connector_path(tenant_id, suffix), body)
        assert reply.status == 404, (method, suffix, reply.body)
        assert reply.json()["error"]["code"] == "connectorNotFound"


def test_health_reports_storage(host: HostClient) -> None:
    reply = host.call("GET", "/api/health")
    assert reply.status == 200
    assert reply.json()["status"] == "ok"
    assert reply.json()["checks"]["tableStorage"] == "ok"


def test_health_answers_head_for_load_balancers_and_uptime_probes(host: HostClient) -> None:
    got = host.call("GET", "/api/health")
    head = host.call("HEAD", "/api/health")
    assert head.status == 200
    assert head.body == b""
    assert head.headers["Content-Type"] == got.headers["Content-Type"]
    assert head.headers["Content-Length"] == str(len(got.body))


def test_a_setup_that_never_got_consent_is_deleted_and_its_consent_link_is_dead(
    host: HostClient, tenant_id: str
) -> None:
    created = host.call("POST", connector_path(tenant_id), {})
    assert created.status == 201
    deleted = host.call("DELETE", connector_path(tenant_id))
    assert deleted.status == 200, deleted.body
    assert host.call("GET", connector_path(tenant_id)).status == 404
    callback = consent_callback(host, created.json()["consentUrl"])
    assert callback.status == 400
    [record] = host.call("GET", f"/api/tenants/{tenant_id}/audit").json()["value"]
    assert record["detail"].startswith("setup cancelled before consent")


def test_the_host_log_holds_no_secret(local_host: RunningHost, tenant_id: str) -> None:
    secret = "e2e-webhook-secret-never-logged"
    hook = {"type": "webhook", "url": "https://cc.example.com/hook", "secret": secret}
    assert local_host.client.call("POST", connector_path(tenant_id), {"contactCenter": hook}).status == 201
    assert secret not in local_host.log_path.read_text()


def test_the_consent_link_leads_through_the_identity_platform_back_to_an_active_connector(
    host: HostClient, tenant_id: str
) -> None:
    # GIVEN a new connector whose consent URL points at the (simulated) identity platform
    consent_url = host.call("POST", connector_path(tenant_id)).json()["consentUrl"]

    # WHEN the admin's browser opens it and follows Microsoft's redirect
    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args: Any, **kwargs: Any) -> None:
            return None

    opener = urllib.request.build_opener(NoRedirect)
    with pytest.raises(urllib.error.HTTPError) as redirect:
        opener.open(consent_url, timeout=30)
    assert redirect.value.code == 302
    location = redirect.value.headers["Location"]
    assert location.startswith(host.base_url + "/api/consent/callback?")
    assert "admin_consent=True" in location
    page = host.call("GET", location.removeprefix(host.base_url), headers={"accept": "text/html"})

    # THEN the connector is active
    assert page.status == 200
    assert host.call("GET", connector_path(tenant_id)).json()["status"] == "active"
