"""The control API's presence part: what a test or a developer sets for a user, and how it is shown.

Two different things, as in Teams (presence_rules.py):
- `kind: "client"` (the default): the automatic presence one of the user's Teams clients reports
  (`clientId`, default "teams-desktop"), a session aggregated with the applications' sessions;
- `kind: "preferred"`: the status he picks by hand (setUserPreferredPresence's pairs only), which beats
  every session until it expires or is reset.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Final

from devstack.graph_simulator.clock import format_graph_datetime
from devstack.graph_simulator.errors import GraphApiError
from devstack.graph_simulator.graph_presence import preferred_state, presence_to_graph
from devstack.graph_simulator.models import User
from devstack.graph_simulator.presence_rules import (
    ACTIVITIES,
    AVAILABILITIES,
    DEFAULT_CLIENT_ID,
    USER_PREFERRED_PAIRS,
    PreferredState,
    SessionKind,
    SessionState,
    client_session,
)

CLIENT: Final = "client"
PREFERRED: Final = "preferred"
KINDS: Final = (CLIENT, PREFERRED)
_FIELDS: Final = frozenset({"availability", "activity", "kind", "clientId", "expirationDuration"})


class PresenceInputError(ValueError):
    """The control API body cannot be used; the message says why (answered 400)."""


def presence_kind(raw: object) -> str:
    kind = CLIENT if raw is None else raw
    if kind not in KINDS:
        raise PresenceInputError('kind must be "client" (a Teams client session, the default) or "preferred"')
    return str(kind)


def client_id_of(raw: object) -> str:
    if raw is None:
        return DEFAULT_CLIENT_ID
    if not isinstance(raw, str) or not raw or len(raw) > 64 or not raw.isprintable():
        raise PresenceInputError(
            "clientId must be a short printable name such as teams-desktop or teams-mobile"
        )
    return raw


def pair_of(body: dict[str, Any]) -> tuple[str, str]:
    availability, activity = body.get("availability"), body.get("activity")
    if availability not in AVAILABILITIES:
        raise PresenceInputError(f"availability must be one of {sorted(AVAILABILITIES)}")
    if activity not in ACTIVITIES:
        raise PresenceInputError(f"activity must be one of {sorted(ACTIVITIES)}")
    return str(availability), str(activity)


def client_session_from(body: dict[str, Any], now: datetime) -> SessionState:
    """A Teams client session from `{availability, activity, clientId?}`."""
    availability, activity = pair_of(body)
    return client_session(client_id_of(body.get("clientId")), availability, activity, now)


def parse_presence_change(body: dict[str, Any], now: datetime) -> SessionState | PreferredState:
    """What POST .../presence sets: a client session or the preferred presence."""
    unknown = sorted(set(body) - _FIELDS)
    if unknown:
        raise PresenceInputError(
            f"unknown field(s): {', '.join(unknown)}; allowed: {', '.join(sorted(_FIELDS))}"
        )
    if presence_kind(body.get("kind")) == CLIENT:
        if body.get("expirationDuration") is not None:
            raise PresenceInputError(
                "expirationDuration applies to kind preferred only: a client keeps its session"
            )
        return client_session_from(body, now)
    if body.get("clientId") is not None:
        raise PresenceInputError("clientId applies to kind client only")
    availability, activity = pair_of(body)
    if (availability, activity) not in USER_PREFERRED_PAIRS:
        allowed = ", ".join(f"{a}/{b}" for a, b in sorted(USER_PREFERRED_PAIRS))
        raise PresenceInputError(f"a preferred presence is one a user can pick in Teams: {allowed}")
    try:
        return preferred_state(availability, activity, body, now)
    except GraphApiError as error:
        raise PresenceInputError(error.message) from error


def presence_views(user: User) -> dict[str, Any]:
    """The user's aggregated presence and everything it is aggregated from."""
    sessions = list(user.sessions.values())
    return {
        "presence": presence_to_graph(user),
        # Graph shows another user's message without its expiry; the control view shows it.
        "statusMessageExpiresAt": format_graph_datetime(user.status_message_expires_at)
        if user.status_message_expires_at
        else None,
        "preferredPresence": None
        if user.preferred is None
        else {
            "availability": user.preferred.availability,
            "activity": user.preferred.activity,
            "expiresAt": format_graph_datetime(user.preferred.expires_at)
            if user.preferred.expires_at
            else None,
        },
        "clientSessions": [_session_json(s) for s in sessions if s.kind is SessionKind.CLIENT],
        "sessions": [_session_json(s) for s in sessions if s.kind is SessionKind.APPLICATION],
    }


def _session_json(session: SessionState) -> dict[str, Any]:
    view: dict[str, Any] = {
        "sessionId": session.session_id,
        "availability": session.availability,
        "activity": session.activity,
        "setAt": format_graph_datetime(session.set_at),
    }
    if session.kind is SessionKind.APPLICATION:
        view["expiresAt"] = format_graph_datetime(session.expires_at)
    return view
