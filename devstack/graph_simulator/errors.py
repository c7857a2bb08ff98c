"""Errors the simulator answers with, in Graph's and the identity platform's own formats."""

from __future__ import annotations


class GraphApiError(Exception):
    """A Graph REST error: answered as {"error": {"code", "message", "innerError"}}."""

    def __init__(self, status: int, code: str, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.headers = dict(headers or {})


class IdentityError(Exception):
    """An OAuth 2.0 error from the token endpoint: answered as {"error", "error_description", ...}."""

    def __init__(self, status: int, error: str, description: str, error_code: int) -> None:
        super().__init__(description)
        self.status = status
        self.error = error
        self.description = description
        self.error_code = error_code


class ControlApiError(Exception):
    """A control-API error: answered as {"error": {"code", "message"}}."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
