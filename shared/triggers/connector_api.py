"""Admin HTTP API of the connector lifecycle: every route needs an admin of the tenant (policy ADMIN)."""

from __future__ import annotations

import logging

import azure.functions as func

from shared.bootstrap import services
from shared.connectors.commands import parse_create, parse_tenant_id, parse_update
from shared.connectors.model import Connector
from shared.connectors.schemas import (
    CREATE_BODY,
    UPDATE_BODY,
    AuditTrailView,
    ConnectorDetailsView,
    ConnectorView,
    ConnectorWithConsentView,
    DeletionView,
)
from shared.connectors.views import audit_json, connector_details_json, connector_json, deletion_json
from shared.http.auth import authorized
from shared.http.contract import Json, operation
from shared.http.requests import if_match
from shared.http.responses import json_response
from shared.identity.policies import ADMIN
from shared.identity.principal import Principal

logger = logging.getLogger(__name__)

bp = func.Blueprint()

CONNECTOR_ROUTE = "tenants/{tenantId}/connector"
TAGS = ("connector",)
NOT_FOUND = {404: "The tenant has no connector"}
STALE = {412: "If-Match names an older version (re-read the connector and retry)"}


def _tenant(req: func.HttpRequest) -> str:
    # Already checked by @authorized (400 for a malformed id, 403 for another tenant's token).
    return parse_tenant_id(req.route_params.get("tenantId"))


def _with_etag(connector: Connector, body: dict[str, object], status: int = 200) -> func.HttpResponse:
    headers = {"ETag": connector.etag} if connector.etag else None
    return json_response(body, status, headers)


@bp.function_name("create_connector")
@bp.route(route=CONNECTOR_ROUTE, methods=["POST"], auth_level=func.AuthLevel.ANONYMOUS)
@operation(
    summary="Start the setup of the tenant's connector",
    description="Creates the connector in pendingConsent and answers the admin consent link.",
    tags=TAGS,
    body=CREATE_BODY,
    responses={
        201: Json(
            ConnectorWithConsentView, "Created; open consentUrl as an admin", headers={"ETag": "Version"}
        )
    },
    errors={409: "The tenant already has a connector"},
)
@authorized(ADMIN)
def create_connector(req: func.HttpRequest, caller: Principal) -> func.HttpResponse:
    tenant_id = _tenant(req)
    command = parse_create(CREATE_BODY.read(req))
    created = services().connectors.create(tenant_id, command, caller.actor)
    body = {**connector_json(created.connector), "consentUrl": created.consent_url}
    return _with_etag(created.connector, body, 201)


@bp.function_name("request_consent")
@bp.route(route=CONNECTOR_ROUTE + "/consent", methods=["POST"], auth_level=func.AuthLevel.ANONYMOUS)
@operation(
    summary="A new admin consent link (older links stop working)",
    tags=TAGS,
    responses={200: Json(ConnectorWithConsentView, "The connector and its new consent link")},
    errors={**NOT_FOUND, 409: "The connector is not waiting for consent"},
)
@authorized(ADMIN)
def request_consent(req: func.HttpRequest, caller: Principal) -> func.HttpResponse:
    result = services().connectors.request_consent(_tenant(req), caller.actor)
    return _with_etag(
        result.connector, {**connector_json(result.connector), "consentUrl": result.consent_url}
    )


@bp.function_name("get_connector")
@bp.route(route=CONNECTOR_ROUTE, methods=["GET"], auth_level=func.AuthLevel.ANONYMOUS)
@operation(
    summary="The connector, its counts and its contact center's health",
    tags=TAGS,
    responses={200: Json(ConnectorDetailsView, "The connector", headers={"ETag": "Version for If-Match"})},
    errors=NOT_FOUND,
)
@authorized(ADMIN)
def get_connector(req: func.HttpRequest, caller: Principal) -> func.HttpResponse:
    details = services().connectors.get(_tenant(req))
    return _with_etag(details.connector, connector_details_json(details))


@bp.function_name("update_connector")
@bp.route(route=CONNECTOR_ROUTE, methods=["PATCH"], auth_level=func.AuthLevel.ANONYMOUS)
@operation(
    summary="Change settings and/or the contact center",
    description="If-Match (optional) makes the change conditional on the version read.",
    tags=TAGS,
    body=UPDATE_BODY,
    responses={200: Json(ConnectorView, "The updated connector", headers={"ETag": "The new version"})},
    errors={**NOT_FOUND, **STALE, 409: "The connector is being deleted"},
)
@authorized(ADMIN)
def update_connector(req: func.HttpRequest, caller: Principal) -> func.HttpResponse:
    tenant_id = _tenant(req)
    command = parse_update(UPDATE_BODY.read(req) or {})
    updated = services().connectors.update(tenant_id, command, if_match(req), caller.actor)
    return _with_etag(updated, connector_json(updated))


@bp.function_name("deactivate_connector")
@bp.route(route=CONNECTOR_ROUTE + "/deactivate", methods=["POST"], auth_level=func.AuthLevel.ANONYMOUS)
@operation(
    summary="Deactivate (stop syncing, keep the data)",
    tags=TAGS,
    responses={200: Json(ConnectorView, "The deactivated connector")},
    errors={**NOT_FOUND, **STALE, 409: "Only an active connector can be deactivated"},
)
@authorized(ADMIN)
def deactivate_connector(req: func.HttpRequest, caller: Principal) -> func.HttpResponse:
    updated = services().connectors.deactivate(_tenant(req), if_match(req), caller.actor)
    return _with_etag(updated, connector_json(updated))


@bp.function_name("reactivate_connector")
@bp.route(route=CONNECTOR_ROUTE + "/reactivate", methods=["POST"], auth_level=func.AuthLevel.ANONYMOUS)
@operation(
    summary="Reactivate a deactivated connector",
    tags=TAGS,
    responses={200: Json(ConnectorView, "The active connector")},
    errors={**NOT_FOUND, **STALE, 409: "Only an inactive connector can be reactivated"},
)
@authorized(ADMIN)
def reactivate_connector(req: func.HttpRequest, caller: Principal) -> func.HttpResponse:
    updated = services().connectors.reactivate(_tenant(req), if_match(req), caller.actor)
    return _with_etag(updated, connector_json(updated))


@bp.function_name("delete_connector")
@bp.route(route=CONNECTOR_ROUTE, methods=["DELETE"], auth_level=func.AuthLevel.ANONYMOUS)
@operation(
    summary="Delete a deactivated (or never activated) connector and all its data",
    tags=TAGS,
    responses={200: Json(DeletionView, "Deleted; nextSteps says how to remove the enterprise app")},
    errors={**NOT_FOUND, **STALE, 409: "Deactivate the connector first"},
)
@authorized(ADMIN)
def delete_connector(req: func.HttpRequest, caller: Principal) -> func.HttpResponse:
    receipt = services().connectors.delete(_tenant(req), if_match(req), caller.actor)
    return json_response(deletion_json(receipt))


@bp.function_name("get_audit_trail")
@bp.route(route="tenants/{tenantId}/audit", methods=["GET"], auth_level=func.AuthLevel.ANONYMOUS)
@operation(
    summary="The tenant's audit trail, newest first",
    tags=TAGS,
    responses={200: Json(AuditTrailView, "The audit entries")},
)
@authorized(ADMIN)
def get_audit_trail(req: func.HttpRequest, caller: Principal) -> func.HttpResponse:
    return json_response(audit_json(services().connectors.audit_trail(_tenant(req))))
