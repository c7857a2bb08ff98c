"""SDK failures become shared.graph.exceptions, with Graph's message, code and Retry-After."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx
import pytest
from azure.core.exceptions import ClientAuthenticationError
from kiota_abstractions.api_error import APIError
from msgraph.generated.models.o_data_errors.main_error import MainError
from msgraph.generated.models.o_data_errors.o_data_error import ODataError

from shared.graph.error_mapping import graph_error_from, parse_retry_after
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


def _odata_error(status: int, code: str, message: str, headers: dict[str, str] | None = None) -> ODataError:
    """An ODataError as kiota raises it: parsed body, then status and headers set on it."""
    error = ODataError(error=MainError(code=code, message=message))
    error.response_status_code = status
    error.response_headers = httpx.Headers(headers or {})  # type: ignore[assignment]
    return error


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        (400, GraphBadRequest),
        (401, GraphAuthenticationFailed),
        (403, GraphForbidden),
        (404, GraphNotFound),
        (409, GraphConflict),
        (412, GraphBadRequest),
        (500, GraphUnavailable),
        (502, GraphUnavailable),
        (503, GraphUnavailable),
        (504, GraphUnavailable),
    ],
)
def test_status_codes_map_to_one_class_each(status: int, expected: type[GraphError]) -> None:
    # WHEN Graph answers with the status, THEN the mapped error carries its message, status and code
    mapped = graph_error_from(_odata_error(status, "SomeCode", "what Graph said"))
    assert type(mapped) is expected
    assert mapped.message == "what Graph said"
    assert mapped.status == status
    assert mapped.graph_code == "SomeCode"


def test_429_is_throttling_with_retry_after_seconds() -> None:
    mapped = graph_error_from(_odata_error(429, "TooManyRequests", "slow down", {"Retry-After": "7"}))
    assert isinstance(mapped, GraphThrottled)
    assert mapped.retry_after == 7.0
    assert mapped.status == 429


def test_429_without_retry_after_leaves_the_delay_to_the_caller() -> None:
    mapped = graph_error_from(_odata_error(429, "TooManyRequests", "slow down"))
    assert isinstance(mapped, GraphThrottled)
    assert mapped.retry_after is None


def test_503_with_retry_after_is_throttling() -> None:
    mapped = graph_error_from(_odata_error(503, "ServiceUnavailable", "later", {"retry-after": "3"}))
    assert isinstance(mapped, GraphThrottled)
    assert (mapped.retry_after, mapped.status) == (3.0, 503)


def test_an_error_body_kiota_could_not_parse_still_maps_by_status() -> None:
    # GIVEN a gateway's HTML error page: kiota raises a plain APIError with the status
    error = APIError("could not parse", 502, {"Content-Type": "text/html"})
    mapped = graph_error_from(error)
    assert isinstance(mapped, GraphUnavailable)
    assert mapped.status == 502
    assert mapped.graph_code is None


@pytest.mark.parametrize(
    ("header", "seconds"),
    [
        ("120", 120.0),
        (" 2 ", 2.0),
        ("-5", 0.0),
        ("Wed, 21 Oct 2026 07:28:30 GMT", 30.0),
        ("Wed, 21 Oct 2026 07:27:00 GMT", 0.0),
        ("soon", None),
        ("", None),
        (None, None),
        ("nan", None),
    ],
)
def test_retry_after_is_seconds_or_an_http_date(header: str | None, seconds: float | None) -> None:
    now = datetime(2026, 10, 21, 7, 28, tzinfo=UTC)
    assert parse_retry_after(header, now) == seconds


def test_transport_failures_are_unavailability() -> None:
    request = httpx.Request("GET", "https://graph.microsoft.com/v1.0/users")
    for error in (httpx.ConnectError("refused", request=request), httpx.ReadTimeout("slow", request=request)):
        mapped = graph_error_from(error)
        assert isinstance(mapped, GraphUnavailable)
        assert mapped.status is None


def test_token_failures_are_authentication_failures_with_one_line() -> None:
    error = ClientAuthenticationError("AADSTS700016: Application not found.\nTroubleshooting: see the docs")
    mapped = graph_error_from(error)
    assert isinstance(mapped, GraphAuthenticationFailed)
    assert "AADSTS700016" in mapped.message
    assert "Troubleshooting" not in mapped.message


def test_our_own_errors_pass_and_bugs_are_not_disguised() -> None:
    own = GraphConflict("already there", status=409)
    assert graph_error_from(own) is own
    assert graph_error_from(ValueError("a bug")) is None
    assert graph_error_from(APIError("no status")) is None
