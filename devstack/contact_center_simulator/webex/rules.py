"""Pure rules of the published contract: subscription fields, destination URLs, event types, the
auxiliary-code filter and the activities query. Each raises WebexError in the body style of its route."""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final
from urllib.parse import urlsplit

from devstack.contact_center_simulator.webex.errors import API, RESULT, WebexError
from devstack.contact_center_simulator.webex.model import CHANNEL_TYPES, AuxCode

# GET /v1/event-types: the agent events of resource version agent:1.0.0 (the ones this simulator emits).
EVENT_TYPES: Final = ("agent:login", "agent:logout", "agent:state_change")
NAME_LENGTH: Final = (4, 64)
DESCRIPTION_MAX: Final = 1024
EVENT_TYPES_COUNT: Final = (1, 32)
SECRET_LENGTH: Final = (32, 256)
# "If creating a subscription causes the org-level limit to be exceeded, the subscription registration
# will be denied": the figure is not published; assumed.
MAX_SUBSCRIPTIONS_PER_ORG: Final = 25
MAX_ACTIVITY_WINDOW_MS: Final = 86_400_000
MAX_ACTIVITY_RECORDS: Final = 10_000
MAX_ACTIVITY_IDS: Final = 100
MAX_AUX_PAGE_SIZE: Final = 1000
STATE_TEXT_MAX: Final = 128
ID_MAX: Final = 36

# "an IANA-listed top-level domain": the generic ones a connector is likely to live under, and every
# two-letter country code. Not the whole IANA list (a known difference, see README).
_GENERIC_TLDS: Final = frozenset(
    [
        "com",
        "net",
        "org",
        "io",
        "dev",
        "app",
        "cloud",
        "biz",
        "info",
        "co",
        "us",
        "eu",
        "uk",
        "de",
        "fr",
        "nl",
        "ch",
        "se",
        "no",
        "fi",
        "dk",
        "es",
        "it",
        "jp",
        "au",
        "ca",
        "in",
        "br",
        "tech",
        "online",
        "site",
        "xyz",
        "ai",
        "services",
        "solutions",
        "systems",
        "support",
        "center",
        "company",
        "group",
        "network",
    ]
)
_LABEL: Final = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")
_LOOPBACK_HOSTS: Final = frozenset({"localhost", "127.0.0.1", "::1"})
_UUID: Final = re.compile(
    r"^[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}$"
)


def bad(description: str, style: str = RESULT) -> WebexError:
    return WebexError(400, description, style=style)


def is_uuid(value: str) -> bool:
    return bool(_UUID.match(value))


def check_destination_url(url: Any, *, allow_loopback: bool) -> str:
    """Webex's rule: HTTPS on an IANA-listed TLD, a path (at least /), no query, userinfo, non-443 port
    or fragment. `allow_loopback` also lets http(s) to this machine through, on any port (local runs)."""
    if not isinstance(url, str) or not re.match(r"^(https?)://.*$", url):
        raise bad("destinationUrl must be an absolute https URL")
    split = urlsplit(url)
    host = (split.hostname or "").lower()
    try:
        port = split.port
    except ValueError:
        raise bad("destinationUrl has an invalid port") from None
    if split.username is not None or split.password is not None or "@" in split.netloc:
        raise bad("destinationUrl must not contain userinfo")
    if split.query or url.endswith("?"):
        raise bad("destinationUrl must not contain query parameters")
    if split.fragment or "#" in url:
        raise bad("destinationUrl must not contain a fragment")
    if not split.path:
        raise bad("destinationUrl must have a path (at least /)")
    if allow_loopback and host in _LOOPBACK_HOSTS:
        return url
    if split.scheme != "https":
        raise bad("destinationUrl must use https")
    if port not in (None, 443):
        raise bad("destinationUrl must not use a port other than 443")
    try:
        ipaddress.ip_address(host)
        raise bad("destinationUrl must name a host on an IANA-listed top-level domain, not an IP address")
    except ValueError:
        pass
    labels = host.split(".")
    if len(labels) < 2 or not all(_LABEL.match(label) for label in labels):
        raise bad("destinationUrl must name a host on an IANA-listed top-level domain")
    tld = labels[-1]
    if not (tld in _GENERIC_TLDS or re.fullmatch(r"[a-z]{2}", tld)):
        raise bad(f"destinationUrl top-level domain .{tld} is not IANA-listed")
    return url


def _string(body: dict[str, Any], name: str, low: int, high: int, *, required: bool) -> str | None:
    value = body.get(name)
    if value is None:
        if required:
            raise bad(f"{name} is required")
        return None
    if not isinstance(value, str) or not low <= len(value) <= high:
        raise bad(f"{name} must be a string of {low} to {high} characters")
    return value


def _event_types(body: dict[str, Any], *, required: bool) -> list[str] | None:
    value = body.get("eventTypes")
    if value is None:
        if required:
            raise bad("eventTypes is required")
        return None
    low, high = EVENT_TYPES_COUNT
    if not isinstance(value, list) or not low <= len(value) <= high:
        raise bad(f"eventTypes must be an array of {low} to {high} event types")
    unknown = [item for item in value if not isinstance(item, str) or item not in EVENT_TYPES]
    if unknown:
        raise bad(f"eventTypes contains unknown event types: {unknown} (GET /v1/event-types lists them)")
    return list(dict.fromkeys(value))


@dataclass(frozen=True)
class SubscriptionFields:
    name: str | None
    description: str | None
    event_types: list[str] | None
    destination_url: str | None
    secret: str | None
    status: str | None
    org_id: str | None


def subscription_fields(body: dict[str, Any], *, create: bool, allow_loopback: bool) -> SubscriptionFields:
    """SubscriptionRequest (create) or SubscriptionRequestUpdate (PATCH); unknown properties are ignored."""
    name = _string(body, "name", *NAME_LENGTH, required=create) if create or "name" in body else None
    if not create and "name" in body:
        raise bad("name cannot be changed")
    description = _string(body, "description", 0, DESCRIPTION_MAX, required=False)
    event_types = _event_types(body, required=create)
    destination = body.get("destinationUrl")
    if destination is None and create:
        raise bad("destinationUrl is required")
    url = None if destination is None else check_destination_url(destination, allow_loopback=allow_loopback)
    secret = _string(body, "secret", *SECRET_LENGTH, required=False)
    status = body.get("status")
    if create and status is not None:
        raise bad("status is set by Webex on creation")
    if status is not None and status not in ("active", "inactive"):
        raise bad('status must be "active" or "inactive"')
    org_id = body.get("orgId")
    if org_id is not None and (not isinstance(org_id, str) or not is_uuid(org_id)):
        raise bad("orgId must be a UUID")
    return SubscriptionFields(name, description, event_types, url, secret, status, org_id)


# Get Agent Activities --------------------------------------------------------------------------


@dataclass(frozen=True)
class ActivitiesQuery:
    agent_ids: list[str]
    team_ids: list[str]
    channel_types: list[str]
    start_ms: int
    end_ms: int
    page: int
    page_size: int
    org_id: str | None


def _int(query: dict[str, str], name: str, default: int | None) -> int:
    raw = query.get(name)
    if raw is None or raw == "":
        if default is None:
            raise bad(f"{name} is required", API)
        return default
    if not re.fullmatch(r"-?\d{1,19}", raw):
        raise bad(f"{name} must be an integer", API)
    return int(raw)


def _list(query: dict[str, str], name: str) -> list[str]:
    raw = query.get(name) or ""
    values = [item for item in raw.split(",") if item]
    if len(values) > MAX_ACTIVITY_IDS:
        raise bad(f"{name} takes at most {MAX_ACTIVITY_IDS} values", API)
    return values


def activities_query(query: dict[str, str], now_ms: int) -> ActivitiesQuery:
    start = _int(query, "from", None)
    end = _int(query, "to", now_ms)
    if end < start:
        raise bad("to must not be before from", API)
    if end - start >= MAX_ACTIVITY_WINDOW_MS:
        raise bad("The difference between to and from timestamps must be less than 24 hours", API)
    page_size = _int(query, "pageSize", 100)
    page = _int(query, "page", 0)
    if not 1 <= page_size <= 1000:
        raise bad("pageSize must be from 1 to 1000", API)
    if page < 0:
        raise bad("page must be 0 or more", API)
    if page * page_size >= MAX_ACTIVITY_RECORDS:
        raise bad(f"at most {MAX_ACTIVITY_RECORDS} records can be fetched for one from/to", API)
    channel_types = _list(query, "channelTypes")
    wrong = [c for c in channel_types if c not in CHANNEL_TYPES]
    if wrong:
        raise bad(f"channelTypes must be lowercase values of {', '.join(CHANNEL_TYPES)}: {wrong}", API)
    return ActivitiesQuery(
        _list(query, "agentIds"),
        _list(query, "teamIds"),
        channel_types,
        start,
        end,
        page,
        page_size,
        query.get("orgId") or None,
    )


# Auxiliary codes: the `filter` parameter (RSQL) --------------------------------------------------

_FILTER_FIELDS: Final[dict[str, Callable[[AuxCode], str]]] = {
    "id": lambda c: c.code_id,
    "name": lambda c: c.name,
    "description": lambda c: c.description,
    "workTypeCode": lambda c: c.work_type_code,
    "active": lambda c: "true" if c.active else "false",
    "defaultCode": lambda c: "true" if c.default else "false",
    "isSystemCode": lambda c: "false",
}
_CLAUSE: Final = re.compile(r"^\s*([A-Za-z]+)\s*(==|!=)\s*\"?([^\"]*)\"?\s*$")


def aux_code_filter(expression: str | None) -> Callable[[AuxCode], bool]:
    """The subset of RSQL the published examples use: `field==value` / `field!=value`, joined by `;`
    or ` and ` (all must hold)."""
    if not expression:
        return lambda code: True
    clauses: list[tuple[Callable[[AuxCode], str], bool, str]] = []
    for part in re.split(r";| and ", expression):
        found = _CLAUSE.match(part)
        if found is None:
            raise bad(f"filter clause {part.strip()!r} is not field==value or field!=value", API)
        name, operator, value = found.groups()
        getter = _FILTER_FIELDS.get(name)
        if getter is None:
            raise bad(f"filter on {name} is not supported", API)
        clauses.append((getter, operator == "==", value))
    return lambda code: all((getter(code) == value) is equal for getter, equal, value in clauses)
