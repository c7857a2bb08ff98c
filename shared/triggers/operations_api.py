"""Admin HTTP API of sync health (policy ADMIN, like the agents API): why one agent is or is not in
sync, and the tenant's sync health over the last hour."""

from __future__ import annotations

import logging

import azure.functions as func

from shared.agents.commands import parse_agent_id
from shared.bootstrap import services
from shared.connectors.commands import parse_tenant_id
from shared.http.auth import authorized
from shared.http.contract import Json, operation
from shared.http.responses import json_response
from shared.http.schemas import TenantPath
from shared.identity.policies import ADMIN
from shared.identity.principal import Principal
from shared.operations.schemas import AgentPath, AgentSyncStatusView, SyncHealthView
from shared.operations.views import agent_status_json, sync_health_json

logger = logging.getLogger(__name__)

bp = func.Blueprint()

AGENT_SYNC_STATUS_ROUTE = "tenants/{tenantId}/agents/{agentId}/sync-status"
SYNC_HEALTH_ROUTE = "tenants/{tenantId}/sync-health"
TAGS = ("sync health",)


@bp.function_name("get_agent_sync_status")
@bp.route(route=AGENT_SYNC_STATUS_ROUTE, methods=["GET"], auth_level=func.AuthLevel.ANONYMOUS)
@operation(
    summary="Why one agent is or is not in sync: both sides, the last command, delays, problems",
    tags=TAGS,
    path=AgentPath,
    responses={200: Json(AgentSyncStatusView, "The agent's sync status")},
    errors={404: "The tenant has no connector, or no such agent"},
)
@authorized(ADMIN)
def get_agent_sync_status(req: func.HttpRequest, caller: Principal) -> func.HttpResponse:
    tenant_id = parse_tenant_id(req.route_params.get("tenantId"))
    agent_id = parse_agent_id(req.route_params.get("agentId"))
    return json_response(agent_status_json(services().operations.agent_status(tenant_id, agent_id)))


@bp.function_name("get_sync_health")
@bp.route(route=SYNC_HEALTH_ROUTE, methods=["GET"], auth_level=func.AuthLevel.ANONYMOUS)
@operation(
    summary="The tenant's sync health: agents, subscriptions, sync accounts, the last hour",
    tags=TAGS,
    path=TenantPath,
    responses={200: Json(SyncHealthView, "The tenant's sync health")},
    errors={404: "The tenant has no connector"},
)
@authorized(ADMIN)
def get_sync_health(req: func.HttpRequest, caller: Principal) -> func.HttpResponse:
    tenant_id = parse_tenant_id(req.route_params.get("tenantId"))
    return json_response(sync_health_json(services().operations.tenant_health(tenant_id)))
