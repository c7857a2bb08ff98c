"""`python -m devstack`: run the connector locally (Azurite + the local Functions host) until Ctrl-C.

The stack is assembled in DevStack.start(); services that later join the stack (simulators, the
in-process Service Bus dispatcher) are added to HOST_SERVICES. Once it runs, a demo tenant is set up
through the public APIs and a live view prints how presence moves between Teams and the contact center.
"""

from __future__ import annotations

import argparse
import importlib
import json
import logging
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Mapping, MutableMapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from urllib.parse import urlsplit

import azure.functions as func

from devstack.azurite import DEFAULT_TABLE_PORT, Azurite, AzuriteError
from devstack.contact_center_simulator import ContactCenterSimulator
from devstack.contact_center_simulator.server import DEFAULT_PORT as DEFAULT_CONTACT_CENTER_SIMULATOR_PORT
from devstack.demo_tenant import DEMO_ADMIN, DemoTenant, DemoTenantError, seed_demo_tenant
from devstack.dev_certificate import dev_notification_certificate
from devstack.graph_simulator import GraphSimulator
from devstack.host import DEFAULT_PORT, BackgroundService, LocalHost
from devstack.live_view import LiveView, try_this
from devstack.local_settings import LocalSettingsError, load_local_settings
from devstack.service_bus import ROUTE as SERVICE_BUS_ROUTE
from devstack.service_bus import InProcessServiceBus
from shared.bootstrap import build_services, shutdown_services, use_services
from shared.errors import ConfigurationError
from shared.presence.ports import PresenceQueue
from shared.settings import load_settings

logger = logging.getLogger("devstack")

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_APP = "function_app:app"
DEFAULT_AZURITE_DATA = REPO_ROOT / ".azurite"
TABLES_CONNECTION_STRING = "TABLES_CONNECTION_STRING"
TABLES_ENDPOINT = "TABLES_ENDPOINT"
PUBLIC_BASE_URL = "PUBLIC_BASE_URL"
NOTIFICATION_CERTIFICATE = "NOTIFICATION_CERTIFICATE"
ENTRA_AUTHORITY_HOST = "ENTRA_AUTHORITY_HOST"
ENTRA_APP_CLIENT_ID = "ENTRA_APP_CLIENT_ID"
WEBEX_TOKEN_URL = "WEBEX_TOKEN_URL"  # noqa: S105 - a setting name, not a secret
WEBEX_AUTHORIZE_URL = "WEBEX_AUTHORIZE_URL"
WEBEX_CLIENT_ID = "WEBEX_CLIENT_ID"
WEBEX_CLIENT_SECRET = "WEBEX_CLIENT_SECRET"  # noqa: S105 - a setting name, not a secret
DEFAULT_GRAPH_SIMULATOR_PORT = 7072
DEFAULT_GRAPH_SIMULATOR_TLS_PORT = 7074
GRAPH_SIMULATOR_TLS_DIR = REPO_ROOT / ".devstack" / "graph-simulator-tls"
_DEVELOPMENT_STORAGE = "usedevelopmentstorage=true"
FULL_LOG_FLAG = "--full-log"
DEBUG_LOG_FLAG = "--debug-log"
# The SDK loggers --debug-log opens up too (each also inherits the root level; named so none is missed).
SDK_LOGGERS = ("azure", "msal", "httpx", "httpcore", "urllib3", "aiohttp", "kiota_http", "kiota_abstractions")
FULL_LOG_HINT = f"{FULL_LOG_FLAG}: every log line, no live view"

# Built for every run and started with the host, in this order; stopped in reverse.
HOST_SERVICES: tuple[Callable[[LocalHost], BackgroundService], ...] = ()


class DevStackError(RuntimeError):
    """The stack cannot start; the message says what to fix."""


class _ShutdownRequestedError(Exception):
    pass


@dataclass(frozen=True)
class DevStackConfig:
    app_spec: str = DEFAULT_APP
    host: str = "127.0.0.1"
    port: int = DEFAULT_PORT
    azurite_port: int = DEFAULT_TABLE_PORT
    azurite_data: Path | None = DEFAULT_AZURITE_DATA
    graph_simulator_port: int | None = DEFAULT_GRAPH_SIMULATOR_PORT
    graph_simulator_tls_port: int = DEFAULT_GRAPH_SIMULATOR_TLS_PORT
    contact_center_simulator_port: int | None = DEFAULT_CONTACT_CENTER_SIMULATOR_PORT
    demo: bool = True
    live_view: bool = True
    # Only the two simulators, for the Functions Core Tools (`func start`) to use instead of this host.
    simulators_only: bool = False
    # Every logger at DEBUG, the SDKs' included (what tests/e2e/test_secrets_in_logs.py searches).
    debug_log: bool = False


class DevStack:
    """Everything `make dev` runs, started in dependency order and stopped in reverse."""

    def __init__(self, config: DevStackConfig) -> None:
        self.config = config
        self.services: list[BackgroundService] = []
        self.azurite: Azurite | None = None
        self.graph: GraphSimulator | None = None
        self.contact_center: ContactCenterSimulator | None = None
        self.host: LocalHost | None = None
        self.bus: InProcessServiceBus | None = None

    def start(self) -> LocalHost:
        if needs_local_azurite(os.environ):
            self.azurite = Azurite(port=self.config.azurite_port, location=self.config.azurite_data)
            self._start(self.azurite)
            os.environ[TABLES_CONNECTION_STRING] = self.azurite.connection_string
        else:
            configured = (
                TABLES_CONNECTION_STRING if os.environ.get(TABLES_CONNECTION_STRING) else TABLES_ENDPOINT
            )
            logger.info("Table Storage: using the configured %s, not starting Azurite", configured)
        if self.config.graph_simulator_port is not None:
            self._start_graph_simulator(self.config.graph_simulator_port)
        if self.config.contact_center_simulator_port is not None:
            self._start_contact_center_simulator(self.config.contact_center_simulator_port)
        app = load_app(self.config.app_spec)
        self.host = LocalHost(app, host=self.config.host, port=self.config.port)
        # Azure has no stand-in: there the app sends to real Service Bus and the host receives from it.
        self.bus = InProcessServiceBus(self.host)
        self.host.add_background_service(self.bus)
        install_app_services(self.bus)
        for build in HOST_SERVICES:
            self.host.add_background_service(build(self.host))
        self._start(self.host)
        if self.contact_center is not None:
            register_webex_integration(os.environ, self.contact_center)
        return self.host

    def start_simulators(self) -> None:
        """The Graph + identity and contact-center simulators alone, on their configured ports."""
        if self.config.graph_simulator_port is not None:
            self._start_graph_simulator(self.config.graph_simulator_port)
        if self.config.contact_center_simulator_port is not None:
            self._start_contact_center_simulator(self.config.contact_center_simulator_port)

    def stop(self) -> None:
        while self.services:
            service = self.services.pop()
            try:
                service.stop()
            except Exception:
                logger.exception("Stopping %r failed", service)
        if self.bus is not None:
            # The installed services hold the stopped bus; the next use rebuilds them from settings.
            shutdown_services()
            self.bus = None

    def _start_graph_simulator(self, port: int) -> None:
        """Microsoft Graph and the identity platform, simulated: consent links lead back to this host."""
        tls_port = 0 if port == 0 else self.config.graph_simulator_tls_port
        # Admin tokens from POST /_sim/token are for the connector's API unless they name an audience.
        self.graph = GraphSimulator(
            port=port,
            tls_port=tls_port,
            tls_dir=GRAPH_SIMULATOR_TLS_DIR,
            api_audience=os.environ.get(ENTRA_APP_CLIENT_ID) or None,
        )
        self._start(self.graph)
        point_settings_at_simulator(os.environ, self.graph)
        logger.info("Graph simulator: %s (identity platform and Graph v1.0)", self.graph.base_url)

    def _start_contact_center_simulator(self, port: int) -> None:
        """Both contact-center adapters' endpoints; agent events go back to this host's events route."""
        # Agent events of this run must be newer than those a connector stored in .azurite/ saw before.
        self.contact_center = ContactCenterSimulator(port=port, sequence_base=time.time_ns() // 1_000_000)
        self._start(self.contact_center)
        point_settings_at_contact_center_simulator(os.environ, self.contact_center)

    def seed_demo(self) -> DemoTenant | None:
        """The demo tenant, set up through the running host; None when a simulator it needs is off."""
        if self.host is None:
            raise DevStackError("the demo tenant needs the running host: call start() first")
        if self.graph is None or self.contact_center is None:
            logger.info("No demo tenant: it needs both the Graph and the contact-center simulator")
            return None
        return seed_demo_tenant(self.host.base_url, self.graph.base_url, self.contact_center.base_url)

    def start_live_view(self, demo: DemoTenant) -> LiveView:
        """Stopped first by stop(), before the simulators it reads."""
        view = LiveView(demo)
        self._start(view)
        return view

    def _start(self, service: BackgroundService) -> None:
        service.start()
        self.services.append(service)


def point_settings_at_simulator(environ: MutableMapping[str, str], graph: GraphSimulator) -> None:
    """Aim every Graph and identity setting that names a loopback address (or nothing) at the
    simulator as it runs now: its ports may differ from the example file's (tests use free ports)."""
    tls_base_url = graph.tls_base_url
    targets = {
        ENTRA_AUTHORITY_HOST: graph.base_url,
        "GRAPH_BASE_URL": f"{graph.base_url}/v1.0",
        "GRAPH_NOTIFICATION_JWKS_URL": f"{graph.base_url}/common/discovery/v2.0/keys",
        "ENTRA_TOKEN_JWKS_URL": f"{graph.base_url}/common/discovery/v2.0/keys",
    }
    if tls_base_url is not None:
        targets["ENTRA_TOKEN_AUTHORITY_HOST"] = tls_base_url
    for name, value in targets.items():
        if _is_loopback_or_unset(environ.get(name, "")):
            environ[name] = value
    ca_path = graph.tls_ca_path
    if ca_path is not None and _is_loopback_or_unset(environ.get("ENTRA_TOKEN_AUTHORITY_HOST", "")):
        environ["ENTRA_AUTHORITY_CA_BUNDLE"] = str(ca_path)


def point_settings_at_contact_center_simulator(
    environ: MutableMapping[str, str], simulator: ContactCenterSimulator
) -> None:
    """The Webex token and authorize URLs follow the simulator's port unless they name a real
    (non-loopback) host."""
    if _is_loopback_or_unset(environ.get(WEBEX_TOKEN_URL, "")):
        environ[WEBEX_TOKEN_URL] = simulator.token_url
    if _is_loopback_or_unset(environ.get(WEBEX_AUTHORIZE_URL, "")):
        environ[WEBEX_AUTHORIZE_URL] = simulator.authorize_url


def register_webex_integration(environ: Mapping[str, str], simulator: ContactCenterSimulator) -> None:
    """The connector's Webex integration (WEBEX_CLIENT_ID / _SECRET), registered at the simulator with
    the connector's callback, as its developer would on developer.webex.com."""
    client_id, client_secret = environ.get(WEBEX_CLIENT_ID, ""), environ.get(WEBEX_CLIENT_SECRET, "")
    base_url = environ.get(PUBLIC_BASE_URL, "").rstrip("/")
    if not client_id or not client_secret or not base_url:
        return
    if not _is_loopback_or_unset(environ.get(WEBEX_TOKEN_URL, "")):
        return
    simulator.register_webex_integration(
        client_id, client_secret, [f"{base_url}/api/contact-center/webex/callback"]
    )
    logger.info("Webex integration %s registered at the contact-center simulator", client_id)


def _is_loopback_or_unset(value: str) -> bool:
    host = urlsplit(value.strip()).hostname if value.strip() else None
    return host is None or host in {"127.0.0.1", "localhost", "::1"}


def install_app_services(presence_queue: PresenceQueue) -> None:
    """Wire the app's services from settings, with `presence_queue` in place of the Service Bus sender."""
    try:
        settings = load_settings()
    except ConfigurationError as error:
        raise DevStackError(f"the app settings are not usable: {error}") from error
    use_services(build_services(settings, presence_queue=presence_queue))


def needs_local_azurite(environ: Mapping[str, str]) -> bool:
    """True when the settings mean "the local emulator" (or name no storage at all)."""
    connection_string = environ.get(TABLES_CONNECTION_STRING, "").strip()
    endpoint = environ.get(TABLES_ENDPOINT, "").strip()
    if connection_string:
        return connection_string.replace(" ", "").rstrip(";").lower() == _DEVELOPMENT_STORAGE
    return not endpoint


def load_app(spec: str) -> func.FunctionApp:
    """Import `module:attribute` (attribute defaults to `app`) and check it is a FunctionApp."""
    module_name, _, attribute = spec.partition(":")
    if not module_name:
        raise DevStackError(f"--app {spec!r} must look like module:attribute, e.g. {DEFAULT_APP}")
    if str(REPO_ROOT) not in sys.path:
        sys.path.insert(0, str(REPO_ROOT))
    module = importlib.import_module(module_name)
    app = getattr(module, attribute or "app", None)
    if not isinstance(app, func.FunctionApp):
        raise DevStackError(f"{spec} is not an azure.functions.FunctionApp (got {type(app).__name__})")
    return app


def format_function_table(host: LocalHost) -> str:
    rows = [("NAME", "TRIGGER", "METHODS", "ROUTE / SCHEDULE / QUEUE", "AUTH")]
    for http in host.functions.http:
        methods = ",".join(sorted(http.methods)) if http.methods is not None else "ALL"
        rows.append((http.name, "http", methods, host.public_path(http), http.auth_level))
    for timer in host.functions.timers:
        startup = " (run on startup)" if timer.run_on_startup else ""
        rows.append((timer.name, "timer", "-", timer.schedule.expression + startup, "-"))
    for queue in host.functions.service_bus:
        sessions = " (sessions)" if queue.is_sessions_enabled else ""
        rows.append((queue.name, "serviceBus", "-", queue.queue_name + sessions, "-"))
    for skipped in host.functions.skipped:
        rows.append((skipped.name, "NOT LOADED", "-", skipped.reason, "-"))
    widths = [max(len(row[column]) for row in rows) for column in range(len(rows[0]) - 1)]
    return "\n".join(
        "  " + "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=False)) + "  " + row[-1]
        for row in rows
    )


def parse_arguments(argv: Sequence[str] | None) -> DevStackConfig:
    parser = argparse.ArgumentParser(prog="python -m devstack", description=__doc__)
    parser.add_argument("--app", default=DEFAULT_APP, help="module:attribute of the FunctionApp")
    parser.add_argument(
        "--port", type=int, default=int(os.environ.get("PORT", DEFAULT_PORT)), help="HTTP port (env PORT)"
    )
    parser.add_argument(
        "--azurite-port",
        type=int,
        default=int(os.environ.get("AZURITE_PORT", DEFAULT_TABLE_PORT)),
        help="Azurite's Table port (env AZURITE_PORT)",
    )
    parser.add_argument(
        "--azurite-data",
        type=Path,
        default=DEFAULT_AZURITE_DATA,
        help="folder for Azurite's data (default .azurite/ in the repository)",
    )
    parser.add_argument("--azurite-in-memory", action="store_true", help="keep Azurite's data in memory")
    parser.add_argument(
        "--graph-simulator-port",
        type=int,
        default=int(os.environ.get("GRAPH_SIMULATOR_PORT", DEFAULT_GRAPH_SIMULATOR_PORT)),
        help="port of the local Graph + identity simulator (env GRAPH_SIMULATOR_PORT; 0 = any free port)",
    )
    parser.add_argument(
        "--graph-simulator-tls-port",
        type=int,
        default=int(os.environ.get("GRAPH_SIMULATOR_TLS_PORT", DEFAULT_GRAPH_SIMULATOR_TLS_PORT)),
        help="HTTPS port of the Graph + identity simulator, for MSAL and azure-identity "
        "(env GRAPH_SIMULATOR_TLS_PORT; 0 = any free port)",
    )
    parser.add_argument("--no-graph-simulator", action="store_true", help="do not start the Graph simulator")
    parser.add_argument(
        "--contact-center-simulator-port",
        type=int,
        default=int(os.environ.get("CONTACT_CENTER_SIMULATOR_PORT", DEFAULT_CONTACT_CENTER_SIMULATOR_PORT)),
        help="port of the local contact-center simulator "
        "(env CONTACT_CENTER_SIMULATOR_PORT; 0 = any free port)",
    )
    parser.add_argument(
        "--no-contact-center-simulator", action="store_true", help="do not start the contact-center simulator"
    )
    parser.add_argument(
        "--no-demo", action="store_true", help="do not set up the demo tenant (nor the live view)"
    )
    parser.add_argument(
        "--simulators-only",
        action="store_true",
        help="run only the Graph and contact-center simulators (for func start; see `make simulators`)",
    )
    parser.add_argument(
        FULL_LOG_FLAG,
        action="store_true",
        help="keep every INFO log line on screen instead of the live view of the demo tenant",
    )
    parser.add_argument(
        DEBUG_LOG_FLAG,
        action="store_true",
        help="every logger at DEBUG, the SDKs' too (azure, msal, httpx, urllib3); implies --full-log",
    )
    # The flag's old name, which said the opposite of what it does; kept so older scripts still run.
    parser.add_argument("--quiet", dest="full_log", action="store_true", help=argparse.SUPPRESS)
    arguments = parser.parse_args(argv)
    return DevStackConfig(
        app_spec=arguments.app,
        port=arguments.port,
        azurite_port=arguments.azurite_port,
        azurite_data=None if arguments.azurite_in_memory else arguments.azurite_data,
        graph_simulator_port=None if arguments.no_graph_simulator else arguments.graph_simulator_port,
        graph_simulator_tls_port=arguments.graph_simulator_tls_port,
        contact_center_simulator_port=None
        if arguments.no_contact_center_simulator
        else arguments.contact_center_simulator_port,
        demo=not arguments.no_demo,
        live_view=not (arguments.full_log or arguments.debug_log),
        simulators_only=arguments.simulators_only,
        debug_log=arguments.debug_log,
    )


def main(argv: Sequence[str] | None = None) -> int:
    config = parse_arguments(argv)
    configure_logging(debug=config.debug_log)
    stack = DevStack(config)
    stopping = threading.Event()
    _install_signal_handlers(stopping)
    try:
        if config.simulators_only:
            _run_simulators(stack, stopping)
            return 0
        explicit = set(os.environ)
        load_local_settings()
        if not os.environ.get(NOTIFICATION_CERTIFICATE, "").strip():
            # Generated once into .devstack/: a private key never sits in the repository.
            os.environ[NOTIFICATION_CERTIFICATE] = dev_notification_certificate()
        if PUBLIC_BASE_URL not in explicit and config.port != 0:
            # Callback URLs must point at this host even when PORT moves it off 7071.
            os.environ[PUBLIC_BASE_URL] = f"http://{config.host}:{config.port}"
        host = stack.start()
        print(f"\nLocal Functions host: {host.base_url}\n{format_function_table(host)}\n", flush=True)
        if stack.graph is not None:
            print(f"Graph + identity simulator: {stack.graph.base_url} (control API: /_sim/)", flush=True)
        if stack.contact_center is not None:
            print(
                f"Contact-center simulator: {stack.contact_center.base_url} (control API: /_sim/)", flush=True
            )
        if stack.bus is not None:
            print(
                f"In-process Service Bus: {host.base_url}{SERVICE_BUS_ROUTE} (deliveries, dead letters)",
                flush=True,
            )
        if config.demo:
            _show_demo(stack, live_view=config.live_view)
        print("Press Ctrl-C to stop.", flush=True)
        while not stopping.wait(1.0):
            continue
    except _ShutdownRequestedError:
        pass
    except (AzuriteError, DevStackError, LocalSettingsError) as error:
        logger.error("%s", error)
        return 1
    except Exception:
        logger.exception("The local stack failed to start")
        return 1
    finally:
        stopping.set()
        stack.stop()
    logger.info("Stopped")
    return 0


def _run_simulators(stack: DevStack, stopping: threading.Event) -> None:
    stack.start_simulators()
    if stack.graph is not None:
        tls = f" (HTTPS {stack.graph.tls_base_url})" if stack.graph.tls_base_url else ""
        print(f"Graph + identity simulator: {stack.graph.base_url}{tls}", flush=True)
    if stack.contact_center is not None:
        print(f"Contact-center simulator: {stack.contact_center.base_url}", flush=True)
    print(
        "For func start: Azurite on 10000-10002 (npx azurite --silent --location .azurite-func), "
        "local.settings.json from `make local-settings`, then `func start` in the activated .venv.\n"
        "Press Ctrl-C to stop.",
        flush=True,
    )
    while not stopping.wait(1.0):
        continue


def _show_demo(stack: DevStack, *, live_view: bool) -> None:
    """A demo that cannot be set up leaves the stack running: it is still usable by hand."""
    try:
        demo = stack.seed_demo()
    except DemoTenantError as error:
        logger.error("The demo tenant could not be set up (the stack keeps running): %s", error)
        return
    if demo is None:
        return
    agents = ", ".join(f"{a.agent_id} {a.user.display_name}" for a in demo.agents)
    print(
        f"\nDemo tenant {demo.tenant_id}: connector active, agents {agents}; "
        f"sync account {demo.sync_account.user_principal_name}; "
        f"subscription {', '.join(demo.subscription_ids)}",
        flush=True,
    )
    print(admin_exports(demo), flush=True)
    if live_view:
        print(try_this(demo), flush=True)
        print(
            f"INFO logs are hidden from now on so the live view stays readable ({FULL_LOG_HINT}).\n",
            flush=True,
        )
        # Each change logs a dozen INFO lines (requests, queue, sync decisions) that would bury the view.
        logging.getLogger().setLevel(logging.WARNING)
        stack.start_live_view(demo)


def configure_logging(*, debug: bool) -> None:
    level = logging.DEBUG if debug else logging.INFO
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if debug:
        for name in SDK_LOGGERS:
            logging.getLogger(name).setLevel(logging.DEBUG)
        return
    # The SDK logs every storage request and its headers at INFO.
    logging.getLogger("azure.core.pipeline.policies.http_logging_policy").setLevel(logging.WARNING)


def admin_exports(demo: DemoTenant) -> str:
    """Ready-to-paste shell lines for calling the admin API as the demo tenant's Global Administrator."""
    fresh = json.dumps({"tenantId": demo.tenant_id})
    return "\n".join(
        [
            "\nCall the admin API as the demo tenant's Global Administrator "
            f"({DEMO_ADMIN.user_principal_name}):",
            f"export BASE={demo.host_url}/api TENANT={demo.tenant_id}",
            f"export TOKEN={demo.admin_token}",
            'curl -s -H "Authorization: Bearer $TOKEN" $BASE/tenants/$TENANT/connector',
            "# find an expert (any signed-in user of the tenant may; README: Expert directory)",
            'curl -s -G -H "Authorization: Bearer $TOKEN" $BASE/tenants/$TENANT/directory/users '
            '--data-urlencode "department=Billing"',
            f"(A fresh token: curl -s -X POST {demo.graph_url}/_sim/token -d '{fresh}')",
        ]
    )


def _install_signal_handlers(stopping: threading.Event) -> None:
    def request_shutdown(signum: int, frame: FrameType | None) -> None:
        if stopping.is_set():
            return
        stopping.set()
        logger.info("%s received; stopping", signal.Signals(signum).name)
        raise _ShutdownRequestedError

    signal.signal(signal.SIGINT, request_shutdown)
    signal.signal(signal.SIGTERM, request_shutdown)


if __name__ == "__main__":
    sys.exit(main())
