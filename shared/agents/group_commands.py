"""Client input about agent groups turned into typed values, or InvalidGroupInput / InvalidMapping.

A group id becomes part of a RowKey and of a URL, so only a small safe alphabet is accepted; it is
case-sensitive like agent ids. The body is strict like every other admin body: unknown fields and
wrong types are refused.
"""

from __future__ import annotations

import re
from typing import Any, Final

from shared.agents.exceptions import InvalidGroupInput
from shared.agents.groups import DEFAULT_GROUP_ID, GroupSpec
from shared.contact_center.model import AgentState
from shared.mappings.exceptions import InvalidMapping
from shared.mappings.model import MappingRules
from shared.mappings.validation import parse_mappings

MAX_GROUP_ID_LENGTH: Final = 64
MAX_DISPLAY_NAME_LENGTH: Final = 128
# A tenant's groups are read whole by the sync engine's cache: a bound keeps that one small query.
MAX_GROUPS: Final = 200

_GROUP_ID = re.compile(rf"[A-Za-z0-9_-]{{1,{MAX_GROUP_ID_LENGTH}}}")
_FIELDS: Final = ("displayName", "presenceSync", "mappings", "statusMessages")
# Teams shows a status message of at most 280 characters.
MAX_STATUS_MESSAGE_LENGTH: Final = 280
# States a status message can be shown for: a logged-out agent shows none.
STATUS_MESSAGE_STATES: Final = tuple(
    state.value for state in AgentState if state is not AgentState.LOGGED_OUT
)


def parse_group_id(raw: object, name: str = "groupId") -> str:
    if not isinstance(raw, str) or not _GROUP_ID.fullmatch(raw):
        raise InvalidGroupInput(
            f"{name} must be 1 to {MAX_GROUP_ID_LENGTH} characters: letters, digits, - and _ only"
        )
    return raw


def parse_optional_group_id(raw: object, name: str = "groupId") -> str:
    """An agent's groupId: absent, null or "" is the default group."""
    if raw is None or raw == "":
        return DEFAULT_GROUP_ID
    return parse_group_id(raw, name)


def parse_group_spec(body: dict[str, Any] | None) -> GroupSpec:
    """The body of `PUT .../agent-groups/{groupId}`: {displayName, presenceSync, mappings?}."""
    if body is None:
        raise InvalidGroupInput("a JSON object body with displayName and presenceSync is required")
    unknown = sorted(set(body) - set(_FIELDS))
    if unknown:
        raise InvalidGroupInput(
            f"unknown field(s): {', '.join(str(name) for name in unknown)[:300]}; "
            f"allowed: {', '.join(_FIELDS)}"
        )
    name = body.get("displayName")
    if (
        not isinstance(name, str)
        or not 1 <= len(name) <= MAX_DISPLAY_NAME_LENGTH
        or not name.isprintable()
        or name != name.strip()
    ):
        raise InvalidGroupInput(
            f"displayName must be 1 to {MAX_DISPLAY_NAME_LENGTH} printable characters, "
            "without leading or trailing whitespace"
        )
    presence_sync = body.get("presenceSync")
    if not isinstance(presence_sync, bool):
        raise InvalidGroupInput("presenceSync must be true or false")
    return GroupSpec(
        name,
        presence_sync,
        _mappings(body.get("mappings")),
        parse_status_messages(body.get("statusMessages")),
    )


def parse_status_messages(raw: Any) -> dict[str, str]:
    """`statusMessages`: {agentState: text}; absent or null: none."""
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise InvalidGroupInput("statusMessages must be an object of agent state -> message text")
    messages: dict[str, str] = {}
    for state, text in raw.items():
        if state not in STATUS_MESSAGE_STATES:
            raise InvalidGroupInput(
                f"statusMessages: {str(state)[:64]!r} is not an agent state; "
                f"allowed: {', '.join(STATUS_MESSAGE_STATES)}"
            )
        if (
            not isinstance(text, str)
            or not 1 <= len(text) <= MAX_STATUS_MESSAGE_LENGTH
            or not text.isprintable()
            or text != text.strip()
        ):
            raise InvalidGroupInput(
                f"statusMessages.{state} must be 1 to {MAX_STATUS_MESSAGE_LENGTH} printable characters, "
                "without leading or trailing whitespace"
            )
        messages[state] = text
    return messages


def _mappings(raw: Any) -> MappingRules | None:
    if raw is None:
        return None
    try:
        return parse_mappings(raw)
    except InvalidMapping as exc:
        raise InvalidMapping(f"mappings: {exc.message}") from exc
