"""Session-wide keys and certificates (RSA key generation is the slow part of these tests)."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from shared.notifications.encryption_keys import EncryptionCertificate
from tests.support.notification_encryption import generate_encryption_certificate
from tests.unit.notifications.support import FakeClock, TokenSigner


@pytest.fixture(scope="session")
def signing_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="session")
def signer(signing_key: rsa.RSAPrivateKey) -> TokenSigner:
    return TokenSigner(private_key=signing_key, kid="test-key-1")


@pytest.fixture(scope="session")
def current_certificate() -> EncryptionCertificate:
    return generate_encryption_certificate("presence-2025")


@pytest.fixture(scope="session")
def previous_certificate() -> EncryptionCertificate:
    return generate_encryption_certificate("presence-2024")


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()
