"""Acknowledgement latency of the notification intake over HTTP, batches of rich presence notifications.

Run from the repository root:
  .venv/bin/python -m benchmarks.bench_notification_intake [--batches 300] [--batch-size 100]
      [--concurrency 1] [--warmup 20] [--tables-connection-string CS]

The app runs as the local stack runs it, short of the network: function_app's notification blueprint
served by devstack's LocalHost, services from `shared.bootstrap.build_services` on Azurite (started in
memory unless `--tables-connection-string` names one), validation-token signing keys fetched from a JWKS
endpoint on a loopback port, and a presence queue that builds the `azure.servicebus.ServiceBusMessage` of
every change (all that ServiceBusPresenceQueue does except the send) and counts it. One subscription
covering 650 agents is recorded for the tenant. Every batch is distinct, as Graph sends them: distinct
agents, a fresh RSA-wrapped key per notification for the app's certificate (local.settings.example.json),
the subscription's clientState and the tenant's current validation token.

The blueprint is served without the rest of function_app because of the renew timer: at every 5-minute
mark it removes the subscriptions of tenants without an active connector, such as the benchmark's, and
every notification after that would be dropped as unknown.

Latency is per batch, from the first byte sent to the last byte of the 202 read, on keep-alive
connections (one per concurrent worker). The client runs in the benchmark's process, so its own time, and
the GIL it holds, are part of the figures. Table requests are counted from azure-core's HTTP request log:
every Table Storage round trip made by the app shows there, whichever code path makes it, not only the
subscription directory's reads.
"""

from __future__ import annotations

import argparse
import http.client
import json
import logging
import os
import platform
import statistics
import sys
import threading
import time
import uuid
from collections.abc import Iterator, Mapping, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Final

import azure.functions as func
import jwt
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

from benchmarks.bench_notification_crypto import _percentile
from devstack.azurite import Azurite
from devstack.dev_certificate import with_dev_certificate
from devstack.host import LocalHost
from shared.bootstrap import (
    CLIENT_STATE_KEY_PURPOSE,
    build_services,
    notification_key_ring,
    use_services,
)
from shared.notifications.client_state import ClientStateSigner
from shared.notifications.encryption_keys import EncryptionCertificate
from shared.notifications.validation_tokens import GRAPH_CHANGE_TRACKING_APP_ID
from shared.presence.ports import SyncMessage
from shared.queueing.service_bus_queue import to_service_bus_message
from shared.security.key_derivation import derive_key
from shared.settings import Settings, load_settings
from shared.storage.subscription_repository import TableSubscriptionRepository
from shared.storage.table_store import TableStore
from shared.subscriptions.model import SubscriptionRecord, SubscriptionStatus
from shared.subscriptions.sharding import MAX_IDS_PER_SUBSCRIPTION
from shared.triggers import graph_notifications
from tests.support.notification_encryption import encrypt_for_notification, encrypted_content_json

logger = logging.getLogger(__name__)

REPO_ROOT: Final = Path(__file__).resolve().parent.parent
EXAMPLE_SETTINGS: Final = REPO_ROOT / "local.settings.example.json"
NOTIFICATIONS_PATH: Final = "/api/graph/notifications"
JWKS_PATH: Final = "/common/discovery/v2.0/keys"
SIGNING_KID: Final = "bench-intake"
AGENTS: Final = MAX_IDS_PER_SUBSCRIPTION
TARGET_P99_MS: Final = 50.0
HTTP_TIMEOUT_SECONDS: Final = 30.0
AZURE_HTTP_LOGGER: Final = "azure.core.pipeline.policies.http_logging_policy"
# What a user's Teams status goes through in a working day (availability, activity).
PRESENCES: Final = (
    ("Available", "Available"),
    ("Busy", "InACall"),
    ("Busy", "InAMeeting"),
    ("DoNotDisturb", "Presenting"),
    ("Away", "Away"),
    ("BeRightBack", "BeRightBack"),
)


@dataclass(frozen=True)
class BenchOptions:
    batches: int
    batch_size: int
    concurrency: int
    warmup: int
    tables_connection_string: str | None


@dataclass(frozen=True)
class Acknowledgement:
    latency_ms: float
    status: int
    received: int
    accepted: int


@dataclass(frozen=True)
class RunResult:
    warmup: tuple[Acknowledgement, ...]
    measured: tuple[Acknowledgement, ...]
    wall_seconds: float
    messages_built: int
    # azure-core requests while measuring, and before (setup and warm-up).
    table_requests: int
    setup_table_requests: int
    build_seconds: float
    key_size: int


@dataclass(frozen=True)
class Tenant:
    """The tenant whose notifications are posted: its one subscription, its agents and its keys."""

    tenant_id: str
    subscription_id: str
    client_state: str
    validation_token: str
    agents: tuple[str, ...]


# -- collaborators of the app ----------------------------------------------------------------------


class CountingServiceBusQueue:
    """A PresenceQueue that builds each Service Bus message ServiceBusPresenceQueue would send, and counts
    them instead of sending."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._built = 0

    @property
    def built(self) -> int:
        with self._lock:
            return self._built

    def publish(self, changes: Sequence[SyncMessage]) -> None:
        messages = [to_service_bus_message(change) for change in changes]
        with self._lock:
            self._built += len(messages)


class JwksServer:
    """Serves one JWKS document on a loopback port, where the app fetches validation-token keys."""

    def __init__(self, document: Mapping[str, Any]) -> None:
        body = json.dumps(document).encode()

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                found = self.path == JWKS_PATH
                payload = body if found else b'{"error":"not found"}'
                self.send_response(200 if found else 404)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, format: str, *args: Any) -> None:
                # The app fetches the keys once; a line on stderr per fetch would only clutter the figures.
                return

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, name="bench-jwks", daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}{JWKS_PATH}"

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()


class TableRequestLog(logging.Handler):
    """Counts the HTTP requests azure-core sends, retries included (one log record per attempt)."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self._requests = 0

    def emit(self, record: logging.LogRecord) -> None:
        # Both of azure-core's formats (one record per request, or one per line) start with this line.
        if record.getMessage().startswith("Request URL:"):
            self._requests += 1

    @property
    def requests(self) -> int:
        self.acquire()
        try:
            return self._requests
        finally:
            self.release()


@contextmanager
def table_request_log() -> Iterator[TableRequestLog]:
    """Turn azure-core's request log on into a counter only (nothing is printed), then restore it."""
    azure_logger = logging.getLogger(AZURE_HTTP_LOGGER)
    level, propagate = azure_logger.level, azure_logger.propagate
    counter = TableRequestLog()
    azure_logger.addHandler(counter)
    azure_logger.setLevel(logging.INFO)
    azure_logger.propagate = False
    try:
        yield counter
    finally:
        azure_logger.removeHandler(counter)
        azure_logger.setLevel(level)
        azure_logger.propagate = propagate


def notification_app() -> func.FunctionApp:
    """What function_app registers for Graph's notification and lifecycle deliveries, and nothing else."""
    app = func.FunctionApp(http_auth_level=func.AuthLevel.FUNCTION)
    app.register_functions(graph_notifications.bp)
    return app


def example_settings() -> dict[str, str]:
    values = with_dev_certificate(json.loads(EXAMPLE_SETTINGS.read_text(encoding="utf-8"))["Values"])
    return {str(name): str(value) for name, value in values.items() if value is not None}


# -- what Graph sends ------------------------------------------------------------------------------


def signing_jwk(key: rsa.RSAPrivateKey) -> dict[str, Any]:
    return {**json.loads(RSAAlgorithm.to_jwk(key.public_key())), "kid": SIGNING_KID, "use": "sig"}


def validation_token(key: rsa.RSAPrivateKey, app_id: str, tenant_id: str, now: datetime) -> str:
    """The token Graph attaches to a batch for one (app, tenant); it reuses it for about an hour."""
    claims = {
        "aud": app_id,
        "iss": f"https://sts.windows.net/{tenant_id}/",
        "nbf": int(now.timestamp()),
        "exp": int((now + timedelta(hours=1)).timestamp()),
        "appid": GRAPH_CHANGE_TRACKING_APP_ID,
        "tid": tenant_id,
        "uti": uuid.uuid4().hex,
    }
    return jwt.encode(claims, key, algorithm="RS256", headers={"kid": SIGNING_KID})


def build_batches(
    tenant: Tenant, certificate: EncryptionCertificate, count: int, batch_size: int
) -> list[bytes]:
    """`count` distinct changeNotificationCollection bodies; the agents of one batch are distinct and
    each agent's sequence numbers grow from batch to batch, as one user's presence changes do."""
    if not 1 <= batch_size <= len(tenant.agents):
        raise ValueError(f"a batch holds 1 to {len(tenant.agents)} notifications (one per agent)")
    expires = (datetime.now(UTC) + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%S.0000000Z")
    bodies: list[bytes] = []
    for batch in range(count):
        value: list[dict[str, Any]] = []
        for index in range(batch_size):
            position = batch * batch_size + index
            user_id = tenant.agents[position % len(tenant.agents)]
            availability, activity = PRESENCES[position % len(PRESENCES)]
            presence = {
                "@odata.type": "#Microsoft.Graph.presence",
                "id": user_id,
                "availability": availability,
                "activity": activity,
                "sequenceNumber": f"C{position:020d}",
                "statusMessage": None,
            }
            encrypted = encrypt_for_notification(
                presence, certificate.certificate, certificate.certificate_id
            )
            value.append(
                {
                    "subscriptionId": tenant.subscription_id,
                    "subscriptionExpirationDateTime": expires,
                    "changeType": "updated",
                    "clientState": tenant.client_state,
                    "resource": f"communications/presences('{user_id}')",
                    "resourceData": {
                        "@odata.type": "#Microsoft.Graph.presence",
                        "@odata.id": f"communications/presences('{user_id}')",
                        "id": user_id,
                    },
                    "tenantId": tenant.tenant_id,
                    "encryptedContent": encrypted_content_json(encrypted),
                }
            )
        bodies.append(json.dumps({"value": value, "validationTokens": [tenant.validation_token]}).encode())
    return bodies


def record_subscription(store: TableStore, tenant: Tenant, now: datetime) -> SubscriptionRecord:
    """The tenant's one live subscription, as the subscription service records it after Graph made it."""
    return TableSubscriptionRepository(store).put(
        SubscriptionRecord(
            tenant_id=tenant.tenant_id,
            account_id=str(uuid.uuid4()),
            subscription_id=tenant.subscription_id,
            user_ids=tenant.agents,
            expires_at=now + timedelta(hours=1),
            created_at=now,
            renewed_at=now,
            reauthorized_at=None,
            status=SubscriptionStatus.ACTIVE,
            last_error=None,
        )
    )


# -- the client ------------------------------------------------------------------------------------


def post_batch(connection: http.client.HTTPConnection, body: bytes) -> Acknowledgement:
    started = time.perf_counter()
    connection.request("POST", NOTIFICATIONS_PATH, body=body, headers={"Content-Type": "application/json"})
    response = connection.getresponse()
    payload = response.read()
    latency_ms = (time.perf_counter() - started) * 1000
    received = accepted = 0
    if response.status == 202:
        report = json.loads(payload)
        received, accepted = int(report["received"]), int(report["accepted"])
    else:
        logger.error("notification batch answered %d: %s", response.status, payload[:300])
    return Acknowledgement(latency_ms, response.status, received, accepted)


def post_all(
    connections: Sequence[http.client.HTTPConnection], bodies: Sequence[bytes]
) -> tuple[list[Acknowledgement], float]:
    """POST every body, one worker per connection taking the next body when its last one is answered;
    the acknowledgements and the wall-clock seconds from the first send to the last answer."""
    pending = iter(bodies)
    pending_lock = threading.Lock()
    acknowledgements: list[Acknowledgement] = []
    failures: list[Exception] = []
    start = threading.Barrier(len(connections) + 1)

    def work(connection: http.client.HTTPConnection) -> None:
        start.wait()
        try:
            while True:
                with pending_lock:
                    body = next(pending, None)
                if body is None:
                    return
                acknowledgements.append(post_batch(connection, body))
        except Exception as exc:
            failures.append(exc)

    workers = [
        threading.Thread(target=work, args=(connection,), name=f"bench-client-{number}")
        for number, connection in enumerate(connections)
    ]
    for worker in workers:
        worker.start()
    start.wait()
    started = time.perf_counter()
    for worker in workers:
        worker.join()
    wall_seconds = time.perf_counter() - started
    if failures:
        raise failures[0]
    return acknowledgements, wall_seconds


# -- the run ---------------------------------------------------------------------------------------


def parse_options(argv: Sequence[str] | None) -> BenchOptions:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--batches", type=_positive, default=300, help="measured batches")
    parser.add_argument(
        "--batch-size", type=_positive, default=100, help=f"notifications per batch (at most {AGENTS})"
    )
    parser.add_argument("--concurrency", type=_positive, default=1, help="workers, one connection each")
    parser.add_argument("--warmup", type=_non_negative, default=20, help="batches sent before measuring")
    parser.add_argument(
        "--tables-connection-string",
        default=None,
        help="use this Table Storage (an Azurite already running) instead of starting Azurite",
    )
    args = parser.parse_args(argv)
    if args.batch_size > AGENTS:
        parser.error(f"--batch-size: at most {AGENTS} (one notification per agent of the subscription)")
    return BenchOptions(
        batches=args.batches,
        batch_size=args.batch_size,
        concurrency=args.concurrency,
        warmup=args.warmup,
        tables_connection_string=args.tables_connection_string,
    )


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


def _non_negative(text: str) -> int:
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError("must be 0 or more")
    return value


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark and print its figures; 1 when any notification was not acknowledged, accepted
    and queued."""
    options = parse_options(argv)
    with ExitStack() as stack:
        requests = stack.enter_context(table_request_log())
        connection_string = options.tables_connection_string
        if connection_string is None:
            connection_string = stack.enter_context(Azurite(port=0)).connection_string

        signing_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        jwks = JwksServer({"keys": [signing_jwk(signing_key)]})
        jwks.start()
        stack.callback(jwks.stop)

        host = LocalHost(notification_app(), port=0)
        host.start()
        stack.callback(host.stop)
        settings = load_settings(
            {
                **example_settings(),
                "TABLES_CONNECTION_STRING": connection_string,
                "TABLES_ENDPOINT": "",
                "GRAPH_NOTIFICATION_JWKS_URL": jwks.url,
                "PUBLIC_BASE_URL": host.base_url,
            }
        )
        queue = CountingServiceBusQueue()
        use_services(build_services(settings, presence_queue=queue))
        stack.callback(use_services, None)

        now = datetime.now(UTC)
        tenant = _tenant(settings, signing_key, now)
        store = TableStore.from_settings(settings)
        record = record_subscription(store, tenant, now)
        stack.callback(TableSubscriptionRepository(store).delete, record.tenant_id, record.account_id)

        certificate = notification_key_ring(settings).current
        build_started = time.perf_counter()
        bodies = build_batches(tenant, certificate, options.warmup + options.batches, options.batch_size)
        build_seconds = time.perf_counter() - build_started

        connections = [
            http.client.HTTPConnection("127.0.0.1", host.port, timeout=HTTP_TIMEOUT_SECONDS)
            for _ in range(options.concurrency)
        ]
        for connection in connections:
            stack.callback(connection.close)
            connection.connect()

        warmup, _ = post_all(connections, bodies[: options.warmup])
        requests_before = requests.requests
        built_before = queue.built
        measured, wall_seconds = post_all(connections, bodies[options.warmup :])
        return print_report(
            options,
            RunResult(
                warmup=tuple(warmup),
                measured=tuple(measured),
                wall_seconds=wall_seconds,
                messages_built=queue.built - built_before,
                table_requests=requests.requests - requests_before,
                setup_table_requests=requests_before,
                build_seconds=build_seconds,
                key_size=certificate.key_size,
            ),
        )


def _tenant(settings: Settings, signing_key: rsa.RSAPrivateKey, now: datetime) -> Tenant:
    tenant_id = str(uuid.uuid4())
    client_states = ClientStateSigner(derive_key(settings.state_signing_key, CLIENT_STATE_KEY_PURPOSE))
    return Tenant(
        tenant_id=tenant_id,
        subscription_id=str(uuid.uuid4()),
        client_state=client_states.issue(tenant_id),
        validation_token=validation_token(signing_key, settings.entra_app_client_id, tenant_id, now),
        agents=tuple(sorted(str(uuid.uuid4()) for _ in range(AGENTS))),
    )


def print_report(options: BenchOptions, result: RunResult) -> int:
    """Print the figures; 0 when every notification was acknowledged, accepted and queued, else 1."""
    latencies = [ack.latency_ms for ack in result.measured]
    sent = len(result.measured) * options.batch_size
    accepted = sum(ack.accepted for ack in result.measured)
    dropped = sum(ack.received - ack.accepted for ack in result.measured)
    warmup_dropped = sum(ack.received - ack.accepted for ack in result.warmup)
    refused = [ack.status for ack in (*result.warmup, *result.measured) if ack.status != 202]
    p99 = _percentile(latencies, 0.99)
    print(
        f"notification intake over HTTP: {len(result.measured)} batches x {options.batch_size} "
        f"notifications = {sent:,}, concurrency {options.concurrency}, {len(result.warmup)} warm-up "
        f"batches, RSA-{result.key_size} certificate"
    )
    print(
        f"  acknowledgement latency per batch (ms): p50 {statistics.median(latencies):.2f}  "
        f"p90 {_percentile(latencies, 0.90):.2f}  p99 {p99:.2f}  max {max(latencies):.2f}"
    )
    print(
        f"  throughput: {sent / result.wall_seconds:,.0f} notifications/s "
        f"(wall clock {result.wall_seconds:.2f} s)"
    )
    print(
        f"  notifications: {accepted:,} accepted, {dropped:,} dropped (202 bodies); "
        f"{result.messages_built:,} Service Bus messages built"
    )
    print(
        f"  table requests while measuring: {result.table_requests} "
        f"(setup and warm-up: {result.setup_table_requests})"
    )
    print(
        f"  target p99 < {TARGET_P99_MS:.0f} ms per batch: {'met' if p99 < TARGET_P99_MS else 'missed'}; "
        f"batches built in {result.build_seconds:.1f} s"
    )
    print(
        f"  machine: {os.cpu_count()} CPUs, Python {platform.python_version()} "
        f"({platform.python_implementation()}, {platform.system()} {platform.machine()})"
    )

    problems: list[str] = []
    if refused:
        problems.append(f"{len(refused)} batches were not acknowledged with 202: {refused}")
    if dropped or warmup_dropped or accepted != sent:
        problems.append(f"{sent - accepted:,} measured and {warmup_dropped:,} warm-up notifications dropped")
    if result.messages_built != accepted:
        problems.append(
            f"{accepted:,} notifications accepted but {result.messages_built:,} Service Bus messages built"
        )
    if result.setup_table_requests == 0:
        problems.append("no table request was seen during setup: the request count cannot be trusted")
    for problem in problems:
        print(f"FAILED: {problem}", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    raise SystemExit(main())
