"""Directory query pieces and presence-id chunking."""

from __future__ import annotations

import uuid

import pytest

from shared.graph.model import UserQuery
from shared.graph.odata import (
    MAX_PRESENCE_IDS_PER_CALL,
    search_clause,
    startswith_filter,
    unique_chunks,
    user_search,
)


def test_search_clause_is_quoted_and_drops_characters_that_would_end_it() -> None:
    assert search_clause("displayName", "ann") == '"displayName:ann"'
    assert search_clause("displayName", '  say "hi"\\ there ') == '"displayName:say hi there"'
    assert search_clause("displayName", ' " ') is None


def test_startswith_filter_doubles_single_quotes() -> None:
    assert startswith_filter("department", "Sales") == "startswith(department,'Sales')"
    assert startswith_filter("jobTitle", "O'Brien's") == "startswith(jobTitle,'O''Brien''s')"


def test_user_search_combines_criteria_and_ignores_blank_ones() -> None:
    # GIVEN a name, a department and a job title, THEN the name is searched and the others filtered
    search, filter_expression = user_search(UserQuery(name="ann", department=" Sales ", job_title="Agent"))
    assert search == '"displayName:ann"'
    assert filter_expression == "startswith(department,'Sales') and startswith(jobTitle,'Agent')"
    # GIVEN only blank criteria, THEN nothing restricts the query
    assert user_search(UserQuery(name="  ", department="", job_title=" ")) == (None, None)
    assert user_search(UserQuery(job_title="Lead")) == (None, "startswith(jobTitle,'Lead')")


def test_user_query_top_is_bounded_like_graph() -> None:
    assert UserQuery(top=999).top == 999
    for top in (0, 1000):
        with pytest.raises(ValueError, match="top"):
            UserQuery(top=top)


def test_chunks_hold_at_most_650_unique_ids_in_first_seen_order() -> None:
    # GIVEN 1,301 distinct ids with some repeated
    ids = [str(uuid.uuid4()) for _ in range(1301)]
    chunks = list(unique_chunks([*ids, ids[0], ids[700]]))
    # THEN they come in three calls (650, 650, 1) without repeats and in their original order
    assert [len(chunk) for chunk in chunks] == [MAX_PRESENCE_IDS_PER_CALL, MAX_PRESENCE_IDS_PER_CALL, 1]
    assert [i for chunk in chunks for i in chunk] == ids


def test_no_ids_means_no_chunks() -> None:
    assert list(unique_chunks([])) == []
    with pytest.raises(ValueError, match="positive"):
        list(unique_chunks(["a"], size=0))
