"""The tables the connector owns. Every one is partitioned by tenant id, so one tenant's data can be
found, and purged, with a single partition query per table."""

from __future__ import annotations

CONNECTORS = "Connectors"
CONNECTOR_AUDIT = "ConnectorAudit"

# Purged when a tenant's connector is deleted; the Connectors row itself goes last.
TENANT_DATA_TABLES: tuple[str, ...] = (CONNECTOR_AUDIT,)

ALL_TABLES: tuple[str, ...] = (CONNECTORS, *TENANT_DATA_TABLES)
