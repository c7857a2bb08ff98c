"""A small router on method and a path regex with named groups."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from devstack.simulator_http.messages import Request, Response

Handler = Callable[[Request], Response]


@dataclass(frozen=True)
class Route:
    method: str
    pattern: re.Pattern[str]
    handler: Handler


class Router:
    def __init__(self, *, case_insensitive: bool = False) -> None:
        self._routes: list[Route] = []
        self._flags = re.IGNORECASE if case_insensitive else 0

    def add(self, method: str, pattern: str, handler: Handler) -> None:
        self._routes.append(Route(method.upper(), re.compile(f"^{pattern}$", self._flags), handler))

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
