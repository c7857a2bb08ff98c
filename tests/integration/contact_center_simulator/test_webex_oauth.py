"""Webex OAuth at the simulator: the authorization-code flow, client authentication, rotating refresh
tokens, revocation, and the bearer check on every Contact Center call (401 / 403 in Webex's bodies)."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from devstack.contact_center_simulator import ContactCenterSimulator
from tests.integration.contact_center_simulator.webex_helpers import (
    CLIENT_ID,
    CLIENT_SECRET,
    ORG_ID,
    REDIRECT_URI,
    api,
    authorize,
    description,
    sign_in,
    subscription_body,
    token,
    webex_control,
)

pytestmark = pytest.mark.integration


@pytest.fixture
def webex(simulator: ContactCenterSimulator) -> ContactCenterSimulator:
    simulator.register_webex_integration(CLIENT_ID, CLIENT_SECRET, [REDIRECT_URI])
    return simulator


def test_the_authorization_code_flow_gives_tokens_of_the_signed_in_users_org(
    webex: ContactCenterSimulator,
) -> None:
    redirect = authorize(webex, state="opaque-state")
    assert redirect.status == 302
    assert redirect.location is not None
    assert redirect.location.startswith(REDIRECT_URI + "?")
    params = redirect.params()
    assert params["state"] == "opaque-state"
    result = token(webex, grant_type="authorization_code", code=params["code"], redirect_uri=REDIRECT_URI)
    assert result.status == 200
    tokens = result.json()
    assert tokens["token_type"] == "Bearer"
    assert tokens["expires_in"] == 1_209_599
    assert tokens["refresh_token_expires_in"] == 7_776_000
    assert tokens["access_token"].endswith("_" + ORG_ID)
    me = api(webex, "GET", "/v1/people/me", tokens)
    assert me.status == 200
    org = base64.b64decode(me.json()["orgId"] + "==").decode()
    assert org == f"ciscospark://us/ORGANIZATION/{ORG_ID}"
    assert me.json()["emails"] == ["supervisor@wxcc-sim.example.com"]


def test_client_credentials_is_not_a_webex_grant(webex: ContactCenterSimulator) -> None:
    result = token(webex, grant_type="client_credentials")
    assert result.status == 400
    assert result.json()["error"] == "unsupported_grant_type"
    assert result.json()["errors"][0]["description"]


def test_the_client_must_authenticate(webex: ContactCenterSimulator) -> None:
    code = authorize(webex).params()["code"]
    wrong = token(
        webex, grant_type="authorization_code", code=code, redirect_uri=REDIRECT_URI, client_secret="x"
    )
    assert wrong.status == 401
    assert wrong.json()["error"] == "invalid_client"
    missing = token(
        webex, grant_type="authorization_code", code=code, redirect_uri=REDIRECT_URI, client_secret=""
    )
    assert missing.status == 400
    assert missing.json()["error"] == "invalid_request"
    # AND the code was not spent by the refused attempts
    ok = token(webex, grant_type="authorization_code", code=code, redirect_uri=REDIRECT_URI)
    assert ok.status == 200


def test_a_code_is_single_use_and_bound_to_its_redirect_uri(webex: ContactCenterSimulator) -> None:
    code = authorize(webex).params()["code"]
    other_uri = token(webex, grant_type="authorization_code", code=code, redirect_uri=REDIRECT_URI + "x")
    assert other_uri.status == 400
    assert other_uri.json()["error"] == "invalid_grant"
    assert token(webex, grant_type="authorization_code", code=code, redirect_uri=REDIRECT_URI).status == 200
    again = token(webex, grant_type="authorization_code", code=code, redirect_uri=REDIRECT_URI)
    assert again.status == 400
    assert again.json()["error"] == "invalid_grant"


def test_authorize_refuses_unknown_clients_and_redirect_uris_without_redirecting(
    webex: ContactCenterSimulator,
) -> None:
    for params in ({"client_id": "nobody"}, {"redirect_uri": "https://evil.example.com/cb"}):
        refused = authorize(webex, **params)
        assert refused.status == 400
        assert refused.location is None
        assert b"Authorization failed" in refused.body


def test_authorize_sends_scope_and_response_type_errors_back_with_the_state(
    webex: ContactCenterSimulator,
) -> None:
    unknown_scope = authorize(webex, scope="cjp:user spark:all", state="s1").params()
    assert (unknown_scope["error"], unknown_scope["state"]) == ("invalid_scope", "s1")
    no_scope = authorize(webex, scope="").params()
    assert no_scope["error"] == "invalid_scope"
    implicit = authorize(webex, response_type="token").params()
    assert implicit["error"] == "unsupported_response_type"
    assert "code" not in implicit


def test_refresh_tokens_rotate_and_a_spent_one_is_refused(webex: ContactCenterSimulator) -> None:
    first = sign_in(webex)
    refreshed = token(webex, grant_type="refresh_token", refresh_token=first["refresh_token"])
    assert refreshed.status == 200
    second = refreshed.json()
    assert second["refresh_token"] != first["refresh_token"]
    assert second["access_token"] != first["access_token"]
    assert api(webex, "GET", "/v1/people/me", second).status == 200
    reused = token(webex, grant_type="refresh_token", refresh_token=first["refresh_token"])
    assert reused.status == 400
    assert reused.json()["error"] == "invalid_grant"
    assert token(webex, grant_type="refresh_token", refresh_token=second["refresh_token"]).status == 200


def test_a_refresh_token_of_another_client_is_refused(webex: ContactCenterSimulator) -> None:
    tokens = sign_in(webex)
    webex.register_webex_integration("other-client", "other-secret-0123456789", [REDIRECT_URI])
    result = token(
        webex,
        grant_type="refresh_token",
        refresh_token=tokens["refresh_token"],
        client_id="other-client",
        client_secret="other-secret-0123456789",
    )
    assert result.status == 400
    assert result.json()["error"] == "invalid_grant"


def test_a_revoked_authorization_refuses_refresh_and_its_access_tokens(webex: ContactCenterSimulator) -> None:
    tokens = sign_in(webex)
    revoked = webex_control(webex, "POST", "/tokens/revoke", {"refreshToken": tokens["refresh_token"]})
    assert revoked.json() == {"revoked": 1}
    refused = token(webex, grant_type="refresh_token", refresh_token=tokens["refresh_token"])
    assert refused.status == 400
    assert refused.json()["error"] == "invalid_grant"
    assert api(webex, "GET", "/v1/subscriptions", tokens).status == 401
    # AND a fresh sign-in works again (reauthorization)
    assert api(webex, "GET", "/v1/subscriptions", sign_in(webex)).status == 200


def test_expired_access_tokens_are_refused_and_refresh_mends_it(webex: ContactCenterSimulator) -> None:
    tokens = sign_in(webex)
    assert webex_control(webex, "POST", "/tokens/expire-access").json()["expired"] >= 1
    expired = api(webex, "GET", "/v1/subscriptions", tokens)
    assert expired.status == 401
    assert expired.json()["error"]["key"] == 401
    fresh = token(webex, grant_type="refresh_token", refresh_token=tokens["refresh_token"]).json()
    assert api(webex, "GET", "/v1/subscriptions", fresh).status == 200


class _Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clocked() -> Iterator[tuple[ContactCenterSimulator, _Clock]]:
    clock = _Clock()
    sim = ContactCenterSimulator(
        port=0,
        clock=clock,
        webex_access_token_lifetime=timedelta(seconds=60),
        webex_refresh_token_lifetime=timedelta(hours=1),
    )
    sim.register_webex_integration(CLIENT_ID, CLIENT_SECRET, [REDIRECT_URI])
    with sim:
        yield sim, clock


def test_tokens_live_as_long_as_the_answer_says(clocked: tuple[ContactCenterSimulator, _Clock]) -> None:
    sim, clock = clocked
    tokens = sign_in(sim)
    assert (tokens["expires_in"], tokens["refresh_token_expires_in"]) == (60, 3600)
    clock.now += timedelta(seconds=59)
    assert api(sim, "GET", "/v1/people/me", tokens).status == 200
    clock.now += timedelta(seconds=1)
    assert api(sim, "GET", "/v1/people/me", tokens).status == 401
    clock.now += timedelta(hours=1)
    late = token(sim, grant_type="refresh_token", refresh_token=tokens["refresh_token"])
    assert late.status == 400
    assert late.json()["error"] == "invalid_grant"


def test_an_authorization_code_expires_after_ten_minutes(
    clocked: tuple[ContactCenterSimulator, _Clock],
) -> None:
    sim, clock = clocked
    code = authorize(sim).params()["code"]
    clock.now += timedelta(minutes=10)
    assert token(sim, grant_type="authorization_code", code=code, redirect_uri=REDIRECT_URI).status == 400


def test_missing_or_bad_bearers_answer_401_in_each_routes_body(webex: ContactCenterSimulator) -> None:
    subscriptions = api(webex, "GET", "/v1/subscriptions", None)
    assert subscriptions.status == 401
    assert subscriptions.json()["error"]["key"] == 401
    assert subscriptions.json()["trackingId"]
    state = api(webex, "PUT", "/v1/agents/session/state", {"access_token": "nope"}, {"state": "Idle"})
    assert state.status == 401
    assert state.json()["error"]["key"] == "401"
    assert description(state) == "Unauthorized, Token is Invalid"


def test_a_token_without_the_operations_scope_is_forbidden(
    webex: ContactCenterSimulator, receiver_url: str
) -> None:
    tokens = sign_in(webex, scope="cjp:user")
    created = api(webex, "POST", "/v1/subscriptions", tokens, subscription_body(receiver_url))
    assert created.status == 403
    assert "cjp:config_write" in description(created)
    assert api(webex, "GET", f"/organization/{ORG_ID}/v2/auxiliary-code", tokens).status == 403


def test_a_user_without_the_role_is_forbidden(webex: ContactCenterSimulator, receiver_url: str) -> None:
    agent_user = webex_control(
        webex, "POST", "/users", {"email": "a@x.example.com", "roles": ["agent"]}
    ).json()
    assert webex_control(webex, "PUT", "/signed-in-user", {"userId": agent_user["userId"]}).status == 200
    tokens = sign_in(webex)
    created = api(webex, "POST", "/v1/subscriptions", tokens, subscription_body(receiver_url))
    assert created.status == 403
    assert "admin" in description(created)


def test_another_orgs_id_is_forbidden(webex: ContactCenterSimulator) -> None:
    tokens = sign_in(webex)
    other = webex_control(webex, "POST", "/orgs", {"name": "Other"}).json()["orgId"]
    assert api(webex, "GET", f"/organization/{other}/v2/auxiliary-code", tokens).status == 403
    assert api(webex, "GET", f"/v1/subscriptions?orgId={other}", tokens).status == 403
    missing = api(
        webex, "GET", "/organization/00000000-0000-4000-8000-000000000000/v2/auxiliary-code", tokens
    )
    assert missing.status == 404


def test_injected_faults_answer_in_the_webex_routes_own_body(webex: ContactCenterSimulator) -> None:
    from tests.integration.contact_center_simulator.helpers import http

    tokens = sign_in(webex)
    faults = webex.base_url + "/_sim/faults"
    throttle = {"path": "/v1/agents/session/state", "status": 429, "retryAfterSeconds": 7}
    assert http("POST", faults, throttle).status == 201
    assert http("POST", faults, {"path": "/v1/access_token", "status": 503}).status == 201
    available = {"state": "Available", "auxCodeId": "0"}
    throttled = api(webex, "PUT", "/v1/agents/session/state", tokens, available)
    assert throttled.status == 429
    assert throttled.json()["error"]["key"] == "429"
    unavailable = token(webex, grant_type="refresh_token", refresh_token=tokens["refresh_token"])
    assert unavailable.status == 503
    assert unavailable.json()["error"] == "serviceUnavailable"
    # AND the faults are used up: the refresh token was not spent by the refused call
    assert token(webex, grant_type="refresh_token", refresh_token=tokens["refresh_token"]).status == 200
    unknown = api(webex, "GET", "/v1/no-such-thing", tokens)
    assert unknown.status == 404
    assert unknown.json()["error"]["key"] == "404"
