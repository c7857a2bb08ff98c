"""`{baseUrl}/v1/subscriptions` (adapter of the WebexSubscriptionsApi port).

Register: `POST /v1/subscriptions {name, description, eventTypes, destinationUrl, secret, orgId}` ->
201 `{meta, data: {id, status, ...}}` (cjp:config_write). Get: `GET /v1/subscriptions/{id}?orgId` ->
200 `{meta, data}` or 404. Delete: `DELETE /v1/subscriptions/{id}?orgId` -> 204.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from datetime import datetime
from urllib.parse import quote

import httpx

from shared.connectors.model import WebexContactCenter
from shared.contact_center.exceptions import ContactCenterUnavailable
from shared.contact_center.http_exchange import json_body, raise_for_status, send
from shared.contact_center.webex.contract import (
    AGENT_EVENT_TYPES,
    SUBSCRIPTION_DESCRIPTION,
    SUBSCRIPTION_NAME,
    SUBSCRIPTIONS_PATH,
)

logger = logging.getLogger(__name__)


class HttpWebexSubscriptions:
    def __init__(self, http: httpx.Client, clock: Callable[[], datetime]) -> None:
        self._http = http
        self._clock = clock

    def create(self, config: WebexContactCenter, access_token: str, destination_url: str, secret: str) -> str:
        what = "Webex subscription registration"
        response = self._send(
            config,
            access_token,
            "POST",
            SUBSCRIPTIONS_PATH,
            what,
            json={
                "name": SUBSCRIPTION_NAME,
                "description": SUBSCRIPTION_DESCRIPTION,
                "eventTypes": list(AGENT_EVENT_TYPES),
                "destinationUrl": destination_url,
                "secret": secret,
                "orgId": config.org_id,
            },
        )
        raise_for_status(response, what, self._clock())
        body = json_body(response, what)
        data = body.get("data") if isinstance(body, dict) else None
        subscription_id = data.get("id") if isinstance(data, dict) else None
        if not isinstance(subscription_id, str) or not subscription_id:
            raise ContactCenterUnavailable(f"{what}: the answer has no data.id", status=response.status_code)
        return subscription_id

    def exists(self, config: WebexContactCenter, access_token: str, subscription_id: str) -> bool:
        what = "Webex subscription read"
        response = self._send(config, access_token, "GET", _one(subscription_id), what, org=True)
        if response.status_code == 404:
            return False
        raise_for_status(response, what, self._clock())
        body = json_body(response, what)
        data = body.get("data") if isinstance(body, dict) else None
        # Webex sets a subscription "inactive" in error scenarios: it then delivers nothing.
        return isinstance(data, dict) and data.get("status", "active") == "active"

    def delete(self, config: WebexContactCenter, access_token: str, subscription_id: str) -> None:
        what = "Webex subscription removal"
        response = self._send(config, access_token, "DELETE", _one(subscription_id), what, org=True)
        if response.status_code == 404:
            return
        raise_for_status(response, what, self._clock())

    def _send(
        self,
        config: WebexContactCenter,
        access_token: str,
        method: str,
        path: str,
        what: str,
        *,
        json: object = None,
        org: bool = False,
    ) -> httpx.Response:
        return send(
            self._http,
            what,
            method,
            config.base_url.rstrip("/") + path,
            params={"orgId": config.org_id} if org else None,
            json=json,
            headers={
                "Authorization": f"Bearer {access_token}",
                "Accept": "application/json",
                "TrackingId": f"TEAMSCONNECTOR_{uuid.uuid4()}",
            },
        )


def _one(subscription_id: str) -> str:
    return f"{SUBSCRIPTIONS_PATH}/{quote(subscription_id, safe='')}"
