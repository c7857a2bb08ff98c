"""The Webex Contact Center endpoints the connector's Webex adapter calls.

- `POST /v1/access_token` (form: grant_type=client_credentials, client_id, client_secret): a bearer
  token like webexapis.com issues. The client secret becomes the tenant's events secret.
- `PUT /v1/agents/session/state` `{state: Available|Idle, auxCodeId, lastStateChangeReason?, agentId}`
  -> 202, as Webex's "State Change".
- `GET /v1/agents/activities?agentIds&from&to&page&pageSize&orgId` -> `{meta, data: [activity]}`.
- `GET /organization/{orgId}/auxiliary-code?page&pageSize` -> a list of auxiliary codes.
Errors use Webex's body: `{"trackingId", "error": {"key": status, "message": [{"description"}]}}`.
"""

from __future__ import annotations

import logging
import uuid
from datetime import UTC, datetime, timedelta
from typing import Final
from urllib.parse import parse_qs

from devstack.contact_center_simulator.delivery import EventDispatcher
from devstack.contact_center_simulator.errors import SimulatorError
from devstack.contact_center_simulator.http_types import Request, Response, Router
from devstack.contact_center_simulator.models import WRAP_UP_CODE
from devstack.contact_center_simulator.state import AgentLoggedOut, ChangeOutcome, SimulatorState

logger = logging.getLogger(__name__)

# Webex access tokens live 14 days.
DEFAULT_TOKEN_LIFETIME_SECONDS: Final = 1_209_599
MAX_ACTIVITY_WINDOW_MS: Final = 86_400_000
MAX_AGENT_ID_LENGTH: Final = 36
MAX_REASON_LENGTH: Final = 128


def webex_error(status: int, description: str, headers: dict[str, str] | None = None) -> Response:
    payload = {
        "trackingId": f"SIM_{uuid.uuid4()}",
        "error": {"key": status, "message": [{"description": description}]},
    }
    return Response.json(status, payload, headers)


class WebexApi:
    def __init__(
        self,
        state: SimulatorState,
        dispatcher: EventDispatcher,
        token_lifetime_seconds: int = DEFAULT_TOKEN_LIFETIME_SECONDS,
    ) -> None:
        self._state = state
        self._dispatcher = dispatcher
        self._token_lifetime = timedelta(seconds=token_lifetime_seconds)

    def register(self, router: Router) -> None:
        router.add("POST", "/v1/access_token", self.token)
        router.add("PUT", "/v1/agents/session/state", self.change_state)
        router.add("GET", "/v1/agents/activities", self.activities)
        router.add("GET", "/organization/(?P<org>[^/]+)/auxiliary-code", self.auxiliary_codes)

    def token(self, request: Request) -> Response:
        form = {k: v[0] for k, v in parse_qs(request.body.decode("utf-8", "replace")).items()}
        grant = form.get("grant_type")
        if grant != "client_credentials":
            return Response.json(
                400,
                {
                    "error": "unsupported_grant_type",
                    "error_description": "only client_credentials is simulated",
                },
            )
        client_id, client_secret = form.get("client_id"), form.get("client_secret")
        if not client_id or not client_secret:
            return Response.json(
                401,
                {"error": "invalid_client", "error_description": "client_id and client_secret are required"},
            )
        tenant_id = request.header("x-connector-tenant")
        if tenant_id:
            self._state.learn_tenant(
                tenant_id,
                kind="webexcc",
                events_url=request.header("x-connector-events-url"),
                secret=client_secret,
            )
        token = self._state.issue_token(tenant_id, self._token_lifetime)
        return Response.json(
            200,
            {
                "access_token": token,
                "expires_in": int(self._token_lifetime.total_seconds()),
                "token_type": "Bearer",
                "refresh_token": "sim-refresh-" + uuid.uuid4().hex,
                "refresh_token_expires_in": 7_776_000,
            },
        )

    def change_state(self, request: Request) -> Response:
        tenant_id = self._caller(request)
        body = request.json_object()
        state, aux_code_id = body.get("state"), body.get("auxCodeId")
        agent_id, reason = body.get("agentId"), body.get("lastStateChangeReason")
        if state not in ("Available", "Idle"):
            return webex_error(400, "state can be set to Available or Idle")
        if not isinstance(aux_code_id, str) or not aux_code_id or len(aux_code_id) > 36:
            return webex_error(400, "auxCodeId is required (at most 36 characters)")
        if not isinstance(agent_id, str) or not agent_id or len(agent_id) > MAX_AGENT_ID_LENGTH:
            return webex_error(400, f"agentId is required (at most {MAX_AGENT_ID_LENGTH} characters)")
        if reason is not None and (not isinstance(reason, str) or len(reason) > MAX_REASON_LENGTH):
            return webex_error(400, f"lastStateChangeReason is at most {MAX_REASON_LENGTH} characters")
        idle_code = None
        if state == "Idle":
            idle_code = self._state.idle_code(aux_code_id)
            if idle_code is None:
                return webex_error(400, f"auxCodeId {aux_code_id} is not an idle code of this organization")
        try:
            outcome = self._state.change_by_connector(
                tenant_id, agent_id, "idle" if state == "Idle" else "available", idle_code
            )
        except AgentLoggedOut:
            return webex_error(400, f"agent {agent_id} has no active session")
        except SimulatorError as error:
            return webex_error(error.status, error.message)
        self._emit(outcome)
        return Response.json(202, {"trackingId": f"SIM_{uuid.uuid4()}"})

    def activities(self, request: Request) -> Response:
        tenant_id = self._caller(request)
        query = request.query
        agent_ids = [a for a in (query.get("agentIds") or "").split(",") if a]
        try:
            start_ms = int(query["from"])
            end_ms = int(query["to"]) if query.get("to") else int(self._state.now().timestamp() * 1000)
            page = int(query.get("page") or 0)
            page_size = int(query.get("pageSize") or 100)
        except (KeyError, ValueError):
            return webex_error(
                400, "from (epoch milliseconds) is required; to, page and pageSize are integers"
            )
        if end_ms - start_ms >= MAX_ACTIVITY_WINDOW_MS or end_ms < start_ms:
            return webex_error(400, "the difference between to and from must be less than 24 hours")
        if not 1 <= page_size <= 1000 or page < 0:
            return webex_error(400, "pageSize is 1 to 1000 and page is 0 or more")
        found = self._state.activities(
            agent_ids,
            tenant_id,
            datetime.fromtimestamp(start_ms / 1000, UTC),
            datetime.fromtimestamp(end_ms / 1000, UTC),
        )
        data = found[page * page_size : (page + 1) * page_size]
        return Response.json(200, {"meta": {"orgId": query.get("orgId") or ""}, "data": data})

    def auxiliary_codes(self, request: Request) -> Response:
        self._caller(request)
        org_id = request.params["org"]
        try:
            page = int(request.query.get("page") or 0)
            page_size = int(request.query.get("pageSize") or 100)
        except ValueError:
            return webex_error(400, "page and pageSize are integers")
        if page < 0 or page_size < 1:
            return webex_error(400, "page is 0 or more and pageSize 1 or more")
        codes = [code.as_webex(org_id) for code in self._state.idle_codes()]
        codes.append({**WRAP_UP_CODE, "organizationId": org_id})
        return Response.json(200, codes[page * page_size : (page + 1) * page_size])

    def _caller(self, request: Request) -> str:
        """The tenant of a bearer-token call; raise 401 without a valid token."""
        authorization = request.header("authorization") or ""
        token = authorization[7:].strip() if authorization.lower().startswith("bearer ") else ""
        valid, tenant_id = self._state.token_tenant(token)
        if not valid:
            raise SimulatorError(401, "unauthorized", "Unauthorized, Token is Invalid")
        header_tenant = request.header("x-connector-tenant")
        tenant = tenant_id or header_tenant
        if tenant is None:
            raise SimulatorError(
                400, "badRequest", "the simulator needs X-Connector-Tenant to know the tenant"
            )
        self._state.learn_tenant(tenant, kind="webexcc", events_url=request.header("x-connector-events-url"))
        return tenant

    def _emit(self, outcome: ChangeOutcome) -> None:
        if outcome.event is not None and outcome.target is not None:
            self._dispatcher.enqueue(outcome.event, outcome.target)
