from __future__ import annotations

import base64
import secrets

import pytest

from shared.notifications.client_state import MAX_CLIENT_STATE_LENGTH, ClientStateSigner
from tests.unit.notifications.support import TENANT_A, TENANT_B

KEY = secrets.token_bytes(32)


def test_an_issued_client_state_verifies_for_its_tenant() -> None:
    # GIVEN a client state issued for tenant A
    signer = ClientStateSigner(KEY)
    client_state = signer.issue(TENANT_A)

    # THEN it fits Graph's limit, is URL-safe, and verifies for A (whatever the GUID's case)
    assert len(client_state) <= MAX_CLIENT_STATE_LENGTH
    assert all(c.isalnum() or c in "-_" for c in client_state)
    assert signer.verify(client_state, TENANT_A)
    assert signer.verify(client_state, TENANT_A.upper())


def test_each_subscription_gets_a_different_client_state() -> None:
    signer = ClientStateSigner(KEY)
    assert signer.issue(TENANT_A) != signer.issue(TENANT_A)


def test_a_client_state_from_another_tenant_fails() -> None:
    # GIVEN tenant B's client state
    signer = ClientStateSigner(KEY)
    client_state = signer.issue(TENANT_B)

    # WHEN presented on a notification for tenant A
    # THEN it fails
    assert not signer.verify(client_state, TENANT_A)


def test_a_client_state_from_another_key_fails() -> None:
    # GIVEN a client state issued by another deployment
    other = ClientStateSigner(secrets.token_bytes(32)).issue(TENANT_A)

    # WHEN / THEN
    assert not ClientStateSigner(KEY).verify(other, TENANT_A)


def test_every_single_character_change_fails() -> None:
    # GIVEN a valid client state
    signer = ClientStateSigner(KEY)
    client_state = signer.issue(TENANT_A)

    # WHEN any one character is replaced
    for index, char in enumerate(client_state):
        replacement = "A" if char != "A" else "B"
        tampered = client_state[:index] + replacement + client_state[index + 1 :]

        # THEN it no longer verifies
        assert not signer.verify(tampered, TENANT_A), index


@pytest.mark.parametrize(
    "client_state",
    [None, "", "{secret client state}", "x" * 200, "AAAA", "not base64 !!!"],
)
def test_garbage_fails_without_raising(client_state: str | None) -> None:
    assert not ClientStateSigner(KEY).verify(client_state, TENANT_A)


def test_non_canonical_spellings_fail() -> None:
    # GIVEN a valid client state with characters the decoder would skip or padding appended
    signer = ClientStateSigner(KEY)
    client_state = signer.issue(TENANT_A)

    # WHEN / THEN only the exact issued spelling is accepted
    assert not signer.verify(client_state + "==", TENANT_A)
    assert not signer.verify(client_state[:10] + "." + client_state[10:], TENANT_A)


def test_another_version_byte_fails() -> None:
    # GIVEN a client state re-encoded with another version byte (same nonce and MAC)
    signer = ClientStateSigner(KEY)
    raw = bytearray(base64.urlsafe_b64decode(signer.issue(TENANT_A) + "=="))
    raw[0] = 2
    forged = base64.urlsafe_b64encode(bytes(raw)).rstrip(b"=").decode()

    # WHEN / THEN
    assert not signer.verify(forged, TENANT_A)


def test_client_states_issued_before_a_key_rotation_still_verify() -> None:
    # GIVEN a client state issued with the old key
    old_key = secrets.token_bytes(32)
    issued = ClientStateSigner(old_key).issue(TENANT_A)

    # WHEN the key is rotated and the old one kept for verification
    rotated = ClientStateSigner(secrets.token_bytes(32), previous_keys=[old_key])

    # THEN the old client state verifies, and new ones use the new key
    assert rotated.verify(issued, TENANT_A)
    assert not ClientStateSigner(old_key).verify(rotated.issue(TENANT_A), TENANT_A)


def test_short_keys_are_refused() -> None:
    with pytest.raises(ValueError, match="at least 32 bytes"):
        ClientStateSigner(b"short")


@pytest.mark.parametrize("tenant_id", ["", "   ", "x" * 300])
def test_issue_requires_a_plausible_tenant_id(tenant_id: str) -> None:
    with pytest.raises(ValueError, match="tenant id"):
        ClientStateSigner(KEY).issue(tenant_id)
