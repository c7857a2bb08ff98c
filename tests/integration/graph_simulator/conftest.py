"""Fixtures: a shared simulator (tenants are random per test), seeded tenants and a receiver."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from devstack.graph_simulator import GraphSimulator
from tests.integration.graph_simulator.helpers import NotificationReceiver, Sim


@pytest.fixture(scope="session")
def simulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[GraphSimulator]:
    sim = GraphSimulator(
        tls_port=0,
        tls_dir=tmp_path_factory.mktemp("graph-sim-tls"),
        tick_interval_seconds=0.2,
        delivery_retry_delays=(0.2, 0.4),
        validation_timeout_seconds=3.0,
    )
    sim.start()
    try:
        yield sim
    finally:
        sim.stop()


@pytest.fixture
def sim(simulator: GraphSimulator) -> Sim:
    return Sim(simulator.base_url)


@dataclass(frozen=True)
class SeededTenant:
    tenant_id: str
    client_id: str
    secret: str


@pytest.fixture
def tenant(sim: Sim) -> SeededTenant:
    """GIVEN a tenant and a registered app (with one secret) that an admin has consented to."""
    tenant_id, client_id, secret = str(uuid.uuid4()), str(uuid.uuid4()), f"secret-{uuid.uuid4().hex}"
    assert (
        sim.control("POST", f"/tenants/{tenant_id}", {"domains": [f"t{tenant_id[:8]}.example"]}).status == 201
    )
    assert sim.control("POST", "/apps", {"clientId": client_id, "secrets": [secret]}).status == 201
    return SeededTenant(tenant_id, client_id, secret)


@pytest.fixture
def receiver() -> Iterator[NotificationReceiver]:
    server = NotificationReceiver().start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def tls_ca_path(simulator: GraphSimulator, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The simulator's CA file; REQUESTS_CA_BUNDLE would override MSAL's `verify`, so it is cleared."""
    monkeypatch.delenv("REQUESTS_CA_BUNDLE", raising=False)
    monkeypatch.delenv("CURL_CA_BUNDLE", raising=False)
    assert simulator.tls_ca_path is not None
    return simulator.tls_ca_path
