"""Subscriptions kept in sync for real: Azurite records, the msgraph-sdk gateway, the Graph simulator
(which runs the validation handshake against a local endpoint and delivers notifications to it)."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from shared.graph.model import SubscriptionRequest
from shared.notifications.intake import KnownSubscription
from shared.notifications.model import parse_notification_collection
from shared.presence.messages import PresenceChange
from shared.subscriptions.model import SubscriptionStatus, SyncOutcome
from tests.integration.graph.helpers import control
from tests.integration.subscriptions.conftest import Stack

pytestmark = pytest.mark.integration

# Presence subscriptions are created for just under 60 minutes: with this, every pass renews them.
RENEW_AT_ONCE = timedelta(minutes=59, seconds=30)


def _ids_in(resource: str) -> set[str]:
    inside = resource.split("id in (", 1)[1].rstrip(")")
    return {part.strip("'") for part in inside.split(",")}


def test_sync_creates_a_verified_rich_subscription_and_closes_the_gap(stack: Stack) -> None:
    # GIVEN three agents (one of them Busy in Teams) and two sync accounts
    busy = stack.add_user({"availability": "Busy", "activity": "InACall"})
    stack.roster.ids = [busy, stack.add_user(), stack.add_user()]
    stack.accounts.usable = [stack.add_user(), stack.add_user()]
    service = stack.service()

    # WHEN the roster listener fires
    service.roster_changed(stack.tenant_id)

    # THEN Graph holds one subscription, created by the first account, over the three agents
    held = stack.held_by_graph()
    first_account = stack.accounts.usable[0]
    assert list(held) == [first_account]
    graph_sub = held[first_account]
    assert graph_sub["resource"].startswith("/communications/presences?$filter=id in ('")
    assert _ids_in(graph_sub["resource"]) == set(stack.roster.ids)
    assert graph_sub["includeResourceData"] is True
    assert graph_sub["encryptionCertificateId"] == stack.keys.current.certificate_id
    assert graph_sub["lifecycleNotificationUrl"].endswith("/api/graph/lifecycle")
    assert stack.signer.verify(graph_sub["clientState"], stack.tenant_id)
    # AND the record in Azurite matches it, and the directory knows it
    record = stack.repository.get(stack.tenant_id, first_account)
    assert record is not None
    assert record.subscription_id == graph_sub["id"]
    assert record.status is SubscriptionStatus.ACTIVE
    assert stack.directory.find(graph_sub["id"], stack.tenant_id) == KnownSubscription(
        graph_sub["id"], stack.tenant_id
    )
    # AND the agents' current presence was read app-only and queued
    changes = {c.user_id: c for c in stack.queue.messages if isinstance(c, PresenceChange)}
    assert set(changes) == set(stack.roster.ids)
    assert (changes[busy].availability, changes[busy].activity) == ("Busy", "InACall")
    assert changes[busy].sequence_number
    assert changes[busy].subscription_id == graph_sub["id"]
    assert service.subscribed_user_ids(stack.tenant_id) == frozenset(stack.roster.ids)


def test_added_agent_replaces_the_shard_and_notifications_flow(stack: Stack) -> None:
    # GIVEN a subscribed roster
    stack.roster.ids = [stack.add_user(), stack.add_user()]
    account = stack.add_user()
    stack.accounts.usable = [account]
    service = stack.service()
    service.sync_tenant(stack.tenant_id)
    old_id = stack.held_by_graph()[account]["id"]

    # WHEN an agent is added
    newcomer = stack.add_user()
    stack.roster.ids.append(newcomer)
    service.roster_changed(stack.tenant_id)

    # THEN the old subscription was deleted and a new one covers all three
    held = stack.held_by_graph()[account]
    assert held["id"] != old_id
    assert _ids_in(held["resource"]) == set(stack.roster.ids)
    assert stack.graph_requests("DELETE", old_id)
    assert stack.directory.find(old_id, stack.tenant_id) is None

    # AND a Teams change of the newcomer reaches our endpoint, signed for this tenant
    status, _ = control(
        stack.simulator.base_url,
        "POST",
        f"/tenants/{stack.tenant_id}/users/{newcomer}/presence",
        {"availability": "DoNotDisturb", "activity": "Presenting"},
    )
    assert status == 202
    (raw,) = stack.endpoint.wait_for("/api/graph/notifications")[:1]
    collection = parse_notification_collection(raw)
    (notification,) = collection.notifications
    assert notification.subscription_id == held["id"]
    assert stack.directory.find(notification.subscription_id, notification.tenant_id) is not None
    assert stack.signer.verify(notification.client_state, notification.tenant_id)


def test_subscription_graph_lost_is_recreated_by_the_timer(stack: Stack) -> None:
    stack.roster.ids = [stack.add_user()]
    account = stack.add_user()
    stack.accounts.usable = [account]
    # renew_before just under the expiry: every run finds the subscription due
    service = stack.service(renew_before=RENEW_AT_ONCE)
    service.sync_tenant(stack.tenant_id)
    lost = stack.held_by_graph()[account]["id"]

    # WHEN Graph silently loses it and the sync (as the timer runs it) renews
    assert control(stack.simulator.base_url, "POST", f"/subscriptions/{lost}/expire")[0] == 204
    report = service.sync_tenant(stack.tenant_id)

    # THEN the PATCH found nothing, and a new subscription was created and recorded
    assert report.recreated == 1
    new_id = stack.held_by_graph()[account]["id"]
    assert new_id != lost
    assert stack.repository.get(stack.tenant_id, account).subscription_id == new_id  # type: ignore[union-attr]


def test_timer_renews_with_the_accounts_token(stack: Stack) -> None:
    stack.roster.ids = [stack.add_user()]
    account = stack.add_user()
    stack.accounts.usable = [account]
    service = stack.service(renew_before=RENEW_AT_ONCE)
    service.sync_tenant(stack.tenant_id)
    subscription_id = stack.held_by_graph()[account]["id"]

    report = service.sync_tenant(stack.tenant_id)

    assert report.renewed == 1
    assert stack.graph_requests("PATCH", subscription_id)
    record = stack.repository.get(stack.tenant_id, account)
    assert record is not None
    assert record.renewed_at is not None
    held_expiry = datetime.fromisoformat(stack.held_by_graph()[account]["expirationDateTime"])
    assert abs(held_expiry - (record.expires_at or datetime.min.replace(tzinfo=UTC))) < timedelta(seconds=1)


def test_lifecycle_event_from_graph_reauthorizes_once_within_ten_minutes(stack: Stack) -> None:
    # GIVEN a fresh subscription
    stack.roster.ids = [stack.add_user()]
    account = stack.add_user()
    stack.accounts.usable = [account]
    service = stack.service()
    service.sync_tenant(stack.tenant_id)
    subscription_id = stack.held_by_graph()[account]["id"]

    # WHEN Graph sends reauthorizationRequired twice to our lifecycle URL
    for _ in range(2):
        assert (
            control(stack.simulator.base_url, "POST", f"/subscriptions/{subscription_id}/lifecycle", {})[0]
            == 202
        )
    first, second = stack.lifecycle_notifications(2)[:2]
    reports = [service.handle_lifecycle(json.dumps(body).encode()) for body in (first, second)]

    # THEN the first is answered with one reauthorize (expiry is far), the second is left alone
    assert reports[0].reauthorized == 1
    assert reports[1].skipped == 1
    assert len(stack.graph_requests("POST", f"{subscription_id}/reauthorize")) == 1
    record = stack.repository.get(stack.tenant_id, account)
    assert record is not None
    assert record.reauthorized_at is not None


def test_unrecorded_subscription_conflicts_until_it_is_gone(stack: Stack) -> None:
    # GIVEN the account already holds a subscription we never recorded (a crash after Graph answered)
    stack.roster.ids = [stack.add_user()]
    account = stack.add_user()
    stack.accounts.usable = [account]
    orphan = stack.gateway.create_subscription(
        stack.tenant_id,
        stack.accounts.token_provider(stack.tenant_id, account),
        SubscriptionRequest(
            resource=f"/communications/presences/{stack.roster.ids[0]}",
            notification_url=f"{stack.endpoint.url}/api/graph/notifications",
            lifecycle_notification_url=None,
            expiration=datetime.now(UTC) + timedelta(minutes=50),
            client_state=None,
            include_resource_data=False,
            encryption_certificate=None,
            encryption_certificate_id=None,
        ),
    )
    service = stack.service()

    # WHEN synced THEN the shard is recorded failed with the reason
    report = service.sync_tenant(stack.tenant_id)
    record = stack.repository.get(stack.tenant_id, account)
    assert record is not None
    assert record.status is SubscriptionStatus.FAILED
    assert "60 minutes" in (record.last_error or "")
    assert report.failed == 1

    # AND once the orphan is gone (it lapses), the next sync (the timer's) succeeds
    assert control(stack.simulator.base_url, "POST", f"/subscriptions/{orphan.id}/expire")[0] == 204
    service.sync_tenant(stack.tenant_id)
    record = stack.repository.get(stack.tenant_id, account)
    assert record is not None
    assert record.status is SubscriptionStatus.ACTIVE


def test_remove_all_deletes_in_graph_and_keeps_the_roster_row(stack: Stack) -> None:
    stack.roster.ids = [stack.add_user() for _ in range(3)]
    stack.accounts.usable = [stack.add_user()]
    service = stack.service()
    service.roster_changed(stack.tenant_id)
    assert stack.held_by_graph()

    removed = service.remove_all(stack.tenant_id)

    assert removed == 1
    assert stack.held_by_graph() == {}
    assert stack.repository.list(stack.tenant_id) == []
    assert stack.repository.roster_state(stack.tenant_id).version == 1
    # AND a sync of a tenant whose connector is inactive keeps it that way
    stack.connectors.rows.pop(stack.tenant_id)
    assert service.sync_tenant(stack.tenant_id).outcome is SyncOutcome.CONNECTOR_NOT_ACTIVE
    assert stack.held_by_graph() == {}


def test_two_instances_never_sync_a_tenant_at_once(stack: Stack) -> None:
    stack.roster.ids = [stack.add_user()]
    stack.accounts.usable = [stack.add_user()]
    first, second = stack.service(), stack.service()
    now = datetime.now(UTC)
    assert stack.repository.try_acquire_lease(
        stack.tenant_id, "instance-one", now, now + timedelta(minutes=2)
    )

    report = second.sync_tenant(stack.tenant_id)

    assert report.outcome is SyncOutcome.LEASE_HELD
    assert stack.held_by_graph() == {}
    assert stack.repository.release_lease(stack.tenant_id, "instance-one", None)
    assert first.sync_tenant(stack.tenant_id).outcome is SyncOutcome.SYNCED
    assert len(stack.held_by_graph()) == 1
    assert uuid.UUID(stack.repository.list(stack.tenant_id)[0].subscription_id or "")
