"""The control API (/_sim, no auth): declare tenants and agents, move agents, inject faults, inspect."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, Final

from devstack.contact_center_simulator.delivery import EventDispatcher
from devstack.contact_center_simulator.errors import SimulatorError
from devstack.contact_center_simulator.faults import FaultInjector, FaultRule, fault_as_json
from devstack.contact_center_simulator.http_types import Request, Response, Router
from devstack.contact_center_simulator.models import AGENT_STATES, IdleCodeEntry
from devstack.contact_center_simulator.state import SimulatorState

logger = logging.getLogger(__name__)

_AGENT: Final = "(?P<agent>[^/]+)"
_TENANT: Final = "(?P<tenant>[^/]+)"
FAULT_STATUSES: Final = (429, 503)

InfoProvider = Callable[[], dict[str, Any]]


def _bad(message: str) -> SimulatorError:
    return SimulatorError(400, "badRequest", message)


def _optional_str(body: dict[str, Any], name: str) -> str | None:
    value = body.get(name)
    if value is None:
        return None
    if not isinstance(value, str) or not value:
        raise _bad(f"{name} must be a non-empty string")
    return value


def _int(body: dict[str, Any], name: str, default: int, low: int, high: int) -> int:
    value = body.get(name, default)
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise _bad(f"{name} must be an integer from {low} to {high}")
    return value


class ControlApi:
    def __init__(
        self,
        state: SimulatorState,
        dispatcher: EventDispatcher,
        faults: FaultInjector,
        info: InfoProvider,
        reset_others: Callable[[], None] = lambda: None,
    ) -> None:
        self._reset_others = reset_others
        self._state = state
        self._dispatcher = dispatcher
        self._faults = faults
        self._info = info

    def register(self, router: Router) -> None:
        router.add("GET", "/_sim/info", lambda _: Response.json(200, self._info()))
        router.add("POST", "/_sim/reset", self.reset)
        router.add("POST", f"/_sim/tenants/{_TENANT}", self.configure_tenant)
        router.add("GET", f"/_sim/tenants/{_TENANT}", self.get_tenant)
        router.add("GET", "/_sim/agents", lambda _: Response.json(200, {"agents": self._state.agents_view()}))
        router.add("GET", f"/_sim/agents/{_AGENT}", self.get_agent)
        router.add("POST", f"/_sim/agents/{_AGENT}/state", self.change_agent_state)
        router.add("GET", "/_sim/idle-codes", self.list_idle_codes)
        router.add("POST", "/_sim/idle-codes", self.add_idle_code)
        router.add("POST", "/_sim/faults", self.add_fault)
        router.add("GET", "/_sim/faults", self.list_faults)
        router.add("DELETE", "/_sim/faults", self.clear_faults)
        router.add("GET", "/_sim/requests", self.list_requests)
        router.add("DELETE", "/_sim/requests", self.clear_requests)
        router.add("GET", "/_sim/deliveries", self.list_deliveries)
        router.add("DELETE", "/_sim/deliveries", self.clear_deliveries)

    def reset(self, request: Request) -> Response:
        self._dispatcher.clear()
        self._faults.clear()
        self._state.reset()
        self._reset_others()
        return Response.empty(204)

    def configure_tenant(self, request: Request) -> Response:
        body = request.json_object(required=False)
        unknown = sorted(set(body) - {"connectorUrl", "secret", "agentIds"})
        if unknown:
            raise _bad(f"unknown properties: {', '.join(unknown)}")
        connector_url = _optional_str(body, "connectorUrl")
        if connector_url is not None and not connector_url.startswith(("http://", "https://")):
            raise _bad("connectorUrl must be an http(s) URL")
        agent_ids = body.get("agentIds", [])
        if not isinstance(agent_ids, list) or not all(isinstance(a, str) and a for a in agent_ids):
            raise _bad("agentIds must be an array of non-empty strings")
        view, created = self._state.configure_tenant(
            request.params["tenant"], connector_url, _optional_str(body, "secret"), agent_ids
        )
        return Response.json(201 if created else 200, view)

    def get_tenant(self, request: Request) -> Response:
        view = self._state.tenant_view(request.params["tenant"])
        if view is None:
            raise SimulatorError(404, "tenantNotFound", f"tenant {request.params['tenant']} is unknown")
        return Response.json(200, view)

    def get_agent(self, request: Request) -> Response:
        view = self._state.agent_view(request.params["agent"])
        if view is None:
            raise SimulatorError(404, "agentNotFound", f"agent {request.params['agent']} is unknown")
        return Response.json(200, view)

    def change_agent_state(self, request: Request) -> Response:
        body = request.json_object()
        state = body.get("state")
        if state not in AGENT_STATES:
            raise _bad(f"state must be one of {', '.join(AGENT_STATES)}")
        code_id = _optional_str(body, "idleCodeId")
        name = _optional_str(body, "idleCodeName")
        idle_code = None
        if state == "idle":
            known = self._state.idle_code(code_id) if code_id else self._state.default_idle_code()
            if known is None:
                raise _bad(f"idleCodeId {code_id} is not an idle code (GET /_sim/idle-codes)")
            idle_code = IdleCodeEntry(known.code_id, name or known.name, known.is_default)
        elif code_id is not None or name is not None:
            raise _bad("idleCodeId and idleCodeName belong to the idle state only")
        outcome = self._state.change_by_agent(request.params["agent"], str(state), idle_code)
        if outcome.event is not None and outcome.target is not None:
            self._dispatcher.enqueue(outcome.event, outcome.target)
        return Response.json(
            202, {"agent": outcome.agent, "event": outcome.event, "delivery": outcome.delivery}
        )

    def list_idle_codes(self, request: Request) -> Response:
        codes = [{"id": c.code_id, "name": c.name, "default": c.is_default} for c in self._state.idle_codes()]
        return Response.json(200, {"idleCodes": codes})

    def add_idle_code(self, request: Request) -> Response:
        body = request.json_object()
        code_id, name = _optional_str(body, "id"), _optional_str(body, "name")
        if code_id is None or name is None or len(code_id) > 36:
            raise _bad("id (at most 36 characters) and name are required")
        created = self._state.add_idle_code(IdleCodeEntry(code_id, name))
        return Response.json(201 if created else 200, {"id": code_id, "name": name, "default": False})

    def add_fault(self, request: Request) -> Response:
        body = request.json_object()
        path = _optional_str(body, "path")
        if path is None or not path.startswith("/") or path.startswith("/_sim"):
            raise _bad("path must be the start of an adapter-facing path such as /v1/agents or /webhook")
        status = _int(body, "status", 503, 429, 503)
        if status not in FAULT_STATUSES:
            raise _bad("status must be 429 or 503")
        method = _optional_str(body, "method")
        rule = FaultRule(
            path_prefix=path,
            method=method.upper() if method else None,
            remaining=_int(body, "count", 1, 1, 10_000),
            status=status,
            retry_after_seconds=_int(body, "retryAfterSeconds", 1, 0, 86_400),
        )
        self._faults.add(rule)
        return Response.json(201, fault_as_json(rule))

    def list_faults(self, request: Request) -> Response:
        return Response.json(200, {"faults": [fault_as_json(rule) for rule in self._faults.rules()]})

    def clear_faults(self, request: Request) -> Response:
        self._faults.clear()
        return Response.empty(204)

    def list_requests(self, request: Request) -> Response:
        return Response.json(200, {"requests": [r.as_json() for r in self._state.requests()]})

    def clear_requests(self, request: Request) -> Response:
        self._state.clear_requests()
        return Response.empty(204)

    def list_deliveries(self, request: Request) -> Response:
        return Response.json(200, {"deliveries": [d.as_json() for d in self._state.deliveries()]})

    def clear_deliveries(self, request: Request) -> Response:
        self._state.clear_deliveries()
        return Response.empty(204)
