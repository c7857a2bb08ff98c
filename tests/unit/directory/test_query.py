"""Directory queries as Graph requests: escaping, hostile values, and what is always filtered out.

The round-trip tests parse what the connector builds with the Graph simulator's OData parser (built
from Graph's published grammar, not from our output): a hostile value stays one literal, so it can
neither break the expression (a 400 from Graph, a 5xx from us) nor widen the result.
"""

from __future__ import annotations

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from devstack.graph_simulator.odata_query import parse_filter, parse_search
from shared.directory.model import DirectoryQuery
from shared.directory.query import DIRECTORY_SELECT, filter_expression, search_expression, users_request
from tests.support.property_profiles import examples

SYNC_ACCOUNT = "0d7e4c1a-5b6f-4a2e-9c3d-8f1e2a3b4c5d"
HOSTILE = [
    "O'Brien",
    "' or 1 eq 1 or '",
    "') or startswith(displayName,'",
    "x' or accountEnabled eq false or department eq '",
    '" OR "displayName:',
    "\\",
    "Zoë D'Arcy-Núñez",
    "%27 or %27%27=%27",
    "&$top=999",
    "#",
]


def test_a_plain_query() -> None:
    request = users_request(DirectoryQuery(search="ann", department="Sales", job_title="Lead", top=10), [])
    assert request is not None
    assert request.search == '"displayName:ann" OR "mail:ann"'
    assert request.filter == (
        "accountEnabled eq true and startswith(department,'Sales') and startswith(jobTitle,'Lead')"
    )
    assert request.select == DIRECTORY_SELECT
    assert request.top == 10
    assert request.skip_token is None


def test_disabled_accounts_and_sync_accounts_are_always_filtered_out() -> None:
    request = users_request(DirectoryQuery(), [SYNC_ACCOUNT, SYNC_ACCOUNT, "a'b"])
    assert request is not None
    assert request.search is None
    assert request.filter == f"accountEnabled eq true and id ne '{SYNC_ACCOUNT}' and id ne 'a''b'"


def test_single_quotes_are_doubled() -> None:
    assert filter_expression(DirectoryQuery(department="O'Brien's"), []) == (
        "accountEnabled eq true and startswith(department,'O''Brien''s')"
    )


def test_quotes_and_backslashes_cannot_close_a_search_clause() -> None:
    assert search_expression('say "hi" \\ bye') == '"displayName:say hi bye" OR "mail:say hi bye"'


@pytest.mark.parametrize("search", ['"', '""', "\\", '" \\ "'])
def test_a_search_with_nothing_searchable_left_matches_nobody_rather_than_everyone(search: str) -> None:
    assert users_request(DirectoryQuery(search=search), []) is None


def _user(department: str, job_title: str = "Agent", enabled: bool = True) -> dict[str, object]:
    return {
        "id": "u1",
        "displayName": "Someone",
        "department": department,
        "jobTitle": job_title,
        "accountEnabled": enabled,
    }


@pytest.mark.parametrize("value", HOSTILE)
def test_hostile_values_stay_one_literal(value: str) -> None:
    expression = filter_expression(DirectoryQuery(department=value, job_title=value), [SYNC_ACCOUNT])
    predicate = parse_filter(expression, advanced=True)
    assert predicate(_user(value + " team", value))
    assert not predicate(_user("Sales", "Agent"))
    assert not predicate(_user(value, value, enabled=False))
    search = search_expression(value)
    if search is not None:
        parse_search(search)


@settings(max_examples=examples(300))
@given(st.text(min_size=1, max_size=64).filter(lambda t: t.strip() != ""))
@example("'")
@example("''")
@example("')")
def test_any_department_round_trips_through_graphs_grammar(value: str) -> None:
    predicate = parse_filter(filter_expression(DirectoryQuery(department=value), []), advanced=True)
    assert predicate(_user(value))
    assert predicate(_user(value + "x"))
    assert not predicate(_user(value, enabled=False))


@settings(max_examples=examples(300))
@given(st.text(min_size=1, max_size=64))
def test_any_search_is_valid_graph_search_syntax_or_nothing(value: str) -> None:
    search = search_expression(value)
    if search is not None:
        parse_search(search)
