"""JSON of the two health views (ids only: no names, UPNs or phone numbers)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from shared.operations.ports import Direction
from shared.operations.service import AgentSyncStatus, TenantSyncHealth
from shared.presence.sync_state import MeasuredDelay
from shared.sync_accounts.model import SyncAccountStatus


def _time(value: datetime | None) -> str | None:
    return None if value is None else value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _delay(delay: MeasuredDelay | None) -> dict[str, Any] | None:
    return None if delay is None else {"seconds": round(delay.seconds, 3), "at": _time(delay.at)}


def agent_status_json(status: AgentSyncStatus) -> dict[str, Any]:
    state = status.state
    teams, cc, command = state.teams, state.contact_center, state.last_command
    record, account = status.coverage.subscription, status.coverage.account
    return {
        "tenantId": status.tenant_id,
        "agentId": status.agent_id,
        "userId": status.user_id,
        "inSync": not status.problems,
        "teams": None
        if teams is None
        else {
            "availability": teams.availability,
            "activity": teams.activity,
            "observedAt": _time(teams.observed_at),
            "fromConnector": teams.from_connector,
            "manualOverride": teams.manual_override,
            "manualOverrideSince": _time(teams.manual_override_since),
        },
        "contactCenter": None
        if cc is None
        else {
            "state": cc.state.value,
            "idleCodeId": cc.idle_code_id,
            "idleCodeName": cc.idle_code_name,
            "observedAt": _time(cc.changed_at),
        },
        "lastCommand": None
        if command is None
        else {
            "kind": command.kind,
            "target": command.target.value,
            "detail": command.detail,
            "outcome": command.outcome.value,
            "at": _time(command.at),
            "status": command.status,
            "error": command.error,
        },
        "lastDelay": {
            Direction.TEAMS_TO_CONTACT_CENTER.value: _delay(state.delay_to_contact_center),
            Direction.CONTACT_CENTER_TO_TEAMS.value: _delay(state.delay_to_teams),
        },
        "subscription": None
        if record is None
        else {
            "id": record.subscription_id,
            "status": record.status.value,
            "expiresAt": _time(record.expires_at),
            "syncAccountId": record.account_id,
            "syncAccountStatus": None if account is None else account.status.value,
        },
        "problems": [{"code": p.code.value, "message": p.message} for p in status.problems],
        "at": _time(status.at),
    }


def sync_health_json(health: TenantSyncHealth) -> dict[str, Any]:
    hour = health.last_hour
    subscriptions = health.subscriptions
    healthy = sum(1 for a in health.accounts if a.status is SyncAccountStatus.HEALTHY)
    dropped = {k.split(":", 1)[1]: v for k, v in hour.changes.items() if k.startswith("dropped:")}
    return {
        "tenantId": health.tenant_id,
        "at": _time(health.at),
        "agents": {
            "total": health.agents_total,
            "inSync": health.agents_in_sync,
            "withProblem": health.agents_with_problem,
        },
        "subscriptions": {
            "active": subscriptions.active,
            "expiringWithin15Minutes": subscriptions.expiring,
            "failed": subscriptions.failed,
            "pending": subscriptions.pending,
        },
        "syncAccounts": {"healthy": healthy, "needingSignIn": len(health.accounts) - healthy},
        "contactCenter": {"authorization": health.contact_center.value},
        "lastHour": {
            "notificationsDropped": hour.notifications_dropped,
            "changes": {
                "applied": hour.changes.get("applied", 0),
                "superseded": hour.changes.get("superseded", 0),
                "dropped": dropped,
            },
            "deadLettered": hour.dead_lettered,
            "graphThrottled": hour.graph_throttled,
            "contactCenterRefused": hour.contact_center_refused,
            "syncDelaySeconds": {
                "samples": hour.delay_samples(),
                # Bucket upper bounds (never optimistic); null without samples.
                "p50": hour.delay_percentile(None, 0.50),
                "p99": hour.delay_percentile(None, 0.99),
                Direction.TEAMS_TO_CONTACT_CENTER.value: {
                    "p50": hour.delay_percentile(Direction.TEAMS_TO_CONTACT_CENTER, 0.50),
                    "p99": hour.delay_percentile(Direction.TEAMS_TO_CONTACT_CENTER, 0.99),
                },
                Direction.CONTACT_CENTER_TO_TEAMS.value: {
                    "p50": hour.delay_percentile(Direction.CONTACT_CENTER_TO_TEAMS, 0.50),
                    "p99": hour.delay_percentile(Direction.CONTACT_CENTER_TO_TEAMS, 0.99),
                },
            },
        },
    }
