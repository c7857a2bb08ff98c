"""Transport-neutral request and response values."""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from typing import Any, Final
from urllib.parse import parse_qs

EMPTY: Final = "empty"
INVALID: Final = "invalid"
NOT_OBJECT: Final = "notObject"


class MalformedBody(Exception):
    """The body is not the JSON the route needs; each simulator answers it in its own error format.

    `reason` is `empty`, `invalid` (not JSON) or `notObject`."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(detail)
        self.reason = reason
        self.detail = detail


@dataclass(frozen=True)
class Request:
    method: str
    # Percent-decoded path (for routing) and the path exactly as sent (signatures cover this one).
    path: str
    raw_query: str
    headers: dict[str, str]
    body: bytes
    # scheme://host[:port] the client used (the Host header), for absolute URLs in answers.
    base_url: str = ""
    raw_path: str = ""
    params: dict[str, str] = field(default_factory=dict)

    @property
    def query(self) -> dict[str, str]:
        """Query parameters (first value wins), percent-decoded."""
        parsed = parse_qs(self.raw_query, keep_blank_values=True)
        return {key: values[0] for key, values in parsed.items()}

    @property
    def query_lists(self) -> dict[str, list[str]]:
        """Every value of every query parameter, percent-decoded."""
        return parse_qs(self.raw_query, keep_blank_values=True)

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())

    def form(self) -> dict[str, str]:
        """An application/x-www-form-urlencoded body (first value wins)."""
        parsed = parse_qs(self.body.decode("utf-8", "replace"), keep_blank_values=True)
        return {key: values[0] for key, values in parsed.items()}

    def with_params(self, params: dict[str, str]) -> Request:
        return dataclasses.replace(self, params=params)

    def json_body(self) -> Any:
        if not self.body.strip():
            raise MalformedBody(EMPTY, "a JSON body is required")
        try:
            return json.loads(self.body)
        except (UnicodeDecodeError, ValueError, RecursionError) as error:
            raise MalformedBody(INVALID, f"the body is not JSON: {error}") from error

    def json_object(self, *, required: bool = True) -> dict[str, Any]:
        if not required and not self.body.strip():
            return {}
        body = self.json_body()
        if not isinstance(body, dict):
            raise MalformedBody(NOT_OBJECT, "the body must be a JSON object")
        return body


@dataclass
class Response:
    status: int
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    # What the simulator records beside the request (e.g. how a signature fared); never sent.
    notes: dict[str, str] = field(default_factory=dict)

    @classmethod
    def json(cls, status: int, payload: Any, headers: dict[str, str] | None = None) -> Response:
        merged = {"Content-Type": "application/json; charset=utf-8", **(headers or {})}
        return cls(status, json.dumps(payload).encode("utf-8"), merged)

    @classmethod
    def empty(cls, status: int, headers: dict[str, str] | None = None) -> Response:
        return cls(status, b"", dict(headers or {}))

    @classmethod
    def redirect(cls, location: str) -> Response:
        return cls(302, b"", {"Location": location, "Cache-Control": "no-store"})
