"""Fixtures every tier shares. Azurite is started once per session, on a free port, only when a test
asks for it, and stopped at the end: the test command needs no service running beforehand."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from devstack.azurite import Azurite
from devstack.dev_certificate import example_settings
from shared.settings import Settings, load_settings
from tests.support.identity import AdminTokens
from tests.support.property_profiles import load_profile

# Before any test module builds its @settings: they inherit the profile (derandomized unless told).
load_profile()

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def example_values() -> dict[str, str]:
    return example_settings()


@pytest.fixture(scope="session")
def admin_tokens() -> AdminTokens:
    """Mints admin access tokens (`admin_tokens.headers(tenant_id)`); `.authenticator()` trusts them."""
    return AdminTokens()


@pytest.fixture(scope="session")
def azurite() -> Iterator[Azurite]:
    with Azurite(port=0) as emulator:
        yield emulator


@pytest.fixture
def azurite_settings(azurite: Azurite, example_values: dict[str, str]) -> Settings:
    return load_settings({**example_values, "TABLES_CONNECTION_STRING": azurite.connection_string})


@pytest.fixture
def tenant_id() -> str:
    """A fresh tenant per test keeps tests independent while they share one Azurite."""
    return str(uuid.uuid4())
