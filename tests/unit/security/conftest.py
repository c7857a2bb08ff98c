"""The signing-key tests sign tokens the way the notification tests do (one RSA key per session)."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from tests.unit.notifications.support import FakeClock, TokenSigner


@pytest.fixture(scope="session")
def signer() -> TokenSigner:
    return TokenSigner(rsa.generate_private_key(public_exponent=65537, key_size=2048), kid="test-key-1")


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()
