"""The subscriptions service against fakes: what it asks Graph, what it records, what it queues."""

from __future__ import annotations

from datetime import timedelta

import pytest

from shared.connectors.model import ConnectorStatus
from shared.graph.exceptions import GraphAuthenticationFailed, GraphConflict
from shared.graph.model import Presence
from shared.notifications.encryption_keys import EncryptionCertificate
from shared.presence.messages import PresenceChange
from shared.subscriptions.model import SubscriptionStatus, SyncOutcome
from shared.subscriptions.resources import presence_resource
from tests.unit.subscriptions.conftest import (
    LIFECYCLE_URL,
    NOTIFICATION_URL,
    OTHER_TENANT,
    TENANT,
    World,
    build_world,
    user,
    users,
)
from tests.unit.subscriptions.fakes import unavailable

A, B, C = (
    "11111111-aaaa-4aaa-8aaa-000000000001",
    "22222222-bbbb-4bbb-8bbb-000000000002",
    "33333333-cccc-4ccc-8ccc-000000000003",
)


def _subscribed(world: World, agents: list[str], accounts: list[str]) -> None:
    world.tenant(agents=agents, accounts=accounts)
    report = world.service.sync_tenant(TENANT)
    assert report.outcome is SyncOutcome.SYNCED
    world.graph.calls.clear()
    world.queue.published.clear()
    world.cache.forgotten.clear()


# -- creating and replacing ----------------------------------------------------------------------


def test_first_sync_creates_a_rich_subscription_with_exact_graph_syntax(world: World) -> None:
    # GIVEN an active tenant with two agents and one sync account
    agents = [user(2), user(1)]
    world.tenant(agents=agents, accounts=[A])

    # WHEN it is synced
    report = world.service.sync_tenant(TENANT)

    # THEN one subscription is created with the account's token, over both ids, quoted, sorted
    assert report.created == 1
    held = world.graph.held_by(TENANT, A)
    assert held is not None
    request = held.request
    assert request.resource == f"/communications/presences?$filter=id in ('{user(1)}','{user(2)}')"
    assert request.change_type == "updated"
    assert request.notification_url == NOTIFICATION_URL
    assert request.lifecycle_notification_url == LIFECYCLE_URL
    assert request.include_resource_data is True
    assert request.encryption_certificate_id == world.keys.current.certificate_id
    assert request.encryption_certificate == world.keys.current.public_certificate_base64()
    assert world.signer.verify(request.client_state, TENANT)
    assert not world.signer.verify(request.client_state, OTHER_TENANT)
    assert world.clock() + timedelta(minutes=45) < request.expiration <= world.clock() + timedelta(minutes=60)
    # AND the record says so
    (record,) = world.repository.list(TENANT)
    assert record.subscription_id == held.id
    assert record.status is SubscriptionStatus.ACTIVE
    assert set(record.user_ids) == set(agents)
    assert record.expires_at == held.expiration


def test_new_subscription_closes_the_gap_by_queueing_current_presence(world: World) -> None:
    world.graph.presences[user(1)] = Presence(user(1), "Busy", "InACall", "000000000000000A")
    world.tenant(agents=[user(1), user(2)], accounts=[A])

    report = world.service.sync_tenant(TENANT)

    (change,) = world.queue.published
    assert isinstance(change, PresenceChange)
    held = world.graph.held_by(TENANT, A)
    assert held is not None
    assert change.tenant_id == TENANT
    assert change.user_id == user(1)
    assert (change.availability, change.activity) == ("Busy", "InACall")
    assert change.sequence_number == "000000000000000A"
    assert change.subscription_id == held.id
    assert change.source == "teams"
    assert change.observed_at == world.clock()
    assert report.presences_published == 1


def test_roster_add_replaces_exactly_one_shard_delete_then_create_and_closes_its_gap(world: World) -> None:
    # GIVEN two full-ish shards on two accounts
    _subscribed(world, users(1, 1000), [A, B])
    before = world.shards()
    old = {account: world.graph.held_by(TENANT, account) for account in (A, B)}
    newcomer = user(5000)
    world.graph.presences[newcomer] = Presence(newcomer, "Available", "Available", "1")

    # WHEN an agent is added through the roster listener
    world.roster.users[TENANT].append(newcomer)
    world.service.roster_changed(TENANT)

    # THEN exactly one shard was touched: its old subscription deleted, then the new one created
    methods = [call[0] for call in world.graph.calls]
    assert methods == ["delete", "create", "get_presences"]
    touched = world.graph.calls[0][2]
    untouched = B if touched == A else A
    old_touched, old_untouched = old[touched], old[untouched]
    assert old_touched is not None
    assert old_untouched is not None
    assert world.graph.calls[0][3] == old_touched.id
    assert world.shards()[touched] == before[touched] | {newcomer}
    assert world.shards()[untouched] == before[untouched]
    assert world.graph.held_by(TENANT, untouched) == old_untouched
    # AND the shard's presence was read and queued (the newcomer's is known)
    assert [c.user_id for c in world.queue.published] == [newcomer]  # type: ignore[attr-defined]
    # AND the replaced subscription is forgotten by the directory cache
    assert old_touched.id in world.cache.forgotten


def test_1300_agents_and_2_accounts_make_two_subscriptions_of_650(world: World) -> None:
    world.tenant(agents=users(1, 1300), accounts=[A, B])

    report = world.service.sync_tenant(TENANT)

    assert report.created == 2
    assert report.unsubscribed == 0
    assert sorted(len(held.user_ids) for held in world.graph.subscriptions.values()) == [650, 650]
    assert world.service.subscribed_user_ids(TENANT) == frozenset(users(1, 1300))
    assert world.service.used(TENANT) == {A: 650, B: 650}
    assert world.service.capacity(TENANT).missing is None


def test_1301_agents_leave_one_unsubscribed_and_say_what_is_missing(world: World) -> None:
    world.tenant(agents=users(1, 1301), accounts=[A, B])

    report = world.service.sync_tenant(TENANT)
    capacity = world.service.capacity(TENANT)

    assert report.unsubscribed == 1
    assert len(world.service.subscribed_user_ids(TENANT)) == 1300
    assert capacity.agents == 1301
    assert capacity.subscribed == 1300
    assert capacity.accounts_needed == 3
    assert capacity.accounts_usable == 2
    assert capacity.missing == "1,301 agents need 3 sync accounts; 2 signed in"


def test_capacity_sentence_when_no_account_signed_in(world: World) -> None:
    world.tenant(agents=users(1, 1300), accounts=[])

    assert world.service.capacity(TENANT).missing == "1,300 agents need 2 sync accounts; none signed in"


def test_removing_every_agent_of_a_shard_deletes_its_subscription(world: World) -> None:
    _subscribed(world, users(1, 3), [A])
    held = world.graph.held_by(TENANT, A)
    assert held is not None

    world.roster.users[TENANT] = []
    report = world.service.sync_tenant(TENANT)

    assert report.deleted == 1
    assert world.graph.subscriptions == {}
    assert world.repository.list(TENANT) == []
    assert world.cache.forgotten == [held.id]


def test_steady_state_sync_writes_nothing_and_calls_nothing(world: World) -> None:
    _subscribed(world, users(1, 10), [A])
    writes = len(world.repository.puts)
    roster_before = world.repository.roster_state(TENANT)

    report = world.service.sync_tenant(TENANT)

    assert report.outcome is SyncOutcome.UP_TO_DATE
    assert world.graph.calls == []
    assert len(world.repository.puts) == writes
    assert world.repository.roster_state(TENANT) == roster_before


# -- failures -------------------------------------------------------------------------------------


def test_conflict_records_the_shard_failed_and_the_other_shards_go_on(world: World) -> None:
    # GIVEN Graph refuses A's subscription with a 409 (an unrecorded one from an interrupted run)
    world.tenant(agents=users(1, 700), accounts=[A, B])
    world.graph.failures[("create", A)] = GraphConflict("already exists", status=409)

    # WHEN synced
    report = world.service.sync_tenant(TENANT)

    # THEN A is recorded failed with the reason, B is active
    records = {r.account_id: r for r in world.repository.list(TENANT)}
    assert records[A].status is SubscriptionStatus.FAILED
    assert records[A].subscription_id is None
    assert "lapses within 60 minutes" in (records[A].last_error or "")
    assert records[B].status is SubscriptionStatus.ACTIVE
    assert report.failed == 1
    assert any(A in error for error in report.errors)
    assert len(world.service.subscribed_user_ids(TENANT)) == len(records[B].user_ids)

    # AND the next timer run retries it and succeeds
    world.service.renew_due()
    assert world.repository.get(TENANT, A).status is SubscriptionStatus.ACTIVE  # type: ignore[union-attr]
    assert world.service.subscribed_user_ids(TENANT) == frozenset(users(1, 700))


def test_revoked_account_is_marked_and_its_agents_move_to_another_account(world: World) -> None:
    # GIVEN A's refresh token is revoked before anything was created
    world.tenant(agents=users(1, 5), accounts=[A, B])
    world.accounts.revoked.add(A)

    # WHEN synced
    report = world.service.sync_tenant(TENANT)

    # THEN A is marked for a new sign-in and B covers the agents, in the same call
    assert [(t, a) for t, a, _ in world.accounts.marked] == [(TENANT, A)]
    assert "invalid_grant" in world.accounts.marked[0][2]
    assert world.graph.held_by(TENANT, B) is not None
    assert world.service.subscribed_user_ids(TENANT) == frozenset(users(1, 5))
    assert world.repository.get(TENANT, A) is None
    assert report.passes == 2


def test_graph_rejecting_the_token_marks_the_account(world: World) -> None:
    world.tenant(agents=users(1, 5), accounts=[A, B])
    world.graph.failures[("create", A)] = GraphAuthenticationFailed("token rejected", status=401)

    world.service.sync_tenant(TENANT)

    assert [a for _, a, _ in world.accounts.marked] == [A]
    assert world.service.subscribed_user_ids(TENANT) == frozenset(users(1, 5))


def test_failed_delete_keeps_the_old_subscription_instead_of_creating_a_second(world: World) -> None:
    _subscribed(world, users(1, 3), [A])
    old = world.graph.held_by(TENANT, A)
    world.graph.failures[("delete", A)] = unavailable()

    world.roster.users[TENANT].append(user(99))
    report = world.service.sync_tenant(TENANT)

    assert [call[0] for call in world.graph.calls] == ["delete"]
    record = world.repository.get(TENANT, A)
    assert record is not None
    assert old is not None
    assert record.subscription_id == old.id
    assert report.failed == 1


def test_gap_close_failure_keeps_the_new_subscription(world: World) -> None:
    world.tenant(agents=users(1, 3), accounts=[A])
    world.queue.down = True

    report = world.service.sync_tenant(TENANT)

    assert world.repository.get(TENANT, A).status is SubscriptionStatus.ACTIVE  # type: ignore[union-attr]
    assert any("reading presence failed" in error for error in report.errors)


def test_roster_changed_never_raises_when_graph_or_storage_is_down(world: World) -> None:
    world.tenant(agents=users(1, 3), accounts=[A])
    world.graph.failures[("create", "*")] = unavailable()
    world.service.roster_changed(TENANT)
    assert world.repository.get(TENANT, A).status is SubscriptionStatus.FAILED  # type: ignore[union-attr]

    world.repository.down = True
    world.service.roster_changed(TENANT)
    world.service.accounts_changed(TENANT)
    world.service.account_removed(TENANT, A)


# -- lease and roster version ----------------------------------------------------------------------


def test_lease_held_by_another_instance_means_no_graph_calls(world: World) -> None:
    world.tenant(agents=users(1, 3), accounts=[A])
    world.repository.hold_lease(TENANT, "other-instance", world.clock() + timedelta(minutes=2))

    report = world.service.sync_tenant(TENANT)

    assert report.outcome is SyncOutcome.LEASE_HELD
    assert world.graph.calls == []
    assert world.repository.list(TENANT) == []


def test_lapsed_lease_of_another_instance_is_taken_over(world: World) -> None:
    world.tenant(agents=users(1, 3), accounts=[A])
    world.repository.hold_lease(TENANT, "crashed-instance", world.clock() - timedelta(seconds=1))

    report = world.service.sync_tenant(TENANT)

    assert report.outcome is SyncOutcome.SYNCED
    assert world.repository.roster_state(TENANT).lease_owner is None


def test_roster_change_during_a_pass_makes_the_holder_sync_again(world: World) -> None:
    # GIVEN a pass in progress, during which another instance adds an agent and bumps the version
    world.tenant(agents=users(1, 3), accounts=[A])

    def concurrent_add() -> None:
        world.roster.users[TENANT].append(user(42))
        world.repository.bump_roster_version(TENANT)

    world.repository.before_release = concurrent_add

    # WHEN the holder finishes its pass
    report = world.service.sync_tenant(TENANT)

    # THEN it saw the bump, ran another pass, and the new agent is subscribed
    assert report.passes == 2
    assert user(42) in world.service.subscribed_user_ids(TENANT)
    assert world.repository.roster_state(TENANT).lease_owner is None


# -- renewal --------------------------------------------------------------------------------------


def test_timer_renews_a_subscription_near_expiry(world: World) -> None:
    _subscribed(world, users(1, 3), [A])
    held = world.graph.held_by(TENANT, A)
    assert held is not None

    # WHEN time passes to within renew_before (30 min) of expiry
    world.clock.advance(minutes=35)
    report = world.service.renew_due()

    # THEN it is PATCHed with the account's token and the new expiry recorded
    assert world.graph.calls == [("renew", TENANT, A, held.id)]
    record = world.repository.get(TENANT, A)
    assert record is not None
    assert record.renewed_at == world.clock()
    assert record.expires_at == held.expiration
    assert held.expiration > world.clock() + timedelta(minutes=45)
    assert report.renewed == 1


def test_timer_leaves_a_fresh_subscription_alone(world: World) -> None:
    _subscribed(world, users(1, 3), [A])

    world.clock.advance(minutes=20)
    report = world.service.renew_due()

    assert world.graph.calls == []
    assert report.renewed == 0
    assert report.tenants == 1


def test_subscription_graph_lost_is_recreated_and_its_gap_closed(world: World) -> None:
    _subscribed(world, users(1, 3), [A])
    lost = world.graph.held_by(TENANT, A)
    assert lost is not None
    del world.graph.subscriptions[lost.id]
    world.graph.presences[user(1)] = Presence(user(1), "Away", "Away", "7")

    world.clock.advance(minutes=35)
    report = world.service.renew_due()

    assert [call[0] for call in world.graph.calls] == ["renew", "create", "get_presences"]
    new = world.graph.held_by(TENANT, A)
    assert new is not None
    assert new.id != lost.id
    assert world.repository.get(TENANT, A).subscription_id == new.id  # type: ignore[union-attr]
    assert report.recreated == 1
    assert [c.user_id for c in world.queue.published] == [user(1)]  # type: ignore[attr-defined]


def test_expired_record_is_recreated_without_a_pointless_patch(world: World) -> None:
    _subscribed(world, users(1, 3), [A])

    world.clock.advance(minutes=90)
    world.graph.subscriptions.clear()
    world.service.renew_due()

    assert [call[0] for call in world.graph.calls] == ["delete", "create", "get_presences"]
    assert world.service.subscribed_user_ids(TENANT) == frozenset(users(1, 3))


def test_renewal_failure_keeps_the_subscription_and_records_why(world: World) -> None:
    _subscribed(world, users(1, 3), [A])
    world.graph.failures[("renew", A)] = unavailable()

    world.clock.advance(minutes=35)
    world.service.renew_due()

    record = world.repository.get(TENANT, A)
    assert record is not None
    assert record.status is SubscriptionStatus.ACTIVE
    assert "renew failed" in (record.last_error or "")


def test_renew_due_goes_on_after_a_tenant_fails(certificate: EncryptionCertificate) -> None:
    # GIVEN two tenants, the first of which breaks in an unexpected way
    world = build_world(certificate)
    world.tenant(TENANT, agents=users(1, 3), accounts=[A])
    world.tenant(OTHER_TENANT, agents=users(10, 3), accounts=[B])
    original = world.roster.user_ids

    def broken(tenant_id: str) -> list[str]:
        if tenant_id == TENANT:
            raise RuntimeError("boom")
        return original(tenant_id)

    world.roster.user_ids = broken  # type: ignore[method-assign]

    # WHEN the timer runs
    report = world.service.renew_due()

    # THEN the other tenant was synced and the failure counted
    assert report.tenants == 2
    assert report.failed == 1
    assert report.failed_tenant_ids == (TENANT,)
    assert report.created == 1
    assert world.graph.held_by(OTHER_TENANT, B) is not None


# -- connector state and account removal -------------------------------------------------------------


def test_inactive_connector_removes_every_subscription(world: World) -> None:
    _subscribed(world, users(1, 700), [A, B])
    world.repository.bump_roster_version(TENANT)

    world.deactivate()
    report = world.service.sync_tenant(TENANT)

    assert report.outcome is SyncOutcome.CONNECTOR_NOT_ACTIVE
    assert report.deleted == 2
    assert world.graph.subscriptions == {}
    assert world.repository.list(TENANT) == []
    # the ~roster row stays
    assert world.repository.roster_state(TENANT).version == 1


def test_remove_all_is_best_effort_per_account(world: World) -> None:
    _subscribed(world, users(1, 700), [A, B])
    world.graph.failures[("delete", A)] = unavailable()

    removed = world.service.remove_all(TENANT)

    assert removed == 2
    assert world.repository.list(TENANT) == []
    assert [held.account_id for held in world.graph.subscriptions.values()] == [A]


def test_pending_connector_gets_no_subscription(world: World) -> None:
    world.tenant(agents=users(1, 3), accounts=[A], status=ConnectorStatus.PENDING_CONSENT)

    world.service.roster_changed(TENANT)

    assert world.graph.calls == []


def test_account_removed_deletes_its_subscription_and_moves_its_agents(world: World) -> None:
    # GIVEN A holds 650 agents and B 50
    _subscribed(world, users(1, 700), [A, B])
    a_sub = world.graph.held_by(TENANT, A)
    assert a_sub is not None

    # WHEN A is being removed (still listed as usable until its rows go) and C has room
    world.accounts.usable[TENANT].append(C)
    world.service.account_removed(TENANT, A)

    # THEN A's subscription was deleted with A's token and its agents are covered by the others
    assert ("delete", TENANT, A, a_sub.id) in world.graph.calls
    assert world.repository.get(TENANT, A) is None
    assert world.graph.held_by(TENANT, A) is None
    assert world.service.subscribed_user_ids(TENANT) == frozenset(users(1, 700))


def test_accounts_changed_subscribes_waiting_agents(world: World) -> None:
    world.tenant(agents=users(1, 651), accounts=[A])
    world.service.sync_tenant(TENANT)
    assert len(world.service.subscribed_user_ids(TENANT)) == 650

    world.accounts.usable[TENANT].append(B)
    world.service.accounts_changed(TENANT)

    assert world.service.subscribed_user_ids(TENANT) == frozenset(users(1, 651))
    assert world.service.capacity(TENANT).missing is None


def test_presence_resource_rejects_non_guid_ids() -> None:
    with pytest.raises(ValueError, match="badly formed"):
        presence_resource(["x') or true or ('"])


def test_roster_ids_that_are_no_guid_are_skipped(world: World) -> None:
    world.tenant(agents=[user(1), "not-a-guid", user(1).upper()], accounts=[A])

    world.service.sync_tenant(TENANT)

    assert world.service.subscribed_user_ids(TENANT) == {user(1)}
