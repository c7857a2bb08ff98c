"""Strict parsing of what clients send about agents: ids that become table keys, exactly one user
reference, the import envelope, page sizes and cursors."""

from __future__ import annotations

from typing import Any

import pytest

from shared.agents.commands import (
    ImportItem,
    RejectedItem,
    UserById,
    UserByPrincipalName,
    parse_agent_id,
    parse_import,
    parse_page_size,
    parse_user_reference,
)
from shared.agents.cursors import decode_cursor, encode_cursor
from shared.agents.exceptions import InvalidAgentInput, InvalidCursor, TooManyAgents
from shared.agents.model import ContinuationToken

TENANT = "72f988bf-86f1-41af-91ab-2d7cd011db47"
USER = "6e7b768e-07e2-4810-8459-485f84f8f204"


@pytest.mark.parametrize("agent_id", ["a", "agent-7", "AG_01.x", "ann@contoso.com", "cc:1234", "x" * 128])
def test_agent_ids_from_the_safe_alphabet_are_kept_as_sent(agent_id: str) -> None:
    assert parse_agent_id(agent_id) == agent_id


@pytest.mark.parametrize(
    "agent_id", [None, "", "x" * 129, "a/b", "a#b", "a?b", "a b", "a|b", "é", "a\n", 7, "a\\b", "a'b"]
)
def test_agent_ids_that_could_break_a_row_key_are_refused(agent_id: Any) -> None:
    with pytest.raises(InvalidAgentInput, match="agentId must be 1 to 128 characters"):
        parse_agent_id(agent_id)


def test_a_user_id_is_normalised_to_lower_case() -> None:
    # GIVEN an object id typed in upper case
    # WHEN it is parsed
    reference = parse_user_reference({"userId": USER.upper()})
    # THEN it is one key however it was typed
    assert reference == UserById(USER)


def test_a_user_principal_name_is_kept_as_sent() -> None:
    assert parse_user_reference({"userPrincipalName": "Ann.Lee@Contoso.com"}) == UserByPrincipalName(
        "Ann.Lee@Contoso.com"
    )
    guest = "ann_fabrikam.com#EXT#@contoso.onmicrosoft.com"
    assert parse_user_reference({"userPrincipalName": guest}) == UserByPrincipalName(guest)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (None, "JSON object body"),
        ({}, "exactly one of userId"),
        ({"userId": USER, "userPrincipalName": "a@b.c"}, "exactly one of userId"),
        ({"userId": None}, "exactly one of userId"),
        ({"userId": "not-a-guid"}, "userId must be the user's Entra object id"),
        ({"userId": 12}, "userId must be the user's Entra object id"),
        ({"userId": f"{{{USER}}}"}, "userId must be the user's Entra object id"),
        ({"userPrincipalName": "no-at-sign"}, "alias@domain"),
        ({"userPrincipalName": "a b@c.d"}, "alias@domain"),
        ({"userPrincipalName": "a/b@c.d"}, "alias@domain"),
        ({"userPrincipalName": "a@b@c"}, "alias@domain"),
        ({"userPrincipalName": "@c.d"}, "alias@domain"),
        ({"userPrincipalName": "ab@"}, "alias@domain"),
        ({"userPrincipalName": "a\u0000@b.c"}, "alias@domain"),
        ({"userPrincipalName": "x" * 300 + "@b.c"}, "3 to 256 characters"),
        ({"userPrincipalName": ["a@b.c"]}, "3 to 256 characters"),
        ({"userId": USER, "agentId": "a1"}, "unknown field"),
    ],
)
def test_bad_user_references_are_refused_with_a_clear_message(body: Any, message: str) -> None:
    with pytest.raises(InvalidAgentInput, match=message):
        parse_user_reference(body)


def test_an_import_keeps_good_items_and_rejects_bad_ones_one_by_one() -> None:
    # GIVEN an import where some items are broken
    body = {
        "agents": [
            {"agentId": "a1", "userId": USER},
            {"agentId": "a2", "userPrincipalName": "b@contoso.com"},
            "not an object",
            {"agentId": "bad/id", "userId": USER},
            {"agentId": "a5"},
            {"agentId": "a6", "userId": USER, "extra": True},
        ]
    }
    # WHEN it is parsed
    items = parse_import(body)
    # THEN each item has its own outcome, in order, keeping the agent id whenever it was valid
    assert items[0] == ImportItem("a1", UserById(USER))
    assert items[1] == ImportItem("a2", UserByPrincipalName("b@contoso.com"))
    assert items[2] == RejectedItem(None, "agents[2] must be an object")
    assert isinstance(items[3], RejectedItem)
    assert items[3].agent_id is None
    assert "agents[3].agentId" in items[3].message
    assert isinstance(items[4], RejectedItem)
    assert items[4].agent_id == "a5"
    assert "agents[4].userId" in items[4].message
    assert isinstance(items[5], RejectedItem)
    assert "agents[5].extra" in items[5].message


@pytest.mark.parametrize(
    ("body", "error", "message"),
    [
        (None, InvalidAgentInput, "agents list"),
        ({}, InvalidAgentInput, "agents must be a list"),
        ({"agents": {}}, InvalidAgentInput, "agents must be a list"),
        ({"agents": []}, InvalidAgentInput, "1 to 1000"),
        ({"agents": [], "dryRun": True}, InvalidAgentInput, "unknown field"),
        ({"agents": [{}] * 1001}, TooManyAgents, "at most 1000 agents, this one has 1001"),
    ],
)
def test_a_broken_import_envelope_refuses_the_whole_request(
    body: Any, error: type[Exception], message: str
) -> None:
    with pytest.raises(error, match=message):
        parse_import(body)


def test_too_many_agents_is_its_own_code() -> None:
    with pytest.raises(TooManyAgents) as caught:
        parse_import({"agents": [{"agentId": "a", "userId": USER}] * 1001})
    assert caught.value.code == "tooManyAgents"


@pytest.mark.parametrize(("raw", "size"), [(None, 100), ("", 100), ("1", 1), ("500", 500), ("042", 42)])
def test_page_sizes(raw: str | None, size: int) -> None:
    assert parse_page_size(raw) == size


@pytest.mark.parametrize("raw", ["0", "501", "-1", "+5", "1.5", "ten", " 5", "٣", "99999999999"])
def test_bad_page_sizes_are_refused(raw: str) -> None:
    with pytest.raises(InvalidAgentInput, match="limit must be a whole number from 1 to 500"):
        parse_page_size(raw)


def test_a_cursor_round_trips_and_is_url_safe() -> None:
    token = ContinuationToken("1!48!NzJmOTg4YmY-", "1!20!YWdlbnR8eDU-")
    cursor = encode_cursor(TENANT, token)
    assert set(cursor) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
    assert decode_cursor(TENANT, cursor) == token


def test_a_cursor_of_another_tenant_is_refused() -> None:
    # GIVEN a cursor issued while paging another tenant's agents
    cursor = encode_cursor("11111111-2222-3333-4444-555555555555", ContinuationToken("p", "r"))
    # WHEN it is used for this tenant THEN it is refused: it must never steer this tenant's query
    with pytest.raises(InvalidCursor):
        decode_cursor(TENANT, cursor)


@pytest.mark.parametrize(
    "cursor",
    [
        "",
        "!!!",
        "eyJ0Ijo",  # cut short
        "W10",  # []
        "e30",  # {}
        "x" * 3000,
        "ü",
        encode_cursor(TENANT, ContinuationToken("p", "r")) + "$",
    ],
)
def test_cursors_that_do_not_decode_are_refused(cursor: str) -> None:
    with pytest.raises(InvalidCursor, match="pass nextCursor"):
        decode_cursor(TENANT, cursor)


def test_a_cursor_with_unprintable_keys_is_refused() -> None:
    cursor = encode_cursor(TENANT, ContinuationToken("p\r\nX-Injected: 1", "r"))
    with pytest.raises(InvalidCursor):
        decode_cursor(TENANT, cursor)
