"""The generic webhook contact center: the endpoints the connector's webhook adapter calls.

- `POST /webhook` `{eventId, type: "setAgentState", tenantId, agentId, state: idle|available,
  idleCodeId, idleCodeName, reason, occurredAt}` -> 204 once applied.
- `POST /webhook` `{eventId, type: "connectionTest", tenantId, occurredAt}` -> 204, changes nothing
  (the admin's contact-center test); occurredAt more than 5 minutes off -> 400.
- `GET /webhook/agents/{agentId}` -> `{agentId, state, idleCodeId, idleCodeName, changedAt}` or 404.
The tenant comes from X-Connector-Tenant. When the tenant's secret is known (POST /_sim/tenants), the
X-Connector-Signature is checked (401 when wrong); otherwise the request is taken unchecked.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any, Final

from devstack.contact_center_simulator.delivery import EventDispatcher
from devstack.contact_center_simulator.errors import SimulatorError
from devstack.contact_center_simulator.http_types import Request, Response, Router
from devstack.contact_center_simulator.models import IdleCodeEntry
from devstack.contact_center_simulator.signing import get_payload, matches
from devstack.contact_center_simulator.state import AgentLoggedOut, SimulatorState

logger = logging.getLogger(__name__)

WEBHOOK_PATH = "/webhook"
CONNECTION_TEST: Final = "connectionTest"
# What the webhook contract asks every receiver to refuse as a replay.
MAX_CLOCK_SKEW: Final = timedelta(minutes=5)


class WebhookApi:
    def __init__(self, state: SimulatorState, dispatcher: EventDispatcher) -> None:
        self._state = state
        self._dispatcher = dispatcher

    def register(self, router: Router) -> None:
        router.add("POST", WEBHOOK_PATH, self.set_state)
        router.add("GET", WEBHOOK_PATH + "/agents/(?P<agent>[^/]+)", self.get_agent)

    def set_state(self, request: Request) -> Response:
        tenant_id = self._tenant(request)
        signature = self._check_signature(tenant_id, request.body, request)
        body = request.json_object()
        if body.get("type") == CONNECTION_TEST:
            return self._connection_test(tenant_id, body, signature)
        _require(body.get("type") == "setAgentState", "type must be setAgentState or connectionTest")
        _require(body.get("tenantId") == tenant_id, "tenantId must equal the X-Connector-Tenant header")
        state = body.get("state")
        _require(state in ("idle", "available"), "state must be idle or available")
        agent_id, event_id = body.get("agentId"), body.get("eventId")
        _require(isinstance(agent_id, str) and bool(agent_id), "agentId is required")
        _require(isinstance(event_id, str) and bool(event_id), "eventId is required")
        _require(_is_datetime(body.get("occurredAt")), "occurredAt must be an ISO 8601 date-time")
        idle_code = None
        if state == "idle":
            code_id, name = body.get("idleCodeId"), body.get("idleCodeName")
            _require(isinstance(code_id, str) and bool(code_id), "idleCodeId is required for idle")
            _require(name is None or isinstance(name, str), "idleCodeName must be a string")
            known = self._state.idle_code(str(code_id))
            # A generic contact center has its own codes: unknown ones are taken as they come.
            idle_code = IdleCodeEntry(str(code_id), str(name or (known.name if known else code_id)))
        try:
            outcome = self._state.change_by_connector(tenant_id, str(agent_id), str(state), idle_code)
        except AgentLoggedOut:
            raise SimulatorError(409, "agentLoggedOut", f"agent {agent_id} is logged out") from None
        if outcome.event is not None and outcome.target is not None:
            self._dispatcher.enqueue(outcome.event, outcome.target)
        response = Response.empty(204)
        response.notes["signature"] = signature
        return response

    def _connection_test(self, tenant_id: str, body: dict[str, Any], signature: str) -> Response:
        """Verified like a state change, then nothing happens: the answer is the whole point."""
        _require(
            set(body) <= {"eventId", "type", "tenantId", "occurredAt"}, "unknown fields in connectionTest"
        )
        _require(body.get("tenantId") == tenant_id, "tenantId must equal the X-Connector-Tenant header")
        event_id = body.get("eventId")
        _require(isinstance(event_id, str) and bool(event_id), "eventId is required")
        occurred_at = body.get("occurredAt")
        _require(_is_datetime(occurred_at), "occurredAt must be an ISO 8601 date-time")
        skew = abs(datetime.fromisoformat(str(occurred_at)) - self._state.now())
        _require(skew <= MAX_CLOCK_SKEW, "occurredAt is more than 5 minutes off: refused as a replay")
        logger.info("webhook connection test from tenant %s (signature %s)", tenant_id, signature)
        response = Response.empty(204)
        response.notes["signature"] = signature
        return response

    def get_agent(self, request: Request) -> Response:
        tenant_id = self._tenant(request)
        timestamp = request.header("x-connector-timestamp") or ""
        signature = self._check_signature(tenant_id, get_payload(request.raw_path, timestamp), request)
        agent = self._state.find_agent(tenant_id, request.params["agent"])
        if agent is None:
            response = Response.json(404, {"error": {"code": "agentNotFound", "message": "no such agent"}})
        else:
            view: dict[str, Any] = {k: agent[k] for k in ("agentId", "state", "idleCodeId", "idleCodeName")}
            response = Response.json(200, {**view, "changedAt": agent["changedAt"]})
        response.notes["signature"] = signature
        return response

    def _tenant(self, request: Request) -> str:
        tenant_id = request.header("x-connector-tenant")
        if not tenant_id:
            raise SimulatorError(400, "badRequest", "X-Connector-Tenant is required")
        self._state.learn_tenant(
            tenant_id, kind="webhook", events_url=request.header("x-connector-events-url")
        )
        return tenant_id

    def _check_signature(self, tenant_id: str, payload: bytes, request: Request) -> str:
        secret = self._state.tenant_secret(tenant_id)
        if secret is None:
            return "unchecked"
        if not matches(payload, request.header("x-connector-signature"), secret):
            logger.warning("webhook call for tenant %s has a bad signature", tenant_id)
            raise SimulatorError(
                401, "invalidSignature", "X-Connector-Signature does not match", signature="invalid"
            )
        return "valid"


def _require(condition: bool, message: str) -> None:
    if not condition:
        raise SimulatorError(400, "badRequest", message)


def _is_datetime(value: Any) -> bool:
    if not isinstance(value, str):
        return False
    try:
        return datetime.fromisoformat(value).tzinfo is not None
    except ValueError:
        return False
