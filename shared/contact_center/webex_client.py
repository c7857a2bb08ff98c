"""Webex Contact Center adapter of the ContactCenterClient port.

- State change: `PUT {baseUrl}/v1/agents/session/state` `{state: "Idle"|"Available", auxCodeId,
  lastStateChangeReason, agentId}` -> 202. Webex requires `auxCodeId`; "0" is the code for Available.
  Changing another agent's state needs a token whose user is a supervisor of the agent's team with the
  "Change Agent States" module, and the agent needs an active session (he is logged in).
- Status: `GET {baseUrl}/v1/agents/activities?agentIds=..&from=..&orgId=..` (see webex_activities.py).
- Idle codes: `GET {baseUrl}/organization/{orgId}/auxiliary-code`.
- Connection test: a token, then one page of one idle code (a read that changes nothing).
`baseUrl` is the tenant's region, e.g. https://api.wxcc-us1.cisco.com, or the local simulator.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from typing import Any, Final
from urllib.parse import quote

import httpx

from shared.connectors.model import WebexContactCenter
from shared.contact_center.exceptions import ContactCenterAuthFailed, ContactCenterUnavailable
from shared.contact_center.http_exchange import json_body, raise_for_status, send
from shared.contact_center.model import AgentStatus, IdleCode
from shared.contact_center.webex_activities import idle_codes_from, status_from_activities
from shared.contact_center.webex_token import WebexTokenSource

logger = logging.getLogger(__name__)

STATE_PATH: Final = "/v1/agents/session/state"
ACTIVITIES_PATH: Final = "/v1/agents/activities"
AVAILABLE_AUX_CODE_ID: Final = "0"
MAX_REASON_LENGTH: Final = 128
# Webex refuses activity windows of 24 hours or more; a session does not outlast one.
ACTIVITY_WINDOW: Final = timedelta(hours=24) - timedelta(minutes=1)
ACTIVITY_PAGE_SIZE: Final = 1000
# Webex serves at most 10,000 activities per window: 10 pages of 1,000.
MAX_ACTIVITY_PAGES: Final = 10
AUX_CODE_PAGE_SIZE: Final = 100
MAX_AUX_CODE_PAGES: Final = 50


class WebexContactCenterClient:
    def __init__(
        self,
        tenant_id: str,
        config: WebexContactCenter,
        http: httpx.Client,
        *,
        token_url: str,
        connector_headers: Mapping[str, str],
        clock: Callable[[], datetime],
    ) -> None:
        self._tenant_id = tenant_id
        self._config = config
        self._http = http
        self._base_url = config.base_url.rstrip("/")
        self._headers = dict(connector_headers)
        self._clock = clock
        self._tokens = WebexTokenSource(
            http,
            token_url,
            config.client_id,
            config.client_secret,
            headers=connector_headers,
            clock=clock,
            tenant_id=tenant_id,
        )

    def set_idle(self, agent_id: str, idle_code_id: str, idle_code_name: str | None, reason: str) -> None:
        self._change_state(agent_id, "Idle", idle_code_id, reason)
        logger.info(
            "Webex agent %s (tenant %s) set idle with code %s (%s)",
            agent_id,
            self._tenant_id,
            idle_code_id,
            idle_code_name,
        )

    def set_available(self, agent_id: str, reason: str) -> None:
        self._change_state(agent_id, "Available", AVAILABLE_AUX_CODE_ID, reason)
        logger.info("Webex agent %s (tenant %s) set available", agent_id, self._tenant_id)

    def get_status(self, agent_id: str) -> AgentStatus | None:
        since = self._clock() - ACTIVITY_WINDOW
        activities: list[Any] = []
        for page in range(MAX_ACTIVITY_PAGES):
            body = self._call(
                "GET",
                ACTIVITIES_PATH,
                "Webex agent activities",
                params={
                    "agentIds": agent_id,
                    "from": str(int(since.timestamp() * 1000)),
                    "orgId": self._config.org_id,
                    "pageSize": str(ACTIVITY_PAGE_SIZE),
                    "page": str(page),
                },
            )
            data = body.get("data") if isinstance(body, dict) else None
            if not isinstance(data, list):
                raise ContactCenterUnavailable("Webex agent activities: the answer has no data array")
            activities.extend(data)
            if len(data) < ACTIVITY_PAGE_SIZE:
                break
        return status_from_activities(agent_id, activities)

    def probe(self) -> int:
        what = "Webex connection test"
        response = self._exchange("GET", self._aux_code_path(), what, params={"page": "0", "pageSize": "1"})
        json_body(response, what)
        return response.status_code

    def _aux_code_path(self) -> str:
        return f"/organization/{quote(self._config.org_id, safe='')}/auxiliary-code"

    def idle_codes(self) -> list[IdleCode]:
        """The organisation's active idle codes: what Teams states can be mapped to."""
        path = self._aux_code_path()
        codes: list[IdleCode] = []
        for page in range(MAX_AUX_CODE_PAGES):
            body = self._call(
                "GET",
                path,
                "Webex auxiliary codes",
                params={"page": str(page), "pageSize": str(AUX_CODE_PAGE_SIZE)},
            )
            items = body.get("data") if isinstance(body, dict) else body
            if not isinstance(items, list):
                raise ContactCenterUnavailable("Webex auxiliary codes: the answer is not a list")
            codes.extend(idle_codes_from(items))
            if len(items) < AUX_CODE_PAGE_SIZE:
                break
        return codes

    def _change_state(self, agent_id: str, state: str, aux_code_id: str, reason: str) -> None:
        self._call(
            "PUT",
            STATE_PATH,
            "Webex agent state change",
            json={
                "state": state,
                "auxCodeId": aux_code_id,
                "lastStateChangeReason": reason[:MAX_REASON_LENGTH],
                "agentId": agent_id,
            },
            expect_body=False,
        )

    def _call(
        self,
        method: str,
        path: str,
        what: str,
        *,
        params: Mapping[str, str] | None = None,
        json: Any = None,
        expect_body: bool = True,
    ) -> Any:
        response = self._exchange(method, path, what, params=params, json=json)
        return json_body(response, what) if expect_body else None

    def _exchange(
        self,
        method: str,
        path: str,
        what: str,
        *,
        params: Mapping[str, str] | None = None,
        json: Any = None,
    ) -> httpx.Response:
        """One authenticated request; its 2xx answer, or the failure that says what went wrong."""
        token = self._tokens.access_token()
        response = send(
            self._http,
            what,
            method,
            self._base_url + path,
            params=params,
            json=json,
            headers={
                **self._headers,
                "Authorization": f"Bearer {token}",
                "Accept": "application/json",
                # Webex echoes TrackingId in its logs: quote it when opening a support case.
                "TrackingId": f"TEAMSCONNECTOR_{uuid.uuid4()}",
            },
        )
        try:
            raise_for_status(response, what, self._clock())
        except ContactCenterAuthFailed:
            if response.status_code == 401:
                self._tokens.invalidate()
            raise
        return response
