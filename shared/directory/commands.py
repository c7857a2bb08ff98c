"""The directory route's query string, checked before anything reaches Graph.

Every text value is trimmed, capped at 64 characters and refused when it holds control characters,
so a hostile value ends here as a 400 and never as part of an OData expression Graph rejects.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

from shared.directory.exceptions import InvalidDirectoryQuery
from shared.directory.model import DEFAULT_TOP, MAX_TOP, MAX_VALUE_LENGTH, DirectoryQuery

# `code` is the Functions key parameter some clients send out of habit; the route ignores it.
KNOWN_PARAMETERS: Final = frozenset(
    {"search", "department", "jobTitle", "available", "top", "skipToken", "code"}
)
# A signed skip token is a few hundred characters; anything far longer is not one of ours.
MAX_SKIP_TOKEN_LENGTH: Final = 4096


@dataclass(frozen=True)
class DirectoryRequest:
    query: DirectoryQuery
    skip_token: str | None


def _text(params: Mapping[str, str], name: str) -> str | None:
    raw = params.get(name)
    if raw is None:
        return None
    if any(unicodedata.category(c) in {"Cc", "Cs"} or c in "\u2028\u2029" for c in raw):
        raise InvalidDirectoryQuery(f"{name} must not contain control characters")
    value = " ".join(raw.split())
    if len(value) > MAX_VALUE_LENGTH:
        raise InvalidDirectoryQuery(f"{name} is limited to {MAX_VALUE_LENGTH} characters")
    return value or None


def _top(raw: str | None) -> int:
    if raw is None or not raw.strip():
        return DEFAULT_TOP
    text = raw.strip()
    if not text.isascii() or not text.isdigit() or not 1 <= int(text) <= MAX_TOP:
        raise InvalidDirectoryQuery(f"top must be a whole number from 1 to {MAX_TOP}")
    return int(text)


def _available(raw: str | None) -> bool:
    if raw is None or not raw.strip():
        return False
    value = raw.strip().lower()
    if value not in {"true", "false"}:
        raise InvalidDirectoryQuery("available must be true or false")
    return value == "true"


def parse_directory_request(params: Mapping[str, str]) -> DirectoryRequest:
    """Raise InvalidDirectoryQuery for an unknown parameter or a value out of bounds."""
    unknown = sorted(name for name in params if name not in KNOWN_PARAMETERS)
    if unknown:
        shown = "".join(c for c in unknown[0][:40] if c.isprintable())
        raise InvalidDirectoryQuery(
            f"unknown query parameter {shown!r}; use search, department, jobTitle, available, top, skipToken"
        )
    skip_token = params.get("skipToken") or None
    if skip_token is not None and (len(skip_token) > MAX_SKIP_TOKEN_LENGTH or not skip_token.isascii()):
        raise InvalidDirectoryQuery("skipToken is not a token this connector issued")
    query = DirectoryQuery(
        search=_text(params, "search"),
        department=_text(params, "department"),
        job_title=_text(params, "jobTitle"),
        available=_available(params.get("available")),
        top=_top(params.get("top")),
    )
    return DirectoryRequest(query, skip_token)
