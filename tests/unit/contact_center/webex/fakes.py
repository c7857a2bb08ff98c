"""Fakes of the Webex ports, keeping the real adapters' contracts (ETags, rotating refresh tokens)."""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from shared.connectors.model import WebexContactCenter
from shared.contact_center.exceptions import ContactCenterUnavailable
from shared.contact_center.webex.exceptions import StaleWebexAuthorization, WebexGrantRefused
from shared.contact_center.webex.model import WebexAuthorization, WebexGrant, WebexIdentity

FIXTURES = Path(__file__).resolve().parents[3] / "fixtures" / "webex"
ORG = "2f9eecc5-0472-4549-9a83-2afdae0d4ba1"


def fixture(name: str) -> dict[str, Any]:
    document: dict[str, Any] = json.loads((FIXTURES / name).read_text())
    document.pop("_source", None)
    return document


@dataclass
class FakeWebexOAuth:
    """Webex's token endpoint: codes redeem once, every refresh rotates the refresh token."""

    configured: bool = True
    org_id: str = ORG
    expires_in: int = 3600
    codes: dict[str, str] = field(default_factory=dict)
    live_refresh_tokens: set[str] = field(default_factory=set)
    refreshes: int = 0
    issued: int = 0
    unavailable: bool = False
    authorize_calls: list[dict[str, str]] = field(default_factory=list)
    redeemed: list[tuple[str, str]] = field(default_factory=list)
    # Called after a refresh succeeded at Webex, before the service stores the result.
    after_refresh: Callable[[], None] | None = None

    def authorize_url(self, *, state: str, code_challenge: str) -> str:
        self.authorize_calls.append({"state": state, "code_challenge": code_challenge})
        return f"https://webexapis.com/v1/authorize?state={state}"

    def redeem_code(self, code: str, code_verifier: str) -> WebexGrant:
        if code not in self.codes:
            raise WebexGrantRefused("invalid_grant", "unknown code")
        del self.codes[code]
        self.redeemed.append((code, code_verifier))
        return self._grant()

    def refresh(self, refresh_token: str) -> WebexGrant:
        if self.unavailable:
            raise ContactCenterUnavailable("Webex token refresh: 503", status=503)
        if refresh_token not in self.live_refresh_tokens:
            raise WebexGrantRefused("invalid_grant", "The refresh token provided is expired or revoked")
        self.live_refresh_tokens.discard(refresh_token)
        self.refreshes += 1
        grant = self._grant()
        if self.after_refresh is not None:
            self.after_refresh()
        return grant

    def identity(self, access_token: str) -> WebexIdentity:
        return WebexIdentity(person_id="person-1", org_id=self.org_id)

    def revoke_all(self) -> None:
        self.live_refresh_tokens.clear()

    def _grant(self) -> WebexGrant:
        self.issued += 1
        refresh = f"refresh-{self.issued}"
        self.live_refresh_tokens.add(refresh)
        return WebexGrant(f"access-{self.issued}", self.expires_in, refresh, 7776000)


class FakeWebexAuthorizations:
    def __init__(self) -> None:
        self.rows: dict[str, WebexAuthorization] = {}
        self._versions = itertools.count(1)

    def get(self, tenant_id: str) -> WebexAuthorization | None:
        return self.rows.get(tenant_id)

    def save(self, authorization: WebexAuthorization) -> WebexAuthorization:
        current = self.rows.get(authorization.tenant_id)
        if authorization.etag is not None and (current is None or current.etag != authorization.etag):
            raise StaleWebexAuthorization("stale")
        stored = replace(authorization, etag=f"v{next(self._versions)}")
        self.rows[authorization.tenant_id] = stored
        return stored

    def delete(self, tenant_id: str) -> None:
        self.rows.pop(tenant_id, None)

    def touch(self, tenant_id: str) -> None:
        """Another instance writes the row meanwhile."""
        self.rows[tenant_id] = replace(self.rows[tenant_id], etag=f"v{next(self._versions)}")


@dataclass
class FakeWebexSubscriptions:
    """Webex's /v1/subscriptions of every org: what was registered, with which token and secret."""

    active: dict[str, dict[str, str]] = field(default_factory=dict)
    created: list[dict[str, str]] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)
    fail_create: Exception | None = None
    _ids: Any = field(default_factory=lambda: itertools.count(1))

    def create(self, config: WebexContactCenter, access_token: str, destination_url: str, secret: str) -> str:
        if self.fail_create is not None:
            raise self.fail_create
        subscription_id = f"sub-{next(self._ids)}"
        record = {"id": subscription_id, "token": access_token, "url": destination_url, "secret": secret}
        self.active[subscription_id] = record
        self.created.append(record)
        return subscription_id

    def exists(self, config: WebexContactCenter, access_token: str, subscription_id: str) -> bool:
        return subscription_id in self.active

    def delete(self, config: WebexContactCenter, access_token: str, subscription_id: str) -> None:
        self.deleted.append(subscription_id)
        self.active.pop(subscription_id, None)

    def lose(self, subscription_id: str) -> None:
        self.active.pop(subscription_id, None)
