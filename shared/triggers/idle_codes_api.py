"""GET /api/tenants/{tenantId}/contact-center/idle-codes: the contact center's active idle codes, so
admins map Teams states to real ids (Webex: v2 auxiliary codes of type IDLE_CODE; webhook:
`GET {url}/idle-codes`)."""

from __future__ import annotations

import azure.functions as func

from shared.bootstrap import services
from shared.connectors.commands import parse_tenant_id
from shared.contact_center.webex.schemas import IdleCodesView
from shared.http.auth import authorized
from shared.http.contract import Json, operation
from shared.http.responses import json_response
from shared.identity.policies import ADMIN
from shared.identity.principal import Principal

bp = func.Blueprint()

IDLE_CODES_ROUTE = "tenants/{tenantId}/contact-center/idle-codes"


@bp.function_name("list_idle_codes")
@bp.route(route=IDLE_CODES_ROUTE, methods=["GET"], auth_level=func.AuthLevel.ANONYMOUS)
@operation(
    summary="The contact center's active idle codes (what Teams states are mapped to)",
    tags=("contact center",),
    responses={200: Json(IdleCodesView, "The idle codes, read from the contact center now")},
    errors={
        404: "The tenant has no connector",
        409: "No contact center, it lists no idle codes, or Webex needs a new sign-in",
        502: "The contact center refused or answered something unreadable",
    },
)
@authorized(ADMIN)
def list_idle_codes(req: func.HttpRequest, caller: Principal) -> func.HttpResponse:
    codes = services().idle_codes.list(parse_tenant_id(req.route_params.get("tenantId")))
    return json_response(
        {"idleCodes": [{"id": code.id, "name": code.name, "isDefault": code.is_default} for code in codes]}
    )
