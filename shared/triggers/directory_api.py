"""GET /api/tenants/{tenantId}/directory/users: the subject-matter-expert directory.

Policy DIRECTORY_READER: any signed-in user of the tenant (agents and supervisors, no admin role), or
the tenant's contact center with a signed GET. The service gates on the connector (active, "Show user
details" on) and answers one page of experts with presence and a transfer target.
"""

from __future__ import annotations

import azure.functions as func

from shared.bootstrap import services
from shared.connectors.commands import parse_tenant_id
from shared.directory.commands import parse_directory_request
from shared.directory.schemas import DirectoryPageView, DirectoryQueryParameters
from shared.directory.views import page_json
from shared.http.auth import authorized
from shared.http.contract import Json, operation
from shared.http.responses import json_response
from shared.identity.policies import DIRECTORY_READER
from shared.identity.principal import Principal

bp = func.Blueprint()

DIRECTORY_USERS_ROUTE = "tenants/{tenantId}/directory/users"


@bp.function_name("search_directory_users")
@bp.route(route=DIRECTORY_USERS_ROUTE, methods=["GET"], auth_level=func.AuthLevel.ANONYMOUS)
@operation(
    summary="Find subject-matter experts by name, department and role, with presence and a transfer target",
    description="One page of the tenant's enabled users (never its sync accounts), each with Teams presence "
    "and, when the user has an E.164 phone number, a PSTN transfer target. Open while the connector is "
    "active with showUserDetails on. Two Graph calls a page: the users (cached up to 60 s) and their "
    "presence (never cached).",
    tags=("directory",),
    query=DirectoryQueryParameters,
    responses={200: Json(DirectoryPageView, "A page of experts; follow nextSkipToken for the next one")},
    errors={
        403: "showUserDetails is off, or the caller is of another tenant",
        404: "The tenant has no connector",
        409: "The connector is not active",
        502: "Graph refused or failed the directory read",
    },
)
@authorized(DIRECTORY_READER)
def search_directory_users(req: func.HttpRequest, caller: Principal) -> func.HttpResponse:
    tenant_id = parse_tenant_id(req.route_params.get("tenantId"))
    request = parse_directory_request(dict(req.params))
    page = services().directory.search(tenant_id, request)
    return json_response(page_json(page))
