"""Generic signed-webhook adapter of the ContactCenterClient port: any contact center can plug in.

Contract (also in the README):
- State change: `POST {url}` with JSON `{eventId, type: "setAgentState", tenantId, agentId,
  state: "idle" | "available", idleCodeId, idleCodeName, reason, occurredAt}` (idle code fields are
  null for "available"). Answer 2xx once applied. A change may be sent again after a failure (with a
  new eventId): applying the same state twice must be harmless.
- Status: `GET {url}/agents/{agentId}` (agentId percent-encoded) -> 200 `{state, idleCodeId?,
  idleCodeName?, changedAt?}` with state one of loggedOut, available, idle, ringing, onCall, wrapUp;
  404 when the agent is unknown.
- Every request carries `X-Connector-Timestamp` (Unix seconds), `X-Connector-Tenant`,
  `X-Connector-Events-Url` and `X-Connector-Signature: sha256=<hex>`: the HMAC-SHA256, keyed with the
  tenant's secret, of the raw body (POST) or of `GET {path}\\n{timestamp}` (GET; path as sent,
  percent-encoded, without the query string). Check it in constant time and refuse requests whose
  timestamp (GET) or occurredAt (POST) is more than 5 minutes off.
- Connection test (the admin's POST /tenants/{tenantId}/contact-center/test): `POST {url}` with
  `{eventId, type: "connectionTest", tenantId, occurredAt}`, signed like a state change. Verify it the
  same way, change nothing, and answer 2xx (204 is fine); any other answer is shown to the admin.
- Answers: 429 / 5xx (with Retry-After if you like) are retried later; other 4xx are final.
"""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any, Final
from urllib.parse import quote

import httpx

from shared.connectors.model import WebhookContactCenter
from shared.contact_center.exceptions import (
    ContactCenterRejected,
    ContactCenterUnavailable,
    IdleCodesNotOffered,
)
from shared.contact_center.http_exchange import json_body, raise_for_status, send
from shared.contact_center.model import AgentState, AgentStatus, IdleCode
from shared.contact_center.signatures import (
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    get_request_payload,
    signature_for,
)

logger = logging.getLogger(__name__)

EVENT_TYPE: Final = "setAgentState"
CONNECTION_TEST_TYPE: Final = "connectionTest"


class WebhookContactCenterClient:
    def __init__(
        self,
        tenant_id: str,
        config: WebhookContactCenter,
        http: httpx.Client,
        *,
        connector_headers: Mapping[str, str],
        clock: Callable[[], datetime],
    ) -> None:
        self._tenant_id = tenant_id
        self._url = config.url
        self._secret = config.secret
        self._http = http
        self._headers = dict(connector_headers)
        self._clock = clock

    def set_idle(self, agent_id: str, idle_code_id: str, idle_code_name: str | None, reason: str) -> None:
        self._post_state(agent_id, "idle", idle_code_id, idle_code_name, reason)

    def set_available(self, agent_id: str, reason: str) -> None:
        self._post_state(agent_id, "available", None, None, reason)

    def probe(self) -> int:
        what = "webhook connection test"
        now = self._clock()
        body = _json_bytes(
            {
                "eventId": str(uuid.uuid4()),
                "type": CONNECTION_TEST_TYPE,
                "tenantId": self._tenant_id,
                "occurredAt": _iso(now),
            }
        )
        response = self._signed_post(what, body, now)
        raise_for_status(response, what, self._clock())
        return response.status_code

    def get_status(self, agent_id: str) -> AgentStatus | None:
        what = "webhook agent status"
        now = self._clock()
        timestamp = str(int(now.timestamp()))
        url, path = _agent_url(self._url, agent_id, what)
        response = send(
            self._http,
            what,
            "GET",
            url,
            headers={
                **self._headers,
                "Accept": "application/json",
                TIMESTAMP_HEADER: timestamp,
                SIGNATURE_HEADER: signature_for(get_request_payload(path, timestamp), self._secret),
            },
        )
        if response.status_code == 404:
            return None
        raise_for_status(response, what, self._clock())
        return _status(json_body(response, what), what)

    def idle_codes(self) -> list[IdleCode]:
        """`GET {url}/idle-codes`, signed like the status read -> 200 `{idleCodes: [{id, name,
        isDefault?}]}`."""
        what = "webhook idle codes"
        now = self._clock()
        timestamp = str(int(now.timestamp()))
        url, path = _sub_url(self._url, "idle-codes", what)
        response = send(
            self._http,
            what,
            "GET",
            url,
            headers={
                **self._headers,
                "Accept": "application/json",
                TIMESTAMP_HEADER: timestamp,
                SIGNATURE_HEADER: signature_for(get_request_payload(path, timestamp), self._secret),
            },
        )
        if response.status_code == 404:
            raise IdleCodesNotOffered(
                f"{what}: the contact center answered 404 to GET {path}: it does not list idle codes"
            )
        raise_for_status(response, what, self._clock())
        body = json_body(response, what)
        items = body.get("idleCodes") if isinstance(body, dict) else None
        if not isinstance(items, list):
            raise ContactCenterUnavailable(f"{what}: the answer has no idleCodes array")
        codes: list[IdleCode] = []
        for item in items:
            code_id = _optional_text(item.get("id")) if isinstance(item, dict) else None
            if code_id is None or not isinstance(item, dict):
                raise ContactCenterUnavailable(f"{what}: every idle code needs an id")
            name = _optional_text(item.get("name")) or code_id
            codes.append(IdleCode(code_id, name, is_default=item.get("isDefault") is True))
        return codes

    def _post_state(
        self,
        agent_id: str,
        state: str,
        idle_code_id: str | None,
        idle_code_name: str | None,
        reason: str,
    ) -> None:
        what = "webhook agent state change"
        now = self._clock()
        event_id = str(uuid.uuid4())
        body = _json_bytes(
            {
                "eventId": event_id,
                "type": EVENT_TYPE,
                "tenantId": self._tenant_id,
                "agentId": agent_id,
                "state": state,
                "idleCodeId": idle_code_id,
                "idleCodeName": idle_code_name,
                "reason": reason,
                "occurredAt": _iso(now),
            }
        )
        response = self._signed_post(what, body, now)
        raise_for_status(response, what, self._clock())
        logger.info(
            "webhook: agent %s (tenant %s) set %s, event %s", agent_id, self._tenant_id, state, event_id
        )

    def _signed_post(self, what: str, body: bytes, now: datetime) -> httpx.Response:
        return send(
            self._http,
            what,
            "POST",
            self._url,
            content=body,
            headers={
                **self._headers,
                "Content-Type": "application/json",
                TIMESTAMP_HEADER: str(int(now.timestamp())),
                SIGNATURE_HEADER: signature_for(body, self._secret),
            },
        )


def _json_bytes(document: dict[str, Any]) -> bytes:
    return json.dumps(document, separators=(",", ":")).encode("utf-8")


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _agent_url(base_url: str, agent_id: str, what: str) -> tuple[httpx.URL, str]:
    """`{url}/agents/{agentId}` (a query string of the configured URL stays at the end) and the raw
    path, exactly as sent, that the GET signs."""
    return _sub_url(base_url, f"agents/{quote(agent_id, safe='')}", what)


def _sub_url(base_url: str, sub_path: str, what: str) -> tuple[httpx.URL, str]:
    """`{url}/{sub_path}` (a query string of the configured URL stays at the end) and the raw path."""
    try:
        base = httpx.URL(base_url)
    except httpx.InvalidURL as exc:
        raise ContactCenterRejected(f"{what}: the contact center URL cannot be used ({exc})") from exc
    raw_path, _, query = base.raw_path.decode("ascii").partition("?")
    path = f"{raw_path.rstrip('/')}/{sub_path}"
    return base.copy_with(raw_path=(path + (f"?{query}" if query else "")).encode("ascii")), path


def _status(body: Any, what: str) -> AgentStatus:
    if not isinstance(body, dict):
        raise ContactCenterUnavailable(f"{what}: the answer is not a JSON object")
    try:
        state = AgentState(str(body.get("state")))
    except ValueError:
        raise ContactCenterUnavailable(f"{what}: unknown agent state {body.get('state')!r}") from None
    changed_at = _optional_datetime(body.get("changedAt"))
    idle = state is AgentState.IDLE
    return AgentStatus(
        state=state,
        idle_code_id=_optional_text(body.get("idleCodeId")) if idle else None,
        idle_code_name=_optional_text(body.get("idleCodeName")) if idle else None,
        changed_at=changed_at,
    )


def _optional_text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _optional_datetime(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
