"""The OAuth access token of one Webex Contact Center tenant, fetched with client credentials and kept
until shortly before it expires.

Real Webex grants Contact Center API tokens to a Service App (or an integration) that an administrator
authorised once; the token endpoint then issues tokens for the app's `client_id` / `client_secret`.
The token URL is configurable so the local simulator can stand in for `https://webexapis.com`.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final

import httpx

from shared.contact_center.exceptions import (
    ContactCenterAuthFailed,
    ContactCenterRejected,
    ContactCenterUnavailable,
)
from shared.contact_center.http_exchange import json_body, raise_for_status, send

logger = logging.getLogger(__name__)

WEBEX_TOKEN_URL: Final = "https://webexapis.com/v1/access_token"  # noqa: S105 - a URL, not a secret
# Refresh this long before expiry so a token never runs out between fetch and use.
REFRESH_MARGIN: Final = timedelta(minutes=5)
_DEFAULT_LIFETIME: Final = timedelta(hours=1)


@dataclass(frozen=True)
class _Token:
    value: str
    refresh_at: datetime


class WebexTokenSource:
    def __init__(
        self,
        http: httpx.Client,
        token_url: str,
        client_id: str,
        client_secret: str,
        *,
        headers: Mapping[str, str],
        clock: Callable[[], datetime],
        tenant_id: str,
    ) -> None:
        self._http = http
        self._token_url = token_url
        self._client_id = client_id
        self._client_secret = client_secret
        self._headers = dict(headers)
        self._clock = clock
        self._tenant_id = tenant_id
        self._lock = threading.Lock()
        self._token: _Token | None = None

    def access_token(self) -> str:
        """A valid bearer token; raise ContactCenterAuthFailed, ...Throttled or ...Unavailable."""
        with self._lock:
            now = self._clock()
            if self._token is None or now >= self._token.refresh_at:
                self._token = self._fetch(now)
            return self._token.value

    def invalidate(self) -> None:
        """Forget the cached token, after the contact center refused it."""
        with self._lock:
            self._token = None

    def _fetch(self, now: datetime) -> _Token:
        what = "Webex token request"
        response = send(
            self._http,
            what,
            "POST",
            self._token_url,
            data={
                "grant_type": "client_credentials",
                "client_id": self._client_id,
                "client_secret": self._client_secret,
            },
            headers={**self._headers, "Accept": "application/json"},
        )
        try:
            raise_for_status(response, what, now)
        except ContactCenterRejected as exc:
            # The token endpoint answers 400 invalid_client / invalid_grant for bad credentials.
            raise ContactCenterAuthFailed(exc.message, status=exc.status) from exc
        body = json_body(response, what)
        token = body.get("access_token") if isinstance(body, dict) else None
        if not isinstance(token, str) or not token:
            raise ContactCenterUnavailable(
                f"{what}: the answer has no access_token", status=response.status_code
            )
        expires_in = body.get("expires_in")
        lifetime = (
            timedelta(seconds=expires_in)
            if isinstance(expires_in, int) and not isinstance(expires_in, bool) and expires_in > 0
            else _DEFAULT_LIFETIME
        )
        margin = min(REFRESH_MARGIN, lifetime / 2)
        logger.info("Webex token obtained for tenant %s, valid %s", self._tenant_id, lifetime)
        return _Token(token, now + lifetime - margin)
