"""`python -m devstack` with the real app brings up the demo tenant and its live view, on free ports;
a restart with the persisted Azurite data brings the same tenant back."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import pytest

from devstack.azurite import free_port
from devstack.demo_tenant import (
    DEMO_AGENTS,
    DEMO_EXPERTS,
    DEMO_SYNC_ACCOUNT,
    DEMO_TENANT_ID,
    JsonHttp,
    seed_demo_tenant,
)
from tests.integration.devstack.test_devstack_main import azurite_pids

pytestmark = pytest.mark.integration

T = TypeVar("T")

REPO_ROOT = Path(__file__).resolve().parents[3]
STARTUP_LIMIT_SECONDS = 180.0
SYNC_LIMIT_SECONDS = 20.0
DEMO_READY = re.compile(r"^Demo tenant " + DEMO_TENANT_ID + r": connector active", re.MULTILINE)
DEMO_FAILED = "The demo tenant could not be set up"
ANN, BOB = DEMO_AGENTS[0], DEMO_AGENTS[1]
_ENVIRONMENT_OF_OTHER_RUNS = (
    "TABLES_CONNECTION_STRING",
    "TABLES_ENDPOINT",
    "PUBLIC_BASE_URL",
    "GRAPH_SIMULATOR_PORT",
    "CONTACT_CENTER_SIMULATOR_PORT",
)


def wait_for(what: str, probe: Callable[[], T | None], timeout: float = SYNC_LIMIT_SECONDS) -> T:
    deadline = time.monotonic() + timeout
    while True:
        value = probe()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.1)


@dataclass
class DemoStack:
    process: subprocess.Popen[bytes]
    log_path: Path
    http: JsonHttp

    def transcript(self) -> str:
        return self.log_path.read_text(errors="replace")

    def printed_url(self, name: str) -> str:
        found = re.search(re.escape(name) + r": (http://127\.0\.0\.1:\d+)", self.transcript())
        assert found is not None, f"{name} is not in the output:\n{self.transcript()}"
        return found.group(1)

    @property
    def host_url(self) -> str:
        return self.printed_url("Local Functions host")

    @property
    def graph_url(self) -> str:
        return self.printed_url("Graph + identity simulator")

    @property
    def cc_url(self) -> str:
        return self.printed_url("Contact-center simulator")

    def wait_for_demo(self) -> None:
        deadline = time.monotonic() + STARTUP_LIMIT_SECONDS
        while not DEMO_READY.search(self.transcript()):
            if DEMO_FAILED in self.transcript() or self.process.poll() is not None:
                pytest.fail("the demo tenant was not set up:\n" + self.transcript())
            if time.monotonic() > deadline:
                pytest.fail("the demo tenant was not ready in time:\n" + self.transcript())
            time.sleep(0.2)

    @property
    def admin_token(self) -> str:
        """The token `make dev` prints for the demo tenant's admin (`export TOKEN=...`)."""
        found = re.search(r"^export TOKEN=(\S+)$", self.transcript(), re.MULTILINE)
        assert found is not None, f"no export TOKEN= line in the output:\n{self.transcript()}"
        return found.group(1)

    def get(self, url: str) -> Any:
        return self.http.expect("GET", url).json()

    def admin_get(self, url: str) -> Any:
        """An admin API call with the printed token, exactly as the README's walk-through makes it."""
        return self.http.expect("GET", url, headers={"Authorization": f"Bearer {self.admin_token}"}).json()

    def post(self, url: str, body: Any) -> Any:
        return self.http.expect("POST", url, body).json()

    def cc_agent(self, agent_id: str) -> dict[str, Any]:
        agent: dict[str, Any] = self.get(f"{self.cc_url}/_sim/agents/{agent_id}")
        return agent

    def teams_user(self, user_id: str) -> dict[str, Any]:
        user: dict[str, Any] = self.get(f"{self.graph_url}/_sim/tenants/{DEMO_TENANT_ID}/users/{user_id}")
        return user

    def graph_subscriptions(self) -> list[dict[str, Any]]:
        return list(self.get(f"{self.graph_url}/_sim/tenants/{DEMO_TENANT_ID}/subscriptions")["value"])

    def set_teams_presence(self, user_id: str, availability: str, activity: str) -> None:
        self.post(
            f"{self.graph_url}/_sim/tenants/{DEMO_TENANT_ID}/users/{user_id}/presence",
            {"availability": availability, "activity": activity},
        )


@contextmanager
def running_devstack(log_path: Path, azurite_data: Path | None) -> Iterator[DemoStack]:
    """The stack as `make dev` runs it, but on free ports; always stopped, Azurite included."""
    port, azurite_port = free_port(), free_port()
    environment = {
        name: value for name, value in os.environ.items() if name not in _ENVIRONMENT_OF_OTHER_RUNS
    }
    environment.update({"PORT": str(port), "PYTHONUNBUFFERED": "1"})
    storage = ["--azurite-in-memory"] if azurite_data is None else ["--azurite-data", str(azurite_data)]
    with log_path.open("wb") as log:
        process = subprocess.Popen(  # noqa: S603 - this interpreter, fixed arguments
            [
                sys.executable,
                "-m",
                "devstack",
                "--port",
                str(port),
                "--azurite-port",
                str(azurite_port),
                *storage,
                "--graph-simulator-port",
                "0",
                "--contact-center-simulator-port",
                "0",
            ],
            cwd=REPO_ROOT,
            env=environment,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        yield DemoStack(process, log_path, JsonHttp(timeout=30))
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGINT)
            try:
                process.wait(60)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(30)
        for pid in azurite_pids(azurite_port):
            os.kill(pid, signal.SIGKILL)


@pytest.fixture(scope="module")
def demo_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DemoStack]:
    with running_devstack(tmp_path_factory.mktemp("demo") / "devstack.log", azurite_data=None) as stack:
        stack.wait_for_demo()
        yield stack


def idle_set_by_connector(stack: DemoStack, agent_id: str, idle_code_id: str) -> dict[str, Any] | None:
    agent = stack.cc_agent(agent_id)
    last = agent["history"][-1]
    if (agent["state"], agent["idleCodeId"], last["source"]) == ("idle", idle_code_id, "connector"):
        return agent
    return None


def test_the_demo_tenant_is_active_with_five_subscribed_agents(demo_stack: DemoStack) -> None:
    # GIVEN the stack started by `python -m devstack` (the demo runs by default)
    tenant_url = f"{demo_stack.host_url}/api/tenants/{DEMO_TENANT_ID}"

    # THEN the connector is active and sends to the contact-center simulator's webhook
    connector = demo_stack.admin_get(f"{tenant_url}/connector")
    assert connector["status"] == "active"
    assert connector["contactCenter"]["type"] == "webhook"
    assert connector["contactCenter"]["url"] == f"{demo_stack.cc_url}/webhook"
    # AND the five agents are subscribed through one Graph subscription made with the sync account
    agents = demo_stack.admin_get(f"{tenant_url}/agents")["agents"]
    assert sorted(a["agentId"] for a in agents if a["subscribed"]) == [a.agent_id for a in DEMO_AGENTS]
    (subscription,) = demo_stack.graph_subscriptions()
    assert sorted(subscription["userIds"]) == sorted(a.user.user_id for a in DEMO_AGENTS)
    assert subscription["creator"] == DEMO_SYNC_ACCOUNT.user_id
    (account,) = demo_stack.admin_get(f"{tenant_url}/sync-accounts")["syncAccounts"]
    assert (account["userPrincipalName"], account["status"]) == (
        DEMO_SYNC_ACCOUNT.user_principal_name,
        "healthy",
    )
    # AND the contact-center simulator sends the tenant's agent events to the connector, signed
    cc_tenant = demo_stack.get(f"{demo_stack.cc_url}/_sim/tenants/{DEMO_TENANT_ID}")
    assert cc_tenant["eventsUrl"] == f"{tenant_url}/contact-center/events"
    assert cc_tenant["secretKnown"] is True
    assert cc_tenant["agentIds"] == [a.agent_id for a in DEMO_AGENTS]
    # AND the directory has what an admin would see
    ann = demo_stack.teams_user(ANN.user.user_id)
    assert (ann["displayName"], ann["department"], ann["businessPhones"]) == (
        "Ann Lee",
        "Customer Support",
        [ANN.user.phone],
    )
    # AND the output shows how to try it, the admin's token first
    transcript = demo_stack.transcript()
    assert f"export BASE={demo_stack.host_url}/api TENANT={DEMO_TENANT_ID}" in transcript
    unauthenticated = demo_stack.http.call("GET", f"{tenant_url}/connector")
    assert unauthenticated.status == 401
    assert f"curl -X POST {demo_stack.graph_url}/_sim/tenants/{DEMO_TENANT_ID}/users/" in transcript
    assert f"curl -X POST {demo_stack.cc_url}/_sim/agents/{BOB.agent_id}/state" in transcript


def test_a_teams_presence_change_moves_the_agent_and_shows_in_the_live_view(demo_stack: DemoStack) -> None:
    # WHEN Ann presents in Teams
    demo_stack.set_teams_presence(ANN.user.user_id, "DoNotDisturb", "Presenting")

    # THEN the connector puts her in the mapped idle code in the contact center
    wait_for(
        "Ann in idle code teams-presenting",
        lambda: idle_set_by_connector(demo_stack, ANN.agent_id, "teams-presenting"),
    )
    # AND the live view printed the pair with its delay
    line = re.compile(
        r"agent-001 Ann Lee\s+Teams DoNotDisturb/Presenting  ->  "
        r"contact center idle teams-presenting  \(\d+ ms\)"
    )
    wait_for("the live view line", lambda: line.search(demo_stack.transcript()))


def test_a_customer_call_in_the_contact_center_shows_in_teams(demo_stack: DemoStack) -> None:
    # WHEN Bob takes a customer call
    demo_stack.post(f"{demo_stack.cc_url}/_sim/agents/{BOB.agent_id}/state", {"state": "onCall"})

    # THEN Teams shows him in a call through the connector's presence session
    def in_a_call() -> dict[str, Any] | None:
        user = demo_stack.teams_user(BOB.user.user_id)
        presence = user["presence"]
        return user if (presence["availability"], presence["activity"]) == ("Busy", "InACall") else None

    user = wait_for("Bob busy in Teams", in_a_call)
    assert [(s["availability"], s["activity"]) for s in user["sessions"]] == [("Busy", "InACall")]


def test_the_demo_experts_are_in_the_directory(demo_stack: DemoStack) -> None:
    # GIVEN the demo tenant, WHEN its admin (any signed-in user may) searches the Billing department
    url = f"{demo_stack.host_url}/api/tenants/{DEMO_TENANT_ID}/directory/users?department=Billing"
    found = demo_stack.admin_get(url)["value"]
    # THEN the Billing experts and agent come back with E.164 phones, the disabled account does not
    by_name = {e["displayName"]: e for e in found}
    assert set(by_name) == {"Chloé Martin", "Raj Patel", "David Okafor"}
    assert by_name["Chloé Martin"]["presence"]["outOfOffice"] is True
    assert by_name["Chloé Martin"]["transferTarget"] == {"type": "pstn", "number": "+442079460203"}
    assert by_name["Raj Patel"]["transferable"] is False
    named = demo_stack.admin_get(f"{url.split('?', maxsplit=1)[0]}?search=o%27brien")["value"]
    assert [(e["displayName"], e["businessPhone"]) for e in named] == [("Seán O'Brien", "+14255550202")]
    assert len(DEMO_EXPERTS) == 5


def test_seeding_again_reuses_what_exists(demo_stack: DemoStack) -> None:
    # GIVEN the demo tenant the stack set up
    before = demo_stack.graph_subscriptions()
    connector_before = demo_stack.admin_get(f"{demo_stack.host_url}/api/tenants/{DEMO_TENANT_ID}/connector")

    # WHEN it is seeded again
    demo = seed_demo_tenant(demo_stack.host_url, demo_stack.graph_url, demo_stack.cc_url)

    # THEN the same connector, users and subscription serve it: nothing was set up twice
    assert demo.subscription_ids == tuple(s["id"] for s in before)
    assert demo_stack.graph_subscriptions() == before
    connector = demo_stack.admin_get(f"{demo_stack.host_url}/api/tenants/{DEMO_TENANT_ID}/connector")
    assert (connector["createdAt"], connector["activatedAt"]) == (
        connector_before["createdAt"],
        connector_before["activatedAt"],
    )
    users = demo_stack.get(f"{demo_stack.graph_url}/_sim/tenants/{DEMO_TENANT_ID}/users")["value"]
    assert len(users) == len(DEMO_AGENTS) + 2 + len(DEMO_EXPERTS)


def test_a_restart_with_persisted_data_brings_the_demo_tenant_back(tmp_path: Path) -> None:
    # GIVEN a first run that stored the demo tenant in Azurite, then stopped
    data = tmp_path / "azurite"
    with running_devstack(tmp_path / "first.log", azurite_data=data) as first:
        first.wait_for_demo()
        created_at = first.admin_get(f"{first.host_url}/api/tenants/{DEMO_TENANT_ID}/connector")["createdAt"]

    # WHEN the stack starts again on the same data (the simulators start empty)
    with running_devstack(tmp_path / "second.log", azurite_data=data) as second:
        second.wait_for_demo()

        # THEN it is the same connector, subscribed again in the new Graph simulator
        connector = second.admin_get(f"{second.host_url}/api/tenants/{DEMO_TENANT_ID}/connector")
        assert (connector["status"], connector["createdAt"]) == ("active", created_at)
        (subscription,) = second.graph_subscriptions()
        assert sorted(subscription["userIds"]) == sorted(a.user.user_id for a in DEMO_AGENTS)
        # AND presence still syncs
        second.set_teams_presence(ANN.user.user_id, "Busy", "InACall")
        wait_for(
            "Ann in idle code teams-call", lambda: idle_set_by_connector(second, ANN.agent_id, "teams-call")
        )
