"""Notification intake with fakes of its ports: what is accepted goes to the queue with the right body
and session; everything that fails a check is dropped alone, without side effects."""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

import pytest

from shared.notifications.client_state import ClientStateSigner
from shared.notifications.encryption_keys import EncryptionCertificate, EncryptionKeyRing
from shared.notifications.exceptions import MalformedNotificationError
from shared.notifications.intake import KnownSubscription, NotificationIntake
from shared.notifications.validation_tokens import ValidationTokenVerifier
from shared.presence.exceptions import PresenceQueueUnavailable
from shared.presence.messages import PresenceChange
from shared.presence.ports import SyncMessage
from shared.security.exceptions import SigningKeysUnavailable
from shared.security.signing_keys import StaticKeySource
from tests.support.notification_encryption import encrypt_for_notification, encrypted_content_json
from tests.unit.notifications.support import APP_ID, TENANT_A, TENANT_B, FakeClock, TokenSigner

SUBSCRIPTION = "7f105c7d-2dc5-4530-97cd-4e7ae6534c07"
USER = "a0f4b6a1-0d6f-4a8a-9d3c-2b1f6f1e9c11"


class FakeDirectory:
    def __init__(self) -> None:
        self.known = {SUBSCRIPTION: KnownSubscription(SUBSCRIPTION, TENANT_A)}

    def find(self, subscription_id: str, tenant_id: str) -> KnownSubscription | None:
        return self.known.get(subscription_id)


class FakeQueue:
    def __init__(self) -> None:
        self.published: list[PresenceChange] = []
        self.fail = False

    def publish(self, changes: Sequence[SyncMessage]) -> None:
        if self.fail:
            raise PresenceQueueUnavailable("down")
        self.published.extend(change for change in changes if isinstance(change, PresenceChange))


class FailingKeys:
    def signing_key(self, kid: str) -> Any:
        raise SigningKeysUnavailable("cannot fetch keys")


class Setup:
    def __init__(self, signer: TokenSigner, certificate: EncryptionCertificate, clock: FakeClock) -> None:
        self.signer = signer
        self.certificate = certificate
        self.states = ClientStateSigner(b"c" * 32)
        self.directory = FakeDirectory()
        self.queue = FakeQueue()
        self.clock = clock
        self.verifier = ValidationTokenVerifier(APP_ID, StaticKeySource(signer.jwks()), clock)
        self.intake = NotificationIntake(
            self.directory, self.states, self.verifier, EncryptionKeyRing(certificate), self.queue, clock
        )

    def notification(self, user: str = USER, tenant: str = TENANT_A, **overrides: Any) -> dict[str, Any]:
        payload = {
            "@odata.type": "#Microsoft.Graph.presence",
            "id": user,
            "availability": "Busy",
            "activity": "InACall",
            "sequenceNumber": "C3D0A6E8F7",
        }
        content = encrypt_for_notification(
            payload, self.certificate.certificate, self.certificate.certificate_id
        )
        item = {
            "subscriptionId": SUBSCRIPTION,
            "subscriptionExpirationDateTime": "2025-06-02T12:45:00Z",
            "changeType": "updated",
            "clientState": self.states.issue(tenant),
            "resource": f"communications/presences('{user}')",
            "resourceData": {"@odata.type": "#Microsoft.Graph.presence", "id": user},
            "tenantId": tenant,
            "encryptedContent": encrypted_content_json(content),
        }
        item.update(overrides)
        return item

    def body(self, *items: dict[str, Any], tokens: list[str] | None = None) -> bytes:
        return json.dumps(
            {
                "value": list(items),
                "validationTokens": [self.signer.token(TENANT_A)] if tokens is None else tokens,
            }
        ).encode()


@pytest.fixture
def setup(signer: TokenSigner, current_certificate: EncryptionCertificate, clock: FakeClock) -> Setup:
    return Setup(signer, current_certificate, clock)


def test_a_rich_presence_notification_reaches_the_queue(setup: Setup) -> None:
    # GIVEN a valid rich notification for a known subscription
    body = setup.body(setup.notification())
    # WHEN it is taken in
    report = setup.intake.accept(body)
    # THEN one presence change is queued, with the decrypted presence and the session of the user
    assert (report.received, report.accepted, report.dropped) == (1, 1, {})
    [change] = setup.queue.published
    assert (change.tenant_id, change.user_id) == (TENANT_A, USER)
    assert (change.availability, change.activity, change.sequence_number) == ("Busy", "InACall", "C3D0A6E8F7")
    assert change.subscription_id == SUBSCRIPTION
    assert change.observed_at == setup.clock()
    assert change.session_id == f"{TENANT_A}:{USER}"


def test_a_duplicate_delivery_gets_the_same_message_id(setup: Setup) -> None:
    setup.intake.accept(setup.body(setup.notification()))
    setup.clock.advance(timedelta(minutes=3))
    setup.intake.accept(setup.body(setup.notification()))
    first, second = setup.queue.published
    assert first.message_id == second.message_id


@pytest.mark.parametrize(
    ("override", "reason"),
    [
        ({"subscriptionId": str(uuid.uuid4())}, "unknownSubscription"),
        ({"clientState": "forged"}, "clientStateMismatch"),
        ({"clientState": None}, "clientStateMismatch"),
        ({"encryptedContent": None}, "noResourceData"),
        ({"resourceData": {"id": str(uuid.uuid4())}}, "resourceMismatch"),
    ],
)
def test_each_failing_notification_is_dropped_alone(
    setup: Setup, override: dict[str, Any], reason: str
) -> None:
    good = setup.notification(user=str(uuid.uuid4()))
    bad = setup.notification(**override)
    report = setup.intake.accept(setup.body(good, bad))
    assert report.accepted == 1
    assert report.dropped == {reason: 1}
    assert [c.user_id for c in setup.queue.published] == [good["resourceData"]["id"]]


def test_a_notification_claiming_another_tenant_is_dropped(setup: Setup) -> None:
    item = setup.notification(tenant=TENANT_B)
    report = setup.intake.accept(
        setup.body(item, tokens=[setup.signer.token(TENANT_A), setup.signer.token(TENANT_B)])
    )
    assert report.dropped == {"tenantMismatch": 1}
    assert setup.queue.published == []


def test_tampered_encrypted_content_is_dropped(setup: Setup) -> None:
    item = setup.notification()
    item["encryptedContent"]["dataSignature"] = item["encryptedContent"]["dataSignature"][::-1]
    report = setup.intake.accept(setup.body(item))
    assert report.accepted == 0
    assert sum(report.dropped.values()) == 1
    assert setup.queue.published == []


@pytest.mark.parametrize(
    "tokens",
    [
        [],
        ["not-a-jwt"],
        ["TOKEN_FOR_OTHER_AUDIENCE"],
    ],
)
def test_rich_notifications_without_valid_tokens_are_all_dropped(setup: Setup, tokens: list[str]) -> None:
    tokens = [
        setup.signer.token(TENANT_A, aud=str(uuid.uuid4())) if t == "TOKEN_FOR_OTHER_AUDIENCE" else t
        for t in tokens
    ]
    report = setup.intake.accept(
        setup.body(setup.notification(), setup.notification(user=str(uuid.uuid4())), tokens=tokens)
    )
    assert report.accepted == 0
    assert report.dropped == {"invalidValidationToken": 2}
    assert setup.queue.published == []


def test_malformed_items_are_dropped_and_a_malformed_body_is_refused(setup: Setup) -> None:
    report = setup.intake.accept(setup.body(setup.notification(), {"subscriptionId": SUBSCRIPTION}))
    assert report.accepted == 1
    assert report.dropped == {"malformed": 1}
    with pytest.raises(MalformedNotificationError):
        setup.intake.accept(b"[]")


def test_a_queue_outage_is_raised_so_graph_delivers_again(setup: Setup) -> None:
    setup.queue.fail = True
    with pytest.raises(PresenceQueueUnavailable):
        setup.intake.accept(setup.body(setup.notification()))


def test_unreachable_signing_keys_are_raised_not_dropped(setup: Setup) -> None:
    intake = NotificationIntake(
        setup.directory,
        setup.states,
        ValidationTokenVerifier(APP_ID, FailingKeys(), setup.clock),
        EncryptionKeyRing(setup.certificate),
        setup.queue,
        setup.clock,
    )
    with pytest.raises(SigningKeysUnavailable):
        intake.accept(setup.body(setup.notification()))
