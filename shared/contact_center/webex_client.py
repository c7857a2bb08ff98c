"""Webex Contact Center adapter of the ContactCenterClient port.

- State change: `PUT {baseUrl}/v1/agents/session/state` `{state: "Idle"|"Available", auxCodeId,
  lastStateChangeReason, agentId}` -> 202: accepted, not done; the engine keeps the command pending until
  the agent event confirms it. Webex requires `auxCodeId`; "0" is the code for Available. Changing
  another agent's state needs a token whose user is a supervisor of the agent's team with "Change Agent
  States", and the agent needs an active session: a 403 (or 400/404 "no session") is a refusal the
  engine records, not a retry. `lastStateChangeReason` starts with the connector's marker.
- Status: `GET {baseUrl}/v1/agents/activities?agentIds=..&from=..&orgId=..` (see webex_activities.py).
- Idle codes: `GET {baseUrl}/organization/{orgId}/v2/auxiliary-code` (paged, `meta.totalPages`).
- Connection test: one page of one idle code (a read that changes nothing).
The access token comes from the tenant's Webex sign-in (shared/contact_center/webex/service.py).
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
from shared.contact_center.exceptions import (
    ContactCenterAuthFailed,
    ContactCenterRejected,
    ContactCenterUnavailable,
)
from shared.contact_center.http_exchange import json_body, raise_for_status, send
from shared.contact_center.model import AgentStatus, IdleCode
from shared.contact_center.webex.contract import (
    ACTIVITIES_PATH,
    AUX_CODE_PATH_TEMPLATE,
    AVAILABLE_AUX_CODE_ID,
    CONNECTOR_REASON_MARKER,
    MAX_REASON_LENGTH,
    STATE_PATH,
)
from shared.contact_center.webex_activities import idle_codes_from, status_from_activities

logger = logging.getLogger(__name__)
# Webex refuses activity windows of 24 hours or more; a session does not outlast one.
ACTIVITY_WINDOW: Final = timedelta(hours=24) - timedelta(minutes=1)
ACTIVITY_PAGE_SIZE: Final = 1000
# Webex serves at most 10,000 activities per window: 10 pages of 1,000.
MAX_ACTIVITY_PAGES: Final = 10
AUX_CODE_PAGE_SIZE: Final = 100
SEPARATOR: Final = " "


def marked_reason(reason: str) -> str:
    """lastStateChangeReason: the connector's marker, then why, cut to Webex's 128 characters."""
    return f"{CONNECTOR_REASON_MARKER}{SEPARATOR}{reason}"[:MAX_REASON_LENGTH]


MAX_AUX_CODE_PAGES: Final = 50


class WebexContactCenterClient:
    def __init__(
        self,
        tenant_id: str,
        config: WebexContactCenter,
        http: httpx.Client,
        *,
        access_token: Callable[[], str],
        forget_token: Callable[[], None],
        connector_headers: Mapping[str, str],
        clock: Callable[[], datetime],
    ) -> None:
        self._tenant_id = tenant_id
        self._config = config
        self._http = http
        self._base_url = config.base_url.rstrip("/")
        self._headers = dict(connector_headers)
        self._clock = clock
        self._access_token = access_token
        self._forget_token = forget_token

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
        return AUX_CODE_PATH_TEMPLATE.format(org_id=quote(self._config.org_id, safe=""))

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
            items = body.get("data") if isinstance(body, dict) else None
            if not isinstance(items, list):
                raise ContactCenterUnavailable("Webex auxiliary codes: the answer has no data array")
            codes.extend(idle_codes_from(items))
            meta = body.get("meta")
            total_pages = meta.get("totalPages") if isinstance(meta, dict) else None
            last = (
                page + 1 >= total_pages if isinstance(total_pages, int) else len(items) < AUX_CODE_PAGE_SIZE
            )
            if last or not items:
                break
        return codes

    def _change_state(self, agent_id: str, state: str, aux_code_id: str, reason: str) -> None:
        what = "Webex agent state change"
        try:
            self._call(
                "PUT",
                STATE_PATH,
                what,
                json={
                    "state": state,
                    "auxCodeId": aux_code_id,
                    "lastStateChangeReason": marked_reason(reason),
                    "agentId": agent_id,
                },
                expect_body=False,
            )
        except ContactCenterAuthFailed as exc:
            if exc.status != 403:
                raise
            # Our token is fine (it passed for reads); Webex refuses this change for this agent: the
            # signed-in user is not a supervisor of his team with "Change Agent States", or he has no
            # session. Retrying cannot help: the engine records the refusal.
            raise ContactCenterRejected(
                f"{exc.message} (the Webex user who signed in must supervise agent {agent_id}'s team "
                "with the Change Agent States permission, and the agent must be logged in)",
                status=403,
            ) from exc

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
        token = self._access_token()
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
                self._forget_token()
            raise
        return response
