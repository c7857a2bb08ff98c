"""Fixtures for the devstack integration tests: the local host on a free port and Azurite."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from devstack.azurite import Azurite
from devstack.host import LocalHost
from tests.fixtures import sample_function_app


@pytest.fixture
def recorded() -> sample_function_app.Recorded:
    sample_function_app.RECORDED.reset()
    return sample_function_app.RECORDED


@pytest.fixture
def local_host(recorded: sample_function_app.Recorded) -> Iterator[LocalHost]:
    host = LocalHost(sample_function_app.app, host="127.0.0.1", port=0, route_prefix="api")
    host.start()
    try:
        yield host
    finally:
        # Never leave a slow request waiting on a stopped test.
        recorded.slow_release.set()
        host.stop()


@pytest.fixture
def azurite() -> Iterator[Azurite]:
    emulator = Azurite(port=0)
    emulator.start()
    try:
        yield emulator
    finally:
        emulator.stop()
