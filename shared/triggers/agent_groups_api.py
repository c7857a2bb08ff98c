"""Admin HTTP API of a tenant's agent groups (policy ADMIN, like the agents API)."""

from __future__ import annotations

import logging

import azure.functions as func

from shared.agents.groups import GroupView
from shared.agents.views import group_json, groups_json
from shared.bootstrap import services
from shared.connectors.commands import parse_tenant_id
from shared.http.auth import authorized
from shared.http.requests import if_match, json_object
from shared.http.responses import json_response
from shared.identity.policies import ADMIN
from shared.identity.principal import Principal

logger = logging.getLogger(__name__)

bp = func.Blueprint()

GROUPS_ROUTE = "tenants/{tenantId}/agent-groups"
GROUP_ROUTE = GROUPS_ROUTE + "/{groupId}"


def _tenant(req: func.HttpRequest) -> str:
    return parse_tenant_id(req.route_params.get("tenantId"))


def _answer(group: GroupView, status: int = 200) -> func.HttpResponse:
    headers = {"ETag": group.etag} if group.etag else None
    return json_response(group_json(group), status, headers)


@bp.function_name("list_agent_groups")
@bp.route(route=GROUPS_ROUTE, methods=["GET"], auth_level=func.AuthLevel.ANONYMOUS)
@authorized(ADMIN)
def list_agent_groups(req: func.HttpRequest, caller: Principal) -> func.HttpResponse:
    return json_response(groups_json(services().agent_groups.list(_tenant(req))))


@bp.function_name("get_agent_group")
@bp.route(route=GROUP_ROUTE, methods=["GET"], auth_level=func.AuthLevel.ANONYMOUS)
@authorized(ADMIN)
def get_agent_group(req: func.HttpRequest, caller: Principal) -> func.HttpResponse:
    tenant_id = _tenant(req)
    return _answer(services().agent_groups.get(tenant_id, req.route_params.get("groupId") or ""))


@bp.function_name("put_agent_group")
@bp.route(route=GROUP_ROUTE, methods=["PUT"], auth_level=func.AuthLevel.ANONYMOUS)
@authorized(ADMIN)
def put_agent_group(req: func.HttpRequest, caller: Principal) -> func.HttpResponse:
    tenant_id = _tenant(req)
    group, created = services().agent_groups.put(
        tenant_id, req.route_params.get("groupId") or "", json_object(req), if_match(req), caller.actor
    )
    return _answer(group, 201 if created else 200)


@bp.function_name("delete_agent_group")
@bp.route(route=GROUP_ROUTE, methods=["DELETE"], auth_level=func.AuthLevel.ANONYMOUS)
@authorized(ADMIN)
def delete_agent_group(req: func.HttpRequest, caller: Principal) -> func.HttpResponse:
    tenant_id = _tenant(req)
    move_to = req.params.get("moveTo")
    services().agent_groups.delete(
        tenant_id, req.route_params.get("groupId") or "", if_match(req), move_to, caller.actor
    )
    return func.HttpResponse(status_code=204, headers={"Cache-Control": "no-store"})
