"""Listing, removal, usable accounts and the delegated token provider, against fakes."""

from __future__ import annotations

import json

import pytest

from shared.connectors.exceptions import ConnectorNotFound
from shared.sync_accounts.exceptions import (
    IdentityPlatformUnavailable,
    SyncAccountNotFound,
    SyncAccountReauthorizationRequired,
    SyncAccountTokenUnavailable,
)
from shared.sync_accounts.model import AGENTS_PER_ACCOUNT, SyncAccount, SyncAccountStatus
from tests.unit.sync_accounts.world import OTHER_TENANT, TENANT, World, identity

SECOND = "6a7b8c9d-0e1f-4a2b-9c3d-4e5f6a7b8c9d"
THIRD = "7b8c9d0e-1f2a-4b3c-8d4e-5f6a7b8c9d0e"


def expire_stored_access_token(world: World, account: SyncAccount) -> None:
    """GIVEN the stored cache's access token is about to lapse, so the next use refreshes."""
    stored, cache = world.accounts.rows[(account.tenant_id, account.account_id)]
    world.accounts.rows[(account.tenant_id, account.account_id)] = (
        stored,
        json.dumps({**json.loads(cache), "expires_in": 60}),
    )


# -- listing and usable accounts ----------------------------------------------------------------------


def test_listing_shows_accounts_oldest_first_with_their_usage(world: World) -> None:
    # GIVEN three accounts signed in an hour apart, one of them needing a new sign-in
    first = world.sign_in(identity())
    world.clock.advance(hours=1)
    second = world.sign_in(identity(SECOND, upn="sync2@contoso.example"))
    world.clock.advance(hours=1)
    third = world.sign_in(identity(THIRD, upn="sync3@contoso.example"))
    world.service.mark_reauthorization_required(TENANT, second.account_id, "revoked")
    world.usage.used_by_tenant[TENANT] = {first.account_id: 650, third.account_id: 12}
    # WHEN the tenant's accounts are listed
    listing = world.service.listing(TENANT)
    # THEN they come oldest first, with the agents each covers (none for an unused one)
    assert [a.account_id for a in listing.accounts] == [first.account_id, SECOND, THIRD]
    assert [listing.used_by(a.account_id) for a in listing.accounts] == [650, 0, 12]
    assert listing.agents_per_account == AGENTS_PER_ACCOUNT == 650
    assert listing.accounts[1].status is SyncAccountStatus.REAUTHORIZATION_REQUIRED
    # AND only the healthy ones are usable, oldest first
    assert world.service.usable_account_ids(TENANT) == [first.account_id, THIRD]
    assert world.service.usable_account_ids(OTHER_TENANT) == []


def test_listing_needs_a_connector(world: World) -> None:
    with pytest.raises(ConnectorNotFound):
        world.service.listing(OTHER_TENANT)


# -- removal ------------------------------------------------------------------------------------------


def test_delete_tells_the_listener_first_then_removes_the_row(world: World) -> None:
    account = world.sign_in()
    world.listener.calls.clear()
    # WHEN the account is deleted
    world.service.delete(TENANT, account.account_id)
    # THEN the listener saw it while the row (and so the token) still existed, then the row went
    assert world.listener.calls == [("account_removed", TENANT, account.account_id)]
    assert world.listener.seen_account_present == [True]
    assert world.accounts.rows == {}


def test_delete_goes_on_when_the_listener_fails(world: World) -> None:
    account = world.sign_in()
    world.listener.fail = True
    world.service.delete(TENANT, account.account_id)
    assert world.accounts.rows == {}


def test_deleting_an_unknown_account_is_not_found_and_tells_nobody(world: World) -> None:
    with pytest.raises(SyncAccountNotFound) as missing:
        world.service.delete(TENANT, SECOND)
    assert missing.value.code == "syncAccountNotFound"
    assert world.listener.calls == []


def test_a_deleted_account_gives_no_more_tokens(world: World) -> None:
    account = world.sign_in()
    provider = world.service.token_provider(TENANT, account.account_id)
    assert provider()
    world.service.delete(TENANT, account.account_id)
    with pytest.raises(SyncAccountNotFound):
        provider()


# -- token provider -----------------------------------------------------------------------------------


def test_tokens_are_served_from_memory_while_they_live(world: World) -> None:
    # GIVEN a signed-in account and its token provider
    account = world.sign_in()
    provider = world.service.token_provider(TENANT, account.account_id)
    # WHEN tokens are asked for repeatedly within the access token's life
    first = provider()
    reads = world.accounts.reads
    again = [provider() for _ in range(5)]
    # THEN the same token comes back without any table read
    assert again == [first] * 5
    assert world.accounts.reads == reads
    assert world.platform.sessions_opened == 1


def test_an_access_token_near_expiry_is_refreshed_and_the_cache_written_back(world: World) -> None:
    # GIVEN an account whose stored access token lapses within the refresh margin
    account = world.sign_in()
    expire_stored_access_token(world, account)
    world.clock.advance(minutes=30)
    # WHEN a token is asked for
    token = world.service.token_provider(TENANT, account.account_id)()
    # THEN it was refreshed and the rotated cache stored, with the time of the refresh
    assert world.platform.refreshes == 1
    stored, cache = world.accounts.rows[(TENANT, account.account_id)]
    assert json.loads(cache)["access"] == token
    assert stored.last_token_at == world.clock()
    assert world.accounts.cache_writes == 1


def test_memory_is_left_once_the_access_token_nears_its_end(world: World) -> None:
    # GIVEN a token served from memory
    account = world.sign_in()
    provider = world.service.token_provider(TENANT, account.account_id)
    provider()
    reads = world.accounts.reads
    # WHEN 56 minutes pass (the token lives 60, and the last 5 are not used)
    world.clock.advance(minutes=56)
    provider()
    # THEN the stored cache is read again
    assert world.accounts.reads == reads + 1


def test_a_concurrent_refresh_elsewhere_is_fine(world: World) -> None:
    # GIVEN another instance writes the row between our read and our write-back
    account = world.sign_in()
    expire_stored_access_token(world, account)
    world.accounts.concurrent_write_after_load = True
    # WHEN a token is asked for
    token = world.service.token_provider(TENANT, account.account_id)()
    # THEN our refreshed token is served anyway, and the stored version is adopted, not overwritten
    assert token
    assert world.accounts.cache_writes == 0
    assert world.accounts.rows[(TENANT, account.account_id)][0].status is SyncAccountStatus.HEALTHY


def test_a_revoked_refresh_token_marks_the_account_for_a_new_sign_in(world: World) -> None:
    # GIVEN the account's refresh token was revoked and its access token is due
    account = world.sign_in()
    cache = json.loads(world.accounts.rows[(TENANT, account.account_id)][1])
    world.platform.revoked.add(cache["refresh"])
    expire_stored_access_token(world, account)
    provider = world.service.token_provider(TENANT, account.account_id)
    # WHEN a token is asked for
    with pytest.raises(SyncAccountReauthorizationRequired) as required:
        provider()
    # THEN the account is marked with the reason, and is no longer usable
    assert required.value.code == "syncAccountReauthorizationRequired"
    stored = world.accounts.rows[(TENANT, account.account_id)][0]
    assert stored.status is SyncAccountStatus.REAUTHORIZATION_REQUIRED
    assert stored.last_error is not None
    assert "invalid_grant" in stored.last_error
    assert "sign in again" in stored.last_error
    assert stored.last_error_at == world.clock()
    assert world.service.usable_account_ids(TENANT) == []
    # AND later calls fail at once, without asking the identity platform again
    sessions = world.platform.sessions_opened
    with pytest.raises(SyncAccountReauthorizationRequired):
        provider()
    assert world.platform.refreshes == 0
    assert world.platform.sessions_opened == sessions + 1


def test_an_unavailable_identity_platform_does_not_mark_the_account(world: World) -> None:
    account = world.sign_in()
    expire_stored_access_token(world, account)
    world.platform.unavailable = True
    provider = world.service.token_provider(TENANT, account.account_id)
    with pytest.raises(IdentityPlatformUnavailable):
        provider()
    assert world.accounts.rows[(TENANT, account.account_id)][0].status is SyncAccountStatus.HEALTHY
    # WHEN it is back, THEN the next call refreshes
    world.platform.unavailable = False
    assert provider()
    assert world.platform.refreshes == 1


def test_a_cache_that_does_not_open_is_reported_without_marking(world: World) -> None:
    account = world.sign_in()
    world.accounts.undecryptable = True
    with pytest.raises(SyncAccountTokenUnavailable):
        world.service.token_provider(TENANT, account.account_id)()
    assert world.accounts.rows[(TENANT, account.account_id)][0].status is SyncAccountStatus.HEALTHY


def test_marking_takes_the_account_out_of_use_at_once(world: World) -> None:
    # GIVEN a token already served from memory
    account = world.sign_in()
    provider = world.service.token_provider(TENANT, account.account_id)
    provider()
    # WHEN Graph's refusal makes the subscriptions service mark the account
    world.service.mark_reauthorization_required(TENANT, account.account_id, "Graph answered 401")
    # THEN no token is served any more, not even the one in memory
    with pytest.raises(SyncAccountReauthorizationRequired) as required:
        provider()
    assert required.value.reason == "Graph answered 401"
    stored = world.accounts.rows[(TENANT, account.account_id)][0]
    assert (stored.status, stored.last_error) == (
        SyncAccountStatus.REAUTHORIZATION_REQUIRED,
        "Graph answered 401",
    )


def test_marking_an_unknown_account_changes_nothing(world: World) -> None:
    world.service.mark_reauthorization_required(TENANT, SECOND, "whatever")
    assert world.accounts.rows == {}


def test_signing_in_again_serves_the_new_tokens(world: World) -> None:
    # GIVEN a token served from memory
    account = world.sign_in()
    provider = world.service.token_provider(TENANT, account.account_id)
    before = provider()
    # WHEN the account signs in again
    world.sign_in()
    # THEN the provider serves the new sign-in's token
    after = provider()
    assert after != before
    assert json.loads(world.accounts.rows[(TENANT, account.account_id)][1])["access"] == after
