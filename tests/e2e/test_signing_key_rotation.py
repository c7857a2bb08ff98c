"""A rotation of the identity platform's signing keys reaches the running host without a restart:
a token signed with a new `kid` makes the host refetch the JWKS once (rate-limited) and is accepted.

The host runs on its own (the Graph simulator's keys change for everyone who uses it), with
SIGNING_KEYS_MIN_REFRESH_SECONDS=1 so the test waits one second for the rate limit, not five minutes.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import jwt
import pytest

from devstack.azurite import Azurite
from tests.e2e.conftest import RunningHost
from tests.e2e.stack import graph_simulator, running_local_host

pytestmark = pytest.mark.e2e

MIN_REFRESH_SECONDS = 1


@pytest.fixture
def own_host(azurite: Azurite, tmp_path: Path) -> Iterator[RunningHost]:
    with running_local_host(
        azurite.connection_string,
        tmp_path / "host.log",
        settings={"SIGNING_KEYS_MIN_REFRESH_SECONDS": str(MIN_REFRESH_SECONDS)},
    ) as running:
        yield running


def _kid(token: str) -> str:
    return str(jwt.get_unverified_header(token)["kid"])


def test_a_new_signing_key_is_picked_up_without_a_restart(own_host: RunningHost) -> None:
    host = own_host.client
    assert host.tokens is not None
    graph = graph_simulator(own_host)
    tenant_id = str(uuid.uuid4())
    path = f"/api/tenants/{tenant_id}/connector"

    def answer(token: str) -> int:
        return host.call("GET", path, headers={"Authorization": f"Bearer {token}"}).status

    # GIVEN a host that verified an admin's token with the current key (404: verified, no connector yet)
    before = host.tokens(tenant_id, upn="admin@contoso.example")
    assert answer(before) == 404
    pid = own_host.process.pid

    # WHEN the identity platform rotates (the old key stays published for a while, as Entra does)
    rotated = graph.ok("POST", "/_sim/keys/rotate", {})
    time.sleep(MIN_REFRESH_SECONDS + 0.2)
    after = host.tokens(tenant_id, upn="admin@contoso.example")
    assert _kid(after) == rotated["kid"] != _kid(before)

    # THEN a token with the new kid is accepted by the running host, and the old one still is
    assert answer(after) == 404
    assert answer(before) == 404

    # AND after a second rotation that retires the previous keys, the newest key works too
    time.sleep(MIN_REFRESH_SECONDS + 0.2)
    newest = graph.ok("POST", "/_sim/keys/rotate", {"retirePrevious": True})
    latest = host.tokens(tenant_id, upn="admin@contoso.example")
    assert _kid(latest) == newest["kid"]
    assert answer(latest) == 404
    # the same process all along, which fetched the keys again each time a new kid came in
    assert own_host.process.poll() is None
    assert own_host.process.pid == pid
    assert own_host.log_path.read_text().count("signing key(s) from") >= 3
