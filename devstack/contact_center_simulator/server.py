"""The simulator's request handling and the ContactCenterSimulator facade used by tests and the dev stack.

One port serves both contact centers: the generic signed webhook (`/webhook`) and Webex Contact Center
(`/v1/...` and `/organization/...`: webexapis.com's OAuth and people routes, and the Contact Center API,
whose paths do not collide), plus the control API (`/_sim`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from types import TracebackType
from typing import Any, Final
from urllib.parse import unquote

from devstack.contact_center_simulator.control_api import ControlApi
from devstack.contact_center_simulator.delivery import DEFAULT_RETRY_DELAYS, EventDispatcher
from devstack.contact_center_simulator.errors import SimulatorError
from devstack.contact_center_simulator.faults import FaultInjector
from devstack.contact_center_simulator.state import SimulatorState
from devstack.contact_center_simulator.webex.api import WebexApi
from devstack.contact_center_simulator.webex.control import WebexControlApi
from devstack.contact_center_simulator.webex.deliveries import WebexDeliveries
from devstack.contact_center_simulator.webex.errors import API, OAUTH, RESULT, WebexError
from devstack.contact_center_simulator.webex.model import SCOPES, Integration
from devstack.contact_center_simulator.webex.oauth import (
    DEFAULT_ACCESS_TOKEN_LIFETIME,
    DEFAULT_REFRESH_TOKEN_LIFETIME,
    OAuthServer,
)
from devstack.contact_center_simulator.webex.store import WebexStore
from devstack.contact_center_simulator.webhook_api import WEBHOOK_PATH, WebhookApi
from devstack.simulator_http import MalformedBody, Request, Response, Router, SimulatorServer

logger = logging.getLogger(__name__)

DEFAULT_PORT: Final = 7073
MAX_BODY_BYTES: Final = 1024 * 1024
_WEBEX_PREFIXES: Final = ("/v1/", "/organization/")
_OAUTH_PATHS: Final = ("/v1/access_token", "/v1/authorize")


def webex_style(path: str) -> str | None:
    """The error body of a Webex route (None: not a Webex route)."""
    if not path.startswith(_WEBEX_PREFIXES):
        return None
    if path in _OAUTH_PATHS:
        return OAUTH
    if path.startswith(("/v1/subscriptions", "/v1/event-types")):
        return RESULT
    return API


class SimulatorApp:
    """Routes one request, applies injected faults to adapter-facing paths and records those calls."""

    def __init__(self, state: SimulatorState, router: Router, faults: FaultInjector) -> None:
        self._state = state
        self._router = router
        self._faults = faults

    def handle(self, request: Request) -> Response:
        is_control = request.path.startswith("/_sim/") or request.path == "/_sim"
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
        style = None if is_control else webex_style(request.path)
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
            return self._error(SimulatorError(400, "badRequest", malformed.detail), style)
        except WebexError as error:
            return error.response(request.header("trackingid"))
        except SimulatorError as error:
            return self._error(error, style)
        except Exception:
            logger.exception("unhandled error on %s %s", request.method, request.path)
            return Response.json(500, {"error": {"code": "internalError", "message": "the simulator failed"}})

    @staticmethod
    def _error(error: SimulatorError, style: str | None) -> Response:
        if style is not None:
            oauth = error.code if style == OAUTH else None
            response = WebexError(
                error.status, error.message, style=style, oauth_error=oauth, headers=error.headers
            ).response()
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
        sequence_base: int = 0,
        webex_access_token_lifetime: timedelta = DEFAULT_ACCESS_TOKEN_LIFETIME,
        webex_refresh_token_lifetime: timedelta = DEFAULT_REFRESH_TOKEN_LIFETIME,
        allow_loopback_destinations: bool = True,
    ) -> None:
        self.state = SimulatorState(
            clock, echo_connector_changes=echo_connector_changes, sequence_base=sequence_base
        )
        self.faults = FaultInjector()
        self.dispatcher = EventDispatcher(self.state, retry_delays=delivery_retry_delays)
        self.webex = WebexStore(self.state.now)
        self.webex_oauth = OAuthServer(
            self.state.now,
            self.webex.user,
            access_lifetime=webex_access_token_lifetime,
            refresh_lifetime=webex_refresh_token_lifetime,
        )
        self.webex_deliveries = WebexDeliveries(
            self.state.now, self.webex.live_subscription, retry_delays=delivery_retry_delays
        )
        self.allow_loopback_destinations = allow_loopback_destinations
        router = Router()
        WebexApi(
            self.state.now,
            self.webex,
            self.webex_oauth,
            self.webex_deliveries,
            allow_loopback_destinations=lambda: self.allow_loopback_destinations,
        ).register(router)
        WebexControlApi(self.state.now, self.webex, self.webex_oauth, self.webex_deliveries).register(router)
        WebhookApi(self.state, self.dispatcher).register(router)
        ControlApi(self.state, self.dispatcher, self.faults, self.info, self._reset_webex).register(router)
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
        self.webex_deliveries.start()
        self._server.start()
        logger.info("contact-center simulator listening on %s", self.base_url)
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.stop()
        self.dispatcher.stop()
        self.webex_deliveries.stop()
        self._server = None

    def __enter__(self) -> ContactCenterSimulator:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.stop()

    def _reset_webex(self) -> None:
        self.webex_deliveries.reset()
        self.webex_oauth.reset()
        self.webex.reset()

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
        """Webex's OAuth token endpoint (WEBEX_TOKEN_URL)."""
        return self.base_url + "/v1/access_token"

    @property
    def authorize_url(self) -> str:
        """Webex's OAuth authorize endpoint (WEBEX_AUTHORIZE_URL)."""
        return self.base_url + "/v1/authorize"

    def register_webex_integration(
        self,
        client_id: str,
        client_secret: str,
        redirect_uris: list[str],
        scopes: frozenset[str] = SCOPES,
    ) -> None:
        """A Webex integration, as its developer registered it on developer.webex.com."""
        self.webex_oauth.register(Integration(client_id, client_secret, tuple(redirect_uris), scopes))

    def info(self) -> dict[str, Any]:
        return {
            "status": "ok",
            "baseUrl": self.base_url,
            "webexBaseUrl": self.base_url,
            "webexTokenUrl": self.token_url,
            "webexAuthorizeUrl": self.authorize_url,
            "webhookUrl": self.webhook_url,
        }

    def wait_for_deliveries(self, timeout: float = 30.0) -> bool:
        """True once every event (webhook and Webex) has been delivered or given up."""
        return self.dispatcher.wait_idle(timeout) and self.webex_deliveries.wait_idle(timeout)
