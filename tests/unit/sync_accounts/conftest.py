from __future__ import annotations

import pytest

from tests.unit.sync_accounts.world import World


@pytest.fixture
def world() -> World:
    return World()
