"""Webex's error bodies, in one place.

Webex uses two bodies on the Contact Center API (both in the published OpenAPI document):
- `ErrorResult` on the subscription routes:
  `{"trackingId", "error": {"key": 400, "message": [{"description"}]}}` (`key` an integer);
- `ApiErrorResponse` on agents, activities and auxiliary codes: the same with `key` a string (`"400"`).
The OAuth token endpoint (webexapis.com) answers `{"error", "error_description"}` (RFC 6749) beside
Webex's general `{"message", "errors": [{"description"}], "trackingId"}`: which of the two a client reads
is not published, so both are there.
"""

from __future__ import annotations

import uuid
from typing import Final

from devstack.simulator_http import Response

RESULT: Final = "result"
API: Final = "api"
OAUTH: Final = "oauth"


def tracking_id(prefix: str = "SIM") -> str:
    return f"{prefix}_{uuid.uuid4()}"


class WebexError(Exception):
    def __init__(
        self,
        status: int,
        description: str,
        *,
        style: str = API,
        oauth_error: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(description)
        self.status = status
        self.description = description
        self.style = style
        self.oauth_error = oauth_error
        self.headers = dict(headers or {})

    def response(self, request_tracking_id: str | None = None) -> Response:
        tracking = request_tracking_id or tracking_id()
        headers = {"TrackingId": tracking, **self.headers}
        if self.style == OAUTH:
            return Response.json(
                self.status,
                {
                    "error": self.oauth_error or "invalid_request",
                    "error_description": self.description,
                    "message": self.description,
                    "errors": [{"description": self.description}],
                    "trackingId": tracking,
                },
                {**headers, "Cache-Control": "no-store"},
            )
        key: int | str = self.status if self.style == RESULT else str(self.status)
        payload = {
            "trackingId": tracking,
            "error": {"key": key, "message": [{"description": self.description}]},
        }
        return Response.json(self.status, payload, headers)


def oauth_error(status: int, error: str, description: str) -> WebexError:
    return WebexError(status, description, style=OAUTH, oauth_error=error)
