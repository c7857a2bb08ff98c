"""Secrets the libraries we use would write to their DEBUG logs, masked before any handler sees them.

MSAL's token cache logs every token event at DEBUG with the request it answered; it masks tokens,
passwords and client secrets but not the authorization `code` nor the PKCE `code_verifier` of an
authorization-code redemption, which together are as good as a sign-in. A filter on the library
loggers that create such records rewrites them (filters on a logger see only its own records, so each
is named). Installed once by the composition root, so it holds whatever level an operator sets.

The HTTP client's INFO request lines lose their query and any path segment holding a UPN or mail
address: logs at INFO and above carry ids, never UPNs, names or phone numbers.
"""

from __future__ import annotations

import logging
import re
from typing import Final

MASK: Final = "********"
# Names of OAuth parameters whose values are secrets, in JSON (`"code": "..."`) or form / query
# (`code=...`) form.
SECRET_PARAMETERS: Final = (
    "code",
    "code_verifier",
    "client_secret",
    "client_assertion",
    "assertion",
    "refresh_token",
    "access_token",
    "id_token",
    "password",
)
# The libraries' loggers that write request parameters or token events.
LIBRARY_LOGGERS: Final = (
    "msal.token_cache",
    "msal.application",
    "msal.oauth2cli.oauth2",
    "msal.oauth2cli.oidc",
    "msal.oauth2cli.authcode",
    "msal.authority",
    "msal.telemetry",
)

_NAMES = "|".join(SECRET_PARAMETERS)
_JSON_VALUE = re.compile(rf'(["\'](?:{_NAMES})["\']\s*:\s*)(["\'])(?:\\.|(?!\2).)*\2')
_FORM_VALUE = re.compile(rf"(?<![\w-])((?:{_NAMES})=)[^&\s\"']+")


def redact(text: str) -> str:
    """`text` with the value of every secret parameter masked."""
    text = _JSON_VALUE.sub(lambda m: f"{m.group(1)}{m.group(2)}{MASK}{m.group(2)}", text)
    return _FORM_VALUE.sub(lambda m: f"{m.group(1)}{MASK}", text)


class SecretRedactingFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        return True


_FILTER: Final = SecretRedactingFilter()

# httpx logs every request at INFO with its full URL: a user looked up by UPN (`/users/ann%40contoso.com`)
# or a directory search (`$search="displayName:..."`) would put personal data into every log at INFO.
HTTP_CLIENT_LOGGERS: Final = ("httpx",)
_URL = re.compile(r"\bhttps?://[^\s\"']+")
_PERSONAL_SEGMENT = re.compile(r"[^/]*(?:@|%40)[^/]*")


def without_personal_data(url: str) -> str:
    """`url` without its query and with every path segment naming a UPN or mail address masked."""
    scheme, _, rest = url.split("?", 1)[0].split("#", 1)[0].partition("//")
    return f"{scheme}//{_PERSONAL_SEGMENT.sub(MASK, rest)}"


class RequestUrlFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = _URL.sub(lambda m: without_personal_data(m.group(0)), message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        return True


_URL_FILTER: Final = RequestUrlFilter()


def install_log_redaction(names: tuple[str, ...] = LIBRARY_LOGGERS) -> None:
    """Idempotent: each named logger carries the one filter once."""
    for name in names:
        library_logger = logging.getLogger(name)
        if _FILTER not in library_logger.filters:
            library_logger.addFilter(_FILTER)
    for name in HTTP_CLIENT_LOGGERS:
        client_logger = logging.getLogger(name)
        if _URL_FILTER not in client_logger.filters:
            client_logger.addFilter(_URL_FILTER)
