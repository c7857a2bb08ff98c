"""The composition root: the one place that builds real adapters from settings and wires services.

Triggers call `services()`; tests call `use_services(...)` with services wired to fakes or to Azurite.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from shared.connectors.consent import ConsentLinks
from shared.connectors.service import ConnectorService
from shared.health import HealthService
from shared.security.secret_box import SecretBox
from shared.security.signed_state import StateSigner
from shared.settings import Settings, load_settings
from shared.storage.audit_log import TableAuditLog
from shared.storage.connector_repository import TableConnectorRepository
from shared.storage.table_store import TableStore
from shared.storage.tenant_purge import TableTenantPurger

logger = logging.getLogger(__name__)


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class Services:
    settings: Settings
    connectors: ConnectorService
    health: HealthService


def build_services(settings: Settings, *, clock: Callable[[], datetime] = utc_now) -> Services:
    store = TableStore.from_settings(settings)
    # The probe must answer fast when storage is down, so it gets its own client without retries.
    probe_store = TableStore.from_settings(settings, retry_total=0, connection_timeout=3, read_timeout=5)
    links = ConsentLinks(
        StateSigner(settings.state_signing_key, clock),
        authority_host=settings.entra_authority_host,
        client_id=settings.entra_app_client_id,
        redirect_uri=settings.consent_redirect_uri,
        ttl=settings.consent_state_ttl,
    )
    connectors = ConnectorService(
        TableConnectorRepository(store, SecretBox(settings.secrets_encryption_key)),
        TableAuditLog(store),
        TableTenantPurger(store),
        links,
        app_client_id=settings.entra_app_client_id,
        clock=clock,
    )
    return Services(
        settings=settings,
        connectors=connectors,
        health=HealthService({"tableStorage": probe_store.ping}),
    )


_lock = threading.Lock()
_services: Services | None = None


def services() -> Services:
    global _services  # noqa: PLW0603 - the process-wide container, built once on first use
    if _services is None:
        with _lock:
            if _services is None:
                _services = build_services(load_settings())
                logger.info("services wired (app %s)", _services.settings.entra_app_client_id)
    return _services


def use_services(replacement: Services | None) -> None:
    """Install services built by a test (or None to rebuild from settings on next use)."""
    global _services  # noqa: PLW0603
    with _lock:
        _services = replacement


def check_settings() -> Settings:
    """Fail at start, naming every missing or invalid setting, rather than on the first request."""
    return load_settings()
