"""Contact-center agent states as the connector sees them, whatever the platform behind them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum


class AgentState(StrEnum):
    """The canonical agent states every adapter translates to and from."""

    LOGGED_OUT = "loggedOut"
    AVAILABLE = "available"
    # Not offered customer contacts; carries the contact center's idle (aux) code when it has one.
    IDLE = "idle"
    RINGING = "ringing"
    # Connected to a customer.
    ON_CALL = "onCall"
    WRAP_UP = "wrapUp"


@dataclass(frozen=True)
class IdleCode:
    """An idle (auxiliary) code an agent can be put in: the target of a mapped Teams state."""

    id: str
    name: str
    is_default: bool = False


@dataclass(frozen=True)
class AgentStatus:
    state: AgentState
    idle_code_id: str | None = None
    idle_code_name: str | None = None
    # None when the contact center does not say since when the agent is in this state.
    changed_at: datetime | None = None
