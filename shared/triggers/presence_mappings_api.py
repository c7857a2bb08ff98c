"""Admin HTTP API of a tenant's presence mappings (policy ADMIN, like the connector API)."""

from __future__ import annotations

import logging

import azure.functions as func

from shared.bootstrap import services
from shared.connectors.commands import parse_tenant_id
from shared.http.auth import authorized
from shared.http.requests import if_match, json_object
from shared.http.responses import json_response
from shared.identity.policies import ADMIN
from shared.identity.principal import Principal
from shared.mappings.model import PresenceMappings
from shared.mappings.views import mappings_json

logger = logging.getLogger(__name__)

bp = func.Blueprint()

MAPPINGS_ROUTE = "tenants/{tenantId}/presence-mappings"


def _tenant(req: func.HttpRequest) -> str:
    return parse_tenant_id(req.route_params.get("tenantId"))


def _answer(mappings: PresenceMappings) -> func.HttpResponse:
    headers = {"ETag": mappings.etag} if mappings.etag else None
    return json_response(mappings_json(mappings), 200, headers)


@bp.function_name("get_presence_mappings")
@bp.route(route=MAPPINGS_ROUTE, methods=["GET"], auth_level=func.AuthLevel.ANONYMOUS)
@authorized(ADMIN)
def get_presence_mappings(req: func.HttpRequest, caller: Principal) -> func.HttpResponse:
    return _answer(services().presence_mappings.get(_tenant(req)))


@bp.function_name("put_presence_mappings")
@bp.route(route=MAPPINGS_ROUTE, methods=["PUT"], auth_level=func.AuthLevel.ANONYMOUS)
@authorized(ADMIN)
def put_presence_mappings(req: func.HttpRequest, caller: Principal) -> func.HttpResponse:
    tenant_id = _tenant(req)
    saved, verification = services().presence_mappings.put_checked(
        tenant_id, json_object(req), if_match(req), caller.actor
    )
    headers = {"ETag": saved.etag} if saved.etag else None
    body = {
        **mappings_json(saved),
        # Whether the idle code ids were checked against the contact center; when not, why.
        "idleCodesChecked": verification.checked,
        "idleCodesNote": verification.reason,
    }
    return json_response(body, 200, headers)
