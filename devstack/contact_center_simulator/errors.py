"""The errors the simulator answers with."""

from __future__ import annotations


class SimulatorError(Exception):
    """Answered as `{"error": {"code", "message"}}`, or in Webex's error format on Webex routes."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        headers: dict[str, str] | None = None,
        *,
        signature: str | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.headers = dict(headers or {})
        # Recorded with the request: "invalid" when a bad signature was the reason.
        self.signature = signature
