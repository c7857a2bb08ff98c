"""POST /api/tenants/{tenantId}/contact-center/test: the admin's "test the contact center" action.

One authenticated, harmless request to the configured contact center (a signed `connectionTest` POST for
a webhook, a token and one idle-code read for Webex); the answer says what happened. 200 whatever the
contact center answered (the test ran); 404 without a connector, 409 without a contact center.
"""

from __future__ import annotations

import azure.functions as func

from shared.bootstrap import services
from shared.connectors.commands import parse_tenant_id
from shared.connectors.schemas import NO_BODY, ContactCenterCheckView
from shared.connectors.views import contact_center_check_json
from shared.http.auth import authorized
from shared.http.contract import Json, operation
from shared.http.responses import json_response
from shared.identity.policies import ADMIN
from shared.identity.principal import Principal

bp = func.Blueprint()

TEST_ROUTE = "tenants/{tenantId}/contact-center/test"


@bp.function_name("contact_center_test")
@bp.route(route=TEST_ROUTE, methods=["POST"], auth_level=func.AuthLevel.ANONYMOUS)
@operation(
    summary="Send one harmless signed request to the contact center and say what happened",
    tags=("contact center",),
    body=NO_BODY,
    responses={200: Json(ContactCenterCheckView, "The test ran (whatever the contact center answered)")},
    errors={404: "The tenant has no connector", 409: "The connector has no contact center"},
)
@authorized(ADMIN)
def run_contact_center_test(req: func.HttpRequest, caller: Principal) -> func.HttpResponse:
    tenant_id = parse_tenant_id(req.route_params.get("tenantId"))
    NO_BODY.read(req)
    check = services().contact_center_test.run(tenant_id, caller.actor)
    return json_response(contact_center_check_json(check))
