"""Latency of the expert directory over HTTP: 50-result pages, and the Graph calls each page costs.

Run from the repository root:
  .venv/bin/python -m benchmarks.bench_directory [--rounds 40] [--users 200] [--top 50] [--warmup 5]
      [--tables-connection-string CS]

The app runs as the local stack runs it: function_app's directory blueprint served by devstack's
LocalHost, services from `shared.bootstrap.build_services` on Azurite (started in memory unless
`--tables-connection-string` names one), the production Graph gateway against the Graph simulator over
HTTP (app-only tokens from its identity platform over TLS), and the caller's Entra token verified
against the simulator's JWKS. The tenant's connector is active with showUserDetails on.

Each round pages through one department (`--users` users, `--top` a page) with the signed skip tokens,
as an agent's client would. Two runs:
- cold: DIRECTORY_CACHE_SECONDS=0, every page reads the users and their presence from Graph;
- warm: the default 60 s cache, so after the first round the users come from the cache and only the
  presence is read (presence is never cached).
Latency is per page, from the first byte sent to the last byte of the 200 read, on one keep-alive
connection. Graph calls are counted from the simulator's own request log (token requests excluded).
The client, the host and the simulator share this process and its GIL: the figures include all three.
"""

from __future__ import annotations

import argparse
import http.client
import json
import logging
import platform
import statistics
import sys
import time
import urllib.request
import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final
from urllib.parse import urlencode

import azure.functions as func

from benchmarks.bench_notification_crypto import _percentile
from benchmarks.bench_notification_intake import example_settings
from devstack.azurite import Azurite
from devstack.graph_simulator import GraphSimulator
from devstack.host import LocalHost
from shared.bootstrap import build_services, use_services
from shared.connectors.model import Connector, ConnectorSettings, ConnectorStatus
from shared.queueing.unconfigured_queue import UnconfiguredPresenceQueue
from shared.security.secret_box import SecretBox
from shared.settings import Settings, load_settings
from shared.storage.connector_repository import TableConnectorRepository
from shared.storage.table_store import TableStore
from shared.triggers import directory_api

GRAPH_SCOPE: Final = "https://graph.microsoft.com/.default"
DEPARTMENT: Final = "Technical Support"
HTTP_TIMEOUT_SECONDS: Final = 30.0


@dataclass(frozen=True)
class BenchOptions:
    rounds: int = 40
    users: int = 200
    top: int = 50
    warmup: int = 5
    tables_connection_string: str | None = None


@dataclass
class RunResult:
    name: str
    page_ms: list[float]
    graph_calls: int
    pages: int
    results: int

    @property
    def calls_per_page(self) -> float:
        return self.graph_calls / self.pages if self.pages else 0.0


def directory_app() -> func.FunctionApp:
    app = func.FunctionApp(http_auth_level=func.AuthLevel.FUNCTION)
    app.register_functions(directory_api.bp)
    return app


def _post(url: str, body: Any) -> Any:
    request = urllib.request.Request(  # noqa: S310 - the simulator on loopback
        url, data=json.dumps(body).encode(), method="POST", headers={"content-type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=HTTP_TIMEOUT_SECONDS) as response:  # noqa: S310 - loopback
        raw = response.read()
        return json.loads(raw) if raw else None


def _get(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=HTTP_TIMEOUT_SECONDS) as response:  # noqa: S310 - loopback
        return json.loads(response.read())


def seed_tenant(graph: GraphSimulator, settings: Settings, tenant_id: str, users: int) -> None:
    """A consented tenant with `users` experts in one department, half of them Available."""
    _post(f"{graph.base_url}/_sim/tenants/{tenant_id}", {})
    for number in range(users):
        _post(
            f"{graph.base_url}/_sim/tenants/{tenant_id}/users",
            {
                "userPrincipalName": f"expert{number:04d}@bench.example",
                "displayName": f"Expert {number:04d} Nguyễn-O'Neil",
                "department": DEPARTMENT,
                "jobTitle": "Escalation Engineer",
                "businessPhones": [f"+1 (425) 555-{number % 10000:04d}"],
                "presence": {
                    "availability": "Available" if number % 2 else "Busy",
                    "activity": "Available" if number % 2 else "InACall",
                },
                "statusMessage": "On shift" if number % 3 == 0 else None,
            },
        )
    graph.state.record_consent(tenant_id, settings.entra_app_client_id, GRAPH_SCOPE)


def store_connector(settings: Settings, tenant_id: str) -> None:
    now = datetime.now(UTC)
    repository = TableConnectorRepository(
        TableStore.from_settings(settings), SecretBox(settings.secrets_encryption_key)
    )
    repository.add(
        Connector(
            tenant_id=tenant_id,
            status=ConnectorStatus.ACTIVE,
            settings=ConnectorSettings(show_user_details=True),
            contact_center=None,
            created_at=now,
            updated_at=now,
            activated_at=now,
        )
    )


def graph_calls(graph: GraphSimulator, tenant_id: str) -> int:
    requests = _get(f"{graph.base_url}/_sim/requests")["value"]
    return sum(1 for r in requests if r["kind"] == "graph" and r["tenant"] == tenant_id)


def page_through(
    connection: http.client.HTTPConnection, tenant_id: str, token: str, top: int
) -> Iterator[tuple[float, int]]:
    """(milliseconds, results) of each page of the department, following nextSkipToken."""
    params = {"department": DEPARTMENT, "top": str(top)}
    while True:
        path = f"/api/tenants/{tenant_id}/directory/users?{urlencode(params)}"
        started = time.perf_counter()
        connection.request("GET", path, headers={"Authorization": f"Bearer {token}"})
        response = connection.getresponse()
        body = response.read()
        elapsed = (time.perf_counter() - started) * 1000
        if response.status != 200:
            raise RuntimeError(f"GET {path} answered {response.status}: {body[:300]!r}")
        page = json.loads(body)
        yield elapsed, len(page["value"])
        if page["nextSkipToken"] is None:
            return
        params = {**params, "skipToken": page["nextSkipToken"]}


def run(
    name: str, options: BenchOptions, graph: GraphSimulator, base_settings: dict[str, str], cache_seconds: int
) -> RunResult:
    with ExitStack() as stack:
        host = LocalHost(directory_app(), port=0)
        host.start()
        stack.callback(host.stop)
        settings = load_settings({**base_settings, "DIRECTORY_CACHE_SECONDS": str(cache_seconds)})
        # The directory queues nothing; an explicit queue keeps the unconfigured-queue warning out.
        services = build_services(settings, presence_queue=UnconfiguredPresenceQueue())
        use_services(services)
        stack.callback(services.close)
        stack.callback(use_services, None)

        tenant_id = str(uuid.uuid4())
        seed_tenant(graph, settings, tenant_id, options.users)
        store_connector(settings, tenant_id)
        # An agent of the tenant: no directory role, no app role.
        token = _post(f"{graph.base_url}/_sim/token", {"tenantId": tenant_id, "wids": [], "roles": []})[
            "access_token"
        ]
        connection = http.client.HTTPConnection("127.0.0.1", host.port, timeout=HTTP_TIMEOUT_SECONDS)
        stack.callback(connection.close)
        for _ in range(options.warmup):
            for _page in page_through(connection, tenant_id, token, options.top):
                pass
        calls_before = graph_calls(graph, tenant_id)
        samples: list[float] = []
        results = 0
        for _ in range(options.rounds):
            for elapsed, count in page_through(connection, tenant_id, token, options.top):
                samples.append(elapsed)
                results += count
        return RunResult(name, samples, graph_calls(graph, tenant_id) - calls_before, len(samples), results)


@contextmanager
def tables(connection_string: str | None) -> Iterator[str]:
    if connection_string is not None:
        yield connection_string
        return
    with Azurite(port=0) as azurite:
        yield azurite.connection_string


def print_report(options: BenchOptions, runs: list[RunResult]) -> None:
    print(
        f"expert directory: {options.users} users in one department, pages of {options.top}, "
        f"{options.rounds} rounds after {options.warmup} warm-up rounds "
        f"(Python {platform.python_version()}, {platform.machine()})"
    )
    for result in runs:
        print(
            f"  {result.name:5} pages {result.pages:4}  p50 {statistics.median(result.page_ms):6.1f} ms  "
            f"p99 {_percentile(result.page_ms, 0.99):6.1f} ms  max {max(result.page_ms):6.1f} ms  "
            f"Graph calls per page {result.calls_per_page:.2f}  results per page "
            f"{result.results / result.pages:.1f}"
        )


def parse_args(argv: list[str]) -> BenchOptions:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--rounds", type=int, default=BenchOptions.rounds)
    parser.add_argument("--users", type=int, default=BenchOptions.users)
    parser.add_argument("--top", type=int, default=BenchOptions.top)
    parser.add_argument("--warmup", type=int, default=BenchOptions.warmup)
    parser.add_argument("--tables-connection-string")
    args = parser.parse_args(argv)
    if args.rounds < 1 or args.users < 1 or not 1 <= args.top <= 50 or args.warmup < 0:
        parser.error("rounds and users must be positive, top 1 to 50, warmup not negative")
    return BenchOptions(args.rounds, args.users, args.top, args.warmup, args.tables_connection_string)


def main(argv: list[str] | None = None) -> int:
    options = parse_args(sys.argv[1:] if argv is None else argv)
    logging.basicConfig(level=logging.WARNING)
    with ExitStack() as stack:
        connection_string = stack.enter_context(tables(options.tables_connection_string))
        tls_dir = Path(stack.enter_context(_temporary_directory()))
        defaults = example_settings()
        graph = GraphSimulator(
            tls_port=0,
            tls_dir=tls_dir,
            presence_bulk_limit=1_000_000,
            api_audience=defaults["ENTRA_APP_CLIENT_ID"],
        )
        graph.start()
        stack.callback(graph.stop)
        _post(
            f"{graph.base_url}/_sim/apps",
            {"clientId": defaults["ENTRA_APP_CLIENT_ID"], "secrets": [defaults["ENTRA_APP_CLIENT_SECRET"]]},
        )
        base = {
            **defaults,
            "TABLES_CONNECTION_STRING": connection_string,
            "TABLES_ENDPOINT": "",
            "GRAPH_BASE_URL": f"{graph.base_url}/v1.0",
            "ENTRA_TOKEN_JWKS_URL": f"{graph.base_url}/common/discovery/v2.0/keys",
            "ENTRA_TOKEN_AUTHORITY_HOST": str(graph.tls_base_url),
            "ENTRA_AUTHORITY_CA_BUNDLE": str(graph.tls_ca_path),
        }
        runs = [run("cold", options, graph, base, 0), run("warm", options, graph, base, 60)]
    print_report(options, runs)
    return 0


@contextmanager
def _temporary_directory() -> Iterator[str]:
    import tempfile

    with tempfile.TemporaryDirectory(prefix="bench-directory-") as path:
        yield path


if __name__ == "__main__":
    raise SystemExit(main())
