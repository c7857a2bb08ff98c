"""Fixtures: a fresh simulator per test (fast retries), a stand-in connector events route, and the
connector's real adapter factory pointed at both."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from devstack.contact_center_simulator import ContactCenterSimulator
from shared.contact_center.clients import HttpContactCenterClients
from tests.integration.contact_center_simulator.helpers import Control, EventsReceiver


@pytest.fixture
def simulator() -> Iterator[ContactCenterSimulator]:
    sim = ContactCenterSimulator(port=0, delivery_retry_delays=(0.05, 0.1, 0.2))
    sim.start()
    try:
        yield sim
    finally:
        sim.stop()


@pytest.fixture
def control(simulator: ContactCenterSimulator) -> Control:
    return Control(simulator.base_url)


@pytest.fixture
def receiver() -> Iterator[EventsReceiver]:
    server = EventsReceiver().start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def clients(
    simulator: ContactCenterSimulator, receiver: EventsReceiver
) -> Iterator[HttpContactCenterClients]:
    """The connector's adapters; the public base URL is the receiver, so events come back to it."""
    factory = HttpContactCenterClients(receiver.url)
    try:
        yield factory
    finally:
        factory.close()


@pytest.fixture
def receiver_url(receiver: EventsReceiver) -> str:
    """A destinationUrl on the stand-in receiver (loopback, allowed by default)."""
    return receiver.url + "/api/contact-center/webex/events"
