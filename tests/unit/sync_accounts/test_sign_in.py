"""Starting and completing a sync-account sign-in against fakes: what is stored, what the URL carries,
and every way a callback can be misused (replayed, forged, expired, another tenant, another purpose)."""

from __future__ import annotations

import base64
import hashlib
import uuid
from datetime import timedelta

import pytest

from shared.connectors.consent import CONSENT_PURPOSE
from shared.connectors.exceptions import ConnectorNotActive, ConnectorNotFound
from shared.connectors.model import ConnectorStatus
from shared.sync_accounts.exceptions import (
    IdentityPlatformUnavailable,
    InvalidSignInCallback,
    InvalidSyncAccountInput,
    SignInAlreadyUsed,
    SignInDenied,
    SignInExpired,
    SignInRejected,
    WrongTenant,
)
from shared.sync_accounts.model import PendingSignIn, SyncAccountStatus
from shared.sync_accounts.service import SIGN_IN_PURPOSE
from tests.support.identity import ADMIN, ADMIN_OID
from tests.unit.sync_accounts.world import OTHER_TENANT, TENANT, TTL, World, identity


def test_start_stores_a_sealed_pending_sign_in_and_builds_a_pkce_url(world: World) -> None:
    # WHEN a sign-in is started with a login hint
    started = world.service.start_sign_in(TENANT, {"loginHint": "sync1@contoso.example"}, ADMIN)
    # THEN one pending sign-in is stored, expiring after the TTL, with a long random verifier
    [pending] = world.sign_ins.rows.values()
    assert pending.login_hint == "sync1@contoso.example"
    assert pending.expires_at == (world.clock() + TTL).replace(microsecond=0) == started.expires_at
    assert 43 <= len(pending.code_verifier) <= 128
    # AND the URL gets the S256 challenge of that verifier, never the verifier itself
    call = world.platform.authorize_calls[-1]
    expected = base64.urlsafe_b64encode(hashlib.sha256(pending.code_verifier.encode()).digest())
    assert call["challenge"] == expected.rstrip(b"=").decode()
    assert pending.code_verifier not in started.authorize_url
    assert call["login_hint"] == "sync1@contoso.example"
    # AND the state is signed for sync-account sign-in, bound to the tenant and this attempt
    claims = world.signer.verify(str(call["state"]), SIGN_IN_PURPOSE)
    assert (claims.tenant_id, claims.attempt_id) == (TENANT, pending.attempt_id)


def test_each_start_gets_its_own_attempt_and_verifier(world: World) -> None:
    world.service.start_sign_in(TENANT, None, ADMIN)
    world.service.start_sign_in(TENANT, {}, ADMIN)
    first, second = world.sign_ins.added
    assert first.attempt_id != second.attempt_id
    assert first.code_verifier != second.code_verifier
    assert world.platform.authorize_calls[-1]["login_hint"] is None


def test_start_removes_expired_sign_ins_of_the_tenant(world: World) -> None:
    # GIVEN a sign-in that was never completed
    world.service.start_sign_in(TENANT, None, ADMIN)
    stale = world.sign_ins.added[-1]
    # WHEN a new one starts after the first expired
    world.clock.advance(minutes=16)
    world.service.start_sign_in(TENANT, None, ADMIN)
    # THEN only the new one is left
    assert (TENANT, stale.attempt_id) not in world.sign_ins.rows
    assert len(world.sign_ins.rows) == 1


def test_a_failing_cleanup_does_not_fail_the_start(world: World) -> None:
    world.sign_ins.fail_cleanup = True
    started = world.service.start_sign_in(TENANT, None, ADMIN)
    assert started.authorize_url
    assert len(world.sign_ins.rows) == 1


@pytest.mark.parametrize(
    "body",
    [
        [],
        "sync1@contoso.example",
        {"loginHint": 5},
        {"loginHint": "no-at-sign"},
        {"loginHint": "two words@contoso.example"},
        {"loginHint": "sync1@contoso"},
        {"loginHint": "x" * 300 + "@contoso.example"},
        {"loginHint": "sync1@contoso.example\n"},
        {"loginHint": "sync1@contoso.example", "prompt": "none"},
    ],
)
def test_start_refuses_bad_bodies_and_stores_nothing(world: World, body: object) -> None:
    with pytest.raises(InvalidSyncAccountInput):
        world.service.start_sign_in(TENANT, body, ADMIN)
    assert world.sign_ins.rows == {}
    assert world.platform.authorize_calls == []


def test_start_needs_an_active_connector(world: World) -> None:
    # GIVEN one tenant without a connector and one whose connector waits for consent
    world.add_connector(OTHER_TENANT, ConnectorStatus.PENDING_CONSENT)
    with pytest.raises(ConnectorNotFound):
        world.service.start_sign_in("11111111-2222-3333-4444-555555555555", None, ADMIN)
    with pytest.raises(ConnectorNotActive) as refused:
        world.service.start_sign_in(OTHER_TENANT, None, ADMIN)
    assert refused.value.code == "connectorNotActive"
    assert world.sign_ins.rows == {}


def test_completed_sign_in_records_a_healthy_account_and_tells_the_listener(world: World) -> None:
    # GIVEN a started sign-in that the identity platform approved
    params = world.approve(world.start("sync1@contoso.example"), identity())
    # WHEN the browser comes back
    account = world.service.complete_sign_in(params)
    # THEN the account is stored, healthy, with the token cache the code redemption produced
    assert account.account_id == identity().account_id
    assert (account.user_principal_name, account.display_name) == ("sync1@contoso.example", "Sync One")
    assert account.status is SyncAccountStatus.HEALTHY
    assert account.created_at == account.signed_in_at == account.last_token_at == world.clock()
    assert account.created_by_latest_sign_in
    stored, cache = world.accounts.rows[(TENANT, account.account_id)]
    assert stored == account
    assert '"refresh"' in cache
    # AND the code was redeemed once, with the verifier of this sign-in, which is now used up
    assert len(world.platform.redeemed) == 1
    assert world.sign_ins.rows == {}
    assert world.listener.calls == [("accounts_changed", TENANT)]


def test_signing_in_again_replaces_the_cache_and_keeps_the_account(world: World) -> None:
    # GIVEN an account that signed in and later needed reauthorization
    first = world.sign_in()
    world.service.mark_reauthorization_required(TENANT, first.account_id, "refresh token revoked")
    old_cache = world.accounts.rows[(TENANT, first.account_id)][1]
    world.clock.advance(hours=2)
    # WHEN the same user signs in again
    again = world.sign_in()
    # THEN it is the same account, healthy again, created at the first sign-in, with a new cache
    assert again.account_id == first.account_id
    assert again.status is SyncAccountStatus.HEALTHY
    assert again.last_error is None
    assert again.created_at == first.created_at
    assert again.signed_in_at == world.clock()
    assert not again.created_by_latest_sign_in
    assert world.accounts.rows[(TENANT, first.account_id)][1] != old_cache
    assert len(world.accounts.rows) == 1


def test_a_listener_failure_does_not_fail_the_sign_in(world: World) -> None:
    world.listener.fail = True
    account = world.sign_in()
    assert (TENANT, account.account_id) in world.accounts.rows


def test_a_replayed_callback_is_refused_without_a_second_redemption(world: World) -> None:
    params = world.approve(world.start(), identity())
    world.service.complete_sign_in(params)
    with pytest.raises(SignInAlreadyUsed):
        world.service.complete_sign_in(params)
    assert len(world.platform.redeemed) == 1


def test_an_error_redirect_uses_up_the_sign_in_and_redeems_nothing(world: World) -> None:
    # GIVEN the user cancelled at the identity platform
    params = {
        **world.start(),
        "error": "access_denied",
        "error_description": "AADSTS65004: User declined to consent.\r\nTrace ID: 1",
    }
    # WHEN the browser comes back with the error
    with pytest.raises(SignInDenied) as denied:
        world.service.complete_sign_in(params)
    # THEN the identity platform's error is reported, nothing is redeemed or stored
    assert denied.value.error == "access_denied"
    assert denied.value.description.startswith("AADSTS65004: User declined to consent.")
    assert "\r" not in denied.value.description
    assert world.platform.redeemed == []
    assert world.accounts.rows == {}
    # AND the same state cannot be used again, not even with a code
    with pytest.raises(SignInAlreadyUsed):
        world.service.complete_sign_in({**params, "code": "late"})


def test_an_expired_state_is_refused(world: World) -> None:
    params = world.approve(world.start(), identity())
    world.clock.advance(minutes=15, seconds=1)
    with pytest.raises(SignInExpired):
        world.service.complete_sign_in(params)
    assert world.platform.redeemed == []


def test_a_stale_row_is_refused_even_if_its_state_still_verified(world: World) -> None:
    # GIVEN a pending row whose own expiry passed before the state's (clock skew between writers)
    params = world.approve(world.start(), identity())
    pending = world.sign_ins.added[-1]
    world.sign_ins.rows[(TENANT, pending.attempt_id)] = PendingSignIn(
        pending.tenant_id,
        pending.attempt_id,
        pending.code_verifier,
        None,
        pending.created_at,
        world.clock() - timedelta(seconds=1),
    )
    with pytest.raises(SignInExpired):
        world.service.complete_sign_in(params)
    assert world.platform.redeemed == []


@pytest.mark.parametrize(
    "params",
    [
        {},
        {"code": "abc"},
        {"state": "", "code": "abc"},
        {"state": "not-a-state", "code": "abc"},
        {"state": "a.b", "code": "abc"},
        {"state": "x" * 9000, "code": "abc"},
    ],
)
def test_callbacks_without_a_valid_state_are_refused(world: World, params: dict[str, str]) -> None:
    world.start()
    with pytest.raises(InvalidSignInCallback):
        world.service.complete_sign_in(params)
    assert world.platform.redeemed == []
    assert len(world.sign_ins.rows) == 1


def test_a_tampered_state_is_refused(world: World) -> None:
    state = world.start()["state"]
    payload, signature = state.split(".")
    forged = f"{payload[:-2]}AA.{signature}"
    with pytest.raises(InvalidSignInCallback):
        world.service.complete_sign_in({"state": forged, "code": "abc"})


def test_an_admin_consent_state_is_not_a_sign_in_state(world: World) -> None:
    # GIVEN a state this app signed for admin consent, for the same tenant and a pending attempt id
    world.start()
    pending = world.sign_ins.added[-1]
    consent_state = world.signer.sign(
        CONSENT_PURPOSE, TENANT, pending.attempt_id, pending.expires_at, requested_by=ADMIN_OID
    )
    # WHEN it is replayed at the sign-in callback, THEN it is refused and the sign-in stays pending
    with pytest.raises(InvalidSignInCallback):
        world.service.complete_sign_in({"state": consent_state, "code": "abc"})
    assert (TENANT, pending.attempt_id) in world.sign_ins.rows


def test_a_state_for_another_tenant_does_not_take_this_tenants_sign_in(world: World) -> None:
    # GIVEN a sign-in pending for TENANT
    world.start()
    pending = world.sign_ins.added[-1]
    # WHEN someone signs a state naming its attempt but another tenant
    state = world.signer.sign(
        SIGN_IN_PURPOSE, OTHER_TENANT, pending.attempt_id, pending.expires_at, requested_by=ADMIN_OID
    )
    # THEN there is no such sign-in for that tenant
    with pytest.raises(SignInAlreadyUsed):
        world.service.complete_sign_in({"state": state, "code": "abc"})
    assert (TENANT, pending.attempt_id) in world.sign_ins.rows


def test_an_account_of_another_tenant_is_refused(world: World) -> None:
    # GIVEN the identity platform signed in a user of another tenant
    params = world.approve(world.start(), identity(tenant_id=OTHER_TENANT))
    # WHEN the callback completes, THEN it is refused and nothing is stored
    with pytest.raises(WrongTenant) as refused:
        world.service.complete_sign_in(params)
    assert refused.value.code == "wrongTenant"
    assert world.accounts.rows == {}
    assert world.listener.calls == []


def test_a_callback_with_neither_code_nor_error_is_refused(world: World) -> None:
    params = world.start()
    with pytest.raises(InvalidSignInCallback):
        world.service.complete_sign_in(params)
    assert world.platform.redeemed == []


def test_a_refused_code_is_reported_and_the_sign_in_is_used_up(world: World) -> None:
    params = {**world.start(), "code": "forged-code"}
    with pytest.raises(SignInRejected) as rejected:
        world.service.complete_sign_in(params)
    assert rejected.value.code == "signInFailed"
    assert world.accounts.rows == {}
    assert world.sign_ins.rows == {}


def test_an_unavailable_identity_platform_stores_nothing(world: World) -> None:
    world.platform.unavailable = True
    with pytest.raises(IdentityPlatformUnavailable):
        world.sign_in()
    assert world.accounts.rows == {}


def test_a_connector_deleted_while_the_browser_was_away_keeps_nothing(world: World) -> None:
    params = world.approve(world.start(), identity())
    world.connectors.rows.clear()
    with pytest.raises(ConnectorNotFound):
        world.service.complete_sign_in(params)
    assert world.accounts.rows == {}


def test_the_sign_in_is_bound_to_the_admin_who_started_it(world: World) -> None:
    # GIVEN a sign-in an admin started: the pending sign-in and its state both name him
    world.start()
    pending = world.sign_ins.added[-1]
    assert pending.requested_by == ADMIN_OID
    state = str(world.platform.authorize_calls[-1]["state"])
    assert world.signer.verify(state, SIGN_IN_PURPOSE).requested_by == ADMIN_OID
    # WHEN a state for the same attempt names another admin
    other = world.signer.sign(
        SIGN_IN_PURPOSE, TENANT, pending.attempt_id, pending.expires_at, requested_by=str(uuid.uuid4())
    )
    # THEN the callback is refused (the attempt is used up, as with any callback), and no account is added
    with pytest.raises(InvalidSignInCallback, match="signed-in admin"):
        world.service.complete_sign_in(world.approve({"state": other}, identity()))
    assert world.accounts.list(TENANT) == []
