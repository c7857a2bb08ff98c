"""Graph's presence vocabulary and aggregation rules (pure functions, no I/O).

A user's presence is aggregated from sessions ("Manage presence state using the Microsoft Graph API"):
- each Teams client he is signed in to (desktop, web, mobile) reports his automatic presence (activity,
  calls, meetings) as its own session, kept alive by the client;
- each application that calls setPresence for him has one session, which times out and expires;
- among sessions DoNotDisturb > Busy > Available > Away (here: the newest wins a tie).
The status he picks by hand in Teams, or an app sets with setUserPreferredPresence, is his preferred
presence: it beats every session until it expires or is cleared, but only while at least one session
exists; without any session he is Offline whatever he preferred.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

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

# setUserPreferredPresence without expirationDuration: DoNotDisturb and Busy last a day, the rest 7 days.
PREFERRED_DEFAULT_SHORT = timedelta(days=1)
PREFERRED_DEFAULT_LONG = timedelta(days=7)
_PREFERRED_SHORT_AVAILABILITIES = frozenset({"DoNotDisturb", "Busy"})
# A Teams client keeps its session alive while it runs: it neither fades nor expires on its own.
CLIENT_SESSION_LIFETIME = timedelta(days=3650)
DEFAULT_CLIENT_ID = "teams-desktop"

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


class SessionKind(StrEnum):
    APPLICATION = "application"
    # A Teams client of the user, reporting his automatic presence.
    CLIENT = "client"


@dataclass(frozen=True)
class SessionState:
    """One presence session of one user: an application's (setPresence) or one of his Teams clients'."""

    session_id: str
    availability: str
    activity: str
    set_at: datetime
    expires_at: datetime
    kind: SessionKind = SessionKind.APPLICATION

    @property
    def key(self) -> str:
        """Where the user keeps it: application and client sessions never share a key."""
        return session_key(self.kind, self.session_id)


def session_key(kind: SessionKind, session_id: str) -> str:
    prefix = "" if kind is SessionKind.APPLICATION else "client:"
    return prefix + session_id.lower()


def client_session(client_id: str, availability: str, activity: str, now: datetime) -> SessionState:
    return SessionState(
        client_id, availability, activity, now, now + CLIENT_SESSION_LIFETIME, SessionKind.CLIENT
    )


def default_preferred_expiry(availability: str, now: datetime) -> datetime:
    short = availability in _PREFERRED_SHORT_AVAILABILITIES
    return now + (PREFERRED_DEFAULT_SHORT if short else PREFERRED_DEFAULT_LONG)


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
    if session.availability != "Available" or session.kind is SessionKind.CLIENT:
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
    """Aggregate a user's presence as Graph documents it (see the module docstring): with no live
    session Offline; else the preferred state while it lasts; else the highest-ranked session and,
    between equal ranks, the most recently set one. `sessions` holds both kinds."""
    best: tuple[int, datetime, tuple[str, str]] | None = None
    for session in sessions:
        state = effective_session_state(session, now)
        if state is None:
            continue
        candidate = (_SESSION_RANK.get(state[0], 0), session.set_at, state)
        if best is None or candidate[:2] > best[:2]:
            best = candidate
    if best is None:
        return OFFLINE
    if preferred is not None and (preferred.expires_at is None or now < preferred.expires_at):
        return preferred.availability, preferred.activity
    return best[2]
