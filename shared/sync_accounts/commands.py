"""Client input (decoded JSON bodies, route values, the sign-in redirect's query) checked and typed.

Unknown fields and wrong types are refused, so a typo never silently changes what happens.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from shared.sync_accounts.exceptions import InvalidSignInCallback, InvalidSyncAccountInput
from shared.sync_accounts.model import SignInCallback

_GUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
# Entra caps a UPN at 113 characters; guest (#EXT#) names run longer, so leave room.
MAX_LOGIN_HINT_LENGTH = 256
# Authorization codes are opaque and can be a few KB; anything far beyond is not from the identity platform.
MAX_CALLBACK_PARAM_LENGTH = 8192
MAX_ERROR_LENGTH = 100
MAX_ERROR_DESCRIPTION_LENGTH = 500
_START_FIELDS = frozenset({"loginHint"})


@dataclass(frozen=True)
class StartSignIn:
    login_hint: str | None = None


def parse_start_sign_in(body: Any) -> StartSignIn:
    """`None` (no body) or `{loginHint?: upn}`."""
    if body is None:
        return StartSignIn()
    if not isinstance(body, dict):
        raise InvalidSyncAccountInput("the body must be a JSON object")
    unknown = sorted(set(body) - _START_FIELDS)
    if unknown:
        raise InvalidSyncAccountInput(
            f"unknown field(s): {', '.join(unknown)}; allowed: {', '.join(sorted(_START_FIELDS))}"
        )
    hint = body.get("loginHint")
    if hint is None:
        return StartSignIn()
    return StartSignIn(login_hint=_parse_login_hint(hint))


def _parse_login_hint(value: object) -> str:
    if not isinstance(value, str):
        raise InvalidSyncAccountInput("loginHint must be a string (the account's userPrincipalName)")
    hint = value
    if not 3 <= len(hint) <= MAX_LOGIN_HINT_LENGTH:
        raise InvalidSyncAccountInput(f"loginHint must be 3 to {MAX_LOGIN_HINT_LENGTH} characters long")
    if not hint.isprintable() or any(char.isspace() for char in hint):
        raise InvalidSyncAccountInput("loginHint must not contain spaces, control or invalid characters")
    local, at, domain = hint.rpartition("@")
    if not at or not local or not domain or "." not in domain:
        raise InvalidSyncAccountInput("loginHint must be a userPrincipalName such as sync1@contoso.com")
    return hint


def parse_account_id(raw: str | None) -> str:
    """A sync account id is the user's Entra object id, a GUID; canonical lower-case."""
    if raw is None or not _GUID.fullmatch(raw):
        raise InvalidSyncAccountInput("the sync account id must be a GUID (the account's Entra object id)")
    return str(uuid.UUID(raw))


def parse_callback(params: Mapping[str, str]) -> SignInCallback:
    """The redirect's query string, size-checked; what Microsoft wrote is cut to a displayable length."""
    for name in ("state", "code"):
        value = params.get(name)
        if value is not None and len(value) > MAX_CALLBACK_PARAM_LENGTH:
            raise InvalidSignInCallback(f"the sign-in callback's {name} is too long")
    return SignInCallback(
        state=params.get("state") or None,
        code=params.get("code") or None,
        error=_displayable(params.get("error"), MAX_ERROR_LENGTH),
        error_description=_displayable(params.get("error_description"), MAX_ERROR_DESCRIPTION_LENGTH),
    )


def _displayable(value: str | None, limit: int) -> str | None:
    if not value:
        return None
    cleaned = "".join(char if char.isprintable() else " " for char in value[: limit * 2]).strip()
    return cleaned[:limit] or None
