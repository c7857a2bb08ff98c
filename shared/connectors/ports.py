"""What the connector lifecycle needs from the outside world. Adapters live in shared/storage/."""

from __future__ import annotations

from typing import Protocol

from shared.connectors.model import AuditEntry, Connector, ConnectorCounts
from shared.contact_center.health import ContactCenterHealth
from shared.contact_center.webex.model import WebexAuthorization


class ConnectorRepository(Protocol):
    def get(self, tenant_id: str) -> Connector | None: ...

    def add(self, connector: Connector) -> Connector:
        """Insert; raise ConnectorAlreadyExists. Returns the connector carrying its new etag."""
        ...

    def save(self, connector: Connector) -> Connector:
        """Replace if the stored etag still equals `connector.etag`; raise StaleConnector otherwise."""
        ...

    def delete(self, connector: Connector) -> None:
        """Delete if the stored etag still equals `connector.etag`; raise StaleConnector otherwise."""
        ...


class AuditLog(Protocol):
    def record(self, entry: AuditEntry) -> None: ...

    def list_recent(self, tenant_id: str, limit: int) -> list[AuditEntry]:
        """Newest first."""
        ...


class TenantDataPurger(Protocol):
    def purge(self, tenant_id: str) -> int:
        """Remove every entity the tenant owns except the connector row itself; return how many."""
        ...


class ConnectorActivity(Protocol):
    """What presence sync does when a connector starts or stops working, and what it reports."""

    def activated(self, tenant_id: str) -> None:
        """Consent granted or connector reactivated: subscribe the tenant's agents. Never raises."""
        ...

    def deactivated(self, tenant_id: str) -> None:
        """Deactivated (or about to be deleted): remove the tenant's Graph subscriptions. Never raises."""
        ...

    def counts(self, tenant_id: str) -> ConnectorCounts: ...


class NoConnectorActivity:
    """For a connector service wired without presence sync (tests of the lifecycle alone)."""

    def activated(self, tenant_id: str) -> None:
        return None

    def deactivated(self, tenant_id: str) -> None:
        return None

    def counts(self, tenant_id: str) -> ConnectorCounts:
        return ConnectorCounts()


class ContactCenterHealthReader(Protocol):
    """The latest contact-center checks (the admin's test, the engine's calls); one table read."""

    def get(self, tenant_id: str) -> ContactCenterHealth: ...


class NoContactCenterHealth:
    def get(self, tenant_id: str) -> ContactCenterHealth:
        return ContactCenterHealth()


class WebexAuthorizationReader(Protocol):
    """The tenant's Webex sign-in and subscription, shown with the connector."""

    def authorization(self, tenant_id: str) -> WebexAuthorization | None: ...


class NoWebexAuthorizations:
    def authorization(self, tenant_id: str) -> WebexAuthorization | None:
        return None
