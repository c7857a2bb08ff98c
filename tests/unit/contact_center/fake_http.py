"""A scripted contact center behind httpx.MockTransport: records requests, answers from a script."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs

import httpx

Responder = Callable[[httpx.Request], httpx.Response]


def json_response(status: int, body: Any, headers: dict[str, str] | None = None) -> httpx.Response:
    return httpx.Response(status, json=body, headers=headers)


@dataclass
class ScriptedServer:
    """Answers each (method, path) with the next scripted response, then with the default."""

    defaults: dict[tuple[str, str], Responder] = field(default_factory=dict)
    scripts: dict[tuple[str, str], list[Responder]] = field(default_factory=dict)
    requests: list[httpx.Request] = field(default_factory=list)

    def on(self, method: str, path: str, responder: Responder) -> None:
        self.defaults[(method, path)] = responder

    def then(self, method: str, path: str, *responders: Responder) -> None:
        self.scripts.setdefault((method, path), []).extend(responders)

    def handle(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        key = (request.method, request.url.path)
        script = self.scripts.get(key)
        if script:
            return script.pop(0)(request)
        if key in self.defaults:
            return self.defaults[key](request)
        return httpx.Response(404, json={"error": "no route"})

    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self.handle)

    def calls(self, method: str, path: str) -> list[httpx.Request]:
        return [r for r in self.requests if r.method == method and r.url.path == path]


def form(request: httpx.Request) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(request.content.decode()).items()}


def body(request: httpx.Request) -> Any:
    return json.loads(request.content)


def answer(status: int, payload: Any = None, headers: dict[str, str] | None = None) -> Responder:
    def respond(request: httpx.Request) -> httpx.Response:
        if payload is None:
            return httpx.Response(status, headers=headers)
        return json_response(status, payload, headers)

    return respond


def fail_with(error: Exception) -> Responder:
    def respond(request: httpx.Request) -> httpx.Response:
        raise error

    return respond
