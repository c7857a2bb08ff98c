"""A directory query as a Graph `/users` request: $search, $filter, $select, $top.

- `search` becomes a tokenized `$search` on displayName OR mail (`"displayName:ann" OR "mail:ann"`).
  Graph tokenizes the term on word boundaries, so double quotes and backslashes mean nothing inside it;
  they are dropped (shared.graph.odata.search_clause) because they would close the quoted clause. A
  search with nothing searchable left matches nobody: it must never widen into "everyone".
- `department` / `jobTitle` become `startswith(...)` with the single quotes of the literal doubled.
- Disabled accounts (`accountEnabled eq true`) and the tenant's sync accounts (`id ne '...'`, an
  advanced query, which the request is anyway) are filtered out by Graph itself, so a page is full.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Final

from shared.directory.model import DirectoryQuery
from shared.graph.model import UserPageRequest
from shared.graph.odata import search_clause, startswith_filter

# Only what the answer shows (and what its phone normalisation needs).
DIRECTORY_SELECT: Final = (
    "id",
    "displayName",
    "department",
    "jobTitle",
    "userPrincipalName",
    "mail",
    "businessPhones",
    "mobilePhone",
)
SEARCHED_PROPERTIES: Final = ("displayName", "mail")


def _literal_ne(property_name: str, value: str) -> str:
    escaped = value.replace("'", "''")
    return f"{property_name} ne '{escaped}'"


def search_expression(text: str) -> str | None:
    """`"displayName:ann" OR "mail:ann"`, or None when nothing searchable is left."""
    clauses = [clause for name in SEARCHED_PROPERTIES if (clause := search_clause(name, text)) is not None]
    return " OR ".join(clauses) or None


def filter_expression(query: DirectoryQuery, excluded_user_ids: Iterable[str]) -> str:
    clauses = ["accountEnabled eq true"]
    if query.department:
        clauses.append(startswith_filter("department", query.department))
    if query.job_title:
        clauses.append(startswith_filter("jobTitle", query.job_title))
    clauses.extend(_literal_ne("id", user_id) for user_id in sorted(set(excluded_user_ids)))
    return " and ".join(clauses)


def users_request(
    query: DirectoryQuery, excluded_user_ids: Iterable[str], skip_token: str | None = None
) -> UserPageRequest | None:
    """The Graph request for one page; None when the search cannot match anyone."""
    search = None
    if query.search is not None:
        search = search_expression(query.search)
        if search is None:
            return None
    return UserPageRequest(
        select=DIRECTORY_SELECT,
        top=query.top,
        search=search,
        filter=filter_expression(query, excluded_user_ids),
        skip_token=skip_token,
    )
