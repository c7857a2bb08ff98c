"""The notification-endpoint validation Graph performs on create, renew and reauthorize."""

from __future__ import annotations

import logging
import uuid
from datetime import timedelta
from http import HTTPStatus
from urllib.parse import quote, urlsplit, urlunsplit

from devstack.graph_simulator.errors import GraphApiError
from devstack.graph_simulator.outbound_http import post
from devstack.graph_simulator.state import SimulatorState

logger = logging.getLogger(__name__)

VALIDATION_TIMEOUT_SECONDS = 10.0


def _validation_url(url: str, token: str) -> str:
    parts = urlsplit(url)
    query = (parts.query + "&" if parts.query else "") + "validationToken=" + quote(token, safe="")
    return urlunsplit((parts.scheme, parts.netloc, parts.path, query, parts.fragment))


def new_validation_token() -> str:
    # Real tokens contain spaces and colons: receivers must URL-decode before echoing.
    return f"Validation: Testing client application reachability for subscription Request-Id: {uuid.uuid4()}"


def validate_endpoint(
    state: SimulatorState, url: str, subscription_id: str | None, timeout: float = VALIDATION_TIMEOUT_SECONDS
) -> None:
    """POST ?validationToken=...; require 200, text/plain and the decoded token, else 400 ValidationError."""
    token = new_validation_token()
    result = post(_validation_url(url, token), b"", "text/plain; charset=utf-8", timeout)
    state.record_delivery(
        kind="validation",
        url=url,
        subscription_ids=(subscription_id,) if subscription_id else (),
        notification_count=0,
        attempt=1,
        status=result.status,
        error=result.error,
        latency=timedelta(seconds=result.latency_seconds),
    )
    if result.timed_out:
        raise GraphApiError(400, "ValidationError", "Subscription validation request timed out.")
    if result.status is None:
        raise GraphApiError(
            400,
            "ValidationError",
            "Subscription validation request failed. Notification endpoint must respond with 200 OK to "
            "validation request.",
        )
    if result.status != 200:
        try:
            reason = HTTPStatus(result.status).phrase.replace(" ", "")
        except ValueError:
            reason = str(result.status)
        raise GraphApiError(
            400,
            "ValidationError",
            f"Subscription validation request failed. HTTP status code is '{reason}'. "
            "Notification endpoint must respond with 200 OK to validation request.",
        )
    if not result.content_type.lower().startswith("text/plain"):
        raise GraphApiError(
            400,
            "ValidationError",
            "Subscription validation request failed. Response must have content type 'text/plain'.",
        )
    if result.body.decode("utf-8", "replace") != token:
        raise GraphApiError(
            400,
            "ValidationError",
            "Subscription validation request failed. "
            "Response must exactly match validationToken query parameter.",
        )
    logger.info("notification endpoint %s passed validation", url)
