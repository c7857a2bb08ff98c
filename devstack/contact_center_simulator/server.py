"""The simulator's HTTP server and the ContactCenterSimulator facade used by tests and the dev stack."""

from __future__ import annotations

import logging
import socketserver
import sys
import threading
from collections.abc import Callable
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, Final
from urllib.parse import unquote, urlsplit

from devstack.contact_center_simulator.control_api import ControlApi
from devstack.contact_center_simulator.delivery import DEFAULT_RETRY_DELAYS, EventDispatcher
from devstack.contact_center_simulator.errors import SimulatorError
from devstack.contact_center_simulator.faults import FaultInjector
from devstack.contact_center_simulator.http_types import Request, Response, Router
from devstack.contact_center_simulator.state import SimulatorState
from devstack.contact_center_simulator.webex_api import DEFAULT_TOKEN_LIFETIME_SECONDS, WebexApi, webex_error
from devstack.contact_center_simulator.webhook_api import WEBHOOK_PATH, WebhookApi

logger = logging.getLogger(__name__)

DEFAULT_PORT: Final = 7073
MAX_BODY_BYTES: Final = 1024 * 1024
_WEBEX_PREFIXES: Final = ("/v1/", "/organization/")
# How fast stop() returns: serve_forever checks for shutdown this often.
_POLL_SECONDS: Final = 0.05


def _is_webex(path: str) -> bool:
    return path.startswith(_WEBEX_PREFIXES)


class SimulatorApp:
    """Routes one request, applies injected faults to adapter-facing paths and records those calls."""

    def __init__(self, state: SimulatorState, router: Router, faults: FaultInjector) -> None:
        self._state = state
        self._router = router
        self._faults = faults

    def handle(self, request: Request) -> Response:
        is_control = request.path.startswith("/_sim/")
        response = self._dispatch(request, is_control)
        if not is_control:
            self._state.record_request(
                request.method,
                request.path,
                request.raw_query,
                request.header("x-connector-tenant"),
                request.header("x-connector-events-url"),
                response.status,
                response.signature,
            )
        return response

    def _dispatch(self, request: Request, is_control: bool) -> Response:
        webex = _is_webex(request.path)
        try:
            if not is_control:
                fault = self._faults.take(request.method, request.path)
                if fault is not None:
                    raise SimulatorError(
                        fault.status,
                        "tooManyRequests" if fault.status == 429 else "serviceUnavailable",
                        "injected fault: retry after the time in Retry-After",
                        {"Retry-After": str(fault.retry_after_seconds)},
                    )
            matched = self._router.match(request.method, request.path)
            if matched is None:
                raise SimulatorError(404, "notFound", f"no route for {request.path}")
            if isinstance(matched, bool):
                raise SimulatorError(405, "methodNotAllowed", f"{request.method} is not allowed here")
            handler, params = matched
            routed = Request(
                request.method,
                request.path,
                request.raw_path,
                request.raw_query,
                request.headers,
                request.body,
                {k: unquote(v) for k, v in params.items()},
            )
            return handler(routed)
        except SimulatorError as error:
            if webex:
                response = webex_error(error.status, error.message, error.headers)
            else:
                payload = {"error": {"code": error.code, "message": error.message}}
                response = Response.json(error.status, payload, error.headers)
            response.signature = error.signature
            return response
        except Exception:
            logger.exception("unhandled error on %s %s", request.method, request.path)
            return Response.json(500, {"error": {"code": "internalError", "message": "the simulator failed"}})


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        # Clients that drop connections are not simulator faults.
        logger.debug("connection from %s failed: %r", client_address, sys.exc_info()[1])


def _host_port(server: socketserver.BaseServer) -> tuple[str, int]:
    address = server.server_address
    if not isinstance(address, tuple):
        raise TypeError("the simulator only listens on IP sockets")
    return str(address[0]), int(address[1])


def _handler_class(app: SimulatorApp) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        server_version = "ContactCenterSimulator/1.0"

        def _serve(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            if length > MAX_BODY_BYTES:
                self.send_error(413)
                return
            body = self.rfile.read(length) if length else b""
            split = urlsplit(self.path)
            request = Request(
                method=self.command.upper(),
                path=unquote(split.path),
                raw_path=split.path,
                raw_query=split.query,
                headers={k.lower(): v for k, v in self.headers.items()},
                body=body,
            )
            response = app.handle(request)
            self.send_response(response.status)
            for name, value in response.headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(response.body)))
            self.end_headers()
            self.wfile.write(response.body)

        do_GET = _serve  # noqa: N815 - BaseHTTPRequestHandler's naming
        do_POST = _serve  # noqa: N815
        do_PUT = _serve  # noqa: N815
        do_PATCH = _serve  # noqa: N815
        do_DELETE = _serve  # noqa: N815

        def log_message(self, format: str, *args: Any) -> None:
            logger.debug("%s %s", self.address_string(), format % args)

    return Handler


class ContactCenterSimulator:
    """A local contact center. Use as a context manager or start()/stop()."""

    def __init__(
        self,
        port: int = DEFAULT_PORT,
        host: str = "127.0.0.1",
        *,
        clock: Callable[[], datetime] | None = None,
        echo_connector_changes: bool = True,
        delivery_retry_delays: tuple[float, ...] = DEFAULT_RETRY_DELAYS,
        token_lifetime_seconds: int = DEFAULT_TOKEN_LIFETIME_SECONDS,
        sequence_base: int = 0,
    ) -> None:
        self.state = SimulatorState(
            clock, echo_connector_changes=echo_connector_changes, sequence_base=sequence_base
        )
        self.faults = FaultInjector()
        self.dispatcher = EventDispatcher(self.state, retry_delays=delivery_retry_delays)
        router = Router()
        WebexApi(self.state, self.dispatcher, token_lifetime_seconds).register(router)
        WebhookApi(self.state, self.dispatcher).register(router)
        ControlApi(self.state, self.dispatcher, self.faults, self.info).register(router)
        self._app = SimulatorApp(self.state, router, self.faults)
        self._host, self._port = host, port
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> ContactCenterSimulator:
        self._server = _Server((self._host, self._port), _handler_class(self._app))
        self.dispatcher.start()
        server = self._server
        self._thread = threading.Thread(
            target=lambda: server.serve_forever(poll_interval=_POLL_SECONDS), name="cc-sim-http", daemon=True
        )
        self._thread.start()
        logger.info("contact-center simulator listening on %s", self.base_url)
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join()
        self.dispatcher.stop()
        self._server, self._thread = None, None

    def __enter__(self) -> ContactCenterSimulator:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        if self._server is None:
            raise RuntimeError("the simulator is not started")
        host, port = _host_port(self._server)
        return f"http://{host}:{port}"

    @property
    def webhook_url(self) -> str:
        return self.base_url + WEBHOOK_PATH

    @property
    def token_url(self) -> str:
        return self.base_url + "/v1/access_token"

    def info(self) -> dict[str, Any]:
        return {
            "status": "ok",
            "baseUrl": self.base_url,
            "webexBaseUrl": self.base_url,
            "webexTokenUrl": self.token_url,
            "webhookUrl": self.webhook_url,
        }

    def wait_for_deliveries(self, timeout: float = 30.0) -> bool:
        """True once every agent event has been delivered or given up."""
        return self.dispatcher.wait_idle(timeout)
