"""The factory the presence worker asks for a tenant's contact-center client (ContactCenterClients).

One pooled HTTP client serves every tenant. A tenant's adapter is kept while its configuration stays
the same (so a Webex token is reused across messages) and replaced when the connector's contactCenter
setting changes.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Final, Protocol

import httpx

from shared.connectors.model import ContactCenterConfig, WebexContactCenter
from shared.contact_center.ports import ContactCenterClient
from shared.contact_center.signatures import EVENTS_URL_HEADER, TENANT_HEADER
from shared.contact_center.webex.exceptions import WebexReauthorizationRequired
from shared.contact_center.webex_client import WebexContactCenterClient
from shared.contact_center.webhook_client import WebhookContactCenterClient

logger = logging.getLogger(__name__)

DEFAULT_TIMEOUT_SECONDS: Final = 5.0
USER_AGENT: Final = "teams-contact-center-connector/0.1"


def _utc_now() -> datetime:
    return datetime.now(UTC)


def events_url(public_base_url: str, tenant_id: str) -> str:
    """Where the tenant's contact center POSTs agent events."""
    return f"{public_base_url.rstrip('/')}/api/tenants/{tenant_id}/contact-center/events"


class WebexTokens(Protocol):
    """The tenants' Webex access tokens (shared/contact_center/webex/service.py)."""

    def access_token(self, tenant_id: str) -> str: ...

    def forget_token(self, tenant_id: str) -> None: ...


class NoWebexSignIn:
    """For a factory wired without Webex sign-in (tests of the webhook path): every Webex call fails."""

    def access_token(self, tenant_id: str) -> str:
        raise WebexReauthorizationRequired(f"tenant {tenant_id}: Webex sign-in is not wired")

    def forget_token(self, tenant_id: str) -> None:
        return None


class HttpContactCenterClients:
    def __init__(
        self,
        public_base_url: str,
        *,
        webex_tokens: WebexTokens | None = None,
        timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS,
        clock: Callable[[], datetime] = _utc_now,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self._public_base_url = public_base_url.rstrip("/")
        self._webex_tokens: WebexTokens = webex_tokens if webex_tokens is not None else NoWebexSignIn()
        self._clock = clock
        self._http = httpx.Client(
            timeout=httpx.Timeout(timeout_seconds),
            transport=transport,
            follow_redirects=False,
            headers={"User-Agent": USER_AGENT},
        )
        self._lock = threading.Lock()
        self._clients: dict[str, tuple[ContactCenterConfig, ContactCenterClient]] = {}

    def client_for(self, tenant_id: str, config: ContactCenterConfig) -> ContactCenterClient:
        with self._lock:
            cached = self._clients.get(tenant_id)
            if cached is not None and cached[0] == config:
                return cached[1]
            client = self._build(tenant_id, config)
            self._clients[tenant_id] = (config, client)
            logger.info("contact-center client for tenant %s: %s", tenant_id, config.type)
            return client

    def close(self) -> None:
        with self._lock:
            self._clients.clear()
        self._http.close()

    def _build(self, tenant_id: str, config: ContactCenterConfig) -> ContactCenterClient:
        headers = {
            TENANT_HEADER: tenant_id,
            EVENTS_URL_HEADER: events_url(self._public_base_url, tenant_id),
        }
        if isinstance(config, WebexContactCenter):
            return WebexContactCenterClient(
                tenant_id,
                config,
                self._http,
                access_token=lambda: self._webex_tokens.access_token(tenant_id),
                forget_token=lambda: self._webex_tokens.forget_token(tenant_id),
                # Webex needs none of the webhook contract's headers: our tenant id stays ours.
                connector_headers={},
                clock=self._clock,
            )
        return WebhookContactCenterClient(
            tenant_id, config, self._http, connector_headers=headers, clock=self._clock
        )
