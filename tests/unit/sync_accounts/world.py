"""A SyncAccountService wired to fakes, with helpers that play the browser and the identity platform."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

from shared.connectors.model import Connector, ConnectorSettings, ConnectorStatus
from shared.security.signed_state import StateSigner
from shared.sync_accounts.model import SignedInIdentity, SyncAccount
from shared.sync_accounts.service import SyncAccountService
from tests.fakes import FakeClock, FakeConnectorRepository
from tests.support.identity import ADMIN
from tests.unit.sync_accounts.fakes import (
    FakeIdentityPlatform,
    FakeSignInRepository,
    FakeSyncAccountRepository,
    FixedUsage,
    RecordingListener,
)

TENANT = "72f988bf-86f1-41af-91ab-2d7cd011db47"
OTHER_TENANT = "0c1a3e5f-7b9d-4f21-8a63-5e7c9b1d2f40"
STATE_KEY = b"state-signing-key-for-tests-0123456789"
TTL = timedelta(minutes=15)


def identity(
    account_id: str = "5f0c2a4e-9d1b-4c3a-8e7f-6a5b4c3d2e1f",
    tenant_id: str = TENANT,
    upn: str = "sync1@contoso.example",
    name: str | None = "Sync One",
) -> SignedInIdentity:
    return SignedInIdentity(tenant_id, account_id, upn, name)


class World:
    def __init__(self) -> None:
        self.clock = FakeClock()
        self.connectors = FakeConnectorRepository()
        self.accounts = FakeSyncAccountRepository()
        self.sign_ins = FakeSignInRepository()
        self.platform = FakeIdentityPlatform()
        self.signer = StateSigner(STATE_KEY, self.clock)
        self.listener = RecordingListener()
        self.listener.accounts = self.accounts
        self.usage = FixedUsage()
        self.service = SyncAccountService(
            self.accounts,
            self.sign_ins,
            self.connectors,
            self.platform,
            self.signer,
            self.listener,
            self.clock,
            sign_in_ttl=TTL,
            usage=self.usage,
        )
        self.add_connector(TENANT)

    def add_connector(self, tenant_id: str, status: ConnectorStatus = ConnectorStatus.ACTIVE) -> None:
        now = self.clock()
        self.connectors.add(
            Connector(
                tenant_id=tenant_id,
                status=status,
                settings=ConnectorSettings(),
                contact_center=None,
                created_at=now,
                updated_at=now,
                activated_at=now if status is ConnectorStatus.ACTIVE else None,
            )
        )

    def start(self, login_hint: str | None = None, tenant_id: str = TENANT) -> dict[str, str]:
        """Start a sign-in; returns what the browser would bring back for a successful one."""
        body = None if login_hint is None else {"loginHint": login_hint}
        self.service.start_sign_in(tenant_id, body, ADMIN)
        state = str(self.platform.authorize_calls[-1]["state"])
        return {"state": state}

    def approve(self, params: dict[str, str], who: SignedInIdentity) -> dict[str, str]:
        """The identity platform approves: a code bound to the verifier of the pending sign-in."""
        pending = self.sign_ins.added[-1]
        return {**params, "code": self.platform.issue_code(who, pending.code_verifier)}

    def sign_in(self, who: SignedInIdentity | None = None) -> SyncAccount:
        who = who or identity()
        return self.service.complete_sign_in(self.approve(self.start(), who))


def query_of(url: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}
