"""The tables the connector owns. Every one is partitioned by tenant id, so one tenant's data can be
found, and purged, with a single partition query per table."""

from __future__ import annotations

CONNECTORS = "Connectors"
CONNECTOR_AUDIT = "ConnectorAudit"
# Two row kinds per agent in one partition: `agent|{agentId}` (the roster) and `user|{userId}` (the
# agent's presence sync state, found by the Entra user id that notifications carry).
AGENTS = "Agents"
SYNC_ACCOUNTS = "SyncAccounts"
SYNC_SIGN_INS = "SyncSignIns"
SUBSCRIPTIONS = "Subscriptions"
PRESENCE_MAPPINGS = "PresenceMappings"
# Per-minute operations figures of each process (GET sync-health's last hour), see
# operations_stats_repository.py.
OPERATIONS_STATS = "OperationsStats"

# Purged when a tenant's connector is deleted; the connector row itself goes last (its other rows in
# `Connectors`, such as the contact-center checks, are purged with the rest: see tenant_purge.py).
TENANT_DATA_TABLES: tuple[str, ...] = (
    SUBSCRIPTIONS,
    SYNC_SIGN_INS,
    SYNC_ACCOUNTS,
    AGENTS,
    PRESENCE_MAPPINGS,
    CONNECTOR_AUDIT,
    OPERATIONS_STATS,
)

ALL_TABLES: tuple[str, ...] = (CONNECTORS, *TENANT_DATA_TABLES)
