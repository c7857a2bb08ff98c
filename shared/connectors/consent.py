"""Admin consent links and the redirect Microsoft sends back.

The state in a consent link is signed by this app, bound to the tenant and to the connector's current
setup attempt, and expires. The connector remembers only its current attempt id, so issuing a new link
supersedes every older one and using a state (granted or refused) makes it worthless.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import quote, urlencode

from shared.connectors.model import ConsentAttempt
from shared.identity.principal import Actor
from shared.security.signed_state import StateClaims, StateSigner

CONSENT_PURPOSE = "adminConsent"
GRAPH_DEFAULT_SCOPE = "https://graph.microsoft.com/.default"


@dataclass(frozen=True)
class ConsentCallback:
    """The query string of Microsoft's redirect, untrusted until the state verifies."""

    state: str | None
    tenant: str | None
    admin_consent: str | None
    error: str | None
    error_description: str | None


class ConsentLinks:
    def __init__(
        self,
        signer: StateSigner,
        *,
        authority_host: str,
        client_id: str,
        redirect_uri: str,
        ttl: timedelta,
        new_attempt_id: Callable[[], str] = lambda: secrets.token_urlsafe(16),
    ) -> None:
        self._signer = signer
        self._authority_host = authority_host.rstrip("/")
        self._client_id = client_id
        self._redirect_uri = redirect_uri
        self._ttl = ttl
        self._new_attempt_id = new_attempt_id

    def new_attempt(self, now: datetime, requested_by: Actor) -> ConsentAttempt:
        return ConsentAttempt(
            attempt_id=self._new_attempt_id(), expires_at=now + self._ttl, requested_by=requested_by
        )

    def url_for(self, tenant_id: str, attempt: ConsentAttempt) -> str:
        if attempt.requested_by is None:
            raise ValueError("a consent link is issued to an authenticated admin")
        state = self._signer.sign(
            CONSENT_PURPOSE,
            tenant_id,
            attempt.attempt_id,
            attempt.expires_at,
            requested_by=attempt.requested_by.object_id,
        )
        query = urlencode(
            {
                "client_id": self._client_id,
                "scope": GRAPH_DEFAULT_SCOPE,
                "redirect_uri": self._redirect_uri,
                "state": state,
            },
            quote_via=quote,
        )
        return f"{self._authority_host}/{tenant_id}/v2.0/adminconsent?{query}"

    def verify_state(self, state: str) -> StateClaims:
        return self._signer.verify(state, CONSENT_PURPOSE)
