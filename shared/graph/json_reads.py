"""Small parsers for the two Graph reads on the directory's hot path: a `/users` page and
`getPresencesByUserId`.

msgraph-sdk builds a Kiota model object per property of every user and presence; for a 50-user page
that costs more than the HTTP round trip. These read the JSON Graph documents directly, keep only
what the connector shows, and refuse a body that is not the documented shape (GraphError), so a
broken answer is a 502-class failure, never a silently empty page.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlsplit

from shared.graph.exceptions import GraphError
from shared.graph.model import DirectoryUser, Presence, UserPage

UNKNOWN_PRESENCE = "PresenceUnknown"


def _optional_str(item: dict[str, Any], name: str) -> str | None:
    value = item.get(name)
    return value if isinstance(value, str) and value else None


def _value_list(body: Any, what: str) -> list[Any]:
    if not isinstance(body, dict) or not isinstance(body.get("value"), list):
        raise GraphError(f"Graph answered {what} without a value array")
    value: list[Any] = body["value"]
    return value


def directory_user_from_json(item: Any) -> DirectoryUser:
    if not isinstance(item, dict) or not _optional_str(item, "id"):
        raise GraphError("Graph returned a user without an id")
    phones = item.get("businessPhones")
    return DirectoryUser(
        id=item["id"],
        display_name=_optional_str(item, "displayName"),
        user_principal_name=_optional_str(item, "userPrincipalName"),
        department=_optional_str(item, "department"),
        job_title=_optional_str(item, "jobTitle"),
        business_phones=tuple(p for p in phones if isinstance(p, str) and p)
        if isinstance(phones, list)
        else (),
        mail=_optional_str(item, "mail"),
        mobile_phone=_optional_str(item, "mobilePhone"),
    )


def skip_token_of(next_link: Any) -> str | None:
    """Graph's `$skiptoken` out of an `@odata.nextLink`; the link itself is never followed."""
    if next_link is None:
        return None
    if not isinstance(next_link, str):
        raise GraphError("Graph returned an @odata.nextLink that is not a string")
    tokens = parse_qs(urlsplit(next_link).query).get("$skiptoken")
    if not tokens or not tokens[0]:
        raise GraphError("Graph returned an @odata.nextLink without a $skiptoken")
    return tokens[0]


def user_page_from_json(body: Any) -> UserPage:
    users = tuple(directory_user_from_json(item) for item in _value_list(body, "a user list"))
    return UserPage(users=users, next_skip_token=skip_token_of(body.get("@odata.nextLink")))


def presence_from_json(item: Any) -> Presence:
    if not isinstance(item, dict) or not _optional_str(item, "id"):
        raise GraphError("Graph returned a presence without a user id")
    out_of_office = item.get("outOfOfficeSettings")
    status = item.get("statusMessage")
    message = status.get("message") if isinstance(status, dict) else None
    content = message.get("content") if isinstance(message, dict) else None
    sequence = item.get("sequenceNumber")
    return Presence(
        user_id=item["id"],
        availability=_optional_str(item, "availability") or UNKNOWN_PRESENCE,
        activity=_optional_str(item, "activity") or UNKNOWN_PRESENCE,
        sequence_number=sequence if isinstance(sequence, str) and sequence else None,
        out_of_office=isinstance(out_of_office, dict) and out_of_office.get("isOutOfOffice") is True,
        status_message=content if isinstance(content, str) and content.strip() else None,
    )


def presences_from_json(body: Any) -> list[Presence]:
    return [presence_from_json(item) for item in _value_list(body, "getPresencesByUserId")]


def odata_error_of(body: Any) -> tuple[str | None, str | None]:
    """(code, message) of Graph's `{"error": {"code", "message"}}`, (None, None) for anything else."""
    error = body.get("error") if isinstance(body, dict) else None
    if not isinstance(error, dict):
        return None, None
    code, message = error.get("code"), error.get("message")
    return (code if isinstance(code, str) else None, message if isinstance(message, str) else None)
