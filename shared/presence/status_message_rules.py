"""When the connector shows, keeps or clears an agent's Teams status message. Pure, no I/O.

A group may configure a text per contact-center state ("onCall": "On a customer call"). The rule that
protects what the user wrote himself: the connector only touches a status message that is empty or
is one of the group's own configured texts. Anything else is the user's and is left alone, neither
overwritten nor cleared. Every message the connector sets carries an expiry, so a clear that never
happens (the connector down, a lost event) still ends on its own.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final

# A call or an idle period rarely lasts longer; the next state change sets the message again.
STATUS_MESSAGE_EXPIRY: Final = timedelta(hours=4)


@dataclass(frozen=True)
class SetStatusMessage:
    content: str
    expires_at: datetime


@dataclass(frozen=True)
class ClearStatusMessage:
    """Remove the connector's message (setStatusMessage with an empty content)."""


StatusMessageCommand = SetStatusMessage | ClearStatusMessage


def is_connector_message(current: str | None, texts: Mapping[str, str]) -> bool:
    """True when the connector may write over `current`: none is set, or it is one of the group's texts."""
    return current is None or current in texts.values()


def status_message_command(
    texts: Mapping[str, str], agent_state: str, current: str | None, now: datetime
) -> StatusMessageCommand | None:
    """What to do with the Teams status message when the agent enters `agent_state`; `current`: the
    message Teams shows now (None: none). None: leave it as it is."""
    if not texts or not is_connector_message(current, texts):
        return None
    wanted = texts.get(agent_state)
    if wanted is not None:
        return None if current == wanted else SetStatusMessage(wanted, now + STATUS_MESSAGE_EXPIRY)
    return None if current is None else ClearStatusMessage()
