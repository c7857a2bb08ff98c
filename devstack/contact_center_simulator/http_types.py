"""Transport-neutral request/response values and a small regex router for the simulator."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs

from devstack.contact_center_simulator.errors import SimulatorError


@dataclass(frozen=True)
class Request:
    method: str
    # Percent-decoded path (for routing) and the path exactly as sent (signatures cover this one).
    path: str
    raw_path: str
    raw_query: str
    headers: dict[str, str]
    body: bytes
    params: dict[str, str] = field(default_factory=dict)

    @property
    def query(self) -> dict[str, str]:
        parsed = parse_qs(self.raw_query, keep_blank_values=True)
        return {key: values[0] for key, values in parsed.items()}

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())

    def json_object(self, *, required: bool = True) -> dict[str, Any]:
        if not self.body.strip():
            if required:
                raise SimulatorError(400, "badRequest", "a JSON object body is required")
            return {}
        try:
            body = json.loads(self.body)
        except (ValueError, RecursionError) as error:
            raise SimulatorError(400, "badRequest", f"the body is not JSON: {error}") from error
        if not isinstance(body, dict):
            raise SimulatorError(400, "badRequest", "the body must be a JSON object")
        return body


@dataclass
class Response:
    status: int
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    # How the request's X-Connector-Signature fared: "valid", "invalid", "unchecked" or None (not signed).
    signature: str | None = None

    @classmethod
    def json(cls, status: int, payload: Any, headers: dict[str, str] | None = None) -> Response:
        merged = {"Content-Type": "application/json; charset=utf-8", **(headers or {})}
        return cls(status, json.dumps(payload).encode("utf-8"), merged)

    @classmethod
    def empty(cls, status: int) -> Response:
        return cls(status)


Handler = Callable[[Request], Response]


@dataclass(frozen=True)
class Route:
    method: str
    pattern: re.Pattern[str]
    handler: Handler


class Router:
    def __init__(self) -> None:
        self._routes: list[Route] = []

    def add(self, method: str, pattern: str, handler: Handler) -> None:
        self._routes.append(Route(method.upper(), re.compile(f"^{pattern}$"), handler))

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
