from __future__ import annotations

import pytest

from shared.security.exceptions import SecretDecryptionFailed
from shared.security.secret_box import SecretBox

BOX = SecretBox(b"\x01" * 32)


def test_a_sealed_secret_opens_in_its_context_and_hides_the_plaintext() -> None:
    sealed = BOX.seal("client-secret-value", "tenant-a/contactCenter/webexcc")
    assert "client-secret-value" not in sealed
    assert BOX.open(sealed, "tenant-a/contactCenter/webexcc") == "client-secret-value"


def test_sealing_twice_gives_different_ciphertexts() -> None:
    assert BOX.seal("x", "c") != BOX.seal("x", "c")


@pytest.mark.parametrize(
    ("sealed_with", "context", "box"),
    [
        ("tenant-a", "tenant-b", BOX),
        ("tenant-a", "tenant-a", SecretBox(b"\x02" * 32)),
    ],
)
def test_another_context_or_key_does_not_open(sealed_with: str, context: str, box: SecretBox) -> None:
    sealed = BOX.seal("secret", sealed_with)
    with pytest.raises(SecretDecryptionFailed):
        box.open(sealed, context)


@pytest.mark.parametrize("garbage", ["", "plain", "v1:not base64!", "v1:AAAA"])
def test_garbage_does_not_open(garbage: str) -> None:
    with pytest.raises(SecretDecryptionFailed):
        BOX.open(garbage, "c")
