"""Webex's OAuth endpoints for the connector's integration (adapter of the WebexOAuth port).

- Authorize: `GET https://webexapis.com/v1/authorize?response_type=code&client_id&redirect_uri&scope
  &state` (+ PKCE S256), in the admin's browser.
- Token: `POST https://webexapis.com/v1/access_token` form `grant_type=authorization_code&code
  &redirect_uri&client_id&client_secret` or `grant_type=refresh_token&refresh_token&...`; answers
  `{access_token, expires_in, refresh_token, refresh_token_expires_in}`. The refresh token may rotate:
  the newest one is kept.
- Who signed in: `GET https://webexapis.com/v1/people/me` -> `{id, orgId, ...}`.
"""

from __future__ import annotations

import base64
import binascii
import logging
from collections.abc import Callable
from datetime import datetime
from typing import Any, Final
from urllib.parse import urlencode

import httpx

from shared.contact_center.exceptions import ContactCenterRejected, ContactCenterUnavailable
from shared.contact_center.http_exchange import json_body, raise_for_status, send
from shared.contact_center.webex.contract import ORGANIZATION_URI_MARKER, PEOPLE_ME_PATH, SCOPES
from shared.contact_center.webex.exceptions import WebexGrantRefused
from shared.contact_center.webex.model import WebexGrant, WebexIdentity

logger = logging.getLogger(__name__)

_MAX_TOKEN_LENGTH: Final = 4096


class HttpWebexOAuth:
    def __init__(
        self,
        http: httpx.Client,
        *,
        authorize_url: str,
        token_url: str,
        client_id: str | None,
        client_secret: str | None,
        redirect_uri: str,
        clock: Callable[[], datetime],
    ) -> None:
        self._http = http
        self._authorize_url = authorize_url
        self._token_url = token_url
        # Assumed: the people API sits beside the token endpoint (https://webexapis.com/v1).
        self._people_me_url = token_url.rsplit("/", 1)[0] + PEOPLE_ME_PATH
        self._client_id = client_id
        self._client_secret = client_secret
        self._redirect_uri = redirect_uri
        self._clock = clock

    @property
    def configured(self) -> bool:
        return bool(self._client_id and self._client_secret)

    def authorize_url(self, *, state: str, code_challenge: str) -> str:
        query = urlencode(
            {
                "response_type": "code",
                "client_id": self._client_id or "",
                "redirect_uri": self._redirect_uri,
                "scope": " ".join(SCOPES),
                "state": state,
                "code_challenge": code_challenge,
                "code_challenge_method": "S256",
            }
        )
        return f"{self._authorize_url}?{query}"

    def redeem_code(self, code: str, code_verifier: str) -> WebexGrant:
        return self._token(
            {
                "grant_type": "authorization_code",
                "code": code,
                "redirect_uri": self._redirect_uri,
                "code_verifier": code_verifier,
            },
            "Webex code redemption",
        )

    def refresh(self, refresh_token: str) -> WebexGrant:
        return self._token(
            {"grant_type": "refresh_token", "refresh_token": refresh_token}, "Webex token refresh"
        )

    def identity(self, access_token: str) -> WebexIdentity:
        what = "Webex people/me"
        response = send(
            self._http,
            what,
            "GET",
            self._people_me_url,
            headers={"Authorization": f"Bearer {access_token}", "Accept": "application/json"},
        )
        raise_for_status(response, what, self._clock())
        body = json_body(response, what)
        person_id = body.get("id") if isinstance(body, dict) else None
        org_id = body.get("orgId") if isinstance(body, dict) else None
        if not isinstance(person_id, str) or not isinstance(org_id, str) or not person_id or not org_id:
            raise ContactCenterUnavailable(f"{what}: the answer has no id and orgId", status=200)
        return WebexIdentity(person_id=person_id, org_id=organization_uuid(org_id))

    def _token(self, form: dict[str, str], what: str) -> WebexGrant:
        response = send(
            self._http,
            what,
            "POST",
            self._token_url,
            data={**form, "client_id": self._client_id or "", "client_secret": self._client_secret or ""},
            headers={"Accept": "application/json"},
        )
        if response.status_code in (400, 401):
            error, description = _oauth_error(response)
            logger.warning("%s refused: %s", what, error)
            raise WebexGrantRefused(error, description, status=response.status_code)
        try:
            raise_for_status(response, what, self._clock())
        except ContactCenterRejected as exc:
            raise WebexGrantRefused("rejected", exc.message, status=exc.status) from exc
        return grant_from(json_body(response, what), what)


def grant_from(body: Any, what: str) -> WebexGrant:
    """The tokens of a token-endpoint answer; ContactCenterUnavailable when they are not there."""
    if not isinstance(body, dict):
        raise ContactCenterUnavailable(f"{what}: the answer is not a JSON object", status=200)
    access, refresh = body.get("access_token"), body.get("refresh_token")
    expires_in, refresh_expires_in = body.get("expires_in"), body.get("refresh_token_expires_in")
    if not (
        isinstance(access, str)
        and isinstance(refresh, str)
        and isinstance(expires_in, int)
        and _token_text(access)
        and _token_text(refresh)
        and _positive(expires_in)
    ):
        raise ContactCenterUnavailable(
            f"{what}: the answer lacks access_token, refresh_token or expires_in", status=200
        )
    return WebexGrant(
        access_token=access,
        expires_in_seconds=expires_in,
        refresh_token=refresh,
        refresh_expires_in_seconds=refresh_expires_in if _positive(refresh_expires_in) else None,
    )


def organization_uuid(org_id: str) -> str:
    """The UUID in a people-API org id (base64 of `ciscospark://us/ORGANIZATION/<uuid>`), lower case;
    a value that is not such base64 is taken as the UUID itself."""
    try:
        decoded = base64.b64decode(org_id + "=" * (-len(org_id) % 4), validate=True).decode("ascii")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return org_id.lower()
    if ORGANIZATION_URI_MARKER in decoded:
        return decoded.rsplit("/", 1)[-1].lower()
    return org_id.lower()


def _oauth_error(response: httpx.Response) -> tuple[str, str]:
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict):
        error = body.get("error")
        description = body.get("error_description") or body.get("message") or ""
        return (str(error)[:100] if error else f"http{response.status_code}", str(description)[:300])
    return f"http{response.status_code}", ""


def _token_text(value: Any) -> bool:
    return isinstance(value, str) and 0 < len(value) <= _MAX_TOKEN_LENGTH


def _positive(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value > 0
