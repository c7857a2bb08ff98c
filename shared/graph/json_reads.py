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

from shared.graph.error_mapping import graph_error_for_status
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


def batch_users_from_json(body: Any, refs: list[str]) -> dict[str, DirectoryUser | GraphError | None]:
    """The answer of a `$batch` of user reads whose request ids are the indexes of `refs`: per
    reference the user (200), None (404) or the GraphError of that read (its Retry-After kept)."""
    responses = body.get("responses") if isinstance(body, dict) else None
    if not isinstance(responses, list):
        raise GraphError("Graph answered a $batch without responses")
    results: dict[str, DirectoryUser | GraphError | None] = {}
    for item in responses:
        if not isinstance(item, dict) or not str(item.get("id", "")).isdigit():
            raise GraphError("Graph answered a $batch response without a request id")
        index, status = int(item["id"]), item.get("status")
        if not 0 <= index < len(refs) or not isinstance(status, int):
            raise GraphError("Graph answered a $batch response for a request it was not sent")
        payload = item.get("body")
        if status == 200:
            results[refs[index]] = directory_user_from_json(payload)
        elif status == 404:
            results[refs[index]] = None
        else:
            headers = item.get("headers") if isinstance(item.get("headers"), dict) else {}
            retry_after = next(
                (str(v) for k, v in (headers or {}).items() if k.lower() == "retry-after"), None
            )
            code, message = odata_error_of(payload)
            results[refs[index]] = graph_error_for_status(
                status, code, message, retry_after_header=retry_after
            )
    missing = [ref for ref in refs if ref not in results]
    if missing:
        raise GraphError(f"Graph's $batch answer left out {len(missing)} of its requests")
    return results
