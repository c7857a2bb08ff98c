"""Reading Webex Contact Center answers: agent activities -> AgentStatus, auxiliary codes -> IdleCode.

Webex has no "current state of one agent" read; Get Agent Activities (`GET /v1/agents/activities`)
lists an agent's state activities, one per channel, and the ones still `active` are the current state.
When none is active any more the agent has logged out (logout ends every activity).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from shared.contact_center.model import AgentState, AgentStatus, IdleCode
from shared.contact_center.webex.contract import IDLE_CODE_WORK_TYPE, WEBEX_STATES, normalise_state

logger = logging.getLogger(__name__)


def status_from_activities(agent_id: str, activities: Sequence[Any]) -> AgentStatus | None:
    """The agent's status from his activities; None when there are none or the state is unknown."""
    mine = [a for a in activities if isinstance(a, dict) and a.get("agentId", agent_id) == agent_id]
    if not mine:
        return None
    active = [a for a in mine if a.get("active") is True]
    if not active:
        ends = [end for end in (_millis(a.get("endTime")) for a in mine) if end is not None]
        return AgentStatus(AgentState.LOGGED_OUT, changed_at=_from_millis(max(ends, default=None)))
    # The newest activity wins; among simultaneous ones the telephony channel says most about calls.
    latest = max(
        active, key=lambda a: (_millis(a.get("startTime")) or 0, str(a.get("channelType")) == "telephony")
    )
    raw_state = latest.get("currentState")
    state = WEBEX_STATES.get(normalise_state(raw_state)) if isinstance(raw_state, str) else None
    if state is None:
        logger.warning(
            "agent %s has the Webex state %r, which the connector does not know", agent_id, raw_state
        )
        return None
    idle = state is AgentState.IDLE
    return AgentStatus(
        state=state,
        idle_code_id=_text(latest.get("idleCode")) if idle else None,
        idle_code_name=_text(latest.get("idleCodeName")) if idle else None,
        changed_at=_from_millis(_millis(latest.get("startTime"))),
    )


def idle_codes_from(items: Sequence[Any]) -> list[IdleCode]:
    """The active idle codes among auxiliary codes (wrap-up codes are the other kind)."""
    codes: list[IdleCode] = []
    for item in items:
        if not isinstance(item, dict) or item.get("workTypeCode") != IDLE_CODE_WORK_TYPE:
            continue
        if item.get("active") is False:
            continue
        code_id, name = _text(item.get("id")), _text(item.get("name"))
        if code_id is not None:
            codes.append(IdleCode(code_id, name or code_id, is_default=item.get("defaultCode") is True))
    return codes


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _millis(value: Any) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        return None
    return value


def _from_millis(value: int | None) -> datetime | None:
    return None if value is None else datetime.fromtimestamp(value / 1000, UTC)
