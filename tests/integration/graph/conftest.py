"""Fixtures: one Graph simulator (HTTP + HTTPS) for the session, a consented tenant per test, gateways."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from devstack.graph_simulator import GraphSimulator
from shared.graph.credentials import app_credential_factory
from shared.graph.msgraph_gateway import MsGraphGateway
from tests.integration.graph.helpers import ValidationReceiver, control

pytestmark = pytest.mark.integration

GRAPH_SCOPE = "https://graph.microsoft.com/.default"


@pytest.fixture(scope="session")
def simulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[GraphSimulator]:
    sim = GraphSimulator(
        tls_port=0,
        tls_dir=tmp_path_factory.mktemp("graph-gateway-tls"),
        tick_interval_seconds=0.2,
        delivery_retry_delays=(0.2,),
        validation_timeout_seconds=3.0,
    )
    sim.start()
    try:
        yield sim
    finally:
        sim.stop()


@dataclass(frozen=True)
class Tenant:
    tenant_id: str
    client_id: str
    secret: str


def _register(simulator: GraphSimulator, consented: bool) -> Tenant:
    tenant = Tenant(str(uuid.uuid4()), str(uuid.uuid4()), f"secret-{uuid.uuid4().hex}")
    assert control(simulator.base_url, "POST", f"/tenants/{tenant.tenant_id}", {})[0] == 201
    app = {"clientId": tenant.client_id, "secrets": [tenant.secret]}
    assert control(simulator.base_url, "POST", "/apps", app)[0] == 201
    if consented:
        simulator.state.record_consent(tenant.tenant_id, tenant.client_id, GRAPH_SCOPE)
    return tenant


@pytest.fixture
def tenant(simulator: GraphSimulator) -> Tenant:
    """GIVEN a tenant whose admin consented to a registered app with one client secret."""
    return _register(simulator, consented=True)


@pytest.fixture
def unconsented_tenant(simulator: GraphSimulator) -> Tenant:
    return _register(simulator, consented=False)


def make_gateway(
    simulator: GraphSimulator, tenant: Tenant, max_retries: int = 0, timeout_seconds: float = 20.0
) -> MsGraphGateway:
    """The production gateway and credentials, pointed at the simulator (HTTPS for the token endpoint)."""
    assert simulator.tls_base_url is not None
    assert simulator.tls_ca_path is not None
    factory = app_credential_factory(
        tenant.client_id,
        client_secret=tenant.secret,
        authority_host=simulator.tls_base_url,
        ca_bundle_path=str(simulator.tls_ca_path),
    )
    return MsGraphGateway(
        factory, f"{simulator.base_url}/v1.0", timeout_seconds=timeout_seconds, max_retries=max_retries
    )


@pytest.fixture
def gateway(simulator: GraphSimulator, tenant: Tenant) -> Iterator[MsGraphGateway]:
    graph = make_gateway(simulator, tenant)
    try:
        yield graph
    finally:
        graph.close()


@pytest.fixture
def receiver() -> Iterator[ValidationReceiver]:
    server = ValidationReceiver().start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(autouse=True)
def _no_leftover_faults(simulator: GraphSimulator) -> Iterator[None]:
    """Injected faults match by path for every tenant: never let one outlive its test."""
    yield
    control(simulator.base_url, "DELETE", "/faults")
