"""The local host as a real process (`python -m devstack`), on a free port, against the session Azurite.

`host` is the tenant admins' client: every call to `/api/tenants/{tenantId}/...` carries a Global
Administrator's access token of that tenant, minted by the stack's Graph simulator (`POST /_sim/token`)
exactly as `make dev` mints the demo admin's. `host.call(..., auth=False)` sends none; an explicit
`Authorization` header is sent as given.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from devstack.azurite import Azurite, free_port

ROOT = Path(__file__).resolve().parents[2]
STARTUP_SECONDS = 60
# A limit for a hung host, not a latency target: the host's first Graph call loads msgraph-sdk's
# models (over 20 s on a loaded 2-CPU box) before its own Graph timeout starts.
CALL_SECONDS = 120


@dataclass
class Reply:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


_TENANT_PATH = re.compile(r"^/api/tenants/([0-9a-fA-F-]{36})(?:/|$)")
# Tokens are minted for an hour; one older than this is replaced before use.
_TOKEN_REUSE_SECONDS = 1800


class AdminTokenMinter:
    """Admin access tokens per tenant from the Graph simulator's identity platform, reused a while."""

    def __init__(self, graph_url: str) -> None:
        self.graph_url = graph_url
        self._tokens: dict[str, tuple[float, str]] = {}

    def __call__(self, tenant_id: str, **claims: Any) -> str:
        if claims:
            return self._mint(tenant_id, claims)
        minted = self._tokens.get(tenant_id)
        if minted is None or time.monotonic() - minted[0] > _TOKEN_REUSE_SECONDS:
            minted = (time.monotonic(), self._mint(tenant_id, {}))
            self._tokens[tenant_id] = minted
        return minted[1]

    def _mint(self, tenant_id: str, claims: dict[str, Any]) -> str:
        request = urllib.request.Request(
            f"{self.graph_url}/_sim/token",
            data=json.dumps({"tenantId": tenant_id, **claims}).encode(),
            method="POST",
            headers={"content-type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=30) as response:
            return str(json.loads(response.read())["access_token"])


class HostClient:
    def __init__(self, base_url: str, tokens: AdminTokenMinter | None = None) -> None:
        self.base_url = base_url
        self.tokens = tokens

    def admin_headers(self, tenant_id: str, **claims: Any) -> dict[str, str]:
        """`Authorization` of an admin of `tenant_id` (claims as POST /_sim/token takes them)."""
        if self.tokens is None:
            raise RuntimeError("this client has no token minter")
        return {"Authorization": f"Bearer {self.tokens(tenant_id, **claims)}"}

    def call(
        self,
        method: str,
        path: str,
        body: Any = None,
        headers: dict[str, str] | None = None,
        *,
        auth: bool = True,
    ) -> Reply:
        data = None if body is None else (body if isinstance(body, bytes) else json.dumps(body).encode())
        sent = {"content-type": "application/json", **(headers or {})}
        tenant = _TENANT_PATH.match(path)
        if (
            auth
            and self.tokens is not None
            and tenant
            and not any(k.lower() == "authorization" for k in sent)
        ):
            sent["Authorization"] = f"Bearer {self.tokens(tenant.group(1))}"
        request = urllib.request.Request(
            self.base_url + path,
            data=data,
            method=method,
            headers=sent,
        )
        try:
            with urllib.request.urlopen(request, timeout=CALL_SECONDS) as response:
                return Reply(response.status, dict(response.headers.items()), response.read())
        except urllib.error.HTTPError as error:
            return Reply(error.code, dict(error.headers.items()), error.read())


@dataclass
class RunningHost:
    client: HostClient
    process: subprocess.Popen[bytes]
    log_path: Path


@pytest.fixture(scope="session")
def local_host(azurite: Azurite, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningHost]:
    port = free_port()
    log_path = tmp_path_factory.mktemp("host") / "host.log"
    env = {
        **os.environ,
        "PORT": str(port),
        "TABLES_CONNECTION_STRING": azurite.connection_string,
        "PYTHONUNBUFFERED": "1",
    }
    with log_path.open("wb") as log:
        process = subprocess.Popen(  # noqa: S603 - our own interpreter and module
            [
                sys.executable,
                "-m",
                "devstack",
                "--port",
                str(port),
                "--graph-simulator-port",
                "0",
                "--contact-center-simulator-port",
                "0",
                "--no-demo",
                "--full-log",
            ],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    client = HostClient(f"http://127.0.0.1:{port}")
    try:
        deadline = time.monotonic() + STARTUP_SECONDS
        while True:
            if process.poll() is not None:
                raise RuntimeError("the local host exited early:\n" + log_path.read_text())
            try:
                if client.call("GET", "/api/health").status == 200:
                    break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("the local host did not become healthy:\n" + log_path.read_text())
            time.sleep(0.2)
        client.tokens = AdminTokenMinter(graph_url_of(log_path))
        yield RunningHost(client, process, log_path)
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGINT)
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def graph_url_of(log_path: Path, timeout: float = 30.0) -> str:
    """Where the stack's Graph simulator listens, as the stack prints it (right after it starts)."""
    pattern = re.compile(r"Graph \+ identity simulator[^:]*: (http://127\.0\.0\.1:\d+)")
    deadline = time.monotonic() + timeout
    while (found := pattern.search(log_path.read_text())) is None:
        if time.monotonic() > deadline:
            raise RuntimeError(
                "the stack did not print the Graph simulator's address:\n" + log_path.read_text()
            )
        time.sleep(0.1)
    return found.group(1)


@pytest.fixture
def host(local_host: RunningHost) -> HostClient:
    return local_host.client
