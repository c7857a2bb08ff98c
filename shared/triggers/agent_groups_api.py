"""Admin HTTP API of a tenant's agent groups (policy ADMIN, like the agents API)."""

from __future__ import annotations

import logging

import azure.functions as func

from shared.agents.groups import GroupView
from shared.agents.schemas import GROUP_BODY, GroupDeleteQuery, GroupPath, GroupsView
from shared.agents.schemas import GroupView as GroupViewModel
from shared.agents.views import group_json, groups_json
from shared.bootstrap import services
from shared.connectors.commands import parse_tenant_id
from shared.http.auth import authorized
from shared.http.contract import Json, operation
from shared.http.requests import if_match
from shared.http.responses import json_response
from shared.identity.policies import ADMIN
from shared.identity.principal import Principal

logger = logging.getLogger(__name__)

bp = func.Blueprint()

GROUPS_ROUTE = "tenants/{tenantId}/agent-groups"
GROUP_ROUTE = GROUPS_ROUTE + "/{groupId}"
TAGS = ("agent groups",)
NO_CONNECTOR = {404: "The tenant has no connector"}


def _tenant(req: func.HttpRequest) -> str:
    return parse_tenant_id(req.route_params.get("tenantId"))


def _answer(group: GroupView, status: int = 200) -> func.HttpResponse:
    headers = {"ETag": group.etag} if group.etag else None
    return json_response(group_json(group), status, headers)


@bp.function_name("list_agent_groups")
@bp.route(route=GROUPS_ROUTE, methods=["GET"], auth_level=func.AuthLevel.ANONYMOUS)
@operation(
    summary="The tenant's agent groups, the default group first",
    tags=TAGS,
    responses={200: Json(GroupsView, "Every group")},
    errors=NO_CONNECTOR,
)
@authorized(ADMIN)
def list_agent_groups(req: func.HttpRequest, caller: Principal) -> func.HttpResponse:
    return json_response(groups_json(services().agent_groups.list(_tenant(req))))


@bp.function_name("get_agent_group")
@bp.route(route=GROUP_ROUTE, methods=["GET"], auth_level=func.AuthLevel.ANONYMOUS)
@operation(
    summary="One agent group",
    tags=TAGS,
    path=GroupPath,
    responses={
        200: Json(GroupViewModel, "The group", headers={"ETag": "Version for If-Match (not on default)"})
    },
    errors={404: "The tenant has no connector, or no such group"},
)
@authorized(ADMIN)
def get_agent_group(req: func.HttpRequest, caller: Principal) -> func.HttpResponse:
    tenant_id = _tenant(req)
    return _answer(services().agent_groups.get(tenant_id, req.route_params.get("groupId") or ""))


@bp.function_name("put_agent_group")
@bp.route(route=GROUP_ROUTE, methods=["PUT"], auth_level=func.AuthLevel.ANONYMOUS)
@operation(
    summary="Create or replace an agent group (presenceSync, own mappings)",
    description="If-Match (optional) makes the change conditional; `*`: only if the group exists.",
    tags=TAGS,
    path=GroupPath,
    body=GROUP_BODY,
    responses={
        201: Json(GroupViewModel, "Created", headers={"ETag": "Version"}),
        200: Json(GroupViewModel, "Replaced or unchanged", headers={"ETag": "Version"}),
    },
    errors={
        **NO_CONNECTOR,
        409: "The default group cannot be changed, or the connector is being deleted",
        412: "If-Match names an older version",
    },
)
@authorized(ADMIN)
def put_agent_group(req: func.HttpRequest, caller: Principal) -> func.HttpResponse:
    tenant_id = _tenant(req)
    group, created = services().agent_groups.put(
        tenant_id, req.route_params.get("groupId") or "", GROUP_BODY.read(req), if_match(req), caller.actor
    )
    return _answer(group, 201 if created else 200)


@bp.function_name("delete_agent_group")
@bp.route(route=GROUP_ROUTE, methods=["DELETE"], auth_level=func.AuthLevel.ANONYMOUS)
@operation(
    summary="Remove an agent group; with moveTo its agents move there first",
    tags=TAGS,
    path=GroupPath,
    query=GroupDeleteQuery,
    responses={204: Json(None, "Removed")},
    errors={
        404: "The tenant has no connector, or no such group",
        409: "The group still has agents (use moveTo), or it is the default group",
        412: "If-Match names an older version",
    },
)
@authorized(ADMIN)
def delete_agent_group(req: func.HttpRequest, caller: Principal) -> func.HttpResponse:
    tenant_id = _tenant(req)
    move_to = req.params.get("moveTo")
    services().agent_groups.delete(
        tenant_id, req.route_params.get("groupId") or "", if_match(req), move_to, caller.actor
    )
    return func.HttpResponse(status_code=204, headers={"Cache-Control": "no-store"})
