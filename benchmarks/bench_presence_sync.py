"""Teams -> contact center sync on the local stack: added latency per presence change, at a fixed rate.

Run from the repository root:
  .venv/bin/python -m benchmarks.bench_presence_sync [--agents 400] [--rate 200] [--seconds 15]
      [--warmup 3] [--tables-connection-string CS]

The stack is the one `make dev` runs, short of the network: Azurite (in memory unless
`--tables-connection-string` names one), the Graph simulator (TLS on) that every Graph setting points
at, the contact-center simulator, and devstack's LocalHost with the in-process Service Bus as the
presence queue and the services of `shared.bootstrap.build_services` in this process; each simulator
runs in a process of its own (benchmarks/simulator_process.py), so their CPU is not the connector's. The host
serves the two functions of function_app that the sync path runs through, the presence worker (Service
Bus trigger) and the contact-center events route, and not its timers: the reconcile timer (every 2
minutes) and the subscription renewal (every 5) would, when one fires during a run, add their own Graph
reads, contact-center reads and table scans to the per-change figures.

One tenant has an active connector with a webhook contact center (the simulator's /webhook; the
simulator knows the tenant's secret, so it checks every signature and sends its agent events to the
connector), the default presence mappings stored, and `--agents` agents who are logged in and
`available` in the contact center, which told the connector so. A scheduler thread then publishes Teams
PresenceChange messages straight into the bus (the intake has its own benchmark) at `--rate` per
second, round robin over the agents, each agent alternating between a mapped presence
(DoNotDisturb/Presenting, then Busy/InACall) and Available, with growing sequence numbers. Like Webex,
the simulator echoes every change the connector makes as an agent event, and the engine sends an
agent's next command only once it has seen that echo; so each change costs a round trip through the
events route, the queue and the function a second time, and that load is part of the figures.

What is measured, per change published while measuring:
- added latency: from the publish to the moment the contact-center simulator recorded the state change
  it caused (`source: connector` in the agent's history);
- Service Bus latency (enqueue -> settled) and function duration, from the bus's delivery log;
- table operations: the HTTP requests azure-core sends to the table endpoint (retries included), read
  from its request log and put to the account of the queue message kind the sending thread was
  handling, else of the events intake (turning that log on costs a few percent of CPU);
- Graph and contact-center calls: the simulators' request logs;
- CPU per process: the connector (this process less the load generator's thread, measured with
  `time.thread_time()`), the load generator, the two simulators' processes and Azurite's;
- the burst of agent logins before the run: roster syncs, table operations, rows read, CPU.

Each state the connector set is the result of the change that was the agent's newest Teams presence
handled when it was set; a change with such a state is applied. Of the others, one asking for the
state the agent already had needed nothing. The engine sends an agent's next command only once the echo
of his last one is handled, and plans it from the newest Teams presence then; a change followed by a
newer one of the same agent before any echo of his was handled is superseded, which is what happens
when the queue backs up. Any other change is lost, and a state no change asked for counts as a change
applied twice: either makes the run exit with 1.
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
import tempfile
import threading
import time
import uuid
from bisect import bisect_right
from collections import Counter
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any, Final, cast
from urllib.parse import urlsplit

import azure.functions as func
from azure.data.tables import TableServiceClient

from benchmarks.simulator_process import (
    SimulatorProcess,
    contact_center_simulator,
    graph_simulator,
    process_cpu_seconds,
)
from devstack.__main__ import point_settings_at_simulator
from devstack.azurite import Azurite
from devstack.dev_certificate import with_dev_certificate
from devstack.graph_simulator import GraphSimulator
from devstack.host import LocalHost
from devstack.service_bus import DeliveryRecord, InProcessServiceBus, Outcome
from shared.bootstrap import build_services, use_services
from shared.connectors.model import Connector, ConnectorSettings, ConnectorStatus, WebhookContactCenter
from shared.contact_center.messages import SCHEMA as AGENT_STATE_CHANGE
from shared.contact_center.messages import AgentStateChange
from shared.mappings.defaults import DEFAULT_MAPPINGS, DEFAULT_RULES
from shared.mappings.matching import match_teams_rule
from shared.presence.messages import SCHEMA as PRESENCE_CHANGE
from shared.presence.messages import PresenceChange
from shared.security.secret_box import SecretBox
from shared.settings import Settings, load_settings
from shared.storage.agent_repository import TableAgentRepository
from shared.storage.connector_repository import TableConnectorRepository
from shared.storage.mapping_repository import TableMappingRepository
from shared.storage.table_store import TableStore
from shared.triggers import contact_center_events, presence_worker

logger = logging.getLogger(__name__)

REPO_ROOT: Final = Path(__file__).resolve().parent.parent
EXAMPLE_SETTINGS: Final = REPO_ROOT / "local.settings.example.json"
AZURE_HTTP_LOGGER: Final = "azure.core.pipeline.policies.http_logging_policy"
URLLIB3_POOL_LOGGER: Final = "urllib3.connectionpool"
TARGET_P99_MS: Final = 250.0
TARGET_RATE: Final = 200
TARGET_TABLE_OPERATIONS: Final = 2.0
TARGET_CONNECTOR_CPU_MS: Final = 3.0
AVAILABLE: Final = ("Available", "Available")
# The Teams states an agent goes through between two Available: a presentation, then a Teams call.
MAPPED_PRESENCES: Final = (("DoNotDisturb", "Presenting"), ("Busy", "InACall"))
# What the contact center shows for an agent who just logged in and made himself available.
LOGGED_IN: Final = ("available", None)
SOURCE_CONNECTOR: Final = "connector"
# How long the benchmark waits for the stack to go quiet after a phase: a base, plus time per change
# published, since an overloaded run works off its backlog at its own pace.
SETTLE_BASE_SECONDS: Final = 120.0
SETTLE_SECONDS_PER_CHANGE: Final = 0.1
DELIVERY_POLL_SECONDS: Final = 0.25
HTTP_TIMEOUT_SECONDS: Final = 30.0
SEED_WORKERS: Final = 8
OTHER_WORK: Final = "other"
COALESCED_SYNC_WAIT_SECONDS: Final = 4.0


@dataclass(frozen=True)
class BenchOptions:
    agents: int
    rate: int
    seconds: float
    warmup: float
    tables_connection_string: str | None

    @property
    def agent_interval_seconds(self) -> float:
        """How long each agent keeps a Teams presence before his next change."""
        return self.agents / self.rate


@dataclass(frozen=True)
class Agent:
    agent_id: str
    user_id: str


@dataclass(frozen=True)
class Tenant:
    tenant_id: str
    secret: str = field(repr=False)
    agents: tuple[Agent, ...]

    def session_id(self, agent: Agent) -> str:
        """The queue session of the agent's messages (PresenceChange.session_id)."""
        return f"{self.tenant_id}:{agent.user_id}"


@dataclass(frozen=True)
class PlannedChange:
    """Change number `index` of the run: which agent, which Teams presence, and what the contact center
    should show after it."""

    index: int
    agent_index: int
    availability: str
    activity: str
    expected_state: str
    expected_idle_code_id: str | None

    @property
    def expected(self) -> tuple[str, str | None]:
        return self.expected_state, self.expected_idle_code_id


@dataclass(frozen=True)
class SentChange:
    planned: PlannedChange
    message_id: str
    sent_at: datetime
    # How late the scheduler published it against its slot.
    lag_ms: float
    measured: bool


@dataclass(frozen=True)
class AppliedState:
    """A state the connector gave an agent, from the contact center's history."""

    state: str
    idle_code_id: str | None
    at: datetime

    @property
    def outcome(self) -> tuple[str, str | None]:
        return self.state, self.idle_code_id


@dataclass
class Attribution:
    """What became of each change, and the states no change asked for."""

    applied: list[tuple[SentChange, AppliedState]] = field(default_factory=list)
    # Asked for the state the agent already had: nothing to apply.
    unchanged: list[SentChange] = field(default_factory=list)
    # Replaced by a newer change of the agent before the engine could apply it.
    superseded: list[SentChange] = field(default_factory=list)
    # Never reached the contact center, though the engine could have applied it.
    lost: list[SentChange] = field(default_factory=list)
    # States set that no change asked for: a change applied twice, or a wrong state.
    extra: list[AppliedState] = field(default_factory=list)

    def add(self, other: Attribution) -> None:
        self.applied.extend(other.applied)
        self.unchanged.extend(other.unchanged)
        self.superseded.extend(other.superseded)
        self.lost.extend(other.lost)
        self.extra.extend(other.extra)


@dataclass(frozen=True)
class CpuSeconds:
    # This process: the app's functions, the local host and the in-process Service Bus, plus the
    # benchmark's own threads (the load generator's is measured apart: `generator`).
    process: float
    # None when Azurite was not started by the benchmark (or its usage cannot be read).
    azurite: float | None
    # The two simulators' processes together.
    simulators: float | None = None
    # The load generator's thread (the paced publisher) in this process.
    generator: float = 0.0

    @property
    def connector(self) -> float:
        """The connector's share of this process: everything but the load generator."""
        return self.process - self.generator


@dataclass(frozen=True)
class LoginFigures:
    """What the burst of agent logins before the run cost the connector."""

    logins: int
    seconds: float
    roster_syncs: int
    table_requests: int
    rows_read: int
    cpu_seconds: float
    load_average: float


@dataclass(frozen=True)
class RunResult:
    options: BenchOptions
    tenant: Tenant
    sent: tuple[SentChange, ...]
    attribution: Attribution
    settled: bool
    send_seconds: float
    deliveries: tuple[DeliveryRecord, ...]
    deliveries_complete: bool
    dead_letters: int
    table_requests: dict[str, int]
    setup_table_requests: int
    discarded_connections: int
    graph_requests: Counter[str]
    contact_center_requests: Counter[str]
    cpu: CpuSeconds
    max_concurrent_sessions: int
    logins: LoginFigures | None = None


# -- the changes -------------------------------------------------------------------------------------


def plan_change(index: int, agents: int) -> PlannedChange:
    """Round robin over the agents; each agent's odd rounds are Available, even ones a mapped presence
    (alternately Presenting and In a call, so two idle codes in a row always differ)."""
    agent_index, round_number = index % agents, index // agents
    if round_number % 2:
        availability, activity = AVAILABLE
        return PlannedChange(index, agent_index, availability, activity, "available", None)
    availability, activity = MAPPED_PRESENCES[(round_number // 2) % len(MAPPED_PRESENCES)]
    rule = match_teams_rule(DEFAULT_MAPPINGS, availability, activity)
    if rule is None:
        raise ValueError(f"{availability}/{activity} is not mapped by the default mappings")
    return PlannedChange(index, agent_index, availability, activity, "idle", rule.idle_code_id)


def presence_change(tenant_id: str, agent: Agent, planned: PlannedChange, now: datetime) -> PresenceChange:
    return PresenceChange(
        tenant_id=tenant_id,
        user_id=agent.user_id,
        availability=planned.availability,
        activity=planned.activity,
        # Graph's form: 16 upper-case hex digits, growing with every change of the user.
        sequence_number=f"{planned.index + 1:016X}",
        observed_at=now,
        subscription_id=None,
    )


class PacedPublisher:
    """Publishes planned changes from its own thread, each at its slot (start + n / rate): a steady
    stream, not bursts. A late slot is published at once, never skipped, so the rate holds on average."""

    def __init__(self, bus: InProcessServiceBus, tenant: Tenant, rate: int) -> None:
        self._bus = bus
        self._tenant = tenant
        self._rate = rate
        self._next_index = 0
        # CPU of the publishing thread, over every run so far.
        self.cpu_seconds = 0.0

    def run(self, count: int, *, measured: bool) -> tuple[list[SentChange], float]:
        """Publish the next `count` changes; what was sent and the seconds from first to last send."""
        first = self._next_index
        self._next_index += count
        sent: list[SentChange] = []
        failures: list[BaseException] = []
        elapsed: list[float] = []

        def publish_all() -> None:
            try:
                cpu_start = time.thread_time()
                start = time.perf_counter()
                for offset in range(count):
                    slot = start + offset / self._rate
                    delay = slot - time.perf_counter()
                    if delay > 0:
                        time.sleep(delay)
                    planned = plan_change(first + offset, len(self._tenant.agents))
                    agent = self._tenant.agents[planned.agent_index]
                    now = datetime.now(UTC)
                    lag_ms = max(0.0, (time.perf_counter() - slot) * 1000)
                    change = presence_change(self._tenant.tenant_id, agent, planned, now)
                    self._bus.publish([change])
                    sent.append(SentChange(planned, change.message_id, now, lag_ms, measured))
                elapsed.append(time.perf_counter() - start)
                self.cpu_seconds += time.thread_time() - cpu_start
            except BaseException as exc:
                failures.append(exc)

        scheduler = threading.Thread(target=publish_all, name="bench-scheduler")
        scheduler.start()
        scheduler.join()
        if failures:
            raise failures[0]
        return sent, elapsed[0]


# -- what happened -----------------------------------------------------------------------------------


def attribute_agent(
    handled: Sequence[tuple[SentChange, datetime]],
    history: Sequence[AppliedState],
    echoes_handled: Sequence[datetime],
) -> Attribution:
    """What became of one agent's changes, from when each was handled and the states the connector set.

    One agent's messages are handled one at a time, in order, so from the moment a change is handled
    until the next one is, it is the newest Teams presence the engine knows: every contact-center
    command in that window, whether sent while handling the change or while handling an echo that came
    after it, is planned from it. A state set in that window is therefore the change's result.

    A change with no state in its window asked for the agent's state already (unchanged), or was
    waiting for the echo of the previous command, which no agent event handled in its window released
    (superseded), or is lost. `handled`: each change with the moment its message was first handled,
    in that order; `echoes_handled`: when the agent's events were handled.
    """
    result = Attribution()
    starts = [start for _, start in handled]
    in_window: list[list[AppliedState]] = [[] for _ in handled]
    for state in history:
        window = bisect_right(starts, state.at) - 1
        if window < 0:
            result.extra.append(state)
        else:
            in_window[window].append(state)
    current: tuple[str, str | None] = LOGGED_IN
    for window, (change, start) in enumerate(handled):
        expected = change.planned.expected
        states = in_window[window]
        if states:
            first = states[0]
            if first.outcome != expected:
                result.extra.append(first)
                result.lost.append(change)
            elif expected == current:
                result.extra.append(first)
                result.unchanged.append(change)
            else:
                result.applied.append((change, first))
            result.extra.extend(states[1:])
            current = states[-1].outcome
            continue
        end = starts[window + 1] if window + 1 < len(starts) else None
        if expected == current:
            result.unchanged.append(change)
        elif end is not None and not any(start <= echo < end for echo in echoes_handled):
            result.superseded.append(change)
        else:
            result.lost.append(change)
    return result


def attribute(
    tenant: Tenant,
    sent: Sequence[SentChange],
    histories: dict[str, list[AppliedState]],
    deliveries: Sequence[DeliveryRecord],
) -> Attribution:
    """attribute_agent for every agent; a change whose message was never handled is lost."""
    first_handled: dict[str, datetime] = {}
    echoes: dict[str, list[datetime]] = {}
    for record in deliveries:
        if record.started_at is None:
            continue
        if record.outcome is Outcome.COMPLETED and message_kind(record) == AGENT_STATE_CHANGE:
            echoes.setdefault(record.session_id, []).append(record.started_at)
        known = first_handled.get(record.message_id)
        if known is None or record.started_at < known:
            first_handled[record.message_id] = record.started_at
    by_agent: dict[int, list[tuple[SentChange, datetime]]] = {}
    total = Attribution()
    for change in sent:
        start = first_handled.get(change.message_id)
        if start is None:
            total.lost.append(change)
        else:
            by_agent.setdefault(change.planned.agent_index, []).append((change, start))
    for index, agent in enumerate(tenant.agents):
        handled = sorted(by_agent.get(index, []), key=lambda item: item[1])
        total.add(
            attribute_agent(
                handled, histories.get(agent.agent_id, []), echoes.get(tenant.session_id(agent), [])
            )
        )
    return total


def connector_histories(document: Any) -> dict[str, list[AppliedState]]:
    """The states the connector set, per agent, from the simulator's `GET /_sim/agents`."""
    histories: dict[str, list[AppliedState]] = {}
    for agent in document["agents"]:
        histories[str(agent["agentId"])] = [
            AppliedState(
                state=str(entry["state"]),
                idle_code_id=entry.get("idleCodeId"),
                at=_timestamp(str(entry["at"])),
            )
            for entry in agent["history"]
            if entry["source"] == SOURCE_CONNECTOR
        ]
    return histories


def message_kind(record: DeliveryRecord) -> str:
    try:
        document = json.loads(record.body)
    except ValueError:
        return OTHER_WORK
    kind = document.get("schema") if isinstance(document, dict) else None
    return kind if isinstance(kind, str) else OTHER_WORK


class DeliveryLog:
    """Copies the bus's delivery log, which keeps only the last 1,000 settlements, often enough to keep
    them all. The log holds the same record objects between reads, so identity tells the new ones."""

    def __init__(self, bus: InProcessServiceBus) -> None:
        self._bus = bus
        self._records: list[DeliveryRecord] = []
        self._seen: set[int] = set()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="bench-delivery-log", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> tuple[DeliveryRecord, ...]:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join()
        self._collect()
        return tuple(self._records)

    def _run(self) -> None:
        while not self._stop.wait(DELIVERY_POLL_SECONDS):
            self._collect()

    def _collect(self) -> None:
        for record in self._bus.deliveries():
            # Every record collected stays referenced, so no id is reused while this runs.
            if id(record) not in self._seen:
                self._seen.add(id(record))
                self._records.append(record)


# -- counting ----------------------------------------------------------------------------------------

_work = threading.local()


class WorkTaggingHost(LocalHost):
    """LocalHost that remembers, on the delivering thread, which kind of queue message the function is
    handling, so table requests made meanwhile can be put to its account."""

    def invoke_service_bus(self, function_name: str, message: func.ServiceBusMessage) -> None:
        _work.kind = message.subject or OTHER_WORK
        try:
            super().invoke_service_bus(function_name, message)
        finally:
            _work.kind = None


class TableRequestLog(logging.Handler):
    """Counts the requests azure-core sends to `endpoint`, one log record per attempt (retries
    included), by the work the sending thread was doing."""

    def __init__(self, endpoint: str) -> None:
        super().__init__(logging.INFO)
        self._prefix = f"Request URL: '{endpoint.rstrip('/')}/"
        self._counts: Counter[str] = Counter()

    def emit(self, record: logging.LogRecord) -> None:
        # Both of azure-core's formats (one record per request, or one per line) start with this line.
        if record.getMessage().startswith(self._prefix):
            self._counts[getattr(_work, "kind", None) or OTHER_WORK] += 1

    def counts(self) -> dict[str, int]:
        self.acquire()
        try:
            return dict(self._counts)
        finally:
            self.release()


@contextmanager
def table_request_log(endpoint: str) -> Iterator[TableRequestLog]:
    """Turn azure-core's request log on into the counter only (nothing is printed), then restore it."""
    azure_logger = logging.getLogger(AZURE_HTTP_LOGGER)
    level, propagate = azure_logger.level, azure_logger.propagate
    counter = TableRequestLog(endpoint)
    azure_logger.addHandler(counter)
    azure_logger.setLevel(logging.INFO)
    azure_logger.propagate = False
    try:
        yield counter
    finally:
        azure_logger.removeHandler(counter)
        azure_logger.setLevel(level)
        azure_logger.propagate = propagate


class DiscardedConnections(logging.Filter):
    """Counts urllib3's "Connection pool is full, discarding connection" warnings instead of printing
    one line per request: more threads than pooled connections use the same host."""

    def __init__(self) -> None:
        super().__init__()
        self._lock = threading.Lock()
        self._count = 0

    def filter(self, record: logging.LogRecord) -> bool:
        if not str(record.msg).startswith("Connection pool is full"):
            return True
        with self._lock:
            self._count += 1
        return False

    @property
    def count(self) -> int:
        with self._lock:
            return self._count


@contextmanager
def discarded_connections() -> Iterator[DiscardedConnections]:
    pool_logger = logging.getLogger(URLLIB3_POOL_LOGGER)
    counter = DiscardedConnections()
    pool_logger.addFilter(counter)
    try:
        yield counter
    finally:
        pool_logger.removeFilter(counter)


class RowsRead:
    """Entities azure-data-tables turned into TableEntity (point reads and query results): the rows
    the connector read. Counted by wrapping the SDK's one conversion function while the stack runs."""

    def __init__(self) -> None:
        self.count = 0
        self._lock = threading.Lock()

    def wrap(self, convert: Any) -> Any:
        def counted(entry: Any) -> Any:
            with self._lock:
                self.count += 1
            return convert(entry)

        return counted


@contextmanager
def rows_read() -> Iterator[RowsRead]:
    from azure.data.tables import _models, _table_client

    counter = RowsRead()
    modules = (_models, _table_client)
    originals = [getattr(module, "_convert_to_entity") for module in modules]  # noqa: B009
    for module, original in zip(modules, originals, strict=True):
        setattr(module, "_convert_to_entity", counter.wrap(original))  # noqa: B010
    try:
        yield counter
    finally:
        for module, original in zip(modules, originals, strict=True):
            setattr(module, "_convert_to_entity", original)  # noqa: B010


class RosterSyncs:
    """How many subscription syncs the services ran (SubscriptionService.sync_tenant calls)."""

    def __init__(self, sync_tenant: Any) -> None:
        self.count = 0
        self._sync_tenant = sync_tenant
        self._lock = threading.Lock()

    def __call__(self, tenant_id: str) -> Any:
        with self._lock:
            self.count += 1
        return self._sync_tenant(tenant_id)


def cpu_seconds(stack: LocalStack, generator: float = 0.0) -> CpuSeconds:
    """CPU time used so far by this process (every thread), by Azurite and by the simulators."""
    times = os.times()
    simulators = [process_cpu_seconds(stack.graph.pid), process_cpu_seconds(stack.contact_center.pid)]
    return CpuSeconds(
        times.user + times.system,
        process_cpu_seconds(stack.azurite_pid),
        None if None in simulators else sum(value for value in simulators if value is not None),
        generator,
    )


# -- the stack ---------------------------------------------------------------------------------------


def sync_app() -> func.FunctionApp:
    """The functions of function_app that a Teams change and its echo go through, and no timer."""
    app = func.FunctionApp(http_auth_level=func.AuthLevel.FUNCTION)
    app.register_functions(presence_worker.bp)
    app.register_functions(contact_center_events.bp)
    return app


def example_settings() -> dict[str, str]:
    values = with_dev_certificate(json.loads(EXAMPLE_SETTINGS.read_text(encoding="utf-8"))["Values"])
    return {str(name): str(value) for name, value in values.items() if value is not None}


def table_endpoint(connection_string: str) -> str:
    """The table endpoint the app's TableStore sends to, as the SDK derives it from the setting."""
    return str(TableServiceClient.from_connection_string(connection_string).url)


def call_json(method: str, url: str, body: Any = None) -> Any:
    """One JSON request to a local simulator (plain HTTP on loopback); its JSON answer, None when empty."""
    parts = urlsplit(url)
    if parts.scheme != "http" or parts.hostname is None:
        raise ValueError(f"{url} is not a plain-HTTP simulator URL")
    data = None if body is None else json.dumps(body).encode()
    headers = {} if data is None else {"Content-Type": "application/json"}
    target = parts.path + (f"?{parts.query}" if parts.query else "")
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=HTTP_TIMEOUT_SECONDS)
    try:
        connection.request(method, target, body=data, headers=headers)
        response = connection.getresponse()
        payload = response.read()
    finally:
        connection.close()
    if response.status >= 300:
        raise RuntimeError(f"{method} {url} answered {response.status}: {payload[:300]!r}")
    return json.loads(payload) if payload else None


def seed_tenant(
    settings: Settings, store: TableStore, contact_center: SimulatorProcess, agent_count: int
) -> Tenant:
    """An active connector with the simulator's webhook, the default mappings stored, and the agents."""
    tenant_id = str(uuid.uuid4())
    secret = f"bench-{uuid.uuid4().hex}"
    now = datetime.now(UTC)
    TableConnectorRepository(store, SecretBox(settings.secrets_encryption_key)).add(
        Connector(
            tenant_id=tenant_id,
            status=ConnectorStatus.ACTIVE,
            settings=ConnectorSettings(presence_sync=True),
            contact_center=WebhookContactCenter(contact_center.webhook_url, secret),
            created_at=now,
            updated_at=now,
            activated_at=now,
        )
    )
    TableMappingRepository(store).upsert(tenant_id, DEFAULT_RULES, now)
    agents = tuple(Agent(f"bench-agent-{index:05d}", str(uuid.uuid4())) for index in range(agent_count))
    roster = TableAgentRepository(store)
    with ThreadPoolExecutor(max_workers=SEED_WORKERS, thread_name_prefix="bench-seed") as pool:
        list(pool.map(lambda agent: roster.save(tenant_id, agent.agent_id, agent.user_id, None, now), agents))
    return Tenant(tenant_id, secret, agents)


def log_agents_in(tenant: Tenant, contact_center: SimulatorProcess, connector_url: str) -> None:
    """The contact center learns the tenant (events URL, secret) and its agents, and each agent makes
    himself available there, which the contact center tells the connector."""
    call_json(
        "POST",
        f"{contact_center.base_url}/_sim/tenants/{tenant.tenant_id}",
        {
            "connectorUrl": connector_url,
            "secret": tenant.secret,
            "agentIds": [agent.agent_id for agent in tenant.agents],
        },
    )

    def available(agent: Agent) -> None:
        answer = call_json(
            "POST", f"{contact_center.base_url}/_sim/agents/{agent.agent_id}/state", {"state": "available"}
        )
        if answer["delivery"] != "queued":
            raise RuntimeError(f"the contact center cannot tell the connector about {agent.agent_id}")

    with ThreadPoolExecutor(max_workers=SEED_WORKERS, thread_name_prefix="bench-login") as pool:
        list(pool.map(available, tenant.agents))


def settle(bus: InProcessServiceBus, contact_center: SimulatorProcess, timeout: float) -> bool:
    """Wait until nothing moves: the queue is empty and no agent event is on its way. An event delivered
    meanwhile queued more work, so the queue is waited for again until a pass adds nothing."""
    deadline = time.monotonic() + timeout
    while True:
        if not bus.wait_idle(max(0.0, deadline - time.monotonic())):
            return False
        sent_before = bus.counters().sent
        if not contact_center.call("wait_for_deliveries", max(0.0, deadline - time.monotonic())):
            return False
        if bus.counters().sent == sent_before and bus.wait_idle(0):
            return True


def settle_timeout(changes: int) -> float:
    return SETTLE_BASE_SECONDS + SETTLE_SECONDS_PER_CHANGE * changes


def simulator_requests(url: str, key: str) -> list[dict[str, Any]]:
    records = call_json("GET", url)[key]
    return [record for record in records if isinstance(record, dict)]


def last_seq(records: Sequence[dict[str, Any]]) -> int:
    return max((int(record["seq"]) for record in records), default=0)


def graph_request_kinds(records: Sequence[dict[str, Any]], after_seq: int) -> Counter[str]:
    """Graph REST and identity-platform requests after `after_seq`, by kind."""
    return Counter(str(record["kind"]) for record in records if int(record["seq"]) > after_seq)


def contact_center_request_kinds(records: Sequence[dict[str, Any]], after_seq: int) -> Counter[str]:
    """Adapter calls after `after_seq`, by method and route (agent ids folded)."""
    kinds: Counter[str] = Counter()
    for record in records:
        if int(record["seq"]) <= after_seq:
            continue
        path = str(record["path"])
        if path.startswith("/webhook/agents/"):
            path = "/webhook/agents/{agentId}"
        kinds[f"{record['method']} {path}"] += 1
    return kinds


# -- the run -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class LocalStack:
    """What run() drives and reads while the stack is up."""

    settings: Settings
    host: LocalHost
    bus: InProcessServiceBus
    graph: SimulatorProcess
    contact_center: SimulatorProcess
    table_requests: TableRequestLog
    discarded: DiscardedConnections
    delivery_log: DeliveryLog
    azurite_pid: int | None
    rows: RowsRead
    roster_syncs: RosterSyncs

    def settle(self, changes: int) -> bool:
        return settle(self.bus, self.contact_center, settle_timeout(changes))

    def graph_requests(self) -> list[dict[str, Any]]:
        return simulator_requests(f"{self.graph.base_url}/_sim/requests", "value")

    def contact_center_requests(self) -> list[dict[str, Any]]:
        return simulator_requests(f"{self.contact_center.base_url}/_sim/requests", "requests")


@dataclass(frozen=True)
class Readings:
    """Counters read when measuring starts."""

    table_requests: dict[str, int]
    graph_seq: int
    contact_center_seq: int
    discarded_connections: int
    cpu: CpuSeconds


GRAPH_ATTRIBUTES: Final = ("base_url", "tls_base_url", "tls_ca_path")
CONTACT_CENTER_ATTRIBUTES: Final = ("base_url", "webhook_url", "token_url")


def start_stack(exit_stack: ExitStack, tables_connection_string: str | None) -> LocalStack:
    """Azurite, both simulators and the host with the bus and the app's services; stopped by
    `exit_stack` in reverse order."""
    connection_string = tables_connection_string
    azurite_pid: int | None = None
    if connection_string is None:
        azurite = exit_stack.enter_context(Azurite(port=0))
        connection_string, azurite_pid = azurite.connection_string, azurite.pid
    table_requests = exit_stack.enter_context(table_request_log(table_endpoint(connection_string)))
    rows = exit_stack.enter_context(rows_read())
    discarded = exit_stack.enter_context(discarded_connections())

    tls_dir = exit_stack.enter_context(tempfile.TemporaryDirectory(prefix="bench-graph-tls-"))
    # Each simulator runs in a process of its own: its CPU is not the connector's.
    graph = SimulatorProcess(partial(graph_simulator, tls_dir), GRAPH_ATTRIBUTES)
    exit_stack.callback(graph.stop)
    contact_center = SimulatorProcess(contact_center_simulator, CONTACT_CENTER_ATTRIBUTES)
    exit_stack.callback(contact_center.stop)

    values = {
        **example_settings(),
        "TABLES_CONNECTION_STRING": connection_string,
        "TABLES_ENDPOINT": "",
        "WEBEX_TOKEN_URL": contact_center.token_url,
    }
    point_settings_at_simulator(values, cast(GraphSimulator, graph))
    host = WorkTaggingHost(sync_app(), port=0)
    bus = InProcessServiceBus(host, environ=values)
    host.add_background_service(bus)
    host.start()
    exit_stack.callback(host.stop)
    values["PUBLIC_BASE_URL"] = host.base_url
    settings = load_settings(values)
    services = build_services(settings, presence_queue=bus)
    roster_syncs = RosterSyncs(services.subscriptions.sync_tenant)
    services.subscriptions.sync_tenant = roster_syncs  # type: ignore[method-assign]
    use_services(services)
    exit_stack.callback(use_services, None)
    delivery_log = DeliveryLog(bus)
    delivery_log.start()
    exit_stack.callback(delivery_log.stop)
    return LocalStack(
        settings,
        host,
        bus,
        graph,
        contact_center,
        table_requests,
        discarded,
        delivery_log,
        azurite_pid,
        rows,
        roster_syncs,
    )


def run(options: BenchOptions) -> RunResult:
    with ExitStack() as exit_stack:
        stack = start_stack(exit_stack, options.tables_connection_string)
        tenant = seed_tenant(
            stack.settings, TableStore.from_settings(stack.settings), stack.contact_center, options.agents
        )
        logins = measure_logins(stack, tenant)
        logger.info(
            "tenant %s: %d agents logged in and known to the connector", tenant.tenant_id, options.agents
        )

        publisher = PacedPublisher(stack.bus, tenant, options.rate)
        warmup_count = round(options.warmup * options.rate)
        warmup: list[SentChange] = []
        if warmup_count > 0:
            warmup, _ = publisher.run(warmup_count, measured=False)
            if not stack.settle(warmup_count):
                logger.warning(
                    "tenant %s: the warm-up's work was not done; measuring anyway", tenant.tenant_id
                )

        before = Readings(
            table_requests=stack.table_requests.counts(),
            graph_seq=last_seq(stack.graph_requests()),
            contact_center_seq=last_seq(stack.contact_center_requests()),
            discarded_connections=stack.discarded.count,
            cpu=cpu_seconds(stack, publisher.cpu_seconds),
        )
        count = max(1, round(options.seconds * options.rate))
        logger.info("tenant %s: measuring %d changes at %d/s", tenant.tenant_id, count, options.rate)
        measured, send_seconds = publisher.run(count, measured=True)
        settled = stack.settle(count)
        sent = (*warmup, *measured)
        result = collect(stack, options, tenant, sent, send_seconds, settled, before, publisher.cpu_seconds)
    return replace(result, logins=logins)


def measure_logins(stack: LocalStack, tenant: Tenant) -> LoginFigures:
    """Every agent logs in at once (a shift starting): each login makes the engine ask for a roster
    sync, which the coalescer folds into one per tenant per few seconds."""
    tables, rows, syncs = (
        sum(stack.table_requests.counts().values()),
        stack.rows.count,
        stack.roster_syncs.count,
    )
    cpu, started = cpu_seconds(stack).process, time.monotonic()
    log_agents_in(tenant, stack.contact_center, stack.host.base_url)
    if not stack.settle(len(tenant.agents)):
        raise RuntimeError("the agents' logins did not reach the connector in time")
    # The coalescer's trailing sync runs a few seconds after the last login.
    time.sleep(COALESCED_SYNC_WAIT_SECONDS)
    return LoginFigures(
        logins=len(tenant.agents),
        seconds=time.monotonic() - started,
        roster_syncs=stack.roster_syncs.count - syncs,
        table_requests=sum(stack.table_requests.counts().values()) - tables,
        rows_read=stack.rows.count - rows,
        cpu_seconds=cpu_seconds(stack).process - cpu,
        load_average=os.getloadavg()[0],
    )


def collect(
    stack: LocalStack,
    options: BenchOptions,
    tenant: Tenant,
    sent: tuple[SentChange, ...],
    send_seconds: float,
    settled: bool,
    before: Readings,
    generator_cpu: float,
) -> RunResult:
    """What the measured changes did, read from the stack once it went quiet."""
    cpu = cpu_seconds(stack, generator_cpu)
    tables = stack.table_requests.counts()
    deliveries = stack.delivery_log.stop()
    counters = stack.bus.counters()
    settlements = counters.completed + counters.abandoned + counters.dead_lettered + counters.duplicates
    histories = connector_histories(call_json("GET", f"{stack.contact_center.base_url}/_sim/agents"))
    return RunResult(
        options=options,
        tenant=tenant,
        sent=sent,
        attribution=attribute(tenant, sent, histories, deliveries),
        settled=settled,
        send_seconds=send_seconds,
        deliveries=deliveries,
        deliveries_complete=len(deliveries) >= settlements,
        dead_letters=counters.dead_lettered,
        table_requests={
            kind: tables.get(kind, 0) - before.table_requests.get(kind, 0)
            for kind in set(tables) | set(before.table_requests)
        },
        setup_table_requests=sum(before.table_requests.values()),
        discarded_connections=stack.discarded.count - before.discarded_connections,
        graph_requests=graph_request_kinds(stack.graph_requests(), before.graph_seq),
        contact_center_requests=contact_center_request_kinds(
            stack.contact_center_requests(), before.contact_center_seq
        ),
        cpu=CpuSeconds(
            cpu.process - before.cpu.process,
            _difference(cpu.azurite, before.cpu.azurite),
            _difference(cpu.simulators, before.cpu.simulators),
            cpu.generator - before.cpu.generator,
        ),
        max_concurrent_sessions=stack.bus.max_concurrent_sessions,
    )


def _difference(after: float | None, before: float | None) -> float | None:
    return None if after is None or before is None else after - before


# -- the report --------------------------------------------------------------------------------------


def percentile(samples: Sequence[float], fraction: float) -> float:
    """Nearest rank; 0 without samples."""
    if not samples:
        return 0.0
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def spread(samples: Sequence[float]) -> str:
    if not samples:
        return "no samples"
    return (
        f"p50 {statistics.median(samples):.1f}  p90 {percentile(samples, 0.90):.1f}  "
        f"p99 {percentile(samples, 0.99):.1f}  max {max(samples):.1f}"
    )


@dataclass(frozen=True)
class Summary:
    """The figures of the measured changes."""

    sent: int
    latencies_ms: tuple[float, ...]
    unchanged: int
    superseded: int
    lost: int
    warmup_lost: int
    max_lag_ms: float
    sent_rate: float
    applied_rate: float
    # Service Bus settlements of the measured Teams changes, and of the agent events handled meanwhile.
    teams_deliveries: tuple[DeliveryRecord, ...]
    redeliveries: int
    echo_deliveries: tuple[DeliveryRecord, ...]

    @property
    def applied(self) -> int:
        return len(self.latencies_ms)

    @property
    def p99_ms(self) -> float:
        return percentile(self.latencies_ms, 0.99)


def summarize(result: RunResult) -> Summary:
    measured = [change for change in result.sent if change.measured]
    attribution = result.attribution
    applied = [(change, state) for change, state in attribution.applied if change.measured]
    lost = sum(1 for change in attribution.lost if change.measured)
    start = min(change.sent_at for change in measured)
    window = (max((state.at for _, state in applied), default=start) - start).total_seconds()
    measured_ids = {change.message_id for change in measured}
    teams = [record for record in result.deliveries if record.message_id in measured_ids]
    return Summary(
        sent=len(measured),
        latencies_ms=tuple((state.at - change.sent_at).total_seconds() * 1000 for change, state in applied),
        unchanged=sum(1 for change in attribution.unchanged if change.measured),
        superseded=sum(1 for change in attribution.superseded if change.measured),
        lost=lost,
        warmup_lost=len(attribution.lost) - lost,
        max_lag_ms=max(change.lag_ms for change in measured),
        # Slots are 1/rate apart: n sends span n - 1 intervals.
        sent_rate=(len(measured) - 1) / result.send_seconds if result.send_seconds > 0 else 0.0,
        applied_rate=len(applied) / window if window > 0 else 0.0,
        teams_deliveries=tuple(record for record in teams if record.outcome is Outcome.COMPLETED),
        redeliveries=sum(1 for record in teams if record.outcome is Outcome.ABANDONED),
        echo_deliveries=tuple(
            record
            for record in result.deliveries
            if record.started_at is not None
            and record.started_at >= start
            and record.outcome is Outcome.COMPLETED
            and message_kind(record) == AGENT_STATE_CHANGE
        ),
    )


def print_report(result: RunResult) -> int:
    """Print the figures; 0 when no change was lost or applied twice and the stack went quiet, else 1."""
    options, summary = result.options, summarize(result)
    count = summary.sent
    print(
        f"presence sync, Teams -> contact center: {options.agents} agents, {options.rate} changes/s for "
        f"{options.seconds:g} s after {options.warmup:g} s warm-up (each agent changes every "
        f"{options.agent_interval_seconds:.2f} s); webhook contact center; "
        f"{result.max_concurrent_sessions} concurrent sessions"
    )
    print(
        f"  changes: {count:,} sent, {summary.applied:,} applied, {summary.unchanged:,} already in effect, "
        f"{summary.superseded:,} superseded, {summary.lost:,} lost, {len(result.attribution.extra):,} "
        f"applied twice; max scheduler lag {summary.max_lag_ms:.1f} ms"
    )
    print(f"  added latency, publish -> contact center (ms): {spread(summary.latencies_ms)}")
    print(
        f"  achieved: {summary.sent_rate:,.1f} changes/s sent, {summary.applied_rate:,.1f} changes/s "
        "applied (first send to last apply)"
    )
    teams = summary.teams_deliveries
    print(
        f"  Service Bus, Teams changes (ms): latency {spread([r.latency_ms for r in teams])}; function "
        f"duration {spread([_duration_ms(r) for r in teams])}; {summary.redeliveries} redeliveries"
    )
    print(
        f"  contact-center echoes: {len(summary.echo_deliveries):,} handled; from the contact center's "
        f"change to the queue (ms) {spread([_echo_delay_ms(r) for r in summary.echo_deliveries])}; "
        f"function duration (ms) {spread([_duration_ms(r) for r in summary.echo_deliveries])}"
    )
    if not result.deliveries_complete:
        print("  (the bus's delivery log overflowed between two reads: Service Bus figures are partial)")
    graph_calls = result.graph_requests.get("graph", 0)
    print(
        f"  Graph calls per change: {_per(graph_calls, count)} ({graph_calls} Graph, "
        f"{result.graph_requests.get('identity', 0)} identity platform requests; target 0 reads)"
    )
    sync_tables = result.table_requests.get(PRESENCE_CHANGE, 0)
    echo_tables = result.table_requests.get(AGENT_STATE_CHANGE, 0)
    all_tables = sum(result.table_requests.values())
    print(
        f"  table operations per change: {_per(sync_tables, count)} handling the Teams change "
        f"(target <= {TARGET_TABLE_OPERATIONS:g}); {_per(all_tables, count)} with its echo (echo handling "
        f"{_per(echo_tables, count)}, events intake {_per(all_tables - sync_tables - echo_tables, count)})"
    )
    if result.discarded_connections:
        print(
            f"  table connections discarded by urllib3 (pool full): {result.discarded_connections:,} "
            f"({_per(result.discarded_connections, all_tables)} per table request)"
        )
    calls = sum(result.contact_center_requests.values())
    detail = ", ".join(f"{n:,} {kind}" for kind, n in sorted(result.contact_center_requests.items()))
    print(f"  contact-center calls per change: {_per(calls, count)} ({detail or 'none'})")
    cpu = result.cpu

    def per_change(seconds: float | None) -> str:
        return "n/a" if seconds is None else f"{seconds * 1000 / count:.1f}"

    print(
        f"  CPU per change (ms), per process: connector {per_change(cpu.connector)} (app functions, local "
        f"host, in-process Service Bus; target <= {TARGET_CONNECTOR_CPU_MS:g}), load generator "
        f"{per_change(cpu.generator)} (its thread), simulators {per_change(cpu.simulators)}, Azurite "
        f"{per_change(cpu.azurite)}"
    )
    if result.logins is not None:
        logins = result.logins
        print(
            f"  agent logins before the run: {logins.logins} in {logins.seconds:.1f} s, "
            f"{logins.roster_syncs} roster syncs, {logins.table_requests:,} table operations, "
            f"{logins.rows_read:,} rows read, {logins.cpu_seconds:.1f} CPU s in this process "
            f"(load average {logins.load_average:.2f})"
        )
    verdict = "met" if summary.p99_ms < TARGET_P99_MS else "missed"
    if options.rate < TARGET_RATE:
        verdict = f"not judged at {options.rate} changes/s (p99 {summary.p99_ms:.0f} ms)"
    print(f"  target p99 < {TARGET_P99_MS:.0f} ms at {TARGET_RATE} changes/s: {verdict}")
    print(
        f"  machine: {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f} at the end, Python "
        f"{platform.python_version()} ({platform.python_implementation()}, {platform.system()} "
        f"{platform.machine()})"
    )
    failures = problems(result, summary)
    for problem in failures:
        print(f"FAILED: {problem}", file=sys.stderr)
    return 1 if failures else 0


def problems(result: RunResult, summary: Summary) -> list[str]:
    found: list[str] = []
    if not result.settled:
        found.append("the stack was still busy long after the last change: the run did not finish")
    if summary.lost or summary.warmup_lost:
        found.append(
            f"{summary.lost:,} measured and {summary.warmup_lost:,} warm-up changes were lost "
            "(sent, never applied, not superseded)"
        )
    if result.attribution.extra:
        found.append(f"{len(result.attribution.extra):,} contact-center states were set twice or unasked")
    if result.dead_letters:
        found.append(f"{result.dead_letters} messages were dead-lettered")
    if result.setup_table_requests == 0:
        found.append("no table request was seen during setup: the table counts cannot be trusted")
    return found


def _duration_ms(record: DeliveryRecord) -> float:
    if record.started_at is None:
        return 0.0
    return (record.finished_at - record.started_at).total_seconds() * 1000


def _echo_delay_ms(record: DeliveryRecord) -> float:
    """From the agent event's occurredAt (the contact center's clock, this process's) to its enqueueing:
    the contact center's delivery and the events intake."""
    occurred_at = AgentStateChange.from_json(record.body).occurred_at
    return (record.enqueued_at - occurred_at).total_seconds() * 1000


def _per(total: int, count: int) -> str:
    return f"{total / count:.2f}" if count else "n/a"


def _timestamp(text: str) -> datetime:
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


# -- command line ------------------------------------------------------------------------------------


def parse_options(argv: Sequence[str] | None) -> BenchOptions:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--agents", type=_positive_int, default=400, help="agents changing in turn")
    parser.add_argument("--rate", type=_positive_int, default=200, help="Teams changes per second")
    parser.add_argument("--seconds", type=_positive_float, default=15.0, help="how long to measure")
    parser.add_argument(
        "--warmup", type=_non_negative_float, default=3.0, help="seconds sent before measuring"
    )
    parser.add_argument(
        "--tables-connection-string",
        default=None,
        help="use this Table Storage (an Azurite already running) instead of starting Azurite",
    )
    args = parser.parse_args(argv)
    return BenchOptions(
        agents=args.agents,
        rate=args.rate,
        seconds=args.seconds,
        warmup=args.warmup,
        tables_connection_string=args.tables_connection_string,
    )


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


def _positive_float(text: str) -> float:
    value = float(text)
    if not value > 0:
        raise argparse.ArgumentTypeError("must be more than 0")
    return value


def _non_negative_float(text: str) -> float:
    value = float(text)
    if not value >= 0:
        raise argparse.ArgumentTypeError("must be 0 or more")
    return value


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark and print its figures; 1 when a change was lost or applied twice."""
    return print_report(run(parse_options(argv)))


if __name__ == "__main__":
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    raise SystemExit(main())
