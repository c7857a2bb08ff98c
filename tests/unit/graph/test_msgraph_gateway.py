"""Gateway behaviour that needs no Graph: deadlines, closing, argument checks."""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Any

import pytest

from shared.graph.exceptions import GraphError, GraphUnavailable
from shared.graph.model import UserPageRequest, UserQuery
from shared.graph.msgraph_gateway import MsGraphGateway


class HangingCredential:
    """A token endpoint that never answers."""

    def __init__(self) -> None:
        self.closed = False

    async def get_token(self, *scopes: str, **kwargs: Any) -> Any:
        await asyncio.sleep(3600)

    async def close(self) -> None:
        self.closed = True


def test_a_call_past_its_deadline_is_unavailability_and_close_releases_credentials() -> None:
    credentials: list[HangingCredential] = []

    def factory(tenant_id: str) -> Any:
        credentials.append(HangingCredential())
        return credentials[-1]

    # GIVEN a gateway whose token acquisition hangs
    gateway = MsGraphGateway(factory, "http://127.0.0.1:9/v1.0", timeout_seconds=0.2)
    try:
        # WHEN a call is made, THEN it gives up at the deadline with GraphUnavailable
        with pytest.raises(GraphUnavailable, match="did not answer"):
            gateway.get_user("tenant-a", "ann@contoso.example")
        # AND the tenant's credential is built once and reused
        with pytest.raises(GraphUnavailable):
            gateway.search_users("tenant-a", UserQuery(name="x"))
        assert len(credentials) == 1
    finally:
        gateway.close()
    # THEN closing closed the credential, and the closed gateway refuses calls
    assert credentials[0].closed
    with pytest.raises(RuntimeError, match="closed"):
        gateway.get_user("tenant-a", "ann@contoso.example")


def _no_credential(tenant_id: str) -> Any:
    raise AssertionError("no credential should be needed")


def test_arguments_are_checked() -> None:
    with pytest.raises(ValueError, match="timeout"):
        MsGraphGateway(_no_credential, timeout_seconds=0)
    with pytest.raises(ValueError, match="retries"):
        MsGraphGateway(_no_credential, max_retries=-1)
    with MsGraphGateway(_no_credential) as gateway, pytest.raises(ValueError, match="timezone"):
        gateway.renew_subscription("t", lambda: "token", "sub", datetime(2030, 1, 1))


def test_the_sdk_free_reads_never_send_a_token_over_plain_http_off_this_machine() -> None:
    gateway = MsGraphGateway(_no_credential, "http://graph.example/v1.0", timeout_seconds=5)
    try:
        with pytest.raises(GraphError, match="plain http"):
            gateway.list_users_page("tenant-a", UserPageRequest(select=("id",), top=1))
        with pytest.raises(GraphError, match="plain http"):
            gateway.get_presences("tenant-a", ["8f0d9c1e-0000-4000-8000-000000000001"])
    finally:
        gateway.close()
