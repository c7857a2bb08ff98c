"""The simulator's HTTP server and the ContactCenterSimulator facade used by tests and the dev stack."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from types import TracebackType
from typing import Any, Final
from urllib.parse import unquote

from devstack.contact_center_simulator.control_api import ControlApi
from devstack.contact_center_simulator.delivery import DEFAULT_RETRY_DELAYS, EventDispatcher
from devstack.contact_center_simulator.errors import SimulatorError
from devstack.contact_center_simulator.faults import FaultInjector
from devstack.contact_center_simulator.http_types import Request, Response, Router
from devstack.contact_center_simulator.state import SimulatorState
from devstack.contact_center_simulator.webex_api import DEFAULT_TOKEN_LIFETIME_SECONDS, WebexApi, webex_error
from devstack.contact_center_simulator.webhook_api import WEBHOOK_PATH, WebhookApi
from devstack.simulator_http import MalformedBody, SimulatorServer

logger = logging.getLogger(__name__)

DEFAULT_PORT: Final = 7073
MAX_BODY_BYTES: Final = 1024 * 1024
_WEBEX_PREFIXES: Final = ("/v1/", "/organization/")


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
                response.notes.get("signature"),
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
            return handler(request.with_params({k: unquote(v) for k, v in params.items()}))
        except MalformedBody as malformed:
            return self._error(SimulatorError(400, "badRequest", malformed.detail), webex)
        except SimulatorError as error:
            return self._error(error, webex)
        except Exception:
            logger.exception("unhandled error on %s %s", request.method, request.path)
            return Response.json(500, {"error": {"code": "internalError", "message": "the simulator failed"}})

    @staticmethod
    def _error(error: SimulatorError, webex: bool) -> Response:
        if webex:
            response = webex_error(error.status, error.message, error.headers)
        else:
            payload = {"error": {"code": error.code, "message": error.message}}
            response = Response.json(error.status, payload, error.headers)
        if error.signature is not None:
            response.notes["signature"] = error.signature
        return response


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
        self._server: SimulatorServer | None = None

    def start(self) -> ContactCenterSimulator:
        self._server = SimulatorServer(
            self._app.handle,
            self._host,
            self._port,
            name="cc-sim-http",
            server_version="ContactCenterSimulator/1.0",
            max_body_bytes=MAX_BODY_BYTES,
        )
        self.dispatcher.start()
        self._server.start()
        logger.info("contact-center simulator listening on %s", self.base_url)
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.stop()
        self.dispatcher.stop()
        self._server = None

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
        return self._server.url

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
