"""Turns what msgraph-sdk, kiota, httpx and azure-identity raise into shared.graph.exceptions.

The SDK modules are imported inside the function: it only runs after a Graph call failed, when they
are loaded anyway, and importing this module must stay cheap.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

from shared.graph.exceptions import (
    GraphAuthenticationFailed,
    GraphBadRequest,
    GraphConflict,
    GraphError,
    GraphForbidden,
    GraphNotFound,
    GraphThrottled,
    GraphUnavailable,
)


def graph_error_from(error: BaseException) -> GraphError | None:
    """The GraphError for a failure of a Graph call, or None when it is not one (a bug: re-raise it)."""
    if isinstance(error, GraphError):
        return error
    from azure.core.exceptions import ClientAuthenticationError, ServiceRequestError, ServiceResponseError
    from httpx import TransportError
    from kiota_abstractions.api_error import APIError

    if isinstance(error, APIError) and error.response_status_code is not None:
        graph_code, graph_message = _odata_error_details(error)
        return graph_error_for_status(
            error.response_status_code,
            graph_code,
            graph_message or error.message,
            retry_after_header=_header(error.response_headers, "retry-after"),
        )
    if isinstance(error, ClientAuthenticationError):
        return GraphAuthenticationFailed(f"could not get a Graph token: {_first_line(error.message)}")
    if isinstance(error, TransportError | ServiceRequestError | ServiceResponseError):
        return GraphUnavailable(
            f"Graph could not be reached: {type(error).__name__}: {_first_line(str(error))}"
        )
    return None


def graph_error_for_status(
    status: int,
    graph_code: str | None,
    graph_message: str | None,
    *,
    retry_after_header: str | None = None,
    now: datetime | None = None,
) -> GraphError:
    message = graph_message or f"Graph answered HTTP {status}"
    retry_after = parse_retry_after(retry_after_header, now)
    if status == 429 or (status == 503 and retry_after is not None):
        return GraphThrottled(message, retry_after=retry_after, status=status, graph_code=graph_code)
    if status >= 500:
        return GraphUnavailable(message, status=status, graph_code=graph_code)
    error_class: type[GraphError] = {
        401: GraphAuthenticationFailed,
        403: GraphForbidden,
        404: GraphNotFound,
        409: GraphConflict,
    }.get(status, GraphBadRequest)
    return error_class(message, status=status, graph_code=graph_code)


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or an HTTP date); None if absent or bad."""
    if value is None or not value.strip():
        return None
    text = value.strip()
    try:
        seconds = float(text)
    except ValueError:
        try:
            when = parsedate_to_datetime(text)
        except (TypeError, ValueError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())
    return max(0.0, seconds) if math.isfinite(seconds) else None


def _odata_error_details(error: Any) -> tuple[str | None, str | None]:
    main_error = getattr(error, "error", None)
    code = getattr(main_error, "code", None)
    message = getattr(main_error, "message", None)
    return (code if isinstance(code, str) else None, message if isinstance(message, str) else None)


def _header(headers: Any, name: str) -> str | None:
    if headers is None:
        return None
    items: Iterable[tuple[Any, Any]] = headers.items()
    for key, value in items:
        if str(key).lower() == name:
            return str(value)
    return None


def _first_line(text: str | None) -> str:
    # azure-identity messages can run over many lines of troubleshooting text.
    return (text or "").strip().splitlines()[0] if (text or "").strip() else "no details"
