"""The simulator's HTTP server(s) and the GraphSimulator facade used by tests and the dev stack."""

from __future__ import annotations

import logging
import tempfile
import threading
from pathlib import Path
from types import TracebackType
from typing import Any
from urllib.parse import unquote

import jwt

from devstack.graph_simulator.clock import SimulatorClock
from devstack.graph_simulator.control_api import ControlApi
from devstack.graph_simulator.delivery import DEFAULT_RETRY_DELAYS, DeliveryDispatcher
from devstack.graph_simulator.errors import ControlApiError, GraphApiError
from devstack.graph_simulator.faults import (
    PRESENCE_BULK_LIMIT,
    PRESENCE_BULK_WINDOW_SECONDS,
    FaultInjector,
    SlidingWindowLimiter,
    fault_error,
)
from devstack.graph_simulator.graph_auth import authenticate
from devstack.graph_simulator.graph_batch import BatchApi
from devstack.graph_simulator.graph_presence import PresenceApi
from devstack.graph_simulator.graph_subscriptions import SubscriptionsApi
from devstack.graph_simulator.graph_users import UsersApi
from devstack.graph_simulator.http_types import (
    Request,
    Response,
    Router,
    graph_error_response,
    malformed_body_error,
)
from devstack.graph_simulator.identity_api import IdentityPlatform
from devstack.graph_simulator.models import Caller, User
from devstack.graph_simulator.notifications import NotificationService
from devstack.graph_simulator.signing import SigningKey, SigningKeys
from devstack.graph_simulator.state import SimulatorState
from devstack.graph_simulator.tls import TlsMaterial, ensure_tls_material
from devstack.graph_simulator.tokens import TokenIssuer
from devstack.graph_simulator.validation_handshake import VALIDATION_TIMEOUT_SECONDS, validate_endpoint
from devstack.simulator_http import MalformedBody, SimulatorServer

logger = logging.getLogger(__name__)

MAX_BODY_BYTES = 10 * 1024 * 1024


class SimulatorApp:
    """Routes one request to the identity platform, Graph or the control API and records it."""

    def __init__(self, state: SimulatorState, router: Router, faults: FaultInjector) -> None:
        self._state = state
        self._router = router
        self._faults = faults

    def handle(self, request: Request) -> Response:
        is_graph = request.path.lower().startswith("/v1.0/") or request.path.lower() == "/v1.0"
        is_control = request.path.startswith("/_sim/")
        response = self._dispatch(request, is_graph)
        if not is_control:
            tenant = self._graph_tenant(request) if is_graph else self._path_tenant(request.path)
            self._state.record_request(
                kind="graph" if is_graph else "identity",
                method=request.method,
                path=request.path,
                query=request.raw_query,
                tenant_id=tenant,
                status=response.status,
            )
        return response

    def dispatch_graph(self, request: Request) -> Response:
        """One Graph request, unrecorded: a request inside a `$batch` (the batch itself is recorded)."""
        return self._dispatch(request, is_graph=True)

    def _dispatch(self, request: Request, is_graph: bool) -> Response:
        try:
            if is_graph:
                fault = self._faults.take(request.method, request.path)
                if fault is not None:
                    raise fault_error(fault.status, fault.retry_after_seconds)
            matched = self._router.match(request.method, request.path)
            if matched is None:
                if is_graph:
                    segment = request.path.rstrip("/").rsplit("/", 1)[-1]
                    raise GraphApiError(400, "BadRequest", f"Resource not found for the segment '{segment}'.")
                return Response.json(
                    404, {"error": {"code": "notFound", "message": f"no route for {request.path}"}}
                )
            if isinstance(matched, bool):
                if is_graph:
                    raise GraphApiError(
                        405, "Request_BadRequest", f"The HTTP method '{request.method}' is not allowed."
                    )
                return Response.json(405, {"error": {"code": "methodNotAllowed", "message": request.method}})
            handler, params = matched
            return handler(request.with_params({k: unquote(v) for k, v in params.items()}))
        except MalformedBody as error:
            return graph_error_response(malformed_body_error(error))
        except GraphApiError as error:
            return graph_error_response(error)
        except ControlApiError as error:
            return Response.json(error.status, {"error": {"code": error.code, "message": error.message}})
        except Exception:
            logger.exception("unhandled error on %s %s", request.method, request.path)
            if is_graph:
                return graph_error_response(
                    GraphApiError(500, "InternalServerError", "The simulator failed.")
                )
            return Response.json(500, {"error": {"code": "internalError", "message": "the simulator failed"}})

    @staticmethod
    def _graph_tenant(request: Request) -> str | None:
        authorization = request.header("authorization") or ""
        if not authorization.lower().startswith("bearer "):
            return None
        try:
            claims = jwt.decode(authorization[7:].strip(), options={"verify_signature": False})
        except jwt.PyJWTError:
            return None
        tid = claims.get("tid")
        return str(tid) if tid else None

    @staticmethod
    def _path_tenant(path: str) -> str | None:
        first = path.strip("/").split("/", 1)[0]
        return first or None


class GraphSimulator:
    """A local Microsoft Graph + identity platform. Use as a context manager or start()/stop()."""

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        tls_port: int | None = None,
        tls_dir: Path | None = None,
        clock: SimulatorClock | None = None,
        tick_interval_seconds: float = 1.0,
        delivery_retry_delays: tuple[float, ...] = DEFAULT_RETRY_DELAYS,
        validation_timeout_seconds: float = VALIDATION_TIMEOUT_SECONDS,
        presence_bulk_limit: int = PRESENCE_BULK_LIMIT,
        api_audience: str | None = None,
    ) -> None:
        self.state = SimulatorState(clock)
        self.signing_keys = SigningKeys()
        self.issuer = TokenIssuer(self.signing_keys)
        self.faults = FaultInjector(case_insensitive=True)
        self.dispatcher = DeliveryDispatcher(
            self.state, self._validation_token, retry_delays=delivery_retry_delays
        )
        self.notifications = NotificationService(self.issuer, self.dispatcher)
        self.state.add_change_listener(self.notifications.on_presence_changes)
        self._host, self._port, self._tls_port, self._tls_dir = host, port, tls_port, tls_dir
        self._tick_interval = tick_interval_seconds
        self._validation_timeout = validation_timeout_seconds
        self._tls: TlsMaterial | None = None
        self._servers: list[SimulatorServer] = []
        self._threads: list[threading.Thread] = []
        self._stop = threading.Event()

        router = Router()
        IdentityPlatform(self.state, self.issuer).register(router)
        UsersApi(self.state, self._authenticate).register(router)
        PresenceApi(
            self.state,
            self._authenticate,
            SlidingWindowLimiter(presence_bulk_limit, PRESENCE_BULK_WINDOW_SECONDS),
        ).register(router)
        SubscriptionsApi(self.state, self._authenticate, self._validate_endpoint).register(router)
        ControlApi(
            self.state, self.issuer, self.notifications, self.faults, self.info, api_audience
        ).register(router)
        self._app = SimulatorApp(self.state, router, self.faults)
        # JSON batching runs each request of a batch through the same Graph routes (and faults).
        BatchApi(self._app.dispatch_graph, self._authenticate).register(router)

    # Lifecycle -------------------------------------------------------------------------------

    def start(self) -> GraphSimulator:
        self._servers.append(self._server(None))
        if self._tls_port is not None:
            directory = self._tls_dir or Path(tempfile.mkdtemp(prefix="graph-simulator-tls-"))
            self._tls = ensure_tls_material(directory)
            self._servers.append(self._server(self._tls))
        self.dispatcher.start()
        self._stop.clear()
        for server in self._servers:
            server.start()
        ticker = threading.Thread(target=self._tick_loop, name="graph-sim-ticker", daemon=True)
        ticker.start()
        self._threads.append(ticker)
        logger.info("Graph simulator listening on %s (TLS: %s)", self.base_url, self.tls_base_url)
        return self

    def stop(self) -> None:
        self._stop.set()
        for server in self._servers:
            server.stop()
        for thread in self._threads:
            thread.join()
        self.dispatcher.stop()
        self._servers.clear()
        self._threads.clear()

    def _server(self, tls: TlsMaterial | None) -> SimulatorServer:
        return SimulatorServer(
            self._app.handle,
            self._host,
            self._port if tls is None else (self._tls_port or 0),
            name="graph-sim-http",
            server_version="GraphSimulator/1.0",
            max_body_bytes=MAX_BODY_BYTES,
            tls_context=None if tls is None else tls.server_context(),
        )

    def __enter__(self) -> GraphSimulator:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.stop()

    def _tick_loop(self) -> None:
        while not self._stop.wait(self._tick_interval):
            try:
                self.state.tick()
            except Exception:
                logger.exception("simulator tick failed")

    # Addresses -------------------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        return self._servers[0].url

    @property
    def tls_base_url(self) -> str | None:
        if len(self._servers) < 2:
            return None
        return self._servers[1].url

    @property
    def tls_ca_path(self) -> Path | None:
        """The PEM file clients must trust for tls_base_url (requests/MSAL `verify=`)."""
        return self._tls.cert_path if self._tls else None

    def info(self) -> dict[str, Any]:
        return {
            "status": "ok",
            "baseUrl": self.base_url,
            "graphBaseUrl": f"{self.base_url}/v1.0",
            "tlsBaseUrl": self.tls_base_url,
            "tlsCaPath": str(self.tls_ca_path) if self.tls_ca_path else None,
            "jwks": self.signing_keys.jwks(),
        }

    @property
    def signing_key(self) -> SigningKey:
        """The key that signs tokens now (`signing_keys.rotate()` replaces it)."""
        return self.signing_keys.current

    # Conveniences for tests ------------------------------------------------------------------

    def issue_app_token(self, tenant_id: str, client_id: str, roles: set[str] | None = None) -> str:
        app = self.state.app_for(client_id)
        granted = app.application_permissions if roles is None else roles
        return self.issuer.app_access_token(tenant_id.lower(), client_id, granted, self.state.now())

    def issue_delegated_token(
        self, tenant_id: str, user_id: str, client_id: str, scopes: set[str] | None = None
    ) -> str:
        user: User | None = self.state.get_user(tenant_id.lower(), user_id)
        if user is None:
            raise KeyError(f"user {user_id} does not exist in tenant {tenant_id}")
        app = self.state.app_for(client_id)
        granted = app.delegated_permissions if scopes is None else scopes
        return self.issuer.delegated_access_token(user, client_id, granted, self.state.now())

    def wait_for_deliveries(self, timeout: float = 30.0) -> bool:
        """True once every queued notification has been delivered or given up."""
        return self.dispatcher.wait_idle(timeout)

    # Wiring ----------------------------------------------------------------------------------

    def _authenticate(self, request: Request) -> Caller:
        return authenticate(request, self.state, self.signing_keys)

    def _validate_endpoint(self, url: str, subscription_id: str | None) -> None:
        validate_endpoint(self.state, url, subscription_id, self._validation_timeout)

    def _validation_token(self, app_id: str, tenant_id: str) -> str:
        return self.notifications.validation_token(app_id, tenant_id)
