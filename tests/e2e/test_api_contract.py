"""The API contract over the local host: the document is served anonymously, and schemathesis drives
every operation of it against the running stack (Azurite, the simulators) with the checks
not_a_server_error, status_code_conformance, content_type_conformance and response_schema_conformance.

Each operation runs against a tenant of its own with an active connector (the contact-center
simulator's webhook), one agent and a Global Administrator's token from the Graph simulator's
`/_sim/token`, so admin routes reach their services instead of stopping at 401. Agent events are signed
with the tenant's secret the way a contact center signs them. Examples are bounded and derandomized
(fixed by the operation), so a run is the same every time and takes a few minutes at most.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis.checks import not_a_server_error
from schemathesis.core.result import Ok
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from devstack.dev_certificate import example_settings
from shared.contact_center.signatures import SIGNATURE_HEADER
from shared.http.openapi import openapi_document
from tests.e2e.conftest import HostClient, RunningHost
from tests.e2e.stack import AdminTenant, set_up_admin_tenant

pytestmark = pytest.mark.e2e

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
# Per operation and generation mode; 26 operations x 2 modes x this stays within a few minutes.
# CONTRACT_EXAMPLES raises it for a longer exploration by hand (failures found belong in unit tests).
EXAMPLES_PER_MODE = int(os.environ.get("CONTRACT_EXAMPLES", "12"))
MODES = (schemathesis.GenerationMode.POSITIVE, schemathesis.GenerationMode.NEGATIVE)


def _document() -> dict[str, Any]:
    with pytest.MonkeyPatch.context() as env:
        for name, value in example_settings().items():
            env.setenv(name, value)
        import function_app

    return openapi_document(function_app.app)


DOCUMENT = _document()
OPERATIONS = sorted(
    (method.upper(), path) for path, item in DOCUMENT["paths"].items() for method in item if method != "head"
) + [("HEAD", path) for path, item in DOCUMENT["paths"].items() if "head" in item]


@pytest.fixture
def tenant(local_host: RunningHost) -> AdminTenant:
    tenant = set_up_admin_tenant(local_host)
    # The expert directory is open only with showUserDetails on.
    settings = {"settings": {"showUserDetails": True}}
    assert (
        local_host.client.call("PATCH", f"/api/tenants/{tenant.tenant_id}/connector", settings).status == 200
    )
    return tenant


def test_the_document_is_served_anonymously(host: HostClient) -> None:
    reply = host.call("GET", "/api/openapi.json", auth=False)
    assert reply.status == 200
    assert reply.headers["Content-Type"].startswith("application/json")
    assert reply.json() == json.loads(json.dumps(DOCUMENT))


@pytest.mark.parametrize(("method", "path"), OPERATIONS, ids=[f"{m} {p}" for m, p in OPERATIONS])
def test_the_operation_keeps_its_contract(
    host: HostClient, tenant: AdminTenant, method: str, path: str
) -> None:
    schema = schemathesis.openapi.from_dict(DOCUMENT, config=schemathesis.Config())
    found = schema[path][method]
    operation = found.ok() if isinstance(found, Ok) else found
    fixed = {"tenantId": tenant.tenant_id} if "{tenantId}" in path else {}
    headers = host.admin_headers(tenant.tenant_id) if "{tenantId}" in path else {}
    statuses: list[int] = []

    takes_input = bool(found_parameters(operation)) or operation.body
    for mode in MODES if takes_input else MODES[:1]:
        strategy = operation.as_strategy(mode, path_parameters=fixed or None)

        @settings(
            max_examples=EXAMPLES_PER_MODE,
            derandomize=True,
            database=None,
            deadline=None,
            phases=[Phase.explicit, Phase.generate],
            suppress_health_check=list(HealthCheck),
        )
        @given(strategy)
        def run(case: schemathesis.Case[Any]) -> None:
            sent = dict(headers)
            if path.endswith("/contact-center/events"):
                sent[SIGNATURE_HEADER] = _signature(case.body, tenant.secret)
            response = case.call_and_validate(base_url=host.base_url + "/api", headers=sent, checks=CHECKS)
            statuses.append(response.status_code)

        try:
            run()
        except Unsatisfiable:
            # Nothing to get wrong: every input of the operation is fixed (only {tenantId}).
            assert mode is schemathesis.GenerationMode.NEGATIVE
    # Not only refusals: with a real tenant and credential, examples get past authentication.
    assert statuses, "no example ran"
    print(f"{method} {path}: {len(statuses)} examples, statuses {sorted(set(statuses))}")
    # Webex's deliveries are signed with the secret of the tenant's Webex subscription, which only Webex
    # holds (this tenant's contact center is the webhook): every example is a 401 there, by design.
    if "{tenantId}" in path and not path.endswith("/contact-center/webex/events"):
        assert any(status not in {401, 403} for status in statuses), sorted(set(statuses))


def found_parameters(operation: Any) -> list[Any]:
    return list(operation.iter_parameters())


def _signature(body: Any, secret: str) -> str:
    # requests serializes `json=` with json.dumps' default separators; sign exactly those bytes.
    if isinstance(body, bytes):
        raw = body
    else:
        raw = json.dumps(body, allow_nan=False).encode() if body is not None else b""
    return "sha256=" + hmac.new(secret.encode(), raw, hashlib.sha256).hexdigest()
