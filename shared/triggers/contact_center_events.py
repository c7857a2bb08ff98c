"""POST /api/tenants/{tenantId}/contact-center/events: agent events from the tenant's contact center.

Anonymous at the Functions level because a contact center cannot hold a function key; the HMAC
signature of the body with the tenant's secret (X-Connector-Signature) is the authentication.
"""

from __future__ import annotations

import azure.functions as func

from shared.bootstrap import services
from shared.connectors.commands import parse_tenant_id
from shared.contact_center.intake import EventReport
from shared.contact_center.schemas import EVENTS_BODY, EventReportView
from shared.contact_center.signatures import SIGNATURE_HEADER
from shared.http.contract import Json, Security, operation
from shared.http.errors import http_errors
from shared.http.responses import json_response

bp = func.Blueprint()

EVENTS_ROUTE = "tenants/{tenantId}/contact-center/events"


def report_json(report: EventReport) -> dict[str, object]:
    return {
        "accepted": report.accepted,
        "dropped": len(report.dropped),
        "droppedEvents": [
            {"eventId": d.event_id, "agentId": d.agent_id, "reason": d.reason} for d in report.dropped
        ],
    }


@bp.function_name("contact_center_events")
@bp.route(route=EVENTS_ROUTE, methods=["POST"], auth_level=func.AuthLevel.ANONYMOUS)
@operation(
    summary="Agent events from the tenant's contact center (signed with the tenant's secret)",
    tags=("contact center",),
    body=EVENTS_BODY,
    security=Security.CONTACT_CENTER_SIGNATURE,
    responses={202: Json(EventReportView, "Taken; events of unknown agents or too old are dropped")},
    errors={
        404: "The tenant has no connector",
        409: "No contact center configured, or the connector is not active",
    },
)
@http_errors
def contact_center_events(req: func.HttpRequest) -> func.HttpResponse:
    tenant_id = parse_tenant_id(req.route_params.get("tenantId"))
    report = services().contact_center_events.accept(
        tenant_id, req.get_body() or b"", req.headers.get(SIGNATURE_HEADER)
    )
    return json_response(report_json(report), 202)
