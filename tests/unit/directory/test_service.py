"""The directory service: the gate, two Graph calls per page, presence, paging, caching, exclusions."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from shared.connectors.exceptions import ConnectorNotActive, ConnectorNotFound
from shared.connectors.model import ConnectorStatus
from shared.directory.cache import DirectoryPageCache
from shared.directory.commands import DirectoryRequest
from shared.directory.exceptions import InvalidSkipToken, ShowUserDetailsDisabled
from shared.directory.model import DirectoryQuery
from shared.directory.service import DirectoryService
from shared.directory.skip_tokens import SkipTokenSigner
from shared.directory.views import page_json
from shared.graph.exceptions import GraphUnavailable
from shared.graph.model import Presence
from tests.fakes import FakeClock
from tests.unit.directory.fakes import (
    OTHER_TENANT,
    TENANT,
    FakeConnectors,
    FakeDirectoryGraph,
    FakeServiceAccounts,
    connector,
    user,
)

KEY = b"k" * 32


class World:
    def __init__(self, users: int = 0) -> None:
        self.clock = FakeClock()
        self.graph = FakeDirectoryGraph(users=[user(n) for n in range(1, users + 1)])
        self.connectors = FakeConnectors(
            {TENANT: connector(), OTHER_TENANT: connector(tenant_id=OTHER_TENANT)}
        )
        self.accounts = FakeServiceAccounts()
        self.signer = SkipTokenSigner(KEY, self.clock)
        self.service = DirectoryService(
            self.connectors,
            self.graph,
            self.accounts,
            self.signer,
            DirectoryPageCache(self.clock),
            "US",
        )

    def search(
        self, tenant_id: str = TENANT, skip_token: str | None = None, **query: object
    ) -> dict[str, Any]:
        request = DirectoryRequest(DirectoryQuery(**query), skip_token)  # type: ignore[arg-type]
        return page_json(self.service.search(tenant_id, request))


@pytest.fixture
def world() -> World:
    return World(users=3)


def test_a_page_is_two_graph_calls_with_presence_for_the_whole_page(world: World) -> None:
    ids = [u.id for u in world.graph.users]
    world.graph.presences[ids[0]] = Presence(ids[0], "Available", "Available", "1", status_message="On shift")
    world.graph.presences[ids[1]] = Presence(ids[1], "Busy", "InACall", "2", out_of_office=True)
    page = world.search(search="user", top=50)
    assert world.graph.calls == 2
    assert world.graph.presence_requests == [ids]
    first, second, third = page["value"]
    assert first == {
        "id": ids[0],
        "displayName": "User 1",
        "department": "Support",
        "jobTitle": "Agent",
        "userPrincipalName": "user1@contoso.example",
        "mail": "user1@contoso.example",
        "businessPhone": "+14255550001",
        "transferable": True,
        "transferTarget": {"type": "pstn", "number": "+14255550001"},
        "presence": {
            "availability": "Available",
            "activity": "Available",
            "outOfOffice": False,
            "statusMessage": "On shift",
        },
    }
    assert second["presence"] == {
        "availability": "Busy",
        "activity": "InACall",
        "outOfOffice": True,
        "statusMessage": None,
    }
    # A user Graph has no presence for is shown as unknown, not dropped
    assert third["presence"]["availability"] == "PresenceUnknown"
    assert page["nextSkipToken"] is None


def test_phones_fall_back_to_the_mobile_and_otherwise_are_not_transferable(world: World) -> None:
    world.graph.users = [
        user(1, business_phones=("garbage",), mobile_phone="(425) 555-0199"),
        user(2, business_phones=(), mobile_phone=None),
        user(3, business_phones=("+1 425 555 0100 x12",)),
    ]
    value = world.search()["value"]
    assert [(e["businessPhone"], e["transferable"], e["transferTarget"]) for e in value] == [
        ("+14255550199", True, {"type": "pstn", "number": "+14255550199"}),
        (None, False, None),
        (None, False, None),
    ]


def test_available_keeps_available_users_who_are_not_out_of_office(world: World) -> None:
    a, b, c = (u.id for u in world.graph.users)
    world.graph.presences = {
        a: Presence(a, "Available", "Available", None),
        b: Presence(b, "Available", "Available", None, out_of_office=True),
        c: Presence(c, "AvailableIdle", "Available", None),
    }
    assert [e["id"] for e in world.search(available=True)["value"]] == [a]


def test_paging_follows_signed_tokens_bound_to_tenant_and_query() -> None:
    world = World(users=5)
    first = world.search(top=2)
    token = first["nextSkipToken"]
    assert isinstance(token, str)
    second = world.search(top=2, skip_token=token)
    third = world.search(top=2, skip_token=second["nextSkipToken"])
    seen = [e["id"] for page in (first, second, third) for e in page["value"]]
    assert seen == [u.id for u in world.graph.users]
    assert third["nextSkipToken"] is None
    assert [r.skip_token for r in world.graph.user_requests] == [None, "2", "4"]
    # The token is no good for another query, another tenant, once tampered with or expired
    with pytest.raises(InvalidSkipToken, match="another query"):
        world.search(top=3, skip_token=token)
    with pytest.raises(InvalidSkipToken, match="another query"):
        world.search(top=2, department="Sales", skip_token=token)
    with pytest.raises(InvalidSkipToken, match="another tenant"):
        world.search(OTHER_TENANT, top=2, skip_token=token)
    with pytest.raises(InvalidSkipToken, match="not a token"):
        world.search(top=2, skip_token=token[:-2] + ("AA" if token[-2:] != "AA" else "BB"))
    with pytest.raises(InvalidSkipToken, match="not a token"):
        world.search(top=2, skip_token="https://evil.example/v1.0/users?$skiptoken=x")
    world.clock.advance(minutes=16)
    with pytest.raises(InvalidSkipToken, match="expired"):
        world.search(top=2, skip_token=token)


def test_graph_refusing_an_old_page_token_is_an_expired_skip_token() -> None:
    world = World(users=3)
    token = world.search(top=2)["nextSkipToken"]
    world.graph.expire_skip_tokens = True
    with pytest.raises(InvalidSkipToken, match="expired"):
        world.search(top=2, skip_token=token)


def test_users_are_cached_up_to_sixty_seconds_presence_never(world: World) -> None:
    a = world.graph.users[0].id
    world.graph.presences[a] = Presence(a, "Available", "Available", None)
    world.search(search="user")
    world.graph.presences[a] = Presence(a, "Busy", "InACall", None)
    world.clock.advance(seconds=59)
    again = world.search(search="user")
    assert len(world.graph.user_requests) == 1
    assert len(world.graph.presence_requests) == 2
    assert again["value"][0]["presence"]["availability"] == "Busy"
    # Another query or another tenant is another entry
    world.search(search="other")
    world.search(OTHER_TENANT, search="user")
    assert len(world.graph.user_requests) == 3
    world.clock.advance(seconds=1)
    world.search(search="user")
    assert len(world.graph.user_requests) == 4


def test_sync_accounts_are_excluded_by_graph_and_again_after_the_cache(world: World) -> None:
    world.search()
    service_user = world.graph.users[1].id
    world.accounts.ids = frozenset({service_user})
    # A cached page (same Graph request) cannot hold it: the new id changes the request
    value = world.search()["value"]
    assert service_user not in [e["id"] for e in value]
    assert f"id ne '{service_user}'" in (world.graph.user_requests[-1].filter or "")
    # Even when Graph still returns it (directory replication lag)
    assert world.graph.presence_requests[-1] == [world.graph.users[0].id, world.graph.users[2].id]


def test_an_empty_page_needs_no_presence_call_and_nothing_searchable_needs_no_call(world: World) -> None:
    world.graph.users = []
    assert world.search(search="nobody") == {"value": [], "nextSkipToken": None}
    assert world.graph.calls == 1
    assert world.search(search='"\\"') == {"value": [], "nextSkipToken": None}
    assert world.graph.calls == 1


@pytest.mark.parametrize(
    ("change", "error", "message"),
    [
        (None, ConnectorNotFound, "has no connector"),
        (lambda c: replace(c, status=ConnectorStatus.INACTIVE), ConnectorNotActive, "is inactive"),
        (lambda c: replace(c, status=ConnectorStatus.PENDING_CONSENT), ConnectorNotActive, "pendingConsent"),
        (
            lambda c: replace(c, settings=replace(c.settings, show_user_details=False)),
            ShowUserDetailsDisabled,
            "off",
        ),
    ],
)
def test_the_gate_comes_before_any_graph_call(
    world: World, change: object, error: type, message: str
) -> None:
    if change is None:
        del world.connectors.rows[TENANT]
    else:
        world.connectors.rows[TENANT] = change(world.connectors.rows[TENANT])  # type: ignore[operator]
    with pytest.raises(error, match=message):
        world.search(search="user")
    assert world.graph.calls == 0


def test_graph_failures_reach_the_caller_and_nothing_is_cached(world: World) -> None:
    def down(*args: object) -> object:
        raise GraphUnavailable("Graph did not answer")

    original = world.graph.list_users_page
    world.graph.list_users_page = down  # type: ignore[method-assign, assignment]
    with pytest.raises(GraphUnavailable):
        world.search()
    world.graph.list_users_page = original  # type: ignore[method-assign]
    assert len(world.search()["value"]) == 3
