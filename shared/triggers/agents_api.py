"""Admin HTTP API of the agent roster (policy ADMIN, like the connector API)."""

from __future__ import annotations

import logging

import azure.functions as func

from shared.agents.commands import is_csv, parse_agent_id, parse_list_format, parse_page_size
from shared.agents.schemas import (
    IMPORT_BODY,
    PUT_BODY,
    AgentPageView,
    AgentPath,
    AgentView,
    ImportView,
    ListQuery,
)
from shared.agents.views import agent_json, import_json, page_json
from shared.bootstrap import services
from shared.connectors.commands import parse_tenant_id
from shared.http.auth import authorized
from shared.http.contract import Json, operation
from shared.http.responses import json_response
from shared.identity.policies import ADMIN
from shared.identity.principal import Principal

logger = logging.getLogger(__name__)

bp = func.Blueprint()

AGENTS_ROUTE = "tenants/{tenantId}/agents"
AGENT_ROUTE = AGENTS_ROUTE + "/{agentId}"
TAGS = ("agents",)
NO_CONNECTOR = {404: "The tenant has no connector (or no such user / agent)"}


def _tenant(req: func.HttpRequest) -> str:
    return parse_tenant_id(req.route_params.get("tenantId"))


def _agent(req: func.HttpRequest) -> str:
    return parse_agent_id(req.route_params.get("agentId"))


@bp.function_name("put_agent")
@bp.route(route=AGENT_ROUTE, methods=["PUT"], auth_level=func.AuthLevel.ANONYMOUS)
@operation(
    summary="Create or replace an agent (the contact center's agent id -> a Teams user)",
    tags=TAGS,
    path=AgentPath,
    body=PUT_BODY,
    responses={201: Json(AgentView, "Created"), 200: Json(AgentView, "Replaced or unchanged")},
    errors={
        **NO_CONNECTOR,
        409: "The user backs another agent, or the connector is being deleted",
        502: "Graph failed",
    },
)
@authorized(ADMIN)
def put_agent(req: func.HttpRequest, caller: Principal) -> func.HttpResponse:
    tenant_id, agent_id = _tenant(req), _agent(req)
    item, created = services().agents.put(tenant_id, agent_id, PUT_BODY.read(req), actor=caller.actor)
    return json_response(agent_json(item), 201 if created else 200)


@bp.function_name("import_agents")
@bp.route(route=AGENTS_ROUTE + "/import", methods=["POST"], auth_level=func.AuthLevel.ANONYMOUS)
@operation(
    summary="Create or replace many agents; each item succeeds or fails alone",
    description=(
        "Also takes a roster file as text/csv (header agentId,userPrincipalName,userId,groupId; UTF-8, "
        "up to 10,000 rows): each result then carries its row; an unreadable file is 400 invalidCsv."
    ),
    tags=TAGS,
    body=IMPORT_BODY,
    responses={200: Json(ImportView, "One result per item, in order")},
    errors={**NO_CONNECTOR, 409: "The connector is being deleted", 502: "Graph failed"},
)
@authorized(ADMIN)
def import_agents(req: func.HttpRequest, caller: Principal) -> func.HttpResponse:
    tenant_id = _tenant(req)
    if is_csv(req.headers.get("content-type")):
        report = services().agents.import_csv(tenant_id, req.get_body() or b"", actor=caller.actor)
    else:
        report = services().agents.import_agents(tenant_id, IMPORT_BODY.read(req), actor=caller.actor)
    return json_response(import_json(report))


@bp.function_name("list_agents")
@bp.route(route=AGENTS_ROUTE, methods=["GET"], auth_level=func.AuthLevel.ANONYMOUS)
@operation(
    summary="The tenant's agents, a page at a time",
    tags=TAGS,
    query=ListQuery,
    responses={
        200: Json(
            AgentPageView,
            "A page; nextCursor is null on the last one (format=csv: the whole roster as text/csv)",
            also=("text/csv",),
        )
    },
    errors=NO_CONNECTOR,
)
@authorized(ADMIN)
def list_agents(req: func.HttpRequest, caller: Principal) -> func.HttpResponse:
    tenant_id = _tenant(req)
    if parse_list_format(req.params.get("format")) == "csv":
        return func.HttpResponse(
            services().agents.export_csv(tenant_id),
            status_code=200,
            mimetype="text/csv",
            charset="utf-8",
            headers={
                "Cache-Control": "no-store",
                "X-Content-Type-Options": "nosniff",
                "Content-Disposition": 'attachment; filename="agents.csv"',
            },
        )
    limit = parse_page_size(req.params.get("limit"))
    page = services().agents.list(tenant_id, limit, req.params.get("cursor") or None)
    return json_response(page_json(page))


@bp.function_name("delete_agent")
@bp.route(route=AGENT_ROUTE, methods=["DELETE"], auth_level=func.AuthLevel.ANONYMOUS)
@operation(
    summary="Remove an agent",
    tags=TAGS,
    path=AgentPath,
    responses={204: Json(None, "Removed")},
    errors={**NO_CONNECTOR, 409: "The agent changed meanwhile, or the connector is being deleted"},
)
@authorized(ADMIN)
def delete_agent(req: func.HttpRequest, caller: Principal) -> func.HttpResponse:
    tenant_id, agent_id = _tenant(req), _agent(req)
    services().agents.delete(tenant_id, agent_id, actor=caller.actor)
    return func.HttpResponse(status_code=204, headers={"Cache-Control": "no-store"})
