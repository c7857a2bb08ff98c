"""Scale: one tenant with 10,000 agents over 16 sync accounts: what subscribing them costs, the time
until every agent's first presence is applied, one reconcile run, and a renewal pass.

Run from the repository root:
  .venv/bin/python -m benchmarks.bench_scale_subscriptions [--agents 10000] [--accounts 16]

The stack: Azurite and the Graph simulator (TLS on, strict subscription rules: at most 650 users per
presence subscription, validation handshake, encryption certificate) each in a process of its own;
in this process the real SubscriptionService (msgraph-sdk gateway, Table repositories) and a small
endpoint that answers Graph's validation handshakes as the function app would. The roster and the
sync accounts are the service's ports, filled directly: their storage is not what is measured. The
agents' rows are written to Table Storage as the roster writes them, and the real presence engine
and reconcile service run on them (benchmarks/scale_engine.py; the contact center is a counting
stand-in in which every agent is available).

With `--tenants 100 --agents 100 --accounts 1` it runs the renew timer's work (renew_due) over 100
tenants instead: its first run (subscribing every tenant), a steady run, and a run where every
subscription is due, each against the timer's 5-minute period; and the reconcile timer over all 100
tenants (first and steady run) against its 2-minute period.

Printed: the time to create every subscription (one sync pass, including the first read of every
agent's presence, which the pass publishes to the queue), the time for the engine to apply those first
presences (16 at a time, as the queue trigger would), a reconcile run, the Graph calls by kind, table
operations, CPU seconds of this process and the simulator's, peak memory of this process and the load
average; then the same for a renewal pass that renews every subscription.
"""

from __future__ import annotations

import argparse
import logging
import os
import resource
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import partial
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Final, cast
from urllib.parse import parse_qs, urlsplit

from benchmarks.bench_presence_sync import call_json, table_endpoint, table_request_log
from benchmarks.scale_engine import RECONCILE_TIMER_PERIOD_SECONDS, Engine, seed_agents
from benchmarks.simulator_process import SimulatorProcess, graph_simulator, process_cpu_seconds
from devstack.azurite import Azurite
from devstack.dev_certificate import dev_notification_certificate
from shared.connectors.model import Connector, ConnectorSettings, ConnectorStatus, WebhookContactCenter
from shared.graph.credentials import app_credential_factory
from shared.graph.msgraph_gateway import MsGraphGateway
from shared.graph.ports import DelegatedTokenProvider
from shared.notifications.client_state import ClientStateSigner
from shared.notifications.encryption_keys import EncryptionCertificate, EncryptionKeyRing
from shared.presence.messages import PresenceChange
from shared.presence.reconcile import ReconcileReport
from shared.storage.subscription_repository import TableSubscriptionRepository
from shared.storage.table_store import TableStore
from shared.subscriptions.model import SyncReport
from shared.subscriptions.service import SubscriptionService

logger = logging.getLogger(__name__)

GRAPH_SCOPE: Final = "https://graph.microsoft.com/.default"
USER_WORKERS: Final = 8
# The renew timer's schedule (shared/triggers/subscription_timer.py: every 5 minutes).
RENEW_TIMER_PERIOD_SECONDS: Final = 300


class ValidationEndpoint:
    """The notification and lifecycle URLs: answers Graph's validation handshake (200, the token as
    text/plain), counts everything else (rich notifications are not what this benchmark measures)."""

    def __init__(self) -> None:
        self.posts = 0
        endpoint = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                if length:
                    self.rfile.read(length)
                tokens = parse_qs(urlsplit(self.path).query).get("validationToken")
                answer = tokens[0].encode() if tokens else b""
                if not tokens:
                    endpoint.posts += 1
                self.send_response(200 if tokens else 202)
                self.send_header("Content-Type", "text/plain")
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, format: str, *args: Any) -> None:
                return

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()


class Accounts:
    """The sync account pool: simulator users whose delegated tokens the simulator issues."""

    def __init__(self, graph: SimulatorProcess, client_id: str, account_ids: dict[str, list[str]]) -> None:
        self._graph = graph
        self._client_id = client_id
        self.usable = {tenant_id: list(ids) for tenant_id, ids in account_ids.items()}

    def usable_account_ids(self, tenant_id: str) -> list[str]:
        return list(self.usable.get(tenant_id, []))

    def token_provider(self, tenant_id: str, account_id: str) -> DelegatedTokenProvider:
        token = str(
            self._graph.call(
                "issue_delegated_token", tenant_id, account_id, self._client_id, {"Presence.Read.All"}
            )
        )
        return lambda: token

    def mark_reauthorization_required(self, tenant_id: str, account_id: str, reason: str) -> None:
        logger.warning("tenant %s: account %s needs reauthorization: %s", tenant_id, account_id, reason)
        self.usable[tenant_id].remove(account_id)


class Roster:
    def __init__(self, user_ids: dict[str, list[str]]) -> None:
        self.ids = user_ids

    def user_ids(self, tenant_id: str) -> list[str]:
        return list(self.ids.get(tenant_id, []))


class CountingQueue:
    """The presence queue: keeps what a sync pass publishes (the agents' first presences)."""

    def __init__(self) -> None:
        self.messages: list[PresenceChange] = []
        self._lock = threading.Lock()

    @property
    def published(self) -> int:
        return len(self.messages)

    def publish(self, changes: Any) -> None:
        with self._lock:
            self.messages.extend(change for change in changes if isinstance(change, PresenceChange))

    def take(self) -> list[PresenceChange]:
        with self._lock:
            taken, self.messages = self.messages, []
        return taken


class Tenants:
    """The active tenants and their connectors (ActiveTenants and the connector lookup)."""

    def __init__(self, tenant_ids: list[str]) -> None:
        now = datetime.now(UTC)
        self.connectors = {
            tenant_id: Connector(
                tenant_id,
                ConnectorStatus.ACTIVE,
                ConnectorSettings(),
                WebhookContactCenter("https://contact-center.example.invalid/hook", "s" * 32),
                now,
                now,
            )
            for tenant_id in tenant_ids
        }

    def active_tenant_ids(self) -> list[str]:
        return list(self.connectors)

    def get(self, tenant_id: str) -> Connector | None:
        return self.connectors.get(tenant_id)


def add_users(graph: SimulatorProcess, tenant_id: str, count: int, prefix: str) -> list[str]:
    def add(index: int) -> str:
        body = {
            "userPrincipalName": f"{prefix}-{index:05d}@contoso.example",
            "displayName": f"{prefix} {index}",
            "presence": {"availability": "Available", "activity": "Available"},
        }
        return str(call_json("POST", f"{graph.base_url}/_sim/tenants/{tenant_id}/users", body)["id"])

    with ThreadPoolExecutor(USER_WORKERS) as pool:
        return list(pool.map(add, range(count)))


def graph_calls(graph: SimulatorProcess, tenant_ids: set[str], after: int) -> Counter[str]:
    records = call_json("GET", f"{graph.base_url}/_sim/requests")
    values = records["value"] if isinstance(records, dict) else records
    kinds: Counter[str] = Counter()
    for index, record in enumerate(values):
        if index < after or (record.get("tenant") is not None and record.get("tenant") not in tenant_ids):
            continue
        path = str(record["path"])
        if "/_sim/" in path:
            continue
        kind = path.split("/v1.0/", 1)[-1].split("/", maxsplit=1)[0] if "/v1.0/" in path else "identity"
        kinds[f"{record['method']} {kind}"] += 1
    return kinds


def request_count(graph: SimulatorProcess) -> int:
    records = call_json("GET", f"{graph.base_url}/_sim/requests")
    return len(records["value"] if isinstance(records, dict) else records)


def peak_memory_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def measure(label: str, run: Any, graph: SimulatorProcess, tenant_ids: set[str], tables: Any) -> Any:
    before_requests = request_count(graph)
    before_tables = sum(tables.counts().values())
    before_cpu = os.times()
    before_sim = process_cpu_seconds(graph.pid) or 0.0
    started = time.perf_counter()
    report = run()
    seconds = time.perf_counter() - started
    after_cpu = os.times()
    calls = graph_calls(graph, tenant_ids, before_requests)
    cpu = (after_cpu.user + after_cpu.system) - (before_cpu.user + before_cpu.system)
    simulator_cpu = (process_cpu_seconds(graph.pid) or 0.0) - before_sim
    if isinstance(report, ReconcileReport):
        print(f"{label}: {seconds:.1f} s (timer period: {RECONCILE_TIMER_PERIOD_SECONDS // 60} minutes)")
        print(
            f"  tenants {report.tenants}, agents {report.agents:,}, repaired {report.repaired}, renewed "
            f"{report.renewed}, deferred {report.deferred}, getPresencesByUserId {report.graph_reads}, "
            f"contact-center status reads {report.contact_center_reads}, failed tenants "
            f"{len(report.failed_tenant_ids)}"
        )
    elif isinstance(report, int):
        print(f"{label}: {seconds:.1f} s, {report:,} presence changes applied by the engine")
    elif isinstance(report, SyncReport):
        print(f"{label}: {seconds:.1f} s ({report.outcome.value}, {report.passes} passes)")
        print(
            f"  created {report.created}, renewed {report.renewed}, failed {report.failed}, presences "
            f"published {report.presences_published}; errors: {'; '.join(report.errors) or 'none'}"
        )
    else:
        print(f"{label}: {seconds:.1f} s (timer period: {RENEW_TIMER_PERIOD_SECONDS // 60} minutes)")
        print(
            f"  tenants {report.tenants}, synced {report.synced}, failed {report.failed}; created "
            f"{report.created}, renewed {report.renewed}"
        )
    print(f"  Graph calls: {sum(calls.values())} ({', '.join(f'{n} {k}' for k, n in sorted(calls.items()))})")
    print(f"  table operations: {sum(tables.counts().values()) - before_tables}")
    print(
        f"  CPU s: this process {cpu:.2f}, Graph simulator {simulator_cpu:.2f}; peak memory of this "
        f"process {peak_memory_mb():.0f} MB; load average {os.getloadavg()[0]:.2f}"
    )
    return report


@dataclass(frozen=True)
class Observed:
    """What `measure` reads around each run: the Graph simulator's log and the table requests."""

    graph: SimulatorProcess
    tenant_ids: set[str]
    tables: Any

    def __call__(self, label: str, run: Callable[[], Any]) -> Any:
        return measure(label, run, self.graph, self.tenant_ids, self.tables)


def apply_first_presences(
    tenant_ids: list[str], engine: Engine, queue: CountingQueue, observe: Observed, subscribe_seconds: float
) -> int:
    """The engine applies what the sync pass published; returns the agents still without a first presence."""
    started = time.perf_counter()
    observe(
        "applying every agent's first presence (engine, 16 at a time)", lambda: engine.apply(queue.take())
    )
    applied, agents = engine.applied_agents(tenant_ids)
    print(
        f"  agents with their first presence applied: {applied:,} of {agents:,}; from the start of the sync "
        f"pass {subscribe_seconds + time.perf_counter() - started:.1f} s"
    )
    return agents - applied


def one_tenant(
    tenant_id: str,
    subscribed: SubscriptionService,
    service: Callable[[timedelta], SubscriptionService],
    engine: Engine,
    queue: CountingQueue,
    observe: Observed,
) -> int:
    started = time.perf_counter()
    first = observe("subscribing every agent (one sync pass)", lambda: subscribed.sync_tenant(tenant_id))
    missing = apply_first_presences([tenant_id], engine, queue, observe, time.perf_counter() - started)
    reconciled = observe("one reconcile run", engine.reconcile.run)
    # Every subscription is renewed when renew_before is nearly the whole lifetime.
    renewal = observe(
        "renewal pass (every subscription due)", lambda: service(timedelta(minutes=59)).sync_tenant(tenant_id)
    )
    return int(first.failed + renewal.failed + missing + len(reconciled.failed_tenant_ids))


def renew_and_reconcile_timers(
    tenant_ids: list[str],
    service: Callable[[timedelta], SubscriptionService],
    engine: Engine,
    queue: CountingQueue,
    observe: Observed,
) -> int:
    started = time.perf_counter()
    first = observe(
        "renew timer, first run (subscribes every tenant)", service(timedelta(minutes=30)).renew_due
    )
    failed = int(first.failed)
    failed += apply_first_presences(tenant_ids, engine, queue, observe, time.perf_counter() - started)
    for label, renew_before in (
        ("renew timer, steady run (nothing due)", timedelta(minutes=30)),
        ("renew timer, every subscription due", timedelta(minutes=59)),
    ):
        failed += int(observe(label, service(renew_before).renew_due).failed)
    for label in ("reconcile timer, first run", "reconcile timer, steady run"):
        failed += len(observe(label, engine.reconcile.run).failed_tenant_ids)
    return failed


def print_contact_center(engine: Engine) -> None:
    contact_center = engine.contact_center
    print(
        f"contact center (stand-in, every agent available): {contact_center.status_reads:,} status reads, "
        f"{contact_center.commands:,} commands"
    )


def run(tenant_count: int, agents: int, account_count: int) -> int:
    with ExitStack() as stack:
        azurite = stack.enter_context(Azurite(port=0))
        tables = stack.enter_context(table_request_log(table_endpoint(azurite.connection_string)))
        tls_dir = stack.enter_context(tempfile.TemporaryDirectory(prefix="bench-scale-tls-"))
        graph = SimulatorProcess(
            partial(graph_simulator, tls_dir), ("base_url", "tls_base_url", "tls_ca_path")
        )
        stack.callback(graph.stop)
        endpoint = ValidationEndpoint()
        stack.callback(endpoint.stop)

        client_id, secret = str(uuid.uuid4()), f"secret-{uuid.uuid4().hex}"
        call_json("POST", f"{graph.base_url}/_sim/apps", {"clientId": client_id, "secrets": [secret]})
        tenant_ids = [str(uuid.uuid4()) for _ in range(tenant_count)]
        started = time.perf_counter()
        accounts: dict[str, list[str]] = {}
        user_ids: dict[str, list[str]] = {}
        for tenant_id in tenant_ids:
            call_json("POST", f"{graph.base_url}/_sim/tenants/{tenant_id}", {})
            graph.call("state.record_consent", tenant_id, client_id, GRAPH_SCOPE)
            accounts[tenant_id] = add_users(graph, tenant_id, account_count, "sync")
            user_ids[tenant_id] = add_users(graph, tenant_id, agents, "agent")
        print(
            f"scale: {tenant_count} tenant(s) x {agents:,} agents over {account_count} sync account(s) each "
            f"(seeded in {time.perf_counter() - started:.0f} s); {os.cpu_count()} CPUs, load average "
            f"{os.getloadavg()[0]:.2f}"
        )

        gateway = MsGraphGateway(
            app_credential_factory(
                client_id,
                client_secret=secret,
                authority_host=graph.tls_base_url,
                ca_bundle_path=str(graph.tls_ca_path),
            ),
            f"{graph.base_url}/v1.0",
            timeout_seconds=60.0,
        )
        stack.callback(gateway.close)
        # msgraph-sdk loads lazily on the first Graph call; its import (seconds) is cold start, measured
        # by bench_cold_start, not a cost of subscribing.
        import msgraph  # noqa: F401

        pem = dev_notification_certificate().encode()
        store = TableStore.from_settings(
            cast(Any, type("S", (), {"tables_connection_string": azurite.connection_string}))
        )
        tenants = Tenants(tenant_ids)
        queue = CountingQueue()

        def service(renew_before: timedelta) -> SubscriptionService:
            return SubscriptionService(
                TableSubscriptionRepository(store),
                gateway,
                Roster(user_ids),
                Accounts(graph, client_id, accounts),
                cast(Any, tenants),
                queue,
                ClientStateSigner(os.urandom(32)),
                EncryptionKeyRing(EncryptionCertificate.from_pem("bench", pem, pem)),
                f"{endpoint.url}/api/graph/notifications",
                f"{endpoint.url}/api/graph/lifecycle",
                lambda: datetime.now(UTC),
                active_tenants=tenants,
                renew_before=renew_before,
            )

        known = set(tenant_ids)
        seeded = time.perf_counter()
        batches = seed_agents(store, user_ids)
        print(f"agent rows written in {batches} batches ({time.perf_counter() - seeded:.1f} s)")
        subscribed = service(timedelta(minutes=30))
        engine = Engine(store, cast(Any, tenants), tenants, gateway, subscribed, client_id)
        observe = Observed(graph, known, tables)
        if tenant_count == 1:
            failed = one_tenant(tenant_ids[0], subscribed, service, engine, queue, observe)
        else:
            failed = renew_and_reconcile_timers(tenant_ids, service, engine, queue, observe)
        print_contact_center(engine)
    if failed:
        print(f"FAILED: {failed} shards, tenants or agents failed", file=sys.stderr)
        return 1
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--tenants", type=int, default=1, help="more than 1: run the renew timer")
    parser.add_argument("--agents", type=int, default=10_000, help="per tenant")
    parser.add_argument("--accounts", type=int, default=16, help="per tenant")
    options = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    return run(options.tenants, options.agents, options.accounts)


if __name__ == "__main__":
    sys.exit(main())
