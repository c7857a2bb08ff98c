"""Admin HTTP API of the connector lifecycle: every route needs an admin of the tenant (policy ADMIN)."""

from __future__ import annotations

import logging

import azure.functions as func

from shared.bootstrap import services
from shared.connectors.commands import parse_create, parse_tenant_id, parse_update
from shared.connectors.model import Connector
from shared.connectors.views import audit_json, connector_details_json, connector_json, deletion_json
from shared.http.auth import authorized
from shared.http.requests import if_match, json_object
from shared.http.responses import json_response
from shared.identity.policies import ADMIN
from shared.identity.principal import Principal

logger = logging.getLogger(__name__)

bp = func.Blueprint()

CONNECTOR_ROUTE = "tenants/{tenantId}/connector"


def _tenant(req: func.HttpRequest) -> str:
    # Already checked by @authorized (400 for a malformed id, 403 for another tenant's token).
    return parse_tenant_id(req.route_params.get("tenantId"))


def _with_etag(connector: Connector, body: dict[str, object], status: int = 200) -> func.HttpResponse:
    headers = {"ETag": connector.etag} if connector.etag else None
    return json_response(body, status, headers)


@bp.function_name("create_connector")
@bp.route(route=CONNECTOR_ROUTE, methods=["POST"], auth_level=func.AuthLevel.ANONYMOUS)
@authorized(ADMIN)
def create_connector(req: func.HttpRequest, caller: Principal) -> func.HttpResponse:
    tenant_id = _tenant(req)
    command = parse_create(json_object(req, required=False))
    created = services().connectors.create(tenant_id, command, caller.actor)
    body = {**connector_json(created.connector), "consentUrl": created.consent_url}
    return _with_etag(created.connector, body, 201)


@bp.function_name("request_consent")
@bp.route(route=CONNECTOR_ROUTE + "/consent", methods=["POST"], auth_level=func.AuthLevel.ANONYMOUS)
@authorized(ADMIN)
def request_consent(req: func.HttpRequest, caller: Principal) -> func.HttpResponse:
    result = services().connectors.request_consent(_tenant(req), caller.actor)
    return _with_etag(
        result.connector, {**connector_json(result.connector), "consentUrl": result.consent_url}
    )


@bp.function_name("get_connector")
@bp.route(route=CONNECTOR_ROUTE, methods=["GET"], auth_level=func.AuthLevel.ANONYMOUS)
@authorized(ADMIN)
def get_connector(req: func.HttpRequest, caller: Principal) -> func.HttpResponse:
    details = services().connectors.get(_tenant(req))
    return _with_etag(details.connector, connector_details_json(details))


@bp.function_name("update_connector")
@bp.route(route=CONNECTOR_ROUTE, methods=["PATCH"], auth_level=func.AuthLevel.ANONYMOUS)
@authorized(ADMIN)
def update_connector(req: func.HttpRequest, caller: Principal) -> func.HttpResponse:
    tenant_id = _tenant(req)
    command = parse_update(json_object(req) or {})
    updated = services().connectors.update(tenant_id, command, if_match(req), caller.actor)
    return _with_etag(updated, connector_json(updated))


@bp.function_name("deactivate_connector")
@bp.route(route=CONNECTOR_ROUTE + "/deactivate", methods=["POST"], auth_level=func.AuthLevel.ANONYMOUS)
@authorized(ADMIN)
def deactivate_connector(req: func.HttpRequest, caller: Principal) -> func.HttpResponse:
    updated = services().connectors.deactivate(_tenant(req), if_match(req), caller.actor)
    return _with_etag(updated, connector_json(updated))


@bp.function_name("reactivate_connector")
@bp.route(route=CONNECTOR_ROUTE + "/reactivate", methods=["POST"], auth_level=func.AuthLevel.ANONYMOUS)
@authorized(ADMIN)
def reactivate_connector(req: func.HttpRequest, caller: Principal) -> func.HttpResponse:
    updated = services().connectors.reactivate(_tenant(req), if_match(req), caller.actor)
    return _with_etag(updated, connector_json(updated))


@bp.function_name("delete_connector")
@bp.route(route=CONNECTOR_ROUTE, methods=["DELETE"], auth_level=func.AuthLevel.ANONYMOUS)
@authorized(ADMIN)
def delete_connector(req: func.HttpRequest, caller: Principal) -> func.HttpResponse:
    receipt = services().connectors.delete(_tenant(req), if_match(req), caller.actor)
    return json_response(deletion_json(receipt))


@bp.function_name("get_audit_trail")
@bp.route(route="tenants/{tenantId}/audit", methods=["GET"], auth_level=func.AuthLevel.ANONYMOUS)
@authorized(ADMIN)
def get_audit_trail(req: func.HttpRequest, caller: Principal) -> func.HttpResponse:
    return json_response(audit_json(services().connectors.audit_trail(_tenant(req))))
