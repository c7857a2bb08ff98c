"""GET and HEAD /api/health: anonymous readiness probe for load balancers and uptime monitors.

HEAD is listed on purpose: the Functions host does not map HEAD to a GET-only function (it answers
404), so probes that send HEAD reach this function only because its methods name it. The host sends
the same status and headers without the body.
"""

from __future__ import annotations

from typing import Literal

import azure.functions as func

from shared.bootstrap import services
from shared.http.contract import Json, Security, operation
from shared.http.errors import http_errors
from shared.http.responses import json_response
from shared.http.schemas import ResponseModel

bp = func.Blueprint()

VERSION = "0.1.0"


class HealthView(ResponseModel):
    status: Literal["ok", "unavailable"]
    checks: dict[str, Literal["ok", "unavailable"]]
    version: str


@bp.function_name("health")
@bp.route(route="health", methods=["GET", "HEAD"], auth_level=func.AuthLevel.ANONYMOUS)
@operation(
    summary="Readiness: storage and the queue answer",
    tags=("operations",),
    security=Security.NONE,
    responses={200: Json(HealthView, "Ready"), 503: Json(HealthView, "Not ready: see checks")},
)
@http_errors
def health(req: func.HttpRequest) -> func.HttpResponse:
    report = services().health.check()
    body = {"status": "ok" if report.healthy else "unavailable", "checks": report.checks, "version": VERSION}
    return json_response(body, 200 if report.healthy else 503)
