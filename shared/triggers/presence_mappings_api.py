"""Admin HTTP API of a tenant's presence mappings (policy ADMIN, like the connector API)."""

from __future__ import annotations

import logging

import azure.functions as func

from shared.bootstrap import services
from shared.connectors.commands import parse_tenant_id
from shared.http.auth import authorized
from shared.http.contract import Json, operation
from shared.http.requests import if_match
from shared.http.responses import json_response
from shared.identity.policies import ADMIN
from shared.identity.principal import Principal
from shared.mappings.model import PresenceMappings
from shared.mappings.schemas import PUT_BODY, MappingsSaved, MappingsView
from shared.mappings.views import mappings_json

logger = logging.getLogger(__name__)

bp = func.Blueprint()

MAPPINGS_ROUTE = "tenants/{tenantId}/presence-mappings"
TAGS = ("presence mappings",)


def _tenant(req: func.HttpRequest) -> str:
    return parse_tenant_id(req.route_params.get("tenantId"))


def _answer(mappings: PresenceMappings) -> func.HttpResponse:
    headers = {"ETag": mappings.etag} if mappings.etag else None
    return json_response(mappings_json(mappings), 200, headers)


@bp.function_name("get_presence_mappings")
@bp.route(route=MAPPINGS_ROUTE, methods=["GET"], auth_level=func.AuthLevel.ANONYMOUS)
@operation(
    summary="The tenant's presence mappings (the defaults until a PUT)",
    tags=TAGS,
    responses={200: Json(MappingsView, "The mappings", headers={"ETag": "Version for If-Match"})},
    errors={404: "The tenant has no connector"},
)
@authorized(ADMIN)
def get_presence_mappings(req: func.HttpRequest, caller: Principal) -> func.HttpResponse:
    return _answer(services().presence_mappings.get(_tenant(req)))


@bp.function_name("put_presence_mappings")
@bp.route(route=MAPPINGS_ROUTE, methods=["PUT"], auth_level=func.AuthLevel.ANONYMOUS)
@operation(
    summary="Replace the tenant's presence mappings",
    tags=TAGS,
    body=PUT_BODY,
    responses={200: Json(MappingsSaved, "The saved mappings", headers={"ETag": "The new version"})},
    errors={
        400: "A rule is invalid, or names an idle code the contact center does not list (unknownIdleCode)",
        404: "The tenant has no connector",
        409: "The connector is being deleted",
        412: "If-Match names an older version",
    },
)
@authorized(ADMIN)
def put_presence_mappings(req: func.HttpRequest, caller: Principal) -> func.HttpResponse:
    tenant_id = _tenant(req)
    saved, verification = services().presence_mappings.put_checked(
        tenant_id, PUT_BODY.read(req), if_match(req), caller.actor
    )
    headers = {"ETag": saved.etag} if saved.etag else None
    body = {
        **mappings_json(saved),
        # Whether the idle code ids were checked against the contact center; when not, why.
        "idleCodesChecked": verification.checked,
        "idleCodesNote": verification.reason,
    }
    return json_response(body, 200, headers)
