"""The JSON the API shows for connectors (camelCase, secrets redacted). Pure functions."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from shared.connectors.commands import REDACTED
from shared.connectors.model import (
    AuditEntry,
    Connector,
    ConnectorCounts,
    ContactCenterConfig,
    WebexContactCenter,
)
from shared.connectors.service import ConnectorDetails, DeletionReceipt
from shared.contact_center.health import ContactCenterCheck
from shared.contact_center.webex.model import WebexAuthorization


def iso(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat().replace("+00:00", "Z")


def contact_center_json(config: ContactCenterConfig | None) -> dict[str, Any] | None:
    if config is None:
        return None
    if isinstance(config, WebexContactCenter):
        return {"type": config.type, "baseUrl": config.base_url, "orgId": config.org_id}
    return {"type": config.type, "url": config.url, "secret": REDACTED}


def contact_center_check_json(check: ContactCenterCheck) -> dict[str, Any]:
    return {
        "reachable": check.reachable,
        "accepted": check.accepted,
        "status": check.status,
        "reason": check.reason,
        "latencyMs": check.latency_ms,
        "at": iso(check.at),
        "source": check.source.value,
    }


def connector_details_json(details: ConnectorDetails) -> dict[str, Any]:
    """GET connector: the connector, its counts and what is known of its contact center's health."""
    body = connector_json(details.connector, details.counts)
    check = details.contact_center_health
    body["contactCenterHealth"] = None if check is None else contact_center_check_json(check)
    if isinstance(details.connector.contact_center, WebexContactCenter):
        body["webex"] = webex_authorization_json(details.webex_authorization)
    return body


def webex_authorization_json(authorization: WebexAuthorization | None) -> dict[str, Any]:
    """What the admin needs to know of the Webex sign-in; never a token or secret."""
    if authorization is None:
        return {
            "status": "notAuthorized",
            "message": "an admin must sign in to Webex: POST .../contact-center/webex/authorize",
            "subscription": None,
        }
    subscription = authorization.subscription
    return {
        "status": authorization.status.value,
        "orgId": authorization.org_id,
        "authorizedAt": iso(authorization.authorized_at),
        "authorizedBy": authorization.authorized_by,
        "refreshTokenExpiresAt": iso(authorization.refresh_expires_at),
        "lastError": authorization.last_error,
        "lastErrorAt": iso(authorization.last_error_at),
        "subscription": None
        if subscription is None
        else {"id": subscription.subscription_id, "createdAt": iso(subscription.created_at)},
        "subscriptionError": authorization.subscription_error,
    }


def connector_json(connector: Connector, counts: ConnectorCounts | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {
        "tenantId": connector.tenant_id,
        "status": connector.status.value,
        "settings": {
            "showUserDetails": connector.settings.show_user_details,
            "presenceSync": connector.settings.presence_sync,
        },
        "contactCenter": contact_center_json(connector.contact_center),
        "createdAt": iso(connector.created_at),
        "updatedAt": iso(connector.updated_at),
        "activatedAt": iso(connector.activated_at),
        "deactivatedAt": iso(connector.deactivated_at),
    }
    if connector.last_consent_failure is not None:
        body["lastConsentError"] = {
            "error": connector.last_consent_failure.error,
            "description": connector.last_consent_failure.description,
            "at": iso(connector.last_consent_failure.at),
        }
    if counts is not None:
        body["counts"] = {
            "agents": counts.agents,
            "subscribedAgents": counts.subscribed_agents,
            "subscriptions": counts.subscriptions,
            "syncAccounts": {
                "signedIn": counts.sync_accounts_signed_in,
                "needed": counts.sync_accounts_needed,
                "agentsPerAccount": counts.agents_per_sync_account,
            },
            "missing": counts.missing,
        }
    return body


def audit_json(entries: list[AuditEntry]) -> dict[str, Any]:
    return {
        "value": [
            {
                "action": entry.action,
                "at": iso(entry.at),
                "outcome": entry.outcome,
                # The admin's upn (or his object id when the token named no user), and his object id.
                "actor": entry.actor.label if entry.actor is not None else None,
                "actorId": entry.actor.object_id if entry.actor is not None else None,
                "detail": entry.detail,
            }
            for entry in entries
        ]
    }


def deletion_json(receipt: DeletionReceipt) -> dict[str, Any]:
    return {
        "deleted": True,
        "tenantId": receipt.tenant_id,
        "nextSteps": {
            "message": (
                "The connector and all its data are deleted; one deletion record stays in the audit trail. "
                "Its authorization in Microsoft Entra ID "
                f"stays until the enterprise application (app id {receipt.app_client_id}) is removed from "
                f"tenant {receipt.tenant_id}: a Global Administrator or Privileged Role Administrator of "
                "that tenant must delete it, with the Azure CLI commands below or in the Microsoft Entra "
                "admin center (Enterprise applications > the app > Properties > Delete)."
            ),
            "commands": [
                f"az login --tenant {receipt.tenant_id} --allow-no-subscriptions",
                f"az ad sp delete --id {receipt.app_client_id}",
            ],
        },
    }
