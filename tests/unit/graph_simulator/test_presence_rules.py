"""Presence aggregation and duration parsing, as Graph documents them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from devstack.graph_simulator.presence_rules import (
    PreferredState,
    SessionState,
    aggregate_presence,
    client_session,
    default_preferred_expiry,
    parse_iso_duration,
)

NOW = datetime(2025, 1, 1, 12, 0, tzinfo=UTC)


def _session(
    name: str, availability: str, activity: str, set_minutes_ago: float = 0, lasts: float = 60
) -> SessionState:
    set_at = NOW - timedelta(minutes=set_minutes_ago)
    return SessionState(name, availability, activity, set_at, set_at + timedelta(minutes=lasts))


def test_no_sessions_is_offline() -> None:
    assert aggregate_presence(None, [], NOW) == ("Offline", "Offline")


def test_sessions_rank_dnd_over_busy_over_available_over_away() -> None:
    sessions = [
        _session("a", "Away", "Away"),
        _session("b", "Available", "Available"),
        _session("c", "Busy", "InACall"),
    ]
    assert aggregate_presence(None, sessions, NOW) == ("Busy", "InACall")
    sessions.append(_session("d", "DoNotDisturb", "Presenting"))
    assert aggregate_presence(None, sessions, NOW) == ("DoNotDisturb", "Presenting")


def test_preferred_state_beats_every_session_until_it_expires() -> None:
    sessions = [_session("a", "DoNotDisturb", "Presenting")]
    preferred = PreferredState("Away", "Away", NOW + timedelta(minutes=1))
    assert aggregate_presence(preferred, sessions, NOW) == ("Away", "Away")
    assert aggregate_presence(preferred, sessions, NOW + timedelta(minutes=2)) == (
        "DoNotDisturb",
        "Presenting",
    )


def test_a_teams_clients_session_is_aggregated_with_the_apps_in_microsofts_order() -> None:
    desktop = client_session("teams-desktop", "Available", "Available", NOW - timedelta(hours=3))
    # The client's Available shows while nothing ranks higher, and never fades (the client keeps it alive)
    assert aggregate_presence(None, [desktop], NOW) == ("Available", "Available")
    # An app's Busy beats it; a second client's DoNotDisturb beats both
    app = _session("app", "Busy", "InACall")
    assert aggregate_presence(None, [desktop, app], NOW) == ("Busy", "InACall")
    mobile = client_session("teams-mobile", "DoNotDisturb", "Presenting", NOW)
    assert aggregate_presence(None, [desktop, app, mobile], NOW) == ("DoNotDisturb", "Presenting")


def test_a_preferred_presence_beats_sessions_only_while_one_exists() -> None:
    preferred = PreferredState("Available", "Available", None)
    assert aggregate_presence(preferred, [], NOW) == ("Offline", "Offline")
    app = _session("app", "Busy", "InACall", lasts=10)
    assert aggregate_presence(preferred, [app], NOW) == ("Available", "Available")
    # Once the only session expired, the preferred presence has nothing to show through
    assert aggregate_presence(preferred, [app], NOW + timedelta(minutes=11)) == ("Offline", "Offline")


def test_preferred_presence_defaults_to_a_day_for_busy_and_dnd_and_a_week_otherwise() -> None:
    assert default_preferred_expiry("Busy", NOW) == NOW + timedelta(days=1)
    assert default_preferred_expiry("DoNotDisturb", NOW) == NOW + timedelta(days=1)
    for availability in ("Available", "Away", "BeRightBack", "Offline"):
        assert default_preferred_expiry(availability, NOW) == NOW + timedelta(days=7)


def test_available_session_fades_then_expires() -> None:
    session = _session("a", "Available", "Available", lasts=30)
    assert aggregate_presence(None, [session], NOW + timedelta(minutes=4)) == ("Available", "Available")
    assert aggregate_presence(None, [session], NOW + timedelta(minutes=6)) == (
        "Available",
        "AvailableInactive",
    )
    assert aggregate_presence(None, [session], NOW + timedelta(minutes=11)) == ("Away", "Away")
    assert aggregate_presence(None, [session], NOW + timedelta(minutes=31)) == ("Offline", "Offline")


@pytest.mark.parametrize(("text", "minutes"), [("PT5M", 5), ("PT4H", 240), ("PT1H30M", 90), ("P0DT2H", 120)])
def test_iso_durations_parse(text: str, minutes: int) -> None:
    assert parse_iso_duration(text) == timedelta(minutes=minutes)


@pytest.mark.parametrize("text", ["0:05:00", "5", "PT", "P", "PT5X", ""])
def test_non_iso_durations_are_refused(text: str) -> None:
    with pytest.raises(ValueError, match="ISO 8601"):
        parse_iso_duration(text)
