"""The API contract over the local host: the document is served anonymously and describes the host's
routes as the host serves them."""

from __future__ import annotations

import pytest

from tests.e2e.conftest import HostClient

pytestmark = pytest.mark.e2e


def test_the_document_is_served_anonymously(host: HostClient) -> None:
    reply = host.call("GET", "/api/openapi.json", auth=False)
    assert reply.status == 200
    assert reply.headers["Content-Type"].startswith("application/json")
    document = reply.json()
    assert document["openapi"] == "3.1.0"
    assert document["servers"] == [{"url": "/api"}]
    assert "/tenants/{tenantId}/connector" in document["paths"]
    assert document["paths"]["/tenants/{tenantId}/connector"]["get"]["security"] == [{"entraBearer": []}]
