from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest

from shared.security.exceptions import ExpiredSignedState, InvalidSignedState
from shared.security.signed_state import StateSigner
from tests.fakes import FakeClock
from tests.support.identity import ADMIN_OID

KEY = b"k" * 32


def signer(clock: FakeClock) -> StateSigner:
    return StateSigner(KEY, clock)


def test_a_signed_state_verifies_with_its_claims() -> None:
    clock = FakeClock()
    expires = clock.now + timedelta(minutes=15)
    state = signer(clock).sign("adminConsent", "tenant-a", "attempt-1", expires, requested_by=ADMIN_OID)
    claims = signer(clock).verify(state, "adminConsent")
    assert (claims.tenant_id, claims.attempt_id, claims.purpose) == ("tenant-a", "attempt-1", "adminConsent")
    assert claims.expires_at == expires.replace(microsecond=0)


def test_expired_states_are_refused() -> None:
    clock = FakeClock()
    state = signer(clock).sign(
        "adminConsent", "t", "a", clock.now + timedelta(minutes=15), requested_by=ADMIN_OID
    )
    clock.advance(minutes=15)
    with pytest.raises(ExpiredSignedState):
        signer(clock).verify(state, "adminConsent")


@pytest.mark.parametrize(
    "mutate",
    [
        lambda s: s[:-2] + ("AA" if not s.endswith("AA") else "BB"),
        lambda s: "x" + s,
        lambda s: s.replace(".", ".."),
        lambda s: s.split(".")[0],
        lambda s: "",
        lambda s: "a" * 5000,
        lambda s: s[:-1] + "é",
        lambda s: s.split(".")[0] + ".\u2603",
    ],
)
def test_tampered_or_malformed_states_are_refused(mutate: Callable[[str], str]) -> None:
    clock = FakeClock()
    state = signer(clock).sign(
        "adminConsent", "t", "a", clock.now + timedelta(minutes=15), requested_by=ADMIN_OID
    )
    with pytest.raises(InvalidSignedState):
        signer(clock).verify(mutate(state), "adminConsent")


def test_a_state_for_another_purpose_or_key_is_refused() -> None:
    clock = FakeClock()
    state = signer(clock).sign(
        "syncAccountSignIn", "t", "a", clock.now + timedelta(minutes=15), requested_by=ADMIN_OID
    )
    with pytest.raises(InvalidSignedState):
        signer(clock).verify(state, "adminConsent")
    other = StateSigner(b"o" * 32, clock)
    with pytest.raises(InvalidSignedState):
        other.verify(
            signer(clock).sign(
                "adminConsent", "t", "a", datetime.now(UTC) + timedelta(days=1), requested_by=ADMIN_OID
            ),
            "adminConsent",
        )


def test_short_keys_are_refused() -> None:
    with pytest.raises(ValueError, match="32 bytes"):
        StateSigner(b"short", FakeClock())


def test_a_state_names_the_admin_it_was_issued_to() -> None:
    # GIVEN a state issued to an admin / WHEN it is verified / THEN his object id comes back
    clock = FakeClock()
    state = signer(clock).sign(
        "adminConsent", "t", "a", clock.now + timedelta(minutes=1), requested_by=ADMIN_OID
    )
    assert signer(clock).verify(state, "adminConsent").requested_by == ADMIN_OID
    # AND no state is issued to nobody
    with pytest.raises(ValueError, match="requested_by"):
        signer(clock).sign("adminConsent", "t", "a", clock.now + timedelta(minutes=1), requested_by="")
