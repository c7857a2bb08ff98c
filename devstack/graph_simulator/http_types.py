"""Transport-neutral request/response values and a small regex router."""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs

from devstack.graph_simulator.errors import GraphApiError


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    raw_query: str
    headers: dict[str, str]
    body: bytes
    base_url: str
    params: dict[str, str] = field(default_factory=dict)

    @property
    def query(self) -> dict[str, str]:
        """Query parameters (first value wins), percent-decoded."""
        parsed = parse_qs(self.raw_query, keep_blank_values=True)
        return {key: values[0] for key, values in parsed.items()}

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())

    def json_body(self) -> Any:
        """The body as JSON; Graph answers a malformed body with 400 BadRequest."""
        if not self.body:
            raise GraphApiError(400, "BadRequest", "Empty Payload, JSON content expected.")
        try:
            return json.loads(self.body)
        except (UnicodeDecodeError, json.JSONDecodeError) as error:
            raise GraphApiError(400, "BadRequest", f"Unable to read JSON request payload: {error}") from error

    def json_object(self) -> dict[str, Any]:
        body = self.json_body()
        if not isinstance(body, dict):
            raise GraphApiError(400, "BadRequest", "The request payload must be a JSON object.")
        return body


@dataclass
class Response:
    status: int
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    tenant_id: str | None = None

    @classmethod
    def json(cls, status: int, payload: Any, headers: dict[str, str] | None = None) -> Response:
        merged = {"Content-Type": "application/json; charset=utf-8", **(headers or {})}
        return cls(status, json.dumps(payload).encode("utf-8"), merged)

    @classmethod
    def empty(cls, status: int) -> Response:
        return cls(status)

    @classmethod
    def redirect(cls, location: str) -> Response:
        return cls(302, b"", {"Location": location, "Cache-Control": "no-store"})


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


Handler = Callable[[Request], Response]


@dataclass(frozen=True)
class Route:
    method: str
    pattern: re.Pattern[str]
    handler: Handler


class Router:
    """Routes on method and a path regex with named groups (case-insensitive, like Graph)."""

    def __init__(self) -> None:
        self._routes: list[Route] = []

    def add(self, method: str, pattern: str, handler: Handler) -> None:
        self._routes.append(Route(method.upper(), re.compile(f"^{pattern}$", re.IGNORECASE), handler))

    def match(self, method: str, path: str) -> tuple[Handler, dict[str, str]] | bool | None:
        """(handler, params) on a match, False when the path exists for other methods, None otherwise."""
        path_known = False
        for route in self._routes:
            found = route.pattern.match(path)
            if found is None:
                continue
            path_known = True
            if route.method == method.upper():
                return route.handler, found.groupdict()
        return False if path_known else None
