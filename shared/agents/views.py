"""The JSON the API shows for agents (camelCase). Pure functions."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from shared.agents.groups import GroupView
from shared.agents.model import AgentListItem, AgentPage, ImportReport, ImportStatus, SeenPresence
from shared.mappings.views import rules_json


def iso(value: datetime) -> str:
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def presence_json(presence: SeenPresence | None) -> dict[str, Any] | None:
    if presence is None:
        return None
    return {
        "availability": presence.availability,
        "activity": presence.activity,
        "sequenceNumber": presence.sequence_number,
        "observedAt": iso(presence.observed_at),
    }


def agent_json(item: AgentListItem) -> dict[str, Any]:
    agent = item.agent
    return {
        "agentId": agent.agent_id,
        "userId": agent.user_id,
        "userPrincipalName": agent.user_principal_name,
        "displayName": agent.display_name,
        "groupId": agent.group_id,
        "subscribed": item.subscribed,
        "lastPresence": presence_json(item.last_presence),
        "createdAt": iso(agent.created_at),
        "updatedAt": iso(agent.updated_at),
    }


def page_json(page: AgentPage) -> dict[str, Any]:
    return {"agents": [agent_json(item) for item in page.items], "nextCursor": page.next_cursor}


def import_json(report: ImportReport) -> dict[str, Any]:
    results: list[dict[str, Any]] = []
    for result in report.results:
        entry: dict[str, Any] = {"agentId": result.agent_id, "status": result.status.value}
        if result.row is not None:
            entry["row"] = result.row
        if result.error is not None:
            entry["error"] = {"code": result.error.code, "message": result.error.message}
        results.append(entry)
    return {
        "results": results,
        "summary": {status.value: report.count(status) for status in ImportStatus},
    }


def group_json(group: GroupView) -> dict[str, Any]:
    """`mappings` null: the tenant's presence mappings apply to the group's agents."""
    return {
        "groupId": group.group_id,
        "displayName": group.display_name,
        "presenceSync": group.presence_sync,
        "mappings": None if group.mappings is None else rules_json(group.mappings),
        "statusMessages": dict(group.status_messages),
        "isDefault": group.is_default,
        "createdAt": None if group.created_at is None else iso(group.created_at),
        "updatedAt": None if group.updated_at is None else iso(group.updated_at),
    }


def groups_json(groups: list[GroupView]) -> dict[str, Any]:
    return {"groups": [group_json(group) for group in groups]}
