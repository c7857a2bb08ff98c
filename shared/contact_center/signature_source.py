"""The tenant's contact center as a caller: a GET signed with the tenant's shared secret.

Server-to-server reads (the expert directory) carry `X-Connector-Timestamp: <unix seconds>` and
`X-Connector-Signature: sha256=<hex HMAC-SHA256 of "GET {path}?{query}\\n{timestamp}">`, the path and
query exactly as sent (percent-encoded), or the query in canonical form (parameters sorted by name,
names and values percent-encoded per RFC 3986), which survives proxies and hosts that re-encode a URL.
The query is signed with the path, so a captured signature cannot be replayed for another search, and
it expires with the timestamp (5 minutes either way). The secret that rotated away is still accepted
during the rotation overlap, as for agent events.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Final, Protocol
from urllib.parse import parse_qsl, quote, urlsplit

from shared.connectors.model import Connector
from shared.connectors.state_machine import secret_of
from shared.contact_center.signatures import (
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    get_request_payload,
    verify_signature,
)
from shared.identity.credentials import CredentialRequest
from shared.identity.exceptions import NotAuthenticated
from shared.identity.principal import AuthMethod, Principal, PrincipalKind

logger = logging.getLogger(__name__)

MAX_CLOCK_SKEW: Final = timedelta(minutes=5)
# The fixed object id a contact center has as a principal (it is no directory object).
CONTACT_CENTER_PRINCIPAL_ID: Final = "contact-center"


class ConnectorSecrets(Protocol):
    def get(self, tenant_id: str) -> Connector | None: ...


def signed_by_tenant(connector: Connector, payload: bytes, header: str | None, now: datetime) -> bool:
    """The current secret, or the one it replaced while the rotation overlap lasts."""
    if verify_signature(payload, header, secret_of(connector.contact_center) or ""):
        return True
    previous = connector.previous_secret
    if previous is None or not previous.still_accepted(now):
        return False
    if not verify_signature(payload, header, previous.secret):
        return False
    logger.info("request of tenant %s signed with the previous contact-center secret", connector.tenant_id)
    return True


def signed_target(url: str) -> str:
    """`/api/tenants/.../directory/users?search=ann`: what the signature covers besides the time."""
    split = urlsplit(url)
    return f"{split.path}?{split.query}" if split.query else split.path


def canonical_target(url: str) -> str:
    """The target with its query canonical: `?department=Billing&search=O%27Brien` (sorted, RFC 3986)."""
    split = urlsplit(url)
    pairs = sorted(parse_qsl(split.query, keep_blank_values=True))
    query = "&".join(f"{quote(name, safe='')}={quote(value, safe='')}" for name, value in pairs)
    return f"{split.path}?{query}" if query else split.path


class ContactCenterSignatureSource:
    def __init__(self, connectors: ConnectorSecrets, clock: Callable[[], datetime]) -> None:
        self._connectors = connectors
        self._clock = clock

    @property
    def method(self) -> AuthMethod:
        return AuthMethod.SIGNATURE

    def authenticate(self, request: CredentialRequest) -> Principal | None:
        header = request.header(SIGNATURE_HEADER)
        if header is None or not header.strip():
            return None
        if request.method.upper() != "GET":
            raise NotAuthenticated("only GET requests are signed this way")
        try:
            tenant_id = str(uuid.UUID(request.route_params.get("tenantId") or ""))
        except ValueError:
            raise NotAuthenticated("a signed request names its tenant in the route") from None
        timestamp = (request.header(TIMESTAMP_HEADER) or "").strip()
        now = self._clock()
        if not timestamp.isascii() or not timestamp.isdigit() or len(timestamp) > 12:
            raise NotAuthenticated(f"{TIMESTAMP_HEADER} must be the signing time in unix seconds")
        if abs(now.timestamp() - int(timestamp)) > MAX_CLOCK_SKEW.total_seconds():
            raise NotAuthenticated(f"{TIMESTAMP_HEADER} is more than 5 minutes off")
        connector = self._connectors.get(tenant_id)
        targets = dict.fromkeys((signed_target(request.url), canonical_target(request.url)))
        if connector is None or not any(
            signed_by_tenant(connector, get_request_payload(target, timestamp), header, now)
            for target in targets
        ):
            logger.warning("tenant %s: contact-center signature refused", tenant_id)
            raise NotAuthenticated(
                f"{SIGNATURE_HEADER} must be sha256=<hex HMAC-SHA256 of 'GET <path>?<query>\\n<timestamp>' "
                "keyed with the tenant's contact-center secret>"
            )
        return Principal(
            tenant_id=tenant_id,
            object_id=CONTACT_CENTER_PRINCIPAL_ID,
            kind=PrincipalKind.CONTACT_CENTER,
            method=AuthMethod.SIGNATURE,
        )
