"""`python -m devstack` as a user runs it: starts Azurite and the host, stops both on a signal."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from devstack.azurite import free_port, port_accepts_connections
from tests.integration.devstack.http_calls import call

pytestmark = pytest.mark.integration

REPO_ROOT = Path(__file__).resolve().parents[3]
STARTUP_LIMIT_SECONDS = 90.0
BANNER = "Local Functions host: "


def azurite_pids(port: int) -> list[int]:
    """Processes running azurite-table on `port` (read from /proc, Linux only)."""
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            arguments = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if any(b"azurite" in argument for argument in arguments) and str(port).encode() in arguments:
            pids.append(int(entry.name))
    return pids


class RunningStack:
    def __init__(self, process: subprocess.Popen[str], azurite_port: int) -> None:
        self.process = process
        self.azurite_port = azurite_port
        self.output: list[str] = []
        self.base_url: str | None = None
        self._ready = threading.Event()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.output.append(line)
            if line.startswith(BANNER):
                self.base_url = line.removeprefix(BANNER).strip()
                self._ready.set()
        self._ready.set()

    def wait_for_line(self, text: str) -> None:
        deadline = time.monotonic() + STARTUP_LIMIT_SECONDS
        while not any(text in line for line in self.output):
            if self.process.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"devstack never printed {text!r}:\n" + "".join(self.output))
            time.sleep(0.1)

    def wait_until_ready(self) -> str:
        self._ready.wait(STARTUP_LIMIT_SECONDS)
        if self.base_url is None:
            pytest.fail("devstack did not start:\n" + "".join(self.output))
        return self.base_url

    def transcript(self) -> str:
        self._reader.join(10)
        return "".join(self.output)


def start_stack(app_arguments: list[str]) -> tuple[RunningStack, int]:
    port, azurite_port = free_port(), free_port()
    environment = {
        name: value
        for name, value in os.environ.items()
        if name not in ("TABLES_CONNECTION_STRING", "TABLES_ENDPOINT", "PUBLIC_BASE_URL")
    }
    environment["PORT"] = str(port)
    environment["PYTHONUNBUFFERED"] = "1"
    process = subprocess.Popen(  # noqa: S603 - this interpreter, fixed arguments
        [
            sys.executable,
            "-m",
            "devstack",
            *app_arguments,
            "--azurite-port",
            str(azurite_port),
            "--azurite-in-memory",
            "--graph-simulator-port",
            "0",
            "--contact-center-simulator-port",
            "0",
        ],
        cwd=REPO_ROOT,
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    return RunningStack(process, azurite_port), azurite_port


def stop_stack(stack: RunningStack) -> None:
    if stack.process.poll() is None:
        stack.process.kill()
        stack.process.wait(30)
    for pid in azurite_pids(stack.azurite_port):
        os.kill(pid, signal.SIGKILL)


@pytest.fixture
def running_stack() -> Iterator[RunningStack]:
    stack, _ = start_stack(["--app", "tests.fixtures.sample_function_app:app", "--no-demo"])
    try:
        yield stack
    finally:
        stop_stack(stack)


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_signal_stops_the_host_and_azurite_and_exits_zero(
    running_stack: RunningStack, signum: signal.Signals
) -> None:
    # GIVEN the stack started with the sample app on a free PORT
    base_url = running_stack.wait_until_ready()

    # THEN it serves the app, lists its functions and runs Azurite on the chosen port
    assert base_url.startswith("http://127.0.0.1:")
    assert call("GET", base_url + "/api/items/3").json()["routeParams"] == {"id": "3"}
    assert port_accepts_connections(running_stack.azurite_port)
    assert azurite_pids(running_stack.azurite_port)

    # WHEN it receives the signal
    running_stack.process.send_signal(signum)
    code = running_stack.process.wait(STARTUP_LIMIT_SECONDS)

    # THEN it exits 0 and leaves no Azurite behind
    transcript = running_stack.transcript()
    assert code == 0, transcript
    assert "tenant_file" in transcript
    assert "/api/tenants/{tenantId:guid}/files/{*path}" in transcript
    assert not port_accepts_connections(running_stack.azurite_port)
    assert azurite_pids(running_stack.azurite_port) == []


def test_ctrl_c_on_the_whole_stack_closes_every_connection_cleanly() -> None:
    # GIVEN the real app with the demo tenant set up: the connector holds Graph app credentials
    # (azure-identity's aiohttp sessions), the Graph HTTP pool and the contact-center pool
    stack, _ = start_stack(["--full-log"])
    try:
        stack.wait_until_ready()
        stack.wait_for_line("Press Ctrl-C to stop.")
        assert "ClientSecretCredential.get_token succeeded" in "".join(stack.output)
        # WHEN the user presses Ctrl-C
        stack.process.send_signal(signal.SIGINT)
        code = stack.process.wait(STARTUP_LIMIT_SECONDS)
    finally:
        stop_stack(stack)
    # THEN it stops cleanly: no unclosed aiohttp session or connector, no traceback
    transcript = stack.transcript()
    assert code == 0, transcript
    assert "Unclosed" not in transcript, transcript
    assert "Traceback" not in transcript, transcript
    assert "Stopped" in transcript


def test_make_simulators_runs_both_simulators_alone_for_core_tools() -> None:
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "devstack",
            "--simulators-only",
            "--graph-simulator-port",
            "0",
            "--contact-center-simulator-port",
            "0",
        ],
        cwd=REPO_ROOT,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    stack = RunningStack(process, azurite_port=0)
    try:
        stack.wait_for_line("Press Ctrl-C to stop.")
        text = "".join(stack.output)
        graph = re.search(r"Graph \+ identity simulator: (http://127\.0\.0\.1:\d+)", text)
        contact_center = re.search(r"Contact-center simulator: (http://127\.0\.0\.1:\d+)", text)
        assert graph is not None
        assert contact_center is not None
        assert call("GET", graph.group(1) + "/_sim/info").status == 200
        assert call("GET", contact_center.group(1) + "/_sim/info").status == 200
        # Neither the local host nor Azurite: func start and `npx azurite` take their places
        assert BANNER not in text
        assert "Azurite" not in text.split("For func start:")[0]
        process.send_signal(signal.SIGINT)
        assert process.wait(STARTUP_LIMIT_SECONDS) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(30)
