"""Webex's agent events as they reach a subscription's destinationUrl.

Verified (CC webhooks guide, Cisco sample handlers): a CloudEvents-style JSON envelope with `id`,
`specversion`, `type`, `source`, `comciscoorgid`, `datacontenttype` and `data`; `data` carries `agentId`,
`currentState` and `createdTime`; `X-WebexCC-Signature` is the hex HMAC-SHA256 of the raw body keyed by the
subscription's secret. Assumed (not published): the other `data` field names below and the `source` form.
They live here only, so a correction is one edit.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import Any, Final

from devstack.contact_center_simulator.webex.model import new_id

SIGNATURE_HEADER: Final = "X-WebexCC-Signature"
SPEC_VERSION: Final = "1.0"
RESOURCE_VERSION: Final = "agent:1.0.0"

# data fields: verified ones first, then the assumed ones.
AGENT_ID: Final = "agentId"
CURRENT_STATE: Final = "currentState"
CREATED_TIME: Final = "createdTime"
AUX_CODE_ID: Final = "auxCodeId"  # assumed: the idle code id (Get Agent Activities calls it idleCode)
IDLE_CODE_NAME: Final = "idleCodeName"  # assumed
REASON: Final = "lastStateChangeReason"  # the state API's field, echoed (assumed name in events)
SESSION_ID: Final = "agentSessionId"  # assumed
TEAM_ID: Final = "teamId"  # assumed
CHANNEL_TYPE: Final = "channelType"  # assumed
ORG_ID: Final = "orgId"  # assumed


def source_of(org_id: str) -> str:
    return f"/com/cisco/wxcc/{org_id}"  # assumed form


def envelope(event_type: str, org_id: str, data: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": new_id(),
        "specversion": SPEC_VERSION,
        "type": event_type,
        "source": source_of(org_id),
        "comciscoorgid": org_id,
        "datacontenttype": "application/json",
        "data": data,
    }


def body_of(event: dict[str, Any]) -> bytes:
    return json.dumps(event, separators=(",", ":")).encode("utf-8")


def signature(body: bytes, secret: str) -> str:
    return hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()
