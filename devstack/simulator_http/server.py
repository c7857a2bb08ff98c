"""A threading HTTP/1.1 server (keep-alive) around one `handle(Request) -> Response` callable."""

from __future__ import annotations

import logging
import re
import signal
import socketserver
import ssl
import sys
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import FrameType
from typing import Any, Final
from urllib.parse import unquote, urlsplit

from devstack.simulator_http.messages import Request, Response

logger = logging.getLogger(__name__)

App = Callable[[Request], Response]
# How fast stop() returns: serve_forever checks for shutdown this often.
_POLL_SECONDS: Final = 0.05


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        # Clients that drop connections or refuse a self-signed certificate are not simulator faults.
        logger.debug("connection from %s failed: %r", client_address, sys.exc_info()[1])


def _host_port(server: socketserver.BaseServer) -> tuple[str, int]:
    address = server.server_address
    if not isinstance(address, tuple):
        raise TypeError("the simulator only listens on IP sockets")
    return str(address[0]), int(address[1])


def _handler_class(
    app: App, scheme: str, server_version: str, max_body_bytes: int
) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        # Headers and body leave in two writes; with Nagle on, the body waits for the client's delayed
        # ACK of the headers (~40 ms on Linux) on every keep-alive request. TCP_NODELAY sends both at once.
        disable_nagle_algorithm = True

        def version_string(self) -> str:
            return server_version

        def _serve(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            if length > max_body_bytes:
                self.send_error(413)
                return
            body = self.rfile.read(length) if length else b""
            split = urlsplit(self.path)
            host = self.headers.get("Host") or "{}:{}".format(*_host_port(self.server))
            request = Request(
                method=self.command.upper(),
                path=unquote(split.path),
                raw_query=split.query,
                headers={k.lower(): v for k, v in self.headers.items()},
                body=body,
                base_url=f"{scheme}://{host}",
                raw_path=split.path,
            )
            response = app(request)
            self.send_response(response.status)
            for name, value in response.headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(response.body)))
            self.end_headers()
            if self.command.upper() != "HEAD":
                self.wfile.write(response.body)

        do_GET = _serve  # noqa: N815 - BaseHTTPRequestHandler's naming
        do_HEAD = _serve  # noqa: N815
        do_POST = _serve  # noqa: N815
        do_PUT = _serve  # noqa: N815
        do_PATCH = _serve  # noqa: N815
        do_DELETE = _serve  # noqa: N815

        def log_message(self, format: str, *args: Any) -> None:
            # Without the query: authorize and consent URLs carry states, codes and PKCE challenges.
            logger.debug("%s %s", self.address_string(), re.sub(r"\?[^\s\"]*", "", format % args, count=1))

    return Handler


class SimulatorServer:
    """Serves `app` on host:port (0: a free port) in a daemon thread until stop()."""

    def __init__(
        self,
        app: App,
        host: str,
        port: int,
        *,
        name: str,
        server_version: str,
        max_body_bytes: int,
        tls_context: ssl.SSLContext | None = None,
    ) -> None:
        scheme = "https" if tls_context is not None else "http"
        self.scheme = scheme
        self._server = _Server((host, port), _handler_class(app, scheme, server_version, max_body_bytes))
        if tls_context is not None:
            self._server.socket = tls_context.wrap_socket(
                self._server.socket, server_side=True, do_handshake_on_connect=False
            )
        self._name = name
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        server = self._server
        self._thread = threading.Thread(
            target=lambda: server.serve_forever(poll_interval=_POLL_SECONDS), name=self._name, daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join()
            self._thread = None

    @property
    def host_port(self) -> tuple[str, int]:
        return _host_port(self._server)

    @property
    def url(self) -> str:
        host, port = self.host_port
        return f"{self.scheme}://{host}:{port}"


def run_until_signalled(start: Callable[[], object], stop: Callable[[], object]) -> None:
    """For a simulator's __main__: start, wait for SIGINT / SIGTERM, stop."""
    stopped = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stopped.set()

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    start()
    try:
        stopped.wait()
    finally:
        stop()
