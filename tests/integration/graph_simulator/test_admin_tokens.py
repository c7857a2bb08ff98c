"""The simulator as the identity platform of the connector's admins: POST /_sim/token mints the access
tokens `az account get-access-token --scope api://<app id>/Connector.Manage` would get, and the
connector's verifier, fetching the simulator's JWKS over HTTP, accepts them and follows a key rotation
without a restart."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import jwt
import pytest

from devstack.graph_simulator import GraphSimulator
from shared.identity.exceptions import InvalidToken
from shared.identity.policies import ADMIN, GLOBAL_ADMINISTRATOR
from shared.identity.verifier import AccessTokenVerifier
from shared.security.signing_keys import JwksKeySource, fetch_over_http
from tests.fakes import FakeClock
from tests.integration.graph_simulator.helpers import http
from tests.support.identity import APP_ID, APP_ID_URI

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def identity_platform() -> Iterator[GraphSimulator]:
    with GraphSimulator(api_audience=APP_ID) as sim:
        yield sim


def mint(sim: GraphSimulator, body: dict[str, Any]) -> Any:
    reply = http("POST", f"{sim.base_url}/_sim/token", body)
    assert reply.status == 200, reply.body
    return reply.json()


def claims_of(token: str) -> dict[str, Any]:
    decoded: dict[str, Any] = jwt.decode(token, options={"verify_signature": False})
    return decoded


class FetchCounter:
    def __init__(self) -> None:
        self.calls = 0

    def __call__(self, url: str) -> bytes:
        self.calls += 1
        return fetch_over_http(url)


def verifier_for(
    sim: GraphSimulator, clock: FakeClock, fetch: FetchCounter | None = None
) -> AccessTokenVerifier:
    keys = JwksKeySource(
        f"{sim.base_url}/common/discovery/v2.0/keys",
        fetch=fetch,
        min_refresh_interval=timedelta(minutes=5),
        clock=clock,
    )
    return AccessTokenVerifier({APP_ID, APP_ID_URI}, keys)


def test_a_minted_token_is_a_global_administrators_v2_token_for_the_connector(
    identity_platform: GraphSimulator,
) -> None:
    # GIVEN a tenant id only
    tenant_id = str(uuid.uuid4())
    # WHEN a token is asked for
    issued = mint(identity_platform, {"tenantId": tenant_id})
    # THEN it is a bearer token shaped like Entra ID's v2 access token for the connector's API
    assert issued["token_type"] == "Bearer"
    assert issued["expires_in"] == 3600
    claims = claims_of(issued["access_token"])
    assert claims["aud"] == APP_ID
    assert claims["iss"] == f"https://login.microsoftonline.com/{tenant_id}/v2.0"
    assert claims["tid"] == tenant_id
    assert claims["ver"] == "2.0"
    assert claims["scp"] == "Connector.Manage"
    assert claims["wids"] == [GLOBAL_ADMINISTRATOR]
    assert claims["azp"] == "04b07795-8ddb-461a-bbee-02f9e1bf7b46"
    assert claims["preferred_username"].startswith("admin@")
    assert claims["exp"] - claims["nbf"] == 3600
    # AND the connector's verifier accepts it and the admin policy admits him in that tenant
    principal = AccessTokenVerifier(
        {APP_ID}, JwksKeySource(f"{identity_platform.base_url}/common/discovery/v2.0/keys")
    ).verify(issued["access_token"])
    ADMIN.authorize(principal, tenant_id)


def test_the_token_names_what_the_body_asks_for(identity_platform: GraphSimulator) -> None:
    tenant_id, oid = str(uuid.uuid4()), str(uuid.uuid4())
    claims = claims_of(
        mint(
            identity_platform,
            {
                "tenantId": tenant_id,
                "upn": "ops@contoso.example",
                "oid": oid,
                "roles": ["Connector.Admin"],
                "expiresInSeconds": 600,
            },
        )["access_token"]
    )
    assert (claims["oid"], claims["preferred_username"], claims["roles"]) == (
        oid,
        "ops@contoso.example",
        ["Connector.Admin"],
    )
    # roles without wids: a delegated admin without a directory role
    assert "wids" not in claims
    assert claims["exp"] - claims["iat"] == 600
    v1 = claims_of(mint(identity_platform, {"tenantId": tenant_id, "version": "1.0"})["access_token"])
    assert (v1["aud"], v1["iss"], v1["ver"]) == (APP_ID_URI, f"https://sts.windows.net/{tenant_id}/", "1.0")
    assert v1["upn"].startswith("admin@")
    app_only = claims_of(
        mint(identity_platform, {"tenantId": tenant_id, "scopes": [], "roles": ["Connector.Admin"]})[
            "access_token"
        ]
    )
    assert (app_only["idtyp"], "scp" in app_only) == ("app", False)


def test_a_user_of_the_simulated_directory_gets_his_own_object_id(identity_platform: GraphSimulator) -> None:
    tenant_id = str(uuid.uuid4())
    created = http(
        "POST",
        f"{identity_platform.base_url}/_sim/tenants/{tenant_id}/users",
        {"userPrincipalName": "megan@contoso.example", "displayName": "Megan"},
    ).json()
    claims = claims_of(
        mint(identity_platform, {"tenantId": tenant_id, "upn": "megan@contoso.example"})["access_token"]
    )
    assert claims["oid"] == created["id"]


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"tenantId": "contoso.com"},
        {"tenantId": str(uuid.uuid4()), "wids": "Global Administrator"},
        {"tenantId": str(uuid.uuid4()), "expiresInSeconds": 10**9},
        {"tenantId": str(uuid.uuid4()), "expiresInSeconds": "3600"},
        {"tenantId": str(uuid.uuid4()), "version": "3.0"},
        {"tenantId": str(uuid.uuid4()), "oid": "not-a-guid"},
        {"tenantId": str(uuid.uuid4()), "isAdmin": True},
    ],
    ids=repr,
)
def test_bad_token_requests_are_400(identity_platform: GraphSimulator, body: dict[str, Any]) -> None:
    reply = http("POST", f"{identity_platform.base_url}/_sim/token", body)
    assert reply.status in (400, 404), reply.body
    assert "error" in reply.json()


def test_without_a_configured_audience_the_request_must_name_one() -> None:
    with GraphSimulator() as bare:
        tenant_id = str(uuid.uuid4())
        refused = http("POST", f"{bare.base_url}/_sim/token", {"tenantId": tenant_id})
        assert refused.status == 400
        assert "audience" in refused.json()["error"]["message"]
        assert (
            claims_of(mint(bare, {"tenantId": tenant_id, "audience": "api://x"})["access_token"])["aud"]
            == "api://x"
        )


def test_a_key_rotation_is_picked_up_without_a_restart() -> None:
    with GraphSimulator(api_audience=APP_ID) as sim:
        tenant_id = str(uuid.uuid4())
        clock, fetch = FakeClock(), FetchCounter()
        verifier = verifier_for(sim, clock, fetch)
        before = mint(sim, {"tenantId": tenant_id})["access_token"]
        assert verifier.verify(before).tenant_id == tenant_id
        assert fetch.calls == 1
        # WHEN, a while later, the identity platform rotates its signing key (the old one stays published)
        clock.advance(minutes=30)
        rotated = http("POST", f"{sim.base_url}/_sim/keys/rotate", {}).json()
        after = mint(sim, {"tenantId": tenant_id})["access_token"]
        assert jwt.get_unverified_header(after)["kid"] == rotated["kid"]
        assert rotated["kid"] != jwt.get_unverified_header(before)["kid"]
        # THEN the running verifier fetches the keys once more and accepts the new kid, and the old token
        assert verifier.verify(after).tenant_id == tenant_id
        assert verifier.verify(before).tenant_id == tenant_id
        assert fetch.calls == 2
        # AND a flood of tokens with a kid it does not know makes it fetch no more than once per interval
        http("POST", f"{sim.base_url}/_sim/keys/rotate", {"retirePrevious": True})
        newest = mint(sim, {"tenantId": tenant_id})["access_token"]
        for _ in range(20):
            with pytest.raises(InvalidToken, match="does not publish"):
                verifier.verify(newest)
        assert fetch.calls == 2
        # AND once the interval has passed the unknown kid is looked up again: the newest key verifies and
        # the retired ones stop working
        clock.advance(minutes=5)
        assert verifier.verify(newest).tenant_id == tenant_id
        assert fetch.calls == 3
        with pytest.raises(InvalidToken, match="does not publish"):
            verifier.verify(after)
