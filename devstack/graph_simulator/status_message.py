"""Graph's `POST /users/{id}/presence/setStatusMessage`, as presence-setstatusmessage documents it.

Body `{statusMessage: {message: {content, contentType}, expiryDateTime?: {dateTime, timeZone}}}`:
contentType must be `text` (presenceStatusMessage: the only supported format), `expiryDateTime.dateTime`
carries no offset (the zone is named in `timeZone`); without an expiry the message does not expire.
Permissions: application `Presence.ReadWrite.All`, delegated `Presence.ReadWrite` for one's own.
An empty content removes the message. 200 with an empty body.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from devstack.graph_simulator.errors import GraphApiError


def _bad(message: str) -> GraphApiError:
    return GraphApiError(400, "BadRequest", message)


def _object(parent: dict[str, Any], name: str, *, required: bool) -> dict[str, Any] | None:
    value = parent.get(name)
    if value is None:
        if required:
            raise _bad(f"The parameter '{name}' is required.")
        return None
    if not isinstance(value, dict):
        raise _bad(f"The parameter '{name}' must be an object.")
    return value


def _only(body: dict[str, Any], allowed: set[str], where: str) -> None:
    for name in body:
        if name not in allowed and not name.startswith("@odata."):
            raise _bad(f"The property '{name}' does not exist on type '{where}'.")


def parse_set_status_message(body: dict[str, Any]) -> tuple[str, datetime | None]:
    """(content, expiry in UTC or None) of a setStatusMessage body, or the 400 Graph answers."""
    _only(body, {"statusMessage"}, "setStatusMessage")
    status = _object(body, "statusMessage", required=True)
    assert status is not None  # noqa: S101 - required above
    _only(status, {"message", "expiryDateTime"}, "microsoft.graph.presenceStatusMessage")
    message = _object(status, "message", required=True)
    assert message is not None  # noqa: S101 - required above
    _only(message, {"content", "contentType"}, "microsoft.graph.itemBody")
    content = message.get("content")
    if not isinstance(content, str):
        raise _bad("The parameter 'content' is required and must be a string.")
    content_type = message.get("contentType", "text")
    if content_type != "text":
        raise _bad(f"The contentType '{content_type}' is not supported; the only supported format is 'text'.")
    return content, _expiry(_object(status, "expiryDateTime", required=False))


def _expiry(raw: dict[str, Any] | None) -> datetime | None:
    if raw is None:
        return None
    _only(raw, {"dateTime", "timeZone"}, "microsoft.graph.dateTimeTimeZone")
    text, zone = raw.get("dateTime"), raw.get("timeZone")
    if not isinstance(text, str) or not isinstance(zone, str) or not text or not zone:
        raise _bad("expiryDateTime needs dateTime and timeZone strings.")
    try:
        local = datetime.fromisoformat(text)
    except ValueError as error:
        raise _bad(f"Cannot convert the literal '{text[:64]}' to a date and time.") from error
    if local.tzinfo is not None:
        raise _bad("expiryDateTime.dateTime must not include a time zone offset; name it in timeZone.")
    try:
        tz = UTC if zone.upper() == "UTC" else ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError) as error:
        raise _bad(f"The time zone '{zone[:64]}' is not supported.") from error
    return local.replace(tzinfo=tz).astimezone(UTC)
