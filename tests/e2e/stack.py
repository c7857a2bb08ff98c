"""What the end-to-end tests do on the local stack: the simulators' control APIs, a browser that does
not follow redirects, and polling until the asynchronous parts (notifications, queue) have happened."""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import re
import secrets
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import parse_qs, urlsplit

from devstack.azurite import free_port
from tests.e2e.conftest import ROOT, AdminTokenMinter, HostClient, Reply, RunningHost, graph_url_of

T = TypeVar("T")

CONNECTOR_CONTACT_CENTER = {"type": "webhook", "url": "https://cc.example.com/hook", "secret": "s" * 32}


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


def redirect_location(url: str) -> str:
    """Open `url` like a browser would and return where it is redirected (a 302 is expected)."""
    opener = urllib.request.build_opener(_NoRedirect)
    try:
        with opener.open(url, timeout=30) as response:
            raise AssertionError(f"expected a redirect from {url}, got {response.status}")
    except urllib.error.HTTPError as redirect:
        status, location = redirect.code, redirect.headers["Location"]
    if status not in {302, 303} or not location:
        raise AssertionError(f"expected a redirect from {url}, got {status}")
    return str(location)


def wait_for(what: str, probe: Callable[[], T | None], timeout: float = 20.0) -> T:
    deadline = time.monotonic() + timeout
    while True:
        value = probe()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.1)


def simulator_base_url(log_path: Path, name: str) -> str:
    """The local stack prints where each simulator listens (tests run them on free ports)."""
    pattern = re.compile(re.escape(name) + r"[^:]*: (http://127\.0\.0\.1:\d+)")
    text = wait_for(f"the {name} address in the host log", lambda: pattern.search(log_path.read_text()))
    return text.group(1)


class ControlApi(HostClient):
    """A simulator's `/_sim` API (same JSON conventions as the host)."""

    def ok(self, method: str, path: str, body: Any = None) -> Any:
        reply = self.call(method, path, body)
        assert 200 <= reply.status < 300, (method, path, reply.status, reply.body[:500])
        return reply.json() if reply.body else None


def graph_simulator(local_host: RunningHost) -> ControlApi:
    return ControlApi(simulator_base_url(local_host.log_path, "Graph + identity simulator"))


def activate_connector(
    host: HostClient, tenant_id: str, contact_center: dict[str, Any] | None = None
) -> None:
    created = host.call(
        "POST",
        f"/api/tenants/{tenant_id}/connector",
        {"contactCenter": contact_center or CONNECTOR_CONTACT_CENTER},
    )
    assert created.status == 201, created.body
    location = redirect_location(created.json()["consentUrl"])
    callback = host.call("GET", location.removeprefix(host.base_url), headers={"accept": "application/json"})
    assert callback.status == 200, callback.body
    assert host.call("GET", f"/api/tenants/{tenant_id}/connector").json()["status"] == "active"


@dataclass(frozen=True)
class AdminTenant:
    """A fresh tenant with an active connector on the contact-center simulator's webhook and one agent."""

    tenant_id: str
    secret: str
    agent_id: str


def set_up_admin_tenant(local_host: RunningHost) -> AdminTenant:
    host = local_host.client
    tenant_id = str(uuid.uuid4())
    secret = "tenant-secret-" + secrets.token_hex(8)
    contact_center = contact_center_simulator(local_host)
    activate_connector(
        host,
        tenant_id,
        contact_center={"type": "webhook", "url": contact_center.base_url + "/webhook", "secret": secret},
    )
    user_id = add_user(graph_simulator(local_host), tenant_id, f"ann@{tenant_id[:8]}.example", "Ann")
    put = host.call("PUT", f"/api/tenants/{tenant_id}/agents/agent-1", {"userId": user_id})
    assert put.status == 201, put.body
    return AdminTenant(tenant_id, secret, "agent-1")


def add_user(graph: ControlApi, tenant_id: str, upn: str, name: str, **extra: Any) -> str:
    user = graph.ok(
        "POST",
        f"/_sim/tenants/{tenant_id}/users",
        {
            "userPrincipalName": upn,
            "displayName": name,
            "department": "Support",
            "jobTitle": "Agent",
            **extra,
        },
    )
    return str(user["id"])


def sign_in_sync_account(host: HostClient, tenant_id: str, upn: str) -> dict[str, Any]:
    started = host.call("POST", f"/api/tenants/{tenant_id}/sync-accounts", {"loginHint": upn})
    assert started.status == 201, started.body
    location = redirect_location(started.json()["authorizeUrl"])
    assert urlsplit(location).path == "/api/auth/callback", location
    callback = host.call("GET", location.removeprefix(host.base_url), headers={"accept": "application/json"})
    assert callback.status in {200, 201}, callback.body
    account: dict[str, Any] = callback.json()["syncAccount"]
    return account


def deliveries(host: HostClient, session_id: str) -> list[dict[str, Any]]:
    reply = host.call("GET", f"/_devstack/service-bus/deliveries?sessionId={session_id}")
    assert reply.status == 200, reply.body
    return list(json.loads(reply.body)["deliveries"])


# -- presence sync (issue #4) -----------------------------------------------------------------------

CONTACT_CENTER_SIMULATOR = "Contact-center simulator"
EVENTS_SIGNATURE_HEADER = "X-Connector-Signature"
# How long the asynchronous parts may take when retries are involved: the simulators retry a failed
# POST after 1, 2, 4 and 8 s, the in-process Service Bus redelivers after 0.5 s doubling up to 8 s.
RETRY_TIMEOUT = 60.0
SYNC_TIMEOUT = 30.0


def contact_center_simulator(local_host: RunningHost) -> ControlApi:
    return ControlApi(simulator_base_url(local_host.log_path, CONTACT_CENTER_SIMULATOR))


def events_signature(body: bytes, secret: str) -> str:
    """`X-Connector-Signature` of an agent-event POST, computed here from the contract (not with the
    product's own helper), so a drift between the two sides shows."""
    return "sha256=" + hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()


@dataclass(frozen=True)
class SyncedAgent:
    name: str
    agent_id: str
    user_id: str

    def session_id(self, tenant_id: str) -> str:
        return f"{tenant_id}:{self.user_id}"


@dataclass(frozen=True)
class SyncedTenant:
    """A tenant whose connector syncs presence with the contact-center simulator (webhook adapter)."""

    tenant_id: str
    secret: str
    agents: dict[str, SyncedAgent]
    subscription: dict[str, Any]

    def agent(self, name: str) -> SyncedAgent:
        return self.agents[name]


def set_up_synced_tenant(
    host: HostClient, graph: ControlApi, contact_center: ControlApi, tenant_id: str, names: Sequence[str]
) -> SyncedTenant:
    """An active connector whose contactCenter is the simulator's webhook, agents known to both sides
    and subscribed in Graph, each agent `available` in the contact center and the connector aware of it."""
    secret = secrets.token_urlsafe(24)
    activate_connector(
        host,
        tenant_id,
        contact_center={"type": "webhook", "url": contact_center.base_url + "/webhook", "secret": secret},
    )
    prefix = tenant_id[:8]
    agent_ids = {name: f"{prefix}-{name}" for name in names}
    contact_center.ok(
        "POST",
        f"/_sim/tenants/{tenant_id}",
        {"connectorUrl": host.base_url, "secret": secret, "agentIds": list(agent_ids.values())},
    )
    agents: dict[str, SyncedAgent] = {}
    for name in names:
        user_id = add_user(graph, tenant_id, f"{name}@{prefix}.example", name.title())
        put = host.call("PUT", f"/api/tenants/{tenant_id}/agents/{agent_ids[name]}", {"userId": user_id})
        assert put.status == 201, put.body
        agents[name] = SyncedAgent(name, agent_ids[name], user_id)
    sync_upn = f"sync@{prefix}.example"
    add_user(graph, tenant_id, sync_upn, "Presence Sync")
    sign_in_sync_account(host, tenant_id, sync_upn)
    wanted = sorted(agent.user_id for agent in agents.values())

    def covering() -> dict[str, Any] | None:
        current = graph.ok("GET", f"/_sim/tenants/{tenant_id}/subscriptions")["value"]
        return next((dict(s) for s in current if sorted(s["userIds"]) == wanted), None)

    subscription = wait_for("the presence subscription of every agent", covering, SYNC_TIMEOUT)
    tenant = SyncedTenant(tenant_id, secret, agents, subscription)
    for agent in agents.values():
        # The connector acts on an agent only once it knows his contact-center state.
        change_agent_state(contact_center, agent, "available")
        wait_for_applied(host, tenant, agent, lambda body: body.get("state") == "available")
    return tenant


def change_agent_state(
    contact_center: ControlApi, agent: SyncedAgent, state: str, idle_code_id: str | None = None
) -> dict[str, Any]:
    """The agent's own change in the contact center; returns the event the simulator sends."""
    body: dict[str, Any] = {"state": state}
    if idle_code_id is not None:
        body["idleCodeId"] = idle_code_id
    reply = contact_center.ok("POST", f"/_sim/agents/{agent.agent_id}/state", body)
    assert reply["delivery"] == "queued", reply
    event: dict[str, Any] = reply["event"]
    return event


def set_teams_presence(
    graph: ControlApi, tenant: SyncedTenant, agent: SyncedAgent, availability: str, activity: str
) -> None:
    """What the user's Teams client shows (his automatic presence: a session aggregated with the
    applications' sessions, DoNotDisturb > Busy > Available > Away)."""
    graph.ok(
        "POST",
        f"/_sim/tenants/{tenant.tenant_id}/users/{agent.user_id}/presence",
        {"availability": availability, "activity": activity},
    )


def pick_teams_presence(
    graph: ControlApi, tenant: SyncedTenant, agent: SyncedAgent, availability: str, activity: str
) -> None:
    """A status the user picks by hand in Teams (his preferred presence: it beats every session)."""
    graph.ok(
        "POST",
        f"/_sim/tenants/{tenant.tenant_id}/users/{agent.user_id}/presence",
        {"availability": availability, "activity": activity, "kind": "preferred"},
    )


def agent_in_contact_center(contact_center: ControlApi, agent: SyncedAgent) -> dict[str, Any]:
    view: dict[str, Any] = contact_center.ok("GET", f"/_sim/agents/{agent.agent_id}")
    return view


def connector_changes(view: dict[str, Any]) -> list[tuple[str, str | None]]:
    """What the connector did to the agent: (state, idleCodeId) of each history entry it caused."""
    return [
        (entry["state"], entry["idleCodeId"]) for entry in view["history"] if entry["source"] == "connector"
    ]


def wait_for_agent(
    contact_center: ControlApi,
    agent: SyncedAgent,
    state: str,
    idle_code_id: str | None = None,
    timeout: float = SYNC_TIMEOUT,
) -> dict[str, Any]:
    def reached() -> dict[str, Any] | None:
        view = agent_in_contact_center(contact_center, agent)
        return view if (view["state"], view["idleCodeId"]) == (state, idle_code_id) else None

    return wait_for(f"agent {agent.agent_id} {state} {idle_code_id or ''}".strip(), reached, timeout)


def teams_user(graph: ControlApi, tenant: SyncedTenant, agent: SyncedAgent) -> dict[str, Any]:
    user: dict[str, Any] = graph.ok("GET", f"/_sim/tenants/{tenant.tenant_id}/users/{agent.user_id}")
    return user


def graph_presence_writes(graph: ControlApi, tenant: SyncedTenant, agent: SyncedAgent) -> list[str]:
    """The setPresence / clearPresence calls Graph answered with success for the user, in order."""
    writes = []
    for request in graph.ok("GET", "/_sim/requests")["value"]:
        path = str(request["path"])
        if request["method"] != "POST" or f"/users/{agent.user_id}/presence/" not in path:
            continue
        if 200 <= int(request["status"]) < 300:
            writes.append(path.rsplit("/", 1)[-1])
    return writes


def bus_deliveries(host: HostClient, session_id: str, kind: str | None = None) -> list[dict[str, Any]]:
    found = deliveries(host, session_id)
    return [d for d in found if kind is None or d["body"].get("schema") == kind]


def wait_for_applied(
    host: HostClient,
    tenant: SyncedTenant,
    agent: SyncedAgent,
    matches: Callable[[dict[str, Any]], bool],
    timeout: float = SYNC_TIMEOUT,
) -> dict[str, Any]:
    """The queue function has completed a message of the agent's session whose body `matches`."""

    def completed() -> dict[str, Any] | None:
        for delivery in deliveries(host, agent.session_id(tenant.tenant_id)):
            if delivery["outcome"] == "completed" and matches(delivery["body"]):
                return dict(delivery)
        return None

    return wait_for(f"a completed queue message of agent {agent.agent_id}", completed, timeout)


def dead_letters(host: HostClient, tenant_id: str) -> list[dict[str, Any]]:
    reply = host.call("GET", "/_devstack/service-bus")
    assert reply.status == 200, reply.body
    letters = reply.json()["deadLetters"]
    return [dict(letter) for letter in letters if str(letter["sessionId"]).startswith(tenant_id + ":")]


def wait_for_quiet_bus(host: HostClient, timeout: float = RETRY_TIMEOUT) -> dict[str, int]:
    """Every message sent so far is settled (completed or dead-lettered): none waits for a redelivery."""

    def quiet() -> dict[str, int] | None:
        reply = host.call("GET", "/_devstack/service-bus")
        assert reply.status == 200, reply.body
        counters: dict[str, int] = reply.json()["counters"]
        return counters if counters["pending"] == 0 and counters["inFlight"] == 0 else None

    return wait_for("the queue to settle", quiet, timeout)


def post_agent_events(host: HostClient, tenant: SyncedTenant, events: Sequence[dict[str, Any]]) -> Reply:
    """What the contact center POSTs to the connector: the batch, signed with the tenant's secret."""
    body = json.dumps({"events": list(events)}, separators=(",", ":")).encode("utf-8")
    return host.call(
        "POST",
        f"/api/tenants/{tenant.tenant_id}/contact-center/events",
        body,
        headers={EVENTS_SIGNATURE_HEADER: events_signature(body, tenant.secret)},
    )


# -- a second Graph subscriber, to hold on to rich notifications exactly as Graph sends them ---------


class NotificationCapture:
    """An HTTP endpoint on 127.0.0.1 that answers Graph's validation handshake and keeps every change
    notification collection POSTed to it, so a test can replay them to the connector."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._collections: list[dict[str, Any]] = []
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _capture_handler(self))
        self._thread = threading.Thread(target=self._server.serve_forever, name="capture", daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}/notifications"

    def start(self) -> NotificationCapture:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=10)

    def __enter__(self) -> NotificationCapture:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def keep(self, collection: dict[str, Any]) -> None:
        with self._lock:
            self._collections.append(collection)

    def notifications(self) -> list[tuple[dict[str, Any], dict[str, Any]]]:
        """(collection, notification) for every notification received, oldest first."""
        with self._lock:
            return [(c, dict(item)) for c in self._collections for item in c.get("value", [])]

    def wait_for_count(
        self, count: int, timeout: float = SYNC_TIMEOUT
    ) -> list[tuple[dict[str, Any], dict[str, Any]]]:
        return wait_for(
            f"{count} captured notification(s)",
            lambda: found if len(found := self.notifications()) >= count else None,
            timeout,
        )


def _capture_handler(capture: NotificationCapture) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            query = parse_qs(urlsplit(self.path).query)
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            if "validationToken" in query:
                token = query["validationToken"][0].encode("utf-8")
                self.send_response(200)
                self.send_header("Content-Type", "text/plain; charset=utf-8")
                self.send_header("Content-Length", str(len(token)))
                self.end_headers()
                self.wfile.write(token)
                return
            capture.keep(json.loads(body))
            self.send_response(202)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            return

    return Handler


def subscribe_capture(
    graph: ControlApi,
    tenant: SyncedTenant,
    observer_user_id: str,
    agents: Sequence[SyncedAgent],
    capture: NotificationCapture,
) -> dict[str, Any]:
    """A second rich presence subscription, made by another user of the tenant for the connector's own
    app, with the connector's clientState and encryption certificate: Graph then sends the capture the
    same encrypted notifications, with validation tokens meant for the connector."""
    template = tenant.subscription
    token = graph.ok(
        "POST",
        "/_sim/tokens",
        {
            "tenantId": tenant.tenant_id,
            "clientId": template["applicationId"],
            "userId": observer_user_id,
            "scopes": ["Presence.Read.All"],
        },
    )["access_token"]
    ids = ",".join(f"'{agent.user_id}'" for agent in agents)
    expiration = datetime.now(UTC) + timedelta(minutes=55)
    created = graph.call(
        "POST",
        "/v1.0/subscriptions",
        {
            "changeType": "updated",
            "notificationUrl": capture.url,
            "resource": f"/communications/presences?$filter=id in ({ids})",
            "expirationDateTime": expiration.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "clientState": template["clientState"],
            "includeResourceData": True,
            "encryptionCertificate": template["encryptionCertificate"],
            "encryptionCertificateId": template["encryptionCertificateId"],
        },
        headers={"authorization": f"Bearer {token}"},
    )
    assert created.status == 201, created.body
    subscription: dict[str, Any] = created.json()
    return subscription


def as_connector_notification(
    collection: dict[str, Any], notification: dict[str, Any], subscription_id: str
) -> dict[str, Any]:
    """One captured notification, as Graph would send it on the connector's own subscription: the same
    encrypted content and validation tokens, the connector's subscription id."""
    replayed: dict[str, Any] = {"value": [{**notification, "subscriptionId": subscription_id}]}
    if "validationTokens" in collection:
        replayed["validationTokens"] = collection["validationTokens"]
    return replayed


# -- a local host of a test's own (the session one shares Azurite with every other test) -------------

STARTUP_SECONDS = 60
STOP_SECONDS = 20
# The flags tests/e2e/conftest.py starts the session host with.
HOST_ARGUMENTS: tuple[str, ...] = (
    "--graph-simulator-port",
    "0",
    "--contact-center-simulator-port",
    "0",
    "--no-demo",
    "--full-log",
)


@contextmanager
def running_local_host(
    connection_string: str,
    log_path: Path,
    *,
    settings: Mapping[str, str] | None = None,
    arguments: Sequence[str] = (),
) -> Iterator[RunningHost]:
    """`python -m devstack` on a free port against `connection_string`, stopped (Ctrl-C) on exit;
    `settings` are app settings of this host only, `arguments` extra devstack flags."""
    port = free_port()
    env = {
        **os.environ,
        **(settings or {}),
        "PORT": str(port),
        "TABLES_CONNECTION_STRING": connection_string,
        "PYTHONUNBUFFERED": "1",
    }
    with log_path.open("wb") as log:
        process = subprocess.Popen(  # noqa: S603 - our own interpreter and module
            [sys.executable, "-m", "devstack", "--port", str(port), *HOST_ARGUMENTS, *arguments],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    client = HostClient(f"http://127.0.0.1:{port}")
    try:
        deadline = time.monotonic() + STARTUP_SECONDS
        while not _healthy(client):
            if process.poll() is not None:
                raise RuntimeError("the local host exited early:\n" + log_path.read_text())
            if time.monotonic() > deadline:
                raise RuntimeError("the local host did not become healthy:\n" + log_path.read_text())
            time.sleep(0.2)
        client.tokens = AdminTokenMinter(graph_url_of(log_path))
        yield RunningHost(client, process, log_path)
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGINT)
            try:
                process.wait(timeout=STOP_SECONDS)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def _healthy(client: HostClient) -> bool:
    try:
        return client.call("GET", "/api/health").status == 200
    except OSError:
        return False
