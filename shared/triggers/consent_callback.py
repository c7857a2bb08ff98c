"""Where Microsoft sends the admin's browser after the admin consent prompt (anonymous by necessity).

Answers are small HTML pages for the person in the browser; a client that asks for JSON gets the usual
error envelope instead.
"""

from __future__ import annotations

import logging

import azure.functions as func

from shared.bootstrap import services
from shared.connectors.consent import ConsentCallback
from shared.connectors.exceptions import ConsentDenied
from shared.connectors.schemas import ConsentCallbackQuery, ConsentCompletedView
from shared.errors import AppError
from shared.http.contract import HTML, Json, Security, operation
from shared.http.errors import status_for
from shared.http.responses import error_response, html_page, json_response

logger = logging.getLogger(__name__)

bp = func.Blueprint()

MAX_PARAM_LENGTH = 4096


def _param(req: func.HttpRequest, name: str) -> str | None:
    value = req.params.get(name)
    return value[:MAX_PARAM_LENGTH] if value else None


def _wants_json(req: func.HttpRequest) -> bool:
    return "application/json" in (req.headers.get("accept") or "").lower()


@bp.function_name("consent_callback")
@bp.route(route="consent/callback", methods=["GET"], auth_level=func.AuthLevel.ANONYMOUS)
@operation(
    summary="Where Microsoft sends the admin's browser after the admin consent prompt",
    description="An HTML page for the browser; JSON when the request accepts application/json.",
    tags=("connector",),
    query=ConsentCallbackQuery,
    security=Security.NONE,
    responses={200: Json(ConsentCompletedView, "Consent granted: the connector is active", also=(HTML,))},
    errors={404: "The tenant has no connector", 409: "The connector is not waiting for consent"},
)
def consent_callback(req: func.HttpRequest) -> func.HttpResponse:
    callback = ConsentCallback(
        state=_param(req, "state"),
        tenant=_param(req, "tenant"),
        admin_consent=_param(req, "admin_consent"),
        error=_param(req, "error"),
        error_description=_param(req, "error_description"),
    )
    try:
        connector = services().connectors.complete_consent(callback)
    except ConsentDenied as denied:
        if _wants_json(req):
            return error_response(400, denied.code, denied.message)
        return html_page(
            400,
            "Consent was not granted",
            [
                f"Microsoft reported: {denied.error}",
                denied.description or "No further description was given.",
                "The connector is still waiting for consent. Ask for a new consent link and sign in as a "
                "Global Administrator or Privileged Role Administrator of the tenant.",
            ],
        )
    except AppError as error:
        status = status_for(error)
        if _wants_json(req):
            return error_response(status, error.code, error.message)
        return html_page(status, "The connector could not be set up", [error.message])
    except Exception:
        logger.exception("consent callback failed unexpectedly")
        if _wants_json(req):
            return error_response(500, "internalError", "an unexpected error occurred")
        return html_page(500, "Something went wrong", ["An unexpected error occurred. Please try again."])
    if _wants_json(req):
        return json_response({"tenantId": connector.tenant_id, "status": connector.status.value})
    return html_page(
        200,
        "Your Teams connector is active",
        [
            f"Admin consent was granted for tenant {connector.tenant_id}.",
            "The connector is now active. You can close this window.",
        ],
    )
