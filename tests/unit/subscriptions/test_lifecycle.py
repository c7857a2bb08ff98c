"""Lifecycle notifications: the 10-minute rule between renew and reauthorize, verification, and the
events presence does not send today."""

from __future__ import annotations

import json
from typing import Any

import pytest

from shared.graph.model import Presence
from shared.notifications.exceptions import MalformedNotificationError
from shared.storage.exceptions import StorageUnavailable
from shared.subscriptions.model import SubscriptionRecord
from tests.unit.subscriptions.conftest import OTHER_TENANT, TENANT, World, users
from tests.unit.subscriptions.fakes import unavailable

A = "11111111-aaaa-4aaa-8aaa-000000000001"


def _record(world: World) -> SubscriptionRecord:
    record = world.repository.get(TENANT, A)
    assert record is not None
    assert record.subscription_id is not None
    return record


@pytest.fixture
def subscribed(world: World) -> SubscriptionRecord:
    """GIVEN an active tenant whose agents are covered by A's subscription, created at START"""
    world.tenant(agents=users(1, 3), accounts=[A])
    world.service.sync_tenant(TENANT)
    world.graph.calls.clear()
    world.queue.published.clear()
    return _record(world)


def _body(
    record: SubscriptionRecord,
    event: str = "reauthorizationRequired",
    *,
    client_state: str | None = None,
    tenant_id: str | None = None,
    world: World,
) -> bytes:
    item: dict[str, Any] = {
        "subscriptionId": record.subscription_id,
        "subscriptionExpirationDateTime": (record.expires_at or world.clock()).isoformat(),
        "tenantId": tenant_id or record.tenant_id,
        "clientState": client_state
        if client_state is not None
        else world.graph.subscriptions[record.subscription_id or ""].request.client_state,
        "lifecycleEvent": event,
    }
    return json.dumps({"value": [item]}).encode()


def test_reauthorization_required_far_from_expiry_reauthorizes(
    world: World, subscribed: SubscriptionRecord
) -> None:
    # WHEN Graph asks 12 minutes after creation (expiry is ~47 minutes away)
    world.clock.advance(minutes=12)
    report = world.service.handle_lifecycle(_body(subscribed, world=world))

    # THEN the subscription is reauthorized (not renewed) and the time recorded
    assert world.graph.calls == [("reauthorize", TENANT, A, subscribed.subscription_id)]
    assert report.reauthorized == 1
    assert _record(world).reauthorized_at == world.clock()


def test_reauthorization_required_near_expiry_renews(world: World, subscribed: SubscriptionRecord) -> None:
    world.clock.advance(minutes=40)
    report = world.service.handle_lifecycle(_body(subscribed, world=world))

    assert world.graph.calls == [("renew", TENANT, A, subscribed.subscription_id)]
    assert report.renewed == 1
    assert _record(world).renewed_at == world.clock()


def test_no_second_action_within_ten_minutes_of_a_renewal(
    world: World, subscribed: SubscriptionRecord
) -> None:
    # GIVEN the timer renewed the subscription at +35 min
    world.clock.advance(minutes=35)
    world.service.renew_due()
    world.graph.calls.clear()

    # WHEN Graph asks for reauthorization 9 minutes later
    world.clock.advance(minutes=9)
    report = world.service.handle_lifecycle(_body(_record(world), world=world))

    # THEN nothing is sent to Graph
    assert world.graph.calls == []
    assert report.skipped == 1
    assert report.handled == 1


def test_action_again_once_ten_minutes_have_passed(world: World, subscribed: SubscriptionRecord) -> None:
    world.clock.advance(minutes=35)
    world.service.renew_due()
    world.graph.calls.clear()

    world.clock.advance(minutes=10)
    report = world.service.handle_lifecycle(_body(_record(world), world=world))

    assert [call[0] for call in world.graph.calls] == ["reauthorize"]
    assert report.reauthorized == 1


def test_timer_does_not_renew_within_ten_minutes_of_a_reauthorization(
    world: World, subscribed: SubscriptionRecord
) -> None:
    # GIVEN a reauthorization at +25 min (expiry ~59 min after START: not yet within renew_before)
    world.clock.advance(minutes=25)
    world.service.handle_lifecycle(_body(subscribed, world=world))
    world.graph.calls.clear()

    # WHEN the timer runs at +31 min (renewal due, but only 6 minutes after the reauthorization)
    world.clock.advance(minutes=6)
    world.service.renew_due()

    # THEN it waits
    assert world.graph.calls == []

    # AND renews on a later run, once 10 minutes have passed
    world.clock.advance(minutes=5)
    world.service.renew_due()
    assert [call[0] for call in world.graph.calls] == ["renew"]


def test_client_state_mismatch_is_dropped(world: World, subscribed: SubscriptionRecord) -> None:
    forged = world.signer.issue(OTHER_TENANT)

    report = world.service.handle_lifecycle(_body(subscribed, client_state=forged, world=world))

    assert world.graph.calls == []
    assert report.dropped == {"clientStateMismatch": 1}
    assert (report.received, report.handled) == (1, 0)


def test_unknown_subscription_and_wrong_tenant_are_dropped(
    world: World, subscribed: SubscriptionRecord
) -> None:
    report = world.service.handle_lifecycle(_body(subscribed, tenant_id=OTHER_TENANT, world=world))

    assert world.graph.calls == []
    assert report.dropped == {"unknownSubscription": 1}


def test_change_notification_on_lifecycle_url_is_dropped(
    world: World, subscribed: SubscriptionRecord
) -> None:
    item = {
        "subscriptionId": subscribed.subscription_id,
        "subscriptionExpirationDateTime": world.clock().isoformat(),
        "tenantId": TENANT,
        "changeType": "updated",
        "resource": "communications/presences('x')",
    }

    report = world.service.handle_lifecycle(json.dumps({"value": [item]}).encode())

    assert report.dropped == {"notLifecycle": 1}


def test_malformed_body_raises_and_malformed_items_are_counted(world: World) -> None:
    with pytest.raises(MalformedNotificationError):
        world.service.handle_lifecycle(b"not json")

    report = world.service.handle_lifecycle(json.dumps({"value": [{"lifecycleEvent": "nope"}]}).encode())
    assert report.dropped == {"malformed": 1}


def test_subscription_removed_is_recreated(world: World, subscribed: SubscriptionRecord) -> None:
    assert subscribed.subscription_id is not None
    del world.graph.subscriptions[subscribed.subscription_id]

    report = world.service.handle_lifecycle(_body_for_removed(world, subscribed))

    assert report.recreated == 1
    new = _record(world)
    assert new.subscription_id != subscribed.subscription_id
    assert world.service.subscribed_user_ids(TENANT) == frozenset(users(1, 3))


def _body_for_removed(world: World, record: SubscriptionRecord) -> bytes:
    item = {
        "subscriptionId": record.subscription_id,
        "subscriptionExpirationDateTime": world.clock().isoformat(),
        "tenantId": TENANT,
        "clientState": world.signer.issue(TENANT),
        "lifecycleEvent": "subscriptionRemoved",
    }
    return json.dumps({"value": [item]}).encode()


def test_missed_closes_the_gap(world: World, subscribed: SubscriptionRecord) -> None:
    user = subscribed.user_ids[0]
    world.graph.presences[user] = Presence(user, "DoNotDisturb", "Presenting", "9")
    item = {
        "subscriptionId": subscribed.subscription_id,
        "subscriptionExpirationDateTime": world.clock().isoformat(),
        "tenantId": TENANT,
        "clientState": world.signer.issue(TENANT),
        "lifecycleEvent": "missed",
    }

    report = world.service.handle_lifecycle(json.dumps({"value": [item]}).encode())

    assert report.gap_closed == 1
    assert [c.user_id for c in world.queue.published] == [user]  # type: ignore[attr-defined]


def test_reauthorize_of_a_lost_subscription_recreates_it(
    world: World, subscribed: SubscriptionRecord
) -> None:
    body = _body(subscribed, world=world)
    assert subscribed.subscription_id is not None
    del world.graph.subscriptions[subscribed.subscription_id]

    world.clock.advance(minutes=12)
    report = world.service.handle_lifecycle(body)

    assert report.recreated == 1
    assert world.graph.held_by(TENANT, A) is not None


def test_storage_down_is_raised_other_errors_only_drop(world: World, subscribed: SubscriptionRecord) -> None:
    # GIVEN Graph failing the reauthorize call
    body = _body(subscribed, world=world)
    world.clock.advance(minutes=12)
    world.graph.failures[("reauthorize", A)] = unavailable()
    report = world.service.handle_lifecycle(body)
    # THEN that notification is dropped, nothing raised
    assert report.dropped == {"failed": 1}

    # AND WHEN storage is down THEN the trigger must answer 5xx so Graph delivers again
    world.repository.down = True
    with pytest.raises(StorageUnavailable):
        world.service.handle_lifecycle(body)
