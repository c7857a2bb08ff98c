"""The connector's Webex adapters against the contract-true simulator (in process, real HTTP): the
sign-in flow, tokens, idle codes, state changes and status reads, and Webex's refusals."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from devstack.contact_center_simulator import ContactCenterSimulator
from shared.connectors.model import Connector, ConnectorSettings, ConnectorStatus, WebexContactCenter
from shared.contact_center.clients import HttpContactCenterClients
from shared.contact_center.exceptions import ContactCenterAuthFailed, ContactCenterRejected
from shared.contact_center.model import AgentState
from shared.contact_center.webex.exceptions import WebexReauthorizationRequired
from shared.contact_center.webex.model import WebexAuthorizationStatus
from shared.contact_center.webex.oauth import HttpWebexOAuth
from shared.contact_center.webex.service import WebexConnectionService
from shared.contact_center.webex.subscriptions_api import HttpWebexSubscriptions
from shared.contact_center.webex_client import WebexContactCenterClient
from shared.identity.principal import Actor
from shared.security.signed_state import StateSigner
from tests.fakes import FakeConnectorRepository
from tests.integration.contact_center_simulator.helpers import Control
from tests.unit.contact_center.webex.fakes import FakeWebexAuthorizations
from tests.unit.sync_accounts.fakes import FakeSignInRepository

pytestmark = pytest.mark.integration

TENANT = "72f988bf-86f1-41af-91ab-2d7cd011db47"
ORG = "0b8a0a3e-5f5e-4a43-9d8b-2a1f3c4d5e6f"  # the simulator's default organization
ADMIN_ONLY = "1a2b3c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d"
REDIRECT = "https://connector.example.com/api/contact-center/webex/callback"
ADMIN = Actor("11111111-2222-3333-4444-555555555555", "admin@contoso.example")


@dataclass
class Wired:
    simulator: ContactCenterSimulator
    control: Control
    service: WebexConnectionService
    authorizations: FakeWebexAuthorizations
    clients: HttpContactCenterClients
    config: WebexContactCenter

    def sign_in(self) -> None:
        start = self.service.start_authorize(TENANT, ADMIN)
        location = httpx.get(start.authorize_url, follow_redirects=False).headers["location"]
        query = {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}
        assert location.startswith(REDIRECT), location
        self.service.complete_authorize(query)

    def client(self) -> WebexContactCenterClient:
        client = self.clients.client_for(TENANT, self.config)
        assert isinstance(client, WebexContactCenterClient)
        return client

    def agent(self, **body: object) -> str:
        result = self.control("POST", "/webex/agents", {"orgId": ORG, "loggedIn": True, **body})
        assert result.status == 201, result.body
        agent_id: str = result.json()["agent"]["agentId"]
        return agent_id

    def agent_view(self, agent_id: str) -> dict[str, object]:
        view: dict[str, object] = self.control("GET", f"/webex/agents/{agent_id}").json()
        return view


@pytest.fixture
def wired(simulator: ContactCenterSimulator) -> Iterator[Wired]:
    simulator.register_webex_integration("integration-id", "integration-secret", [REDIRECT])
    http = httpx.Client(timeout=10)
    config = WebexContactCenter(simulator.base_url, ORG)
    connectors = FakeConnectorRepository()
    now = datetime.now(UTC)
    connectors.rows[TENANT] = Connector(TENANT, ConnectorStatus.ACTIVE, ConnectorSettings(), config, now, now)
    authorizations = FakeWebexAuthorizations()
    service = WebexConnectionService(
        authorizations,
        FakeSignInRepository(),
        connectors,
        HttpWebexOAuth(
            http,
            authorize_url=simulator.authorize_url,
            token_url=simulator.token_url,
            client_id="integration-id",
            client_secret="integration-secret",
            redirect_uri=REDIRECT,
            clock=lambda: datetime.now(UTC),
        ),
        HttpWebexSubscriptions(http, lambda: datetime.now(UTC)),
        StateSigner(b"k" * 32, lambda: datetime.now(UTC)),
        lambda tenant: f"http://127.0.0.1:9/api/tenants/{tenant}/contact-center/webex/events",
        lambda: datetime.now(UTC),
    )
    clients = HttpContactCenterClients("https://connector.example.com", webex_tokens=service)
    try:
        yield Wired(simulator, Control(simulator.base_url), service, authorizations, clients, config)
    finally:
        clients.close()
        http.close()


def test_sign_in_stores_the_grant_and_registers_the_subscription(wired: Wired) -> None:
    wired.sign_in()
    stored = wired.authorizations.get(TENANT)
    assert stored is not None
    assert stored.status is WebexAuthorizationStatus.AUTHORIZED
    assert stored.org_id == ORG
    assert stored.subscription is not None
    listed = wired.control("GET", f"/webex/subscriptions?orgId={ORG}").json()["subscriptions"]
    assert [s["id"] for s in listed] == [stored.subscription.subscription_id]


def test_idle_codes_state_changes_and_status_reads(wired: Wired) -> None:
    wired.sign_in()
    client = wired.client()
    codes = client.idle_codes()
    meeting = next(code for code in codes if code.name == "Meeting")
    assert all(code.name != "Training (retired)" for code in codes)
    agent_id = wired.agent(state="available")
    client.set_idle(agent_id, meeting.id, meeting.name, "Teams: Busy/InAMeeting")
    view = wired.agent_view(agent_id)
    assert (view["state"], view["auxCodeId"]) == ("idle", meeting.id)
    assert str(view["lastStateChangeReason"]).startswith("[teams-connector] ")
    status = client.get_status(agent_id)
    assert status is not None
    assert (status.state, status.idle_code_id) == (AgentState.IDLE, meeting.id)
    client.set_available(agent_id, "Teams: Available")
    assert wired.agent_view(agent_id)["state"] == "available"
    assert client.probe() == 200


def test_a_logged_out_agent_and_a_user_who_is_no_supervisor_are_refusals(wired: Wired) -> None:
    wired.sign_in()
    client = wired.client()
    logged_out = wired.agent(loggedIn=False)
    with pytest.raises(ContactCenterRejected, match="active session"):
        client.set_available(logged_out, "r")
    # GIVEN the Webex user who signed in is an administrator but supervises no team
    wired.control("PUT", "/webex/signed-in-user", {"userId": ADMIN_ONLY})
    wired.sign_in()
    wired.service.forget_token(TENANT)
    agent_id = wired.agent(state="available")
    with pytest.raises(ContactCenterRejected, match="Change Agent States") as refused:
        wired.client().set_available(agent_id, "r")
    assert refused.value.status == 403


def test_expired_access_tokens_are_refreshed_and_revoked_grants_need_a_new_sign_in(wired: Wired) -> None:
    wired.sign_in()
    agent_id = wired.agent(state="available")
    wired.control("POST", "/webex/tokens/expire-access")
    # The cached token is refused once (401): forgotten, and the next call refreshes
    with pytest.raises(ContactCenterAuthFailed, match="401"):
        wired.client().get_status(agent_id)
    assert wired.client().get_status(agent_id) is not None
    wired.control("POST", "/webex/tokens/revoke", {"clientId": "integration-id"})
    wired.service.forget_token(TENANT)
    with pytest.raises(WebexReauthorizationRequired, match="invalid_grant"):
        wired.client().get_status(agent_id)
    stored = wired.authorizations.get(TENANT)
    assert stored is not None
    assert stored.status is WebexAuthorizationStatus.REAUTHORIZATION_REQUIRED
