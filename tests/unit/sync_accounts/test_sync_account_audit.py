"""Sync-account admin actions in the audit trail: starting a sign-in, its completion, removal."""

from __future__ import annotations

import pytest

from shared.connectors.audit import AdminAudit
from shared.connectors.exceptions import ConnectorNotActive
from shared.connectors.model import ConnectorStatus
from shared.sync_accounts.exceptions import SignInAlreadyUsed, SyncAccountNotFound
from shared.sync_accounts.service import SyncAccountService
from tests.fakes import FakeAuditLog
from tests.support.identity import ADMIN
from tests.unit.sync_accounts.world import OTHER_TENANT, TENANT, TTL, World, identity


class AuditedWorld(World):
    def __init__(self) -> None:
        super().__init__()
        self.audit = FakeAuditLog()
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
            audit=AdminAudit(self.audit, self.clock, self.connectors),
        )


def test_a_sign_in_its_completion_and_a_removal_are_audited() -> None:
    world = AuditedWorld()
    params = world.approve(world.start(), identity())
    account = world.service.complete_sign_in(params)
    with pytest.raises(SignInAlreadyUsed):
        world.service.complete_sign_in(params)
    world.service.delete(TENANT, account.account_id, actor=ADMIN)
    with pytest.raises(SyncAccountNotFound):
        world.service.delete(TENANT, account.account_id, actor=ADMIN)
    trail = [(e.action, e.outcome, (e.detail or "").split(":")[0]) for e in world.audit.entries]
    assert trail == [
        ("startSyncAccountSignIn", "succeeded", "sign-in link valid until 2026-11-21T09"),
        (
            "signInSyncAccount",
            "succeeded",
            f"sync account {account.account_id} ({account.user_principal_name})",
        ),
        ("signInSyncAccount", "failed", "signInAlreadyUsed"),
        ("deleteSyncAccount", "succeeded", f"sync account {account.account_id}"),
        ("deleteSyncAccount", "failed", "syncAccountNotFound"),
    ]
    # The identity platform's redirect names nobody: recorded under the admin who started the sign-in
    assert world.audit.entries[1].actor is not None
    assert world.audit.entries[1].actor.object_id == world.audit.entries[0].actor.object_id  # type: ignore[union-attr]


def test_a_sign_in_refused_for_an_inactive_connector_is_audited_and_an_unknown_tenant_is_not() -> None:
    world = AuditedWorld()
    world.add_connector(OTHER_TENANT, ConnectorStatus.INACTIVE)
    with pytest.raises(ConnectorNotActive):
        world.service.start_sign_in(OTHER_TENANT, None, ADMIN)
    [entry] = world.audit.entries
    assert (entry.tenant_id, entry.action, entry.outcome) == (
        OTHER_TENANT,
        "startSyncAccountSignIn",
        "failed",
    )
    with pytest.raises(SyncAccountNotFound):
        world.service.delete("33333333-3333-3333-3333-333333333333", "x", actor=ADMIN)
    assert len(world.audit.entries) == 1
