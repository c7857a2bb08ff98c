"""A roster CSV import at scale: duration, Graph calls and table operations of a 10,000-row file.

Run from the repository root:
  .venv/bin/python -m benchmarks.bench_csv_import [--rows 10000] [--workers 8]

The real adapters, in this process: Azurite (in memory) behind TableAgentRepository, the Graph
simulator behind MsGraphGateway (app-only token from its identity platform, HTTPS), and AgentService as
the composition root wires it. The tenant's directory holds `--rows` users; the file names them by
userPrincipalName (the case that needs the directory), every tenth row in group `sales`. The same file
is then imported again (every row `unchanged`: the re-import is idempotent) and exported.

Printed: the time of each phase, the Graph calls the simulator answered (all `$batch`, 20 reads each,
so ceil(rows / 20)), and the HTTP requests sent to the table endpoint (azure-core's request log).
"""

from __future__ import annotations

import argparse
import time
import uuid
from collections import Counter
from datetime import UTC, datetime

from azure.data.tables import TableServiceClient

from benchmarks.bench_presence_sync import table_request_log
from devstack.azurite import Azurite
from devstack.graph_simulator import GraphSimulator
from devstack.graph_simulator.models import AppRegistration, User
from shared.agents.groups import AgentGroup
from shared.agents.model import ImportStatus
from shared.agents.service import AgentService
from shared.connectors.model import Connector, ConnectorSettings, ConnectorStatus
from shared.graph.credentials import app_credential_factory
from shared.graph.msgraph_gateway import MsGraphGateway
from shared.storage.agent_group_repository import TableAgentGroupRepository
from shared.storage.agent_repository import TableAgentRepository
from shared.storage.table_store import TableStore
from tests.fakes import FakeConnectorRepository

GRAPH_SCOPE = "https://graph.microsoft.com/.default"


class _Nobody:
    def subscribed_user_ids(self, tenant_id: str) -> frozenset[str]:
        return frozenset()

    def roster_changed(self, tenant_id: str) -> None:
        return None


def csv_body(upns: list[str]) -> bytes:
    lines = ["agentId,userPrincipalName,userId,groupId"]
    lines += [
        f"agent-{index:05d},{upn},,{'sales' if index % 10 == 0 else ''}" for index, upn in enumerate(upns)
    ]
    return ("\r\n".join(lines) + "\r\n").encode()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--workers", type=int, default=8)
    args = parser.parse_args(argv)
    tenant_id, client_id, secret = str(uuid.uuid4()), str(uuid.uuid4()), "bench-secret"
    now = datetime.now(UTC)
    with Azurite() as azurite, GraphSimulator(tls_port=0, tick_interval_seconds=5.0) as graph:
        graph.state.ensure_tenant(tenant_id)
        graph.state.register_app(AppRegistration(client_id, "bench", frozenset({secret})))
        graph.state.record_consent(tenant_id, client_id, GRAPH_SCOPE)
        upns = []
        for index in range(args.rows):
            upn = f"user{index:05d}@bench.example"
            graph.state.add_user(User(str(uuid.uuid4()), tenant_id, upn, f"User {index}"))
            upns.append(upn)
        if graph.tls_base_url is None or graph.tls_ca_path is None:
            raise RuntimeError("the Graph simulator runs without TLS")
        gateway = MsGraphGateway(
            app_credential_factory(
                client_id,
                client_secret=secret,
                authority_host=graph.tls_base_url,
                ca_bundle_path=str(graph.tls_ca_path),
            ),
            f"{graph.base_url}/v1.0",
        )
        service_client = TableServiceClient.from_connection_string(azurite.connection_string)
        store = TableStore(service_client)
        groups = TableAgentGroupRepository(store)
        groups.insert(AgentGroup(tenant_id, "sales", "Sales", True, None, now, now))
        connectors = FakeConnectorRepository()
        connectors.add(Connector(tenant_id, ConnectorStatus.ACTIVE, ConnectorSettings(), None, now, now))
        nobody = _Nobody()
        service = AgentService(
            TableAgentRepository(store),
            gateway,
            connectors,
            nobody,
            nobody,
            lambda: datetime.now(UTC),
            lookup_workers=args.workers,
            groups=groups,
        )
        body = csv_body(upns)
        print(f"CSV import of {args.rows:,} rows ({len(body):,} bytes), {args.workers} lookup workers")
        with table_request_log(service_client.url) as table_log:
            for phase in ("first import", "re-import"):
                graph.state.clear_requests()
                before = sum(table_log.counts().values())
                started = time.perf_counter()
                report = service.import_csv(tenant_id, body)
                elapsed = time.perf_counter() - started
                calls: Counter[str] = Counter(
                    f"{r.method} {r.path}" for r in graph.state.requests() if r.kind == "graph"
                )
                summary = ", ".join(f"{report.count(s)} {s.value}" for s in ImportStatus)
                print(
                    f"  {phase}: {elapsed:.2f} s ({args.rows / elapsed:,.0f} rows/s); {summary}; "
                    f"Graph calls: {dict(calls)}; "
                    f"table requests: {sum(table_log.counts().values()) - before:,}"
                )
                failed = [r for r in report.results if r.status is ImportStatus.FAILED]
                if failed:
                    print(f"  first failures: {failed[:3]}")
                    return 1
            started = time.perf_counter()
            exported = service.export_csv(tenant_id)
            print(
                f"  export: {time.perf_counter() - started:.2f} s, {exported.count(chr(10)) - 1:,} rows, "
                f"{len(exported):,} bytes"
            )
        gateway.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
