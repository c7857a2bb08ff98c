"""Webex Contact Center: the admin's sign-in (start: policy ADMIN; callback: anonymous, the browser comes
back from Webex with a signed state) and the receiver of Webex's signed agent-event deliveries
(anonymous at the Functions level: Webex allows no query string in a destinationUrl and sends no
credential but the X-WebexCC-Signature HMAC, which the receiver verifies).
"""

from __future__ import annotations

import logging

import azure.functions as func

from shared.bootstrap import services
from shared.connectors.commands import parse_tenant_id
from shared.connectors.views import iso
from shared.contact_center.schemas import EventReportView
from shared.contact_center.webex.contract import SIGNATURE_HEADER
from shared.contact_center.webex.exceptions import WebexSignInDenied
from shared.contact_center.webex.schemas import WebexAuthorizeView, WebexCallbackQuery, WebexConnectedView
from shared.errors import AppError
from shared.http.auth import authorized
from shared.http.contract import HTML, Json, Security, operation
from shared.http.errors import http_errors, status_for
from shared.http.responses import error_response, html_page, json_response
from shared.identity.policies import ADMIN
from shared.identity.principal import Principal
from shared.triggers.contact_center_events import report_json

logger = logging.getLogger(__name__)

bp = func.Blueprint()

TAGS = ("webex",)

AUTHORIZE_ROUTE = "tenants/{tenantId}/contact-center/webex/authorize"
CALLBACK_ROUTE = "contact-center/webex/callback"
EVENTS_ROUTE = "tenants/{tenantId}/contact-center/webex/events"
CALLBACK_PARAMS = ("state", "code", "error", "error_description")
MAX_PARAM_LENGTH = 4096


def _wants_json(req: func.HttpRequest) -> bool:
    return "application/json" in (req.headers.get("accept") or "").lower()


@bp.function_name("start_webex_sign_in")
@bp.route(route=AUTHORIZE_ROUTE, methods=["POST"], auth_level=func.AuthLevel.ANONYMOUS)
@operation(
    summary="Start the admin's Webex sign-in (answers the link to open)",
    tags=TAGS,
    responses={200: Json(WebexAuthorizeView, "Open authorizeUrl and sign in to Webex")},
    errors={
        404: "The tenant has no connector",
        409: "The contact center is not Webex Contact Center, or the Webex integration is not configured",
    },
)
@authorized(ADMIN)
def start_webex_sign_in(req: func.HttpRequest, caller: Principal) -> func.HttpResponse:
    tenant_id = parse_tenant_id(req.route_params.get("tenantId"))
    started = services().webex.start_authorize(tenant_id, caller.actor)
    return json_response({"authorizeUrl": started.authorize_url, "expiresAt": iso(started.expires_at)})


@bp.function_name("webex_sign_in_callback")
@bp.route(route=CALLBACK_ROUTE, methods=["GET"], auth_level=func.AuthLevel.ANONYMOUS)
@operation(
    summary="Where Webex sends the admin's browser back after the sign-in",
    description="An HTML page for the browser; JSON when the request accepts application/json.",
    tags=TAGS,
    query=WebexCallbackQuery,
    security=Security.NONE,
    responses={200: Json(WebexConnectedView, "Webex connected", also=(HTML,))},
    errors={
        404: "The tenant has no connector",
        409: "The contact center is not Webex Contact Center",
        502: "Webex's token endpoint failed",
    },
)
def webex_sign_in_callback(req: func.HttpRequest) -> func.HttpResponse:
    params = {name: value[:MAX_PARAM_LENGTH] for name in CALLBACK_PARAMS if (value := req.params.get(name))}
    try:
        authorization = services().webex.complete_authorize(params)
    except WebexSignInDenied as denied:
        if _wants_json(req):
            return error_response(400, denied.code, denied.message)
        return html_page(
            400,
            "Webex was not connected",
            [
                f"Webex reported: {denied.error}",
                denied.description or "No further description was given.",
                "Start the Webex sign-in again from the connector's contact-center settings.",
            ],
        )
    except AppError as error:
        status = status_for(error)
        if status >= 500:
            logger.error("Webex sign-in callback failed: %s", error.message)
        if _wants_json(req):
            return error_response(status, error.code, error.message)
        return html_page(status, "Webex could not be connected", [error.message])
    except Exception:
        logger.exception("Webex sign-in callback failed unexpectedly")
        if _wants_json(req):
            return error_response(500, "internalError", "an unexpected error occurred")
        return html_page(500, "Something went wrong", ["An unexpected error occurred. Please try again."])
    subscribed = authorization.subscription is not None
    if _wants_json(req):
        return json_response(
            {
                "tenantId": authorization.tenant_id,
                "status": authorization.status.value,
                "orgId": authorization.org_id,
                "subscribed": subscribed,
            }
        )
    return html_page(
        200,
        "Webex Contact Center is connected",
        [
            f"Webex organization {authorization.org_id} is connected to the Teams connector of tenant "
            f"{authorization.tenant_id}.",
            "Agent events are subscribed."
            if subscribed
            else "Agent events are subscribed once the connector is active.",
            "You can close this window.",
        ],
    )


@bp.function_name("webex_events")
@bp.route(route=EVENTS_ROUTE, methods=["POST"], auth_level=func.AuthLevel.ANONYMOUS)
@operation(
    summary="Webex Contact Center's agent-event deliveries (CloudEvents signed X-WebexCC-Signature)",
    description="The body is Webex's CloudEvents envelope as it sends it; the signature is checked on "
    "the raw bytes before anything is read.",
    tags=TAGS,
    security=Security.WEBEX_SIGNATURE,
    responses={200: Json(EventReportView, "Taken; another organization's or unknown agents' events dropped")},
    errors={404: "The tenant has no connector", 409: "The connector is not active", 413: "Over 64 KB"},
)
@http_errors
def webex_events(req: func.HttpRequest) -> func.HttpResponse:
    tenant_id = parse_tenant_id(req.route_params.get("tenantId"))
    report = services().webex_events.accept(
        tenant_id, req.get_body() or b"", req.headers.get(SIGNATURE_HEADER)
    )
    return json_response(report_json(report), 200)
