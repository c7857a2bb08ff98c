"""When Graph cannot be reached at all."""

from __future__ import annotations

import socket
from dataclasses import replace

import pytest

from devstack.graph_simulator import GraphSimulator
from shared.graph.credentials import app_credential_factory
from shared.graph.exceptions import GraphAuthenticationFailed, GraphUnavailable
from shared.graph.msgraph_gateway import MsGraphGateway
from tests.integration.graph.conftest import Tenant, make_gateway

pytestmark = pytest.mark.integration


def _closed_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


def test_unreachable_graph_is_unavailability(simulator: GraphSimulator, tenant: Tenant) -> None:
    # GIVEN valid app credentials but a Graph base URL where nothing listens
    assert simulator.tls_base_url is not None
    factory = app_credential_factory(
        tenant.client_id,
        client_secret=tenant.secret,
        authority_host=simulator.tls_base_url,
        ca_bundle_path=str(simulator.tls_ca_path),
    )
    # WHEN a presence read is attempted, THEN the caller learns Graph is unavailable
    with (
        MsGraphGateway(factory, f"http://127.0.0.1:{_closed_port()}/v1.0", timeout_seconds=10) as graph,
        pytest.raises(GraphUnavailable, match="could not be reached"),
    ):
        graph.get_presences(tenant.tenant_id, ["8f0d9c1e-0000-4000-8000-000000000001"])


def test_a_wrong_client_secret_fails_authentication(simulator: GraphSimulator, tenant: Tenant) -> None:
    # GIVEN the app's secret is wrong, THEN no token is issued and the call fails authentication
    with (
        make_gateway(simulator, replace(tenant, secret="not-the-secret")) as graph,
        pytest.raises(GraphAuthenticationFailed),
    ):
        graph.get_user(tenant.tenant_id, "ann@contoso.example")
