"""The shared request/response values and router (devstack.simulator_http), and Graph's error body."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from devstack.graph_simulator.errors import GraphApiError
from devstack.simulator_http import MalformedBody, Request, Response
from devstack.simulator_http import Router as _Router
from devstack.simulator_http.messages import EMPTY, NOT_OBJECT

__all__ = ["Request", "Response", "Router", "graph_error_response", "malformed_body_error"]


class Router(_Router):
    """Graph matches paths case-insensitively."""

    def __init__(self) -> None:
        super().__init__(case_insensitive=True)


def malformed_body_error(error: MalformedBody) -> GraphApiError:
    """Graph's own words for a body that is not the JSON object a route needs."""
    if error.reason == EMPTY:
        return GraphApiError(400, "BadRequest", "Empty Payload, JSON content expected.")
    if error.reason == NOT_OBJECT:
        return GraphApiError(400, "BadRequest", "The request payload must be a JSON object.")
    return GraphApiError(400, "BadRequest", f"Unable to read JSON request payload: {error.__cause__}")


def graph_error_response(error: GraphApiError, request_id: str | None = None) -> Response:
    rid = request_id or str(uuid.uuid4())
    payload = {
        "error": {
            "code": error.code,
            "message": error.message,
            "innerError": {
                "date": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S"),
                "request-id": rid,
                "client-request-id": rid,
            },
        }
    }
    return Response.json(error.status, payload, {"request-id": rid, **error.headers})
