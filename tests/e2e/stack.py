"""What the end-to-end tests do on the local stack: the simulators' control APIs, a browser that does
not follow redirects, and polling until the asynchronous parts (notifications, queue) have happened."""

from __future__ import annotations

import json
import re
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit

from tests.e2e.conftest import HostClient, RunningHost

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


def activate_connector(host: HostClient, tenant_id: str) -> None:
    created = host.call(
        "POST", f"/api/tenants/{tenant_id}/connector", {"contactCenter": CONNECTOR_CONTACT_CENTER}
    )
    assert created.status == 201, created.body
    location = redirect_location(created.json()["consentUrl"])
    callback = host.call("GET", location.removeprefix(host.base_url), headers={"accept": "application/json"})
    assert callback.status == 200, callback.body
    assert host.call("GET", f"/api/tenants/{tenant_id}/connector").json()["status"] == "active"


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
