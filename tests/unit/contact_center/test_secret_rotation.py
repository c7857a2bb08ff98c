"""Signing-secret rotation with overlap: after an admin replaces the contact-center secret, events
signed with the previous one are still taken for ten minutes, then refused like any bad signature."""

from __future__ import annotations

from dataclasses import replace

import pytest

from shared.connectors import state_machine
from shared.connectors.model import PreviousSecret, WebhookContactCenter
from shared.contact_center.exceptions import InvalidEventSignature
from shared.contact_center.signatures import signature_for
from tests.unit.contact_center.support import SECRET, TENANT, batch, event
from tests.unit.contact_center.test_intake import Wired

NEW_SECRET = "new-signing-secret-0123456789abcdef"
URL = "https://cc.example.com/hook"


@pytest.fixture
def rotated() -> Wired:
    wired = Wired()
    connector = wired.connectors.rows[TENANT]
    wired.connectors.rows[TENANT] = state_machine.update(
        connector, connector.settings, WebhookContactCenter(URL, NEW_SECRET), wired.clock()
    )
    return wired


def _post(wired: Wired, secret: str) -> int:
    raw = batch(event(wired.clock()))
    return wired.intake.accept(TENANT, raw, signature_for(raw, secret)).accepted


def test_the_previous_secret_is_still_accepted_within_the_overlap(rotated: Wired) -> None:
    rotated.clock.advance(minutes=9)
    assert _post(rotated, SECRET) == 1


def test_the_previous_secret_is_refused_once_the_overlap_is_over(rotated: Wired) -> None:
    rotated.clock.advance(minutes=10, seconds=1)
    with pytest.raises(InvalidEventSignature):
        _post(rotated, SECRET)
    assert rotated.queue.published == []


@pytest.mark.parametrize("minutes", [0, 9, 11, 60 * 24])
def test_the_current_secret_is_always_accepted(rotated: Wired, minutes: int) -> None:
    rotated.clock.advance(minutes=minutes)
    assert _post(rotated, NEW_SECRET) == 1


def test_an_unrelated_secret_is_refused_even_within_the_overlap(rotated: Wired) -> None:
    rotated.clock.advance(minutes=1)
    with pytest.raises(InvalidEventSignature):
        _post(rotated, "some-other-secret-never-configured")


def test_a_change_that_keeps_the_secret_keeps_the_rotation_state(rotated: Wired) -> None:
    rotated.clock.advance(minutes=5)
    before = rotated.connectors.rows[TENANT]
    after = state_machine.update(
        before,
        replace(before.settings, show_user_details=True),
        WebhookContactCenter(URL, NEW_SECRET),
        rotated.clock(),
    )
    assert after.previous_secret == before.previous_secret
    assert after.previous_secret is not None
    assert after.previous_secret.secret == SECRET


def test_a_second_rotation_replaces_the_previous_secret(rotated: Wired) -> None:
    rotated.clock.advance(minutes=3)
    before = rotated.connectors.rows[TENANT]
    rotated.connectors.rows[TENANT] = state_machine.update(
        before, before.settings, WebhookContactCenter(URL, "third-secret-fedcba9876543210"), rotated.clock()
    )
    assert rotated.connectors.rows[TENANT].previous_secret == PreviousSecret(NEW_SECRET, rotated.clock())
    with pytest.raises(InvalidEventSignature):
        _post(rotated, SECRET)
    assert _post(rotated, NEW_SECRET) == 1


def test_the_previous_secret_is_not_in_the_repr(rotated: Wired) -> None:
    assert SECRET not in repr(rotated.connectors.rows[TENANT])
