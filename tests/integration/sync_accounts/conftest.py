"""A Graph simulator with TLS (MSAL needs https) and Azurite, wired into a real SyncAccountService."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest
import requests

from devstack.graph_simulator import GraphSimulator
from shared.connectors.model import Connector, ConnectorSettings, ConnectorStatus
from shared.security.secret_box import SecretBox
from shared.security.signed_state import StateSigner
from shared.settings import Settings
from shared.storage.connector_repository import TableConnectorRepository
from shared.storage.sync_account_repository import TableSignInRepository, TableSyncAccountRepository
from shared.storage.table_store import TableStore
from shared.sync_accounts.oauth import MsalOAuthClient
from shared.sync_accounts.service import SyncAccountService
from tests.fakes import FakeClock
from tests.support.identity import ADMIN
from tests.unit.sync_accounts.fakes import FixedUsage, RecordingListener

REDIRECT = "http://127.0.0.1:7071/api/auth/callback"
STATE_KEY = b"sync-accounts-integration-state-key"


@pytest.fixture(scope="module")
def simulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[GraphSimulator]:
    sim = GraphSimulator(port=0, tls_port=0, tls_dir=tmp_path_factory.mktemp("sync-accounts-tls"))
    sim.start()
    try:
        yield sim
    finally:
        sim.stop()


@pytest.fixture(autouse=True)
def _foreign_ca_bundle(monkeypatch: pytest.MonkeyPatch) -> None:
    """The environment names another CA bundle; the adapter must still trust only the one it is given."""
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", os.devnull)


class Browser:
    """Plain HTTP to the simulator. Follows no redirect: the test reads the Location itself."""

    def __init__(self, simulator: GraphSimulator) -> None:
        self._simulator = simulator
        self._session = requests.Session()
        self._session.trust_env = False

    def close(self) -> None:
        self._session.close()

    def location(self, url: str) -> str:
        response = self._session.get(url, allow_redirects=False, timeout=30)
        assert response.status_code == 302, response.text
        return str(response.headers["Location"])

    def control(self, method: str, path: str, body: Any = None) -> Any:
        url = f"{self._simulator.base_url}/_sim{path}"
        response = self._session.request(method, url, json=body, timeout=30)
        assert response.status_code < 300, response.text
        return response.json() if response.content else None

    def graph_get(self, path: str, token: str) -> requests.Response:
        headers = {"Authorization": f"Bearer {token}"}
        return self._session.get(f"{self._simulator.base_url}/v1.0{path}", headers=headers, timeout=30)


def query_of(url: str) -> dict[str, str]:
    return dict(parse_qsl(urlsplit(url).query))


def oauth_client(
    simulator: GraphSimulator, client_id: str, credential: str | dict[str, str]
) -> MsalOAuthClient:
    assert simulator.tls_base_url is not None
    assert simulator.tls_ca_path is not None
    return MsalOAuthClient(
        client_id,
        credential,
        token_authority_host=simulator.tls_base_url,
        browser_authority_host=simulator.base_url,
        redirect_uri=REDIRECT,
        ca_bundle_path=str(simulator.tls_ca_path),
    )


@dataclass
class Stack:
    simulator: GraphSimulator
    browser: Browser
    tenant_id: str
    client_id: str
    client_secret: str
    store: TableStore
    box: SecretBox
    accounts: TableSyncAccountRepository
    sign_ins: TableSignInRepository
    connectors: TableConnectorRepository
    listener: RecordingListener
    clock: FakeClock
    service: SyncAccountService = field(init=False)

    def __post_init__(self) -> None:
        self.service = self.with_oauth(oauth_client(self.simulator, self.client_id, self.client_secret))

    def with_oauth(self, oauth: MsalOAuthClient) -> SyncAccountService:
        """Another service instance (another Functions worker) over the same tables."""
        return SyncAccountService(
            self.accounts,
            self.sign_ins,
            self.connectors,
            oauth,
            StateSigner(STATE_KEY, self.clock),
            self.listener,
            self.clock,
            usage=FixedUsage(),
        )

    def add_user(self, tenant_id: str | None = None, **fields: Any) -> dict[str, Any]:
        fields.setdefault("userPrincipalName", f"sync-{uuid.uuid4().hex[:8]}@contoso.example")
        fields.setdefault("displayName", "Sync Account")
        user: dict[str, Any] = self.browser.control(
            "POST", f"/tenants/{tenant_id or self.tenant_id}/users", fields
        )
        return user

    def sign_in_redirect(
        self, login_hint: str | None, service: SyncAccountService | None = None
    ) -> dict[str, str]:
        """Start a sign-in and let the simulator approve it: the query the browser brings back."""
        body = None if login_hint is None else {"loginHint": login_hint}
        started = (service or self.service).start_sign_in(self.tenant_id, body, ADMIN)
        location = self.browser.location(started.authorize_url)
        assert location.startswith(REDIRECT + "?"), location
        return query_of(location)


@pytest.fixture
def stack(simulator: GraphSimulator, azurite_settings: Settings, tenant_id: str) -> Iterator[Stack]:
    """GIVEN a tenant with an active connector and a registered app, in the simulator and in Azurite."""
    browser = Browser(simulator)
    client_id, secret = str(uuid.uuid4()), f"secret-{uuid.uuid4().hex}"
    browser.control("POST", f"/tenants/{tenant_id}", {"domains": [f"t{tenant_id[:8]}.example"]})
    browser.control("POST", "/apps", {"clientId": client_id, "secrets": [secret], "redirectUris": [REDIRECT]})
    store = TableStore.from_settings(azurite_settings)
    box = SecretBox(azurite_settings.secrets_encryption_key)
    clock = FakeClock(datetime.now(UTC))
    connectors = TableConnectorRepository(store, box)
    connectors.add(
        Connector(
            tenant_id=tenant_id,
            status=ConnectorStatus.ACTIVE,
            settings=ConnectorSettings(),
            contact_center=None,
            created_at=clock(),
            updated_at=clock(),
            activated_at=clock(),
        )
    )
    listener = RecordingListener()
    accounts = TableSyncAccountRepository(store, box)
    sign_ins = TableSignInRepository(store, box)
    stack = Stack(
        simulator=simulator,
        browser=browser,
        tenant_id=tenant_id,
        client_id=client_id,
        client_secret=secret,
        store=store,
        box=box,
        accounts=accounts,
        sign_ins=sign_ins,
        connectors=connectors,
        listener=listener,
        clock=clock,
    )
    try:
        yield stack
    finally:
        browser.close()
