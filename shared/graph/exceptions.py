"""Failures of Microsoft Graph calls; each class maps to one HTTP status in shared/http/errors.py."""

from __future__ import annotations

from shared.errors import AppError


class GraphError(AppError):
    """A Graph call failed; `status` and `graph_code` are Graph's when it answered."""

    code = "graphError"

    def __init__(self, message: str, *, status: int | None = None, graph_code: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.graph_code = graph_code


class GraphNotFound(GraphError):
    code = "graphNotFound"


class GraphConflict(GraphError):
    """409: e.g. a second presence subscription for the same user and app."""

    code = "graphConflict"


class GraphForbidden(GraphError):
    """403: a permission is missing (not consented, or the wrong kind of token)."""

    code = "graphForbidden"


class GraphBadRequest(GraphError):
    """400 (and other 4xx Graph refuses the request with); the message is Graph's."""

    code = "graphBadRequest"


class GraphThrottled(GraphError):
    """429, or 503 with Retry-After: try again after `retry_after` seconds (None: Graph did not say)."""

    code = "graphThrottled"

    def __init__(
        self,
        message: str,
        *,
        retry_after: float | None,
        status: int | None = None,
        graph_code: str | None = None,
    ) -> None:
        super().__init__(message, status=status, graph_code=graph_code)
        self.retry_after = retry_after


class GraphUnavailable(GraphError):
    """5xx, a transport failure or a timeout: worth retrying later."""

    code = "graphUnavailable"


class GraphAuthenticationFailed(GraphError):
    """No usable token: acquisition failed (consent missing, bad secret) or Graph rejected it (401)."""

    code = "graphAuthenticationFailed"
