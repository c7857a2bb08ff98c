"""The subscriptions service for real: Azurite tables, the msgraph-sdk gateway against a Graph simulator,
and a local endpoint that answers Graph's validation handshake and keeps what Graph POSTs to it."""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from devstack.graph_simulator import GraphSimulator
from shared.connectors.model import Connector, ConnectorSettings, ConnectorStatus
from shared.graph.credentials import app_credential_factory
from shared.graph.msgraph_gateway import MsGraphGateway
from shared.graph.ports import DelegatedTokenProvider
from shared.notifications.client_state import ClientStateSigner
from shared.notifications.encryption_keys import EncryptionCertificate, EncryptionKeyRing
from shared.presence.ports import SyncMessage
from shared.settings import Settings
from shared.storage.subscription_repository import TableSubscriptionRepository
from shared.storage.table_store import TableStore
from shared.subscriptions.directory import TableSubscriptionDirectory
from shared.subscriptions.service import SubscriptionService
from tests.fakes import FakeConnectorRepository
from tests.integration.graph.helpers import control
from tests.support.notification_encryption import generate_encryption_certificate

pytestmark = pytest.mark.integration

GRAPH_SCOPE = "https://graph.microsoft.com/.default"


class GraphEndpoint:
    """Answers validation handshakes (200 text/plain, the decoded token); keeps every other POST body."""

    def __init__(self) -> None:
        self.bodies: dict[str, list[bytes]] = {}
        self._lock = threading.Lock()
        self._arrived = threading.Condition(self._lock)
        endpoint = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                url = urlsplit(self.path)
                tokens = parse_qs(url.query).get("validationToken")
                if tokens:
                    answer = tokens[0].encode()
                    self.send_response(200)
                    self.send_header("Content-Type", "text/plain")
                    self.send_header("Content-Length", str(len(answer)))
                    self.end_headers()
                    self.wfile.write(answer)
                    return
                with endpoint._arrived:
                    endpoint.bodies.setdefault(url.path, []).append(body)
                    endpoint._arrived.notify_all()
                self.send_response(202)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                return

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def wait_for(
        self, path: str, count: int = 1, timeout: float = 60.0, *, size: Callable[[bytes], int] = lambda _: 1
    ) -> list[bytes]:
        """The bodies POSTed to `path` once they hold `count` items (`size` counts a body's items; one
        per body unless told); fails the test when they never do."""

        def arrived() -> int:
            return sum(size(body) for body in self.bodies.get(path, []))

        with self._arrived:
            if not self._arrived.wait_for(lambda: arrived() >= count, timeout):
                pytest.fail(f"{arrived()} of {count} items POSTed to {path} within {timeout} s")
            return list(self.bodies.get(path, []))

    def __enter__(self) -> GraphEndpoint:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()


@pytest.fixture(scope="session")
def simulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[GraphSimulator]:
    sim = GraphSimulator(
        tls_port=0,
        tls_dir=tmp_path_factory.mktemp("subscriptions-graph-tls"),
        tick_interval_seconds=0.2,
        delivery_retry_delays=(0.2,),
        validation_timeout_seconds=3.0,
    )
    sim.start()
    try:
        yield sim
    finally:
        sim.stop()


@pytest.fixture
def endpoint() -> Iterator[GraphEndpoint]:
    with GraphEndpoint() as server:
        yield server


@pytest.fixture(scope="session")
def certificate() -> EncryptionCertificate:
    return generate_encryption_certificate("presence-integration")


class SimulatedAccounts:
    """Sync accounts as simulator users; tokens issued by the simulator, as MSAL would obtain them."""

    def __init__(self, simulator: GraphSimulator, tenant_id: str, client_id: str) -> None:
        self._simulator = simulator
        self._tenant_id = tenant_id
        self._client_id = client_id
        self.usable: list[str] = []
        self.marked: list[tuple[str, str]] = []

    def usable_account_ids(self, tenant_id: str) -> list[str]:
        return list(self.usable)

    def token_provider(self, tenant_id: str, account_id: str) -> DelegatedTokenProvider:
        def provide() -> str:
            return self._simulator.issue_delegated_token(
                tenant_id, account_id, self._client_id, {"Presence.Read.All"}
            )

        return provide

    def mark_reauthorization_required(self, tenant_id: str, account_id: str, reason: str) -> None:
        self.marked.append((account_id, reason))
        self.usable.remove(account_id)


class ListRoster:
    def __init__(self) -> None:
        self.ids: list[str] = []

    def user_ids(self, tenant_id: str) -> list[str]:
        return list(self.ids)


class RecordingQueue:
    def __init__(self) -> None:
        self.messages: list[SyncMessage] = []

    def publish(self, changes: Any) -> None:
        self.messages.extend(changes)


class OneTenant:
    def __init__(self, tenant_id: str) -> None:
        self.tenant_id = tenant_id

    def active_tenant_ids(self) -> list[str]:
        return [self.tenant_id]


@dataclass
class Stack:
    simulator: GraphSimulator
    tenant_id: str
    client_id: str
    repository: TableSubscriptionRepository
    directory: TableSubscriptionDirectory
    accounts: SimulatedAccounts
    roster: ListRoster
    queue: RecordingQueue
    signer: ClientStateSigner
    endpoint: GraphEndpoint
    gateway: MsGraphGateway
    keys: EncryptionKeyRing
    connectors: FakeConnectorRepository
    services: list[SubscriptionService] = field(default_factory=list)

    def service(self, **options: Any) -> SubscriptionService:
        service = SubscriptionService(
            self.repository,
            self.gateway,
            self.roster,
            self.accounts,
            self.connectors,
            self.queue,
            self.signer,
            self.keys,
            f"{self.endpoint.url}/api/graph/notifications",
            f"{self.endpoint.url}/api/graph/lifecycle",
            lambda: datetime.now(UTC),
            active_tenants=OneTenant(self.tenant_id),
            directory=self.directory,
            **options,
        )
        self.services.append(service)
        return service

    def add_user(self, presence: dict[str, str] | None = None) -> str:
        body: dict[str, Any] = {
            "userPrincipalName": f"u-{uuid.uuid4().hex[:10]}@contoso.example",
            "displayName": "Agent",
        }
        if presence is not None:
            body["presence"] = presence
        status, user = control(self.simulator.base_url, "POST", f"/tenants/{self.tenant_id}/users", body)
        assert status == 201, user
        return str(user["id"])

    def held_by_graph(self) -> dict[str, dict[str, Any]]:
        status, body = control(self.simulator.base_url, "GET", f"/tenants/{self.tenant_id}/subscriptions")
        assert status == 200
        return {sub["creator"]: sub for sub in body["value"]}

    def graph_requests(self, method: str, path_part: str) -> list[dict[str, Any]]:
        status, body = control(self.simulator.base_url, "GET", "/requests")
        assert status == 200
        records = body["value"] if isinstance(body, dict) else body
        return [
            r
            for r in records
            if r.get("tenant") == self.tenant_id and r["method"] == method and path_part in r["path"]
        ]

    def lifecycle_notifications(self, count: int = 1) -> list[dict[str, Any]]:
        """The lifecycle notifications Graph delivered, each as a collection of its own.

        Graph (and the simulator) batches notifications queued close together into one POST, so two
        events can arrive as one body or as two, as the delivery threads happen to run: count items,
        never bodies."""
        raws = self.endpoint.wait_for(
            "/api/graph/lifecycle", count, size=lambda raw: len(json.loads(raw)["value"])
        )
        singles: list[dict[str, Any]] = []
        for raw in raws:
            collection = json.loads(raw)
            extra = {k: v for k, v in collection.items() if k != "value"}
            singles.extend({"value": [item], **extra} for item in collection["value"])
        return singles


@pytest.fixture
def stack(
    simulator: GraphSimulator,
    endpoint: GraphEndpoint,
    certificate: EncryptionCertificate,
    azurite_settings: Settings,
) -> Iterator[Stack]:
    tenant_id = str(uuid.uuid4())
    client_id = str(uuid.uuid4())
    secret = f"secret-{uuid.uuid4().hex}"
    assert control(simulator.base_url, "POST", f"/tenants/{tenant_id}", {})[0] == 201
    assert (
        control(simulator.base_url, "POST", "/apps", {"clientId": client_id, "secrets": [secret]})[0] == 201
    )
    simulator.state.record_consent(tenant_id, client_id, GRAPH_SCOPE)
    assert simulator.tls_base_url is not None
    assert simulator.tls_ca_path is not None
    factory = app_credential_factory(
        client_id,
        client_secret=secret,
        authority_host=simulator.tls_base_url,
        ca_bundle_path=str(simulator.tls_ca_path),
    )
    gateway = MsGraphGateway(factory, f"{simulator.base_url}/v1.0", timeout_seconds=20.0, max_retries=0)
    repository = TableSubscriptionRepository(TableStore.from_settings(azurite_settings))
    connectors = FakeConnectorRepository()
    now = datetime.now(UTC)
    connectors.rows[tenant_id] = Connector(
        tenant_id, ConnectorStatus.ACTIVE, ConnectorSettings(), None, now, now, etag='W/"1"'
    )
    try:
        yield Stack(
            simulator=simulator,
            tenant_id=tenant_id,
            client_id=client_id,
            repository=repository,
            directory=TableSubscriptionDirectory(repository, lambda: datetime.now(UTC)),
            accounts=SimulatedAccounts(simulator, tenant_id, client_id),
            roster=ListRoster(),
            queue=RecordingQueue(),
            signer=ClientStateSigner(uuid.uuid4().bytes * 2),
            endpoint=endpoint,
            gateway=gateway,
            keys=EncryptionKeyRing(certificate),
            connectors=connectors,
        )
    finally:
        gateway.close()
