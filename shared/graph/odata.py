"""OData query pieces and request shaping for Graph, free of any SDK."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from shared.graph.model import UserQuery

# getPresencesByUserId and presence subscriptions both take at most 650 user ids.
MAX_PRESENCE_IDS_PER_CALL = 650

# Graph's JSON batching takes at most 20 requests per $batch call.
MAX_BATCH_REQUESTS = 20
USER_SELECT = ("id", "displayName", "userPrincipalName", "department", "jobTitle", "businessPhones")


def search_clause(property_name: str, text: str) -> str | None:
    """`"displayName:ann lee"`, or None when nothing searchable is left.

    Graph tokenizes both the property and the term on word boundaries, so quote characters and
    backslashes carry no meaning inside a term; they are dropped rather than escaped, because they
    would end the quoted clause early.
    """
    term = " ".join(text.replace('"', " ").replace("\\", " ").split())
    return f'"{property_name}:{term}"' if term else None


def startswith_filter(property_name: str, prefix: str) -> str:
    """`startswith(department,'Sales')`; a single quote is doubled, as OData string literals need."""
    escaped = prefix.replace("'", "''")
    return f"startswith({property_name},'{escaped}')"


def user_search(query: UserQuery) -> tuple[str | None, str | None]:
    """The ($search, $filter) pair for a directory query; blank criteria are ignored."""
    filters = [
        startswith_filter(property_name, value.strip())
        for property_name, value in (("department", query.department), ("jobTitle", query.job_title))
        if value is not None and value.strip()
    ]
    search = search_clause("displayName", query.name) if query.name else None
    return search, " and ".join(filters) or None


def unique_chunks(ids: Sequence[str], size: int = MAX_PRESENCE_IDS_PER_CALL) -> Iterator[list[str]]:
    """The ids without duplicates, first occurrence order kept, in lists of at most `size`."""
    if size < 1:
        raise ValueError("chunk size must be positive")
    unique = list(dict.fromkeys(ids))
    for start in range(0, len(unique), size):
        yield unique[start : start + size]
