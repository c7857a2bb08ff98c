"""The Webex OAuth and subscription adapters against a scripted Webex: request shapes from the published
contract, answers from JSON fixtures of it, and how refusals are classified."""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from shared.connectors.model import WebexContactCenter
from shared.contact_center.exceptions import ContactCenterAuthFailed, ContactCenterUnavailable
from shared.contact_center.webex.exceptions import WebexGrantRefused
from shared.contact_center.webex.oauth import HttpWebexOAuth, organization_uuid
from shared.contact_center.webex.subscriptions_api import HttpWebexSubscriptions
from tests.fakes import FakeClock
from tests.unit.contact_center.fake_http import ScriptedServer, answer, body, form
from tests.unit.contact_center.webex.fakes import ORG, fixture

REDIRECT = "https://connector.example.com/api/contact-center/webex/callback"
BASE = "https://api.wxcc-us1.cisco.com"
CONFIG = WebexContactCenter(BASE, ORG)


class Webex:
    def __init__(self) -> None:
        self.server = ScriptedServer()
        self.http = httpx.Client(transport=self.server.transport())
        self.oauth = HttpWebexOAuth(
            self.http,
            authorize_url="https://webexapis.com/v1/authorize",
            token_url="https://webexapis.com/v1/access_token",
            client_id="integration-id",
            client_secret="integration-secret",
            redirect_uri=REDIRECT,
            clock=FakeClock(),
        )
        self.subscriptions = HttpWebexSubscriptions(self.http, FakeClock())


@pytest.fixture
def webex() -> Iterator[Webex]:
    fake = Webex()
    try:
        yield fake
    finally:
        fake.http.close()


def test_the_authorize_url_asks_for_the_code_flow_with_the_cc_scopes_and_pkce(webex: Webex) -> None:
    url = webex.oauth.authorize_url(state="the-state", code_challenge="the-challenge")
    parts = urlsplit(url)
    assert f"{parts.scheme}://{parts.netloc}{parts.path}" == "https://webexapis.com/v1/authorize"
    query = {k: v[0] for k, v in parse_qs(parts.query).items()}
    assert query == {
        "response_type": "code",
        "client_id": "integration-id",
        "redirect_uri": REDIRECT,
        "scope": "cjp:config_read cjp:config_write cjp:user spark:people_read",
        "state": "the-state",
        "code_challenge": "the-challenge",
        "code_challenge_method": "S256",
    }


def test_a_code_is_redeemed_with_the_integration_credentials(webex: Webex) -> None:
    webex.server.on("POST", "/v1/access_token", answer(200, fixture("access-token.json")))
    grant = webex.oauth.redeem_code("the-code", "the-verifier")
    (request,) = webex.server.calls("POST", "/v1/access_token")
    assert form(request) == {
        "grant_type": "authorization_code",
        "code": "the-code",
        "redirect_uri": REDIRECT,
        "code_verifier": "the-verifier",
        "client_id": "integration-id",
        "client_secret": "integration-secret",
    }
    assert grant.expires_in_seconds == 1209600
    assert grant.refresh_expires_in_seconds == 7776000
    assert grant.refresh_token.endswith(ORG)


def test_a_refresh_sends_the_refresh_token(webex: Webex) -> None:
    webex.server.on("POST", "/v1/access_token", answer(200, fixture("access-token.json")))
    webex.oauth.refresh("old-refresh")
    (request,) = webex.server.calls("POST", "/v1/access_token")
    assert form(request)["grant_type"] == "refresh_token"
    assert form(request)["refresh_token"] == "old-refresh"


@pytest.mark.parametrize("status", [400, 401])
def test_invalid_grant_is_a_refused_grant(webex: Webex, status: int) -> None:
    webex.server.on(
        "POST",
        "/v1/access_token",
        answer(
            status, {"error": "invalid_grant", "error_description": "The refresh token provided is expired"}
        ),
    )
    with pytest.raises(WebexGrantRefused) as raised:
        webex.oauth.refresh("old")
    assert raised.value.error == "invalid_grant"
    assert isinstance(raised.value, ContactCenterAuthFailed)


def test_a_token_endpoint_outage_is_transient(webex: Webex) -> None:
    webex.server.on("POST", "/v1/access_token", answer(503, None, {"Retry-After": "3"}))
    with pytest.raises(ContactCenterUnavailable) as raised:
        webex.oauth.refresh("old")
    assert raised.value.retry_after == 3


def test_a_token_answer_without_a_refresh_token_is_a_passing_fault(webex: Webex) -> None:
    webex.server.on("POST", "/v1/access_token", answer(200, {"access_token": "a", "expires_in": 60}))
    with pytest.raises(ContactCenterUnavailable, match="refresh_token"):
        webex.oauth.refresh("old")


def test_the_signed_in_users_org_comes_from_people_me(webex: Webex) -> None:
    webex.server.on("GET", "/v1/people/me", answer(200, fixture("people-me.json")))
    identity = webex.oauth.identity("the-token")
    assert identity.org_id == ORG
    (request,) = webex.server.calls("GET", "/v1/people/me")
    assert request.headers["Authorization"] == "Bearer the-token"


def test_organization_ids_are_read_as_base64_uris_or_plain_uuids() -> None:
    assert organization_uuid(fixture("people-me.json")["orgId"]) == ORG
    assert organization_uuid(ORG.upper()) == ORG


def test_the_subscription_is_registered_with_the_agent_event_types(webex: Webex) -> None:
    webex.server.on("POST", "/v1/subscriptions", answer(201, fixture("subscription-created.json")))
    destination = "https://connector.example.com/api/tenants/t/contact-center/webex/events"
    subscription_id = webex.subscriptions.create(CONFIG, "tok", destination, "s" * 64)
    assert subscription_id == "41e92806-331d-4802-bc12-674f92d4a6f7"
    (request,) = webex.server.calls("POST", "/v1/subscriptions")
    assert str(request.url) == BASE + "/v1/subscriptions"
    sent = body(request)
    assert sent == {
        "name": "Teams presence connector",
        "description": "Agent events for the Teams <-> Webex Contact Center presence connector",
        "eventTypes": ["agent:login", "agent:logout", "agent:state_change"],
        "destinationUrl": destination,
        "secret": "s" * 64,
        "orgId": ORG,
    }
    # The spec's limits: name 4-64, 1-32 event types, secret 32-256.
    assert 4 <= len(sent["name"]) <= 64
    assert 1 <= len(sent["eventTypes"]) <= 32
    assert request.headers["Authorization"] == "Bearer tok"


def test_a_lost_or_inactive_subscription_does_not_exist(webex: Webex) -> None:
    path = "/v1/subscriptions/sub-1"
    webex.server.then("GET", path, answer(404, {"error": {"key": 404}}))
    assert not webex.subscriptions.exists(CONFIG, "tok", "sub-1")
    inactive = fixture("subscription-created.json")
    inactive["data"]["status"] = "inactive"
    webex.server.then("GET", path, answer(200, inactive))
    assert not webex.subscriptions.exists(CONFIG, "tok", "sub-1")
    webex.server.then("GET", path, answer(200, fixture("subscription-created.json")))
    assert webex.subscriptions.exists(CONFIG, "tok", "sub-1")
    assert all(r.url.params["orgId"] == ORG for r in webex.server.calls("GET", path))


def test_removing_a_subscription_that_is_gone_counts_as_removed(webex: Webex) -> None:
    webex.server.then("DELETE", "/v1/subscriptions/sub-1", answer(404, None), answer(204, None))
    webex.subscriptions.delete(CONFIG, "tok", "sub-1")
    webex.subscriptions.delete(CONFIG, "tok", "sub-1")
    assert len(webex.server.calls("DELETE", "/v1/subscriptions/sub-1")) == 2
