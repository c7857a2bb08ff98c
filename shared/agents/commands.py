"""Client input (decoded JSON, route and query values) turned into typed commands, or InvalidAgentInput.

Everything is checked before it reaches Graph or a table key: unknown fields and wrong types are refused
(a typo must not be silently ignored), an agent id becomes part of a RowKey so only a safe alphabet is
accepted, and a user is named by exactly one of userId / userPrincipalName.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from typing import Any, Final

from shared.agents.exceptions import InvalidAgentInput, InvalidGroupInput, TooManyAgents
from shared.agents.group_commands import parse_optional_group_id
from shared.agents.groups import DEFAULT_GROUP_ID
from shared.http.exceptions import UnsupportedMediaType

MAX_AGENT_ID_LENGTH: Final = 128
MAX_UPN_LENGTH: Final = 256
MAX_IMPORT_ITEMS: Final = 1000
DEFAULT_PAGE_SIZE: Final = 100
MAX_PAGE_SIZE: Final = 500

_AGENT_ID = re.compile(rf"[A-Za-z0-9\-_.@:]{{1,{MAX_AGENT_ID_LENGTH}}}")
_GUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
# Characters that have no place in a UPN and would change the meaning of a Graph URL path.
_UPN_FORBIDDEN = frozenset('/\\?%"<>,;')
_REFERENCE_FIELDS = ("userId", "userPrincipalName")
_GROUP_FIELD = "groupId"
_ITEM_FIELDS = frozenset({"agentId", _GROUP_FIELD, *_REFERENCE_FIELDS})


@dataclass(frozen=True)
class UserById:
    """An Entra object id, lower-case."""

    user_id: str

    @property
    def label(self) -> str:
        return self.user_id


@dataclass(frozen=True)
class UserByPrincipalName:
    user_principal_name: str

    @property
    def label(self) -> str:
        return self.user_principal_name


UserReference = UserById | UserByPrincipalName


@dataclass(frozen=True)
class ImportItem:
    agent_id: str
    user: UserReference
    group_id: str = DEFAULT_GROUP_ID


@dataclass(frozen=True)
class AgentBody:
    """The body of `PUT .../agents/{agentId}`."""

    user: UserReference
    group_id: str = DEFAULT_GROUP_ID


@dataclass(frozen=True)
class RejectedItem:
    """An import item that cannot be processed; agent_id is kept when it was itself valid."""

    agent_id: str | None
    message: str


def parse_agent_id(raw: object, name: str = "agentId") -> str:
    if not isinstance(raw, str) or not _AGENT_ID.fullmatch(raw):
        raise InvalidAgentInput(
            f"{name} must be 1 to {MAX_AGENT_ID_LENGTH} characters: letters, digits and - _ . @ : only"
        )
    return raw


def parse_user_reference(body: dict[str, Any] | None) -> UserReference:
    """Exactly one of userId and userPrincipalName (and nothing else)."""
    if body is None:
        raise InvalidAgentInput("a JSON object body with userId or userPrincipalName is required")
    _reject_unknown(body, frozenset(_REFERENCE_FIELDS), "")
    return _reference(body, "")


def parse_agent_body(body: dict[str, Any] | None) -> AgentBody:
    """The body of `PUT .../agents/{agentId}`: exactly one of userId and userPrincipalName, and the
    agent's groupId (absent or null: the default group; a PUT replaces the agent, group included)."""
    if body is None:
        raise InvalidAgentInput("a JSON object body with userId or userPrincipalName is required")
    _reject_unknown(body, frozenset({*_REFERENCE_FIELDS, _GROUP_FIELD}), "")
    return AgentBody(_reference(body, ""), _group(body.get(_GROUP_FIELD), _GROUP_FIELD))


def parse_import(body: dict[str, Any] | None) -> list[ImportItem | RejectedItem]:
    """The body of `POST .../agents/import`. The envelope must be right; bad items fail one by one."""
    if body is None:
        raise InvalidAgentInput("a JSON object body with an agents list is required")
    _reject_unknown(body, frozenset({"agents"}), "")
    agents = body.get("agents")
    if not isinstance(agents, list):
        raise InvalidAgentInput(
            "agents must be a list of {agentId, userId | userPrincipalName, groupId?} objects"
        )
    if len(agents) > MAX_IMPORT_ITEMS:
        raise TooManyAgents(len(agents), MAX_IMPORT_ITEMS)
    if not agents:
        raise InvalidAgentInput(f"agents must list 1 to {MAX_IMPORT_ITEMS} agents")
    return [_import_item(raw, f"agents[{index}].") for index, raw in enumerate(agents)]


def parse_page_size(raw: str | None) -> int:
    """The `limit` query parameter; absent means the default page size."""
    if raw is None or raw == "":
        return DEFAULT_PAGE_SIZE
    if len(raw) > 4 or not raw.isascii() or not raw.isdigit() or not 1 <= int(raw) <= MAX_PAGE_SIZE:
        raise InvalidAgentInput(f"limit must be a whole number from 1 to {MAX_PAGE_SIZE}")
    return int(raw)


def parse_list_format(raw: str | None) -> str:
    """The agents list's `format`: json (the default, paged) or csv (the whole roster)."""
    if raw is None or raw in {"", "json"}:
        return "json"
    if raw == "csv":
        return "csv"
    raise InvalidAgentInput("format must be json or csv")


def is_csv(content_type: str | None) -> bool:
    """Whether an import body is CSV: `text/csv`, in UTF-8 (the only charset accepted)."""
    if not content_type:
        return False
    media_type, _, parameters = content_type.partition(";")
    if media_type.strip().lower() != "text/csv":
        return False
    for parameter in parameters.split(";"):
        name, _, value = parameter.partition("=")
        if name.strip().lower() == "charset" and value.strip().strip('"').lower() not in ("utf-8", "utf8"):
            raise UnsupportedMediaType("a roster CSV must be UTF-8 (charset=utf-8)")
    return True


def check_page_size(limit: int) -> int:
    if isinstance(limit, bool) or not 1 <= limit <= MAX_PAGE_SIZE:
        raise InvalidAgentInput(f"limit must be a whole number from 1 to {MAX_PAGE_SIZE}")
    return limit


def parse_user_id(raw: object, name: str = "userId") -> str:
    if not isinstance(raw, str) or not _GUID.fullmatch(raw):
        raise InvalidAgentInput(
            f"{name} must be the user's Entra object id, a GUID such as 6e7b768e-07e2-4810-8459-485f84f8f204"
        )
    return str(uuid.UUID(raw))


def parse_user_principal_name(raw: object, name: str = "userPrincipalName") -> str:
    if not isinstance(raw, str) or not 3 <= len(raw) <= MAX_UPN_LENGTH:
        raise InvalidAgentInput(f"{name} must be a string of 3 to {MAX_UPN_LENGTH} characters")
    local, at, domain = raw.rpartition("@")
    if (
        not at
        or not local
        or not domain
        or "@" in local
        or not raw.isprintable()
        or any(char.isspace() or char in _UPN_FORBIDDEN for char in raw)
    ):
        raise InvalidAgentInput(f"{name} must look like alias@domain, without spaces or / \\ ? %")
    return raw


def parse_import_fields(
    agent_id: str,
    *,
    user_principal_name: str | None,
    user_id: str | None,
    group_id: str | None,
    prefix: str,
) -> ImportItem | RejectedItem:
    """One roster line from already separated fields (a CSV row), checked like a JSON import item."""
    valid_agent_id: str | None = None
    try:
        valid_agent_id = parse_agent_id(agent_id, f"{prefix}agentId")
        reference = _reference({"userId": user_id, "userPrincipalName": user_principal_name}, prefix)
        return ImportItem(valid_agent_id, reference, _group(group_id, f"{prefix}groupId"))
    except InvalidAgentInput as exc:
        return RejectedItem(valid_agent_id, exc.message)


def _import_item(raw: object, prefix: str) -> ImportItem | RejectedItem:
    if not isinstance(raw, dict):
        return RejectedItem(None, f"{prefix.rstrip('.')} must be an object")
    agent_id: str | None = None
    try:
        agent_id = parse_agent_id(raw.get("agentId"), f"{prefix}agentId")
        _reject_unknown(raw, _ITEM_FIELDS, prefix)
        return ImportItem(
            agent_id, _reference(raw, prefix), _group(raw.get(_GROUP_FIELD), f"{prefix}{_GROUP_FIELD}")
        )
    except InvalidAgentInput as exc:
        return RejectedItem(agent_id, exc.message)


def _group(raw: object, name: str) -> str:
    try:
        return parse_optional_group_id(raw, name)
    except InvalidGroupInput as exc:
        raise InvalidAgentInput(exc.message) from exc


def _reference(raw: dict[str, Any], prefix: str) -> UserReference:
    given = [name for name in _REFERENCE_FIELDS if raw.get(name) is not None]
    if len(given) != 1:
        raise InvalidAgentInput(
            f"send exactly one of {prefix}userId (the Entra object id) and {prefix}userPrincipalName"
        )
    if given[0] == "userId":
        return UserById(parse_user_id(raw["userId"], f"{prefix}userId"))
    return UserByPrincipalName(
        parse_user_principal_name(raw["userPrincipalName"], f"{prefix}userPrincipalName")
    )


def _reject_unknown(raw: dict[str, Any], allowed: frozenset[str], prefix: str) -> None:
    unknown = sorted(set(raw) - allowed)
    if unknown:
        raise InvalidAgentInput(
            f"unknown field(s): {', '.join(prefix + str(name) for name in unknown)[:300]}; "
            f"allowed: {', '.join(prefix + name for name in sorted(allowed))}"
        )
