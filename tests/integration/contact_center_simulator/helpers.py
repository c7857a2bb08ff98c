"""HTTP helpers and a stand-in for the connector's events route that records what the simulator sends."""

from __future__ import annotations

import json
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


@dataclass
class HttpResult:
    status: int
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body) if self.body else None


def http(
    method: str, url: str, body: Any = None, headers: dict[str, str] | None = None, raw: bytes | None = None
) -> HttpResult:
    data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
    request = urllib.request.Request(
        url, data=data, method=method, headers={"Content-Type": "application/json", **(headers or {})}
    )
    try:
        with _OPENER.open(request, timeout=30) as response:
            return HttpResult(response.status, response.read())
    except urllib.error.HTTPError as error:
        return HttpResult(error.code, error.read())


class Control:
    """The simulator's control API."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url

    def __call__(self, method: str, path: str, body: Any = None) -> HttpResult:
        return http(method, f"{self.base_url}/_sim{path}", body)

    def agent(self, agent_id: str) -> dict[str, Any]:
        result = self("GET", f"/agents/{agent_id}")
        assert result.status == 200, result.body
        agent: dict[str, Any] = result.json()
        return agent

    def set_state(self, agent_id: str, state: str, **extra: Any) -> dict[str, Any]:
        result = self("POST", f"/agents/{agent_id}/state", {"state": state, **extra})
        assert result.status == 202, result.body
        outcome: dict[str, Any] = result.json()
        return outcome

    def requests(self, path: str | None = None) -> list[dict[str, Any]]:
        records: list[dict[str, Any]] = self("GET", "/requests").json()["requests"]
        return [r for r in records if path is None or r["path"] == path]

    def deliveries(self) -> list[dict[str, Any]]:
        records: list[dict[str, Any]] = self("GET", "/deliveries").json()["deliveries"]
        return records


def wait_until(predicate: Callable[[], bool], timeout: float = 15.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.02)
    return predicate()


@dataclass(frozen=True)
class ReceivedPost:
    path: str
    headers: dict[str, str]
    body: bytes
    # The sender's (host, port): one port for many posts means one kept-alive connection.
    peer: tuple[str, int] = ("", 0)


@dataclass
class EventsReceiver:
    """Answers 202 to every POST, or 503 to the next `fail_next` ones, and records them all."""

    fail_next: int = 0
    received: list[ReceivedPost] = field(default_factory=list)
    _server: ThreadingHTTPServer | None = None
    _thread: threading.Thread | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def start(self) -> EventsReceiver:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                with receiver._lock:
                    receiver.received.append(
                        ReceivedPost(
                            self.path,
                            {k.lower(): v for k, v in self.headers.items()},
                            body,
                            (str(self.client_address[0]), int(self.client_address[1])),
                        )
                    )
                    failing = receiver.fail_next > 0
                    if failing:
                        receiver.fail_next -= 1
                self.send_response(503 if failing else 202)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                return

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        server = self._server
        self._thread = threading.Thread(target=lambda: server.serve_forever(poll_interval=0.05), daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join()

    @property
    def url(self) -> str:
        assert self._server is not None
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def posts(self) -> list[ReceivedPost]:
        with self._lock:
            return list(self.received)

    def events(self) -> list[dict[str, Any]]:
        return [event for post in self.posts() for event in json.loads(post.body)["events"]]
