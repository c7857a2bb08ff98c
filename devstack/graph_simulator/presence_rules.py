"""Graph's presence vocabulary and aggregation rules (pure functions, no I/O)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta

AVAILABILITIES = frozenset(
    {
        "Available",
        "AvailableIdle",
        "Away",
        "BeRightBack",
        "Busy",
        "BusyIdle",
        "DoNotDisturb",
        "Offline",
        "PresenceUnknown",
    }
)
ACTIVITIES = frozenset(
    {
        "Available",
        "Away",
        "BeRightBack",
        "Busy",
        "DoNotDisturb",
        "InACall",
        "InAConferenceCall",
        "Inactive",
        "InAMeeting",
        "Offline",
        "OffWork",
        "OutOfOffice",
        "PresenceUnknown",
        "Presenting",
        "UrgentInterruptionsOnly",
    }
)

# presence: setPresence, "supported combinations of availability and activity".
SET_PRESENCE_PAIRS = frozenset(
    {
        ("Available", "Available"),
        ("Busy", "InACall"),
        ("Busy", "InAConferenceCall"),
        ("Away", "Away"),
        ("DoNotDisturb", "Presenting"),
    }
)
# presence: setUserPreferredPresence, "supported combinations".
USER_PREFERRED_PAIRS = frozenset(
    {
        ("Available", "Available"),
        ("Busy", "Busy"),
        ("DoNotDisturb", "DoNotDisturb"),
        ("BeRightBack", "BeRightBack"),
        ("Away", "Away"),
        ("Offline", "OffWork"),
    }
)

# Among application sessions: DoNotDisturb > Busy > Available > Away.
_SESSION_RANK = {"DoNotDisturb": 4, "Busy": 3, "Available": 2, "Away": 1}

MIN_SESSION_DURATION = timedelta(minutes=5)
MAX_SESSION_DURATION = timedelta(hours=4)
DEFAULT_SESSION_DURATION = timedelta(minutes=5)
# An Available session that is not kept alive fades: Available/AvailableInactive after 5 minutes,
# then Away/Away after another 5 (presence: setPresence, "Timeout, expiration, and keep alive").
AVAILABLE_TIMEOUT = timedelta(minutes=5)

OFFLINE = ("Offline", "Offline")

_DURATION = re.compile(
    r"^P(?:(?P<days>\d+)D)?(?:T(?:(?P<hours>\d+)H)?(?:(?P<minutes>\d+)M)?(?:(?P<seconds>\d+(?:\.\d+)?)S)?)?$"
)


def parse_iso_duration(text: str) -> timedelta:
    """Parse an Edm.Duration (ISO 8601, days and time part only); anything else is a ValueError.

    Graph rejects "0:05:00" (what str(timedelta) gives), so the simulator does too.
    """
    match = _DURATION.fullmatch(text.strip())
    if match is None or text.strip() in {"P", "PT"} or text.strip().endswith("T"):
        raise ValueError(f"{text!r} is not an ISO 8601 duration such as PT5M")
    parts = match.groupdict()
    return timedelta(
        days=int(parts["days"] or 0),
        hours=int(parts["hours"] or 0),
        minutes=int(parts["minutes"] or 0),
        seconds=float(parts["seconds"] or 0),
    )


@dataclass(frozen=True)
class SessionState:
    """One application's presence session for one user."""

    session_id: str
    availability: str
    activity: str
    set_at: datetime
    expires_at: datetime


@dataclass(frozen=True)
class PreferredState:
    """The state the user picked in Teams (or through setUserPreferredPresence)."""

    availability: str
    activity: str
    expires_at: datetime | None


def effective_session_state(session: SessionState, now: datetime) -> tuple[str, str] | None:
    """The state a session shows at `now`, or None once it has expired."""
    if now >= session.expires_at:
        return None
    if session.availability != "Available":
        return session.availability, session.activity
    idle_for = now - session.set_at
    if idle_for >= 2 * AVAILABLE_TIMEOUT:
        return "Away", "Away"
    if idle_for >= AVAILABLE_TIMEOUT:
        return "Available", "AvailableInactive"
    return session.availability, session.activity


def aggregate_presence(
    preferred: PreferredState | None, sessions: list[SessionState], now: datetime
) -> tuple[str, str]:
    """Aggregate a user's presence as Graph documents it.

    The user's own (preferred) state beats every application session; among sessions the highest
    rank wins and, between equal ranks, the most recently set session.
    """
    if preferred is not None and (preferred.expires_at is None or now < preferred.expires_at):
        return preferred.availability, preferred.activity
    best: tuple[int, datetime, tuple[str, str]] | None = None
    for session in sessions:
        state = effective_session_state(session, now)
        if state is None:
            continue
        candidate = (_SESSION_RANK.get(state[0], 0), session.set_at, state)
        if best is None or candidate[:2] > best[:2]:
            best = candidate
    return best[2] if best is not None else OFFLINE
