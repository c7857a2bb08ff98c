"""Where Microsoft Graph delivers change notifications and lifecycle events (anonymous by necessity:
Graph sends no key; every notification is checked by the intake instead).

Both routes answer the subscription validation handshake. Graph wants an answer within 3 seconds and
marks slow endpoints, so the notification route only verifies, decrypts and queues.
"""

from __future__ import annotations

import logging

import azure.functions as func

from shared.bootstrap import services
from shared.http.contract import TEXT, Json, JsonBody, Security, Text, operation
from shared.http.errors import http_errors
from shared.http.exceptions import PayloadTooLarge
from shared.http.responses import json_response
from shared.notifications.exceptions import MalformedNotificationError
from shared.notifications.schemas import (
    ChangeNotificationCollection,
    HandshakeQuery,
    LifecycleHandled,
    NotificationsAccepted,
)

logger = logging.getLogger(__name__)

bp = func.Blueprint()

# A full batch of rich presence notifications is a few hundred KB; anything far larger is not Graph.
MAX_NOTIFICATION_BODY_BYTES = 4 * 1024 * 1024
MAX_VALIDATION_TOKEN_LENGTH = 8192
TAGS = ("Microsoft Graph callbacks",)
# Documents Graph's collection; the intake verifies each notification itself (see notifications/intake.py).
COLLECTION = JsonBody(ChangeNotificationCollection, MalformedNotificationError)
HANDSHAKE = Text(TEXT, "The validation handshake: validationToken echoed back")


def _handshake(req: func.HttpRequest) -> func.HttpResponse | None:
    token = req.params.get("validationToken")
    if token is None:
        return None
    # azure-functions has already URL-decoded the query; Graph wants the decoded token back verbatim.
    logger.info("answering a Graph validation handshake on %s", req.url.split("?")[0])
    return func.HttpResponse(
        token[:MAX_VALIDATION_TOKEN_LENGTH],
        status_code=200,
        mimetype="text/plain",
        charset="utf-8",
        headers={"X-Content-Type-Options": "nosniff"},
    )


def _body(req: func.HttpRequest) -> bytes:
    body = req.get_body() or b""
    if len(body) > MAX_NOTIFICATION_BODY_BYTES:
        raise PayloadTooLarge(f"a notification batch must be at most {MAX_NOTIFICATION_BODY_BYTES} bytes")
    return body


@bp.function_name("graph_notifications")
@bp.route(route="graph/notifications", methods=["POST"], auth_level=func.AuthLevel.ANONYMOUS)
@operation(
    summary="Graph change notifications (presence)",
    tags=TAGS,
    query=HandshakeQuery,
    body=COLLECTION,
    security=Security.NONE,
    responses={200: HANDSHAKE, 202: Json(NotificationsAccepted, "Verified ones queued, the others dropped")},
)
@http_errors
def graph_notifications(req: func.HttpRequest) -> func.HttpResponse:
    handshake = _handshake(req)
    if handshake is not None:
        return handshake
    report = services().notifications.accept(_body(req))
    return json_response({"received": report.received, "accepted": report.accepted}, 202)


@bp.function_name("graph_lifecycle")
@bp.route(route="graph/lifecycle", methods=["POST"], auth_level=func.AuthLevel.ANONYMOUS)
@operation(
    summary="Graph lifecycle events (reauthorization, removed subscriptions, missed notifications)",
    tags=TAGS,
    query=HandshakeQuery,
    body=COLLECTION,
    security=Security.NONE,
    responses={200: HANDSHAKE, 202: Json(LifecycleHandled, "Handled")},
)
@http_errors
def graph_lifecycle(req: func.HttpRequest) -> func.HttpResponse:
    handshake = _handshake(req)
    if handshake is not None:
        return handshake
    report = services().subscriptions.handle_lifecycle(_body(req))
    return json_response({"received": report.received, "handled": report.handled}, 202)
