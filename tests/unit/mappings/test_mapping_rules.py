"""Presence mapping rules: validation of PUT bodies, the defaults, rule matching and the per-process cache."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from shared.contact_center.model import AgentState
from shared.http.errors import status_for
from shared.mappings.cache import CachedMappings
from shared.mappings.defaults import DEFAULT_MAPPINGS, DEFAULT_RULES
from shared.mappings.exceptions import InvalidMapping, StaleMappings
from shared.mappings.matching import match_contact_center_rule, match_teams_rule
from shared.mappings.model import (
    DEFAULT_ETAG,
    MappingRules,
    PresenceMappings,
    TeamsToContactCenterRule,
)
from shared.mappings.validation import MAX_RULES, parse_mappings
from shared.mappings.views import rules_json
from tests.fakes import FakeClock

TENANT = "11111111-1111-1111-1111-111111111111"


def teams_rule(**overrides: Any) -> dict[str, Any]:
    rule: dict[str, Any] = {
        "availability": "Busy",
        "activity": "InACall",
        "idleCodeId": "call",
        "idleCodeName": "In a call",
    }
    rule.update(overrides)
    return rule


def cc_rule(**overrides: Any) -> dict[str, Any]:
    rule: dict[str, Any] = {"agentState": "onCall", "availability": "Busy", "activity": "InACall"}
    rule.update(overrides)
    return rule


def body(teams: list[Any] | None = None, cc: list[Any] | None = None) -> dict[str, Any]:
    return {"teamsToContactCenter": teams or [], "contactCenterToTeams": cc or []}


def rejection(raw: Any) -> InvalidMapping:
    with pytest.raises(InvalidMapping) as caught:
        parse_mappings(raw)
    return caught.value


# --- validation: valid input ---------------------------------------------------------------------------


def test_a_valid_body_becomes_rules() -> None:
    # GIVEN a body with an exact rule, a "*" rule and a contact-center rule
    raw = body(
        [teams_rule(), teams_rule(availability="DoNotDisturb", activity="*", idleCodeName=None)],
        [cc_rule()],
    )
    # WHEN it is parsed
    rules = parse_mappings(raw)
    # THEN every rule is kept in order, with its fields
    assert rules.teams_to_contact_center == (
        TeamsToContactCenterRule("Busy", "InACall", "call", "In a call"),
        TeamsToContactCenterRule("DoNotDisturb", "*", "call", None),
    )
    assert rules.teams_to_contact_center[1].is_wildcard
    assert [r.agent_state for r in rules.contact_center_to_teams] == [AgentState.ON_CALL]


def test_empty_rule_lists_are_allowed() -> None:
    # GIVEN / WHEN an admin maps nothing in either direction
    rules = parse_mappings(body())
    # THEN that is a valid (empty) mapping
    assert rules == MappingRules((), ())


def test_the_rest_representation_parses_back_to_the_same_rules() -> None:
    # GIVEN the JSON the API shows for the defaults
    shown = rules_json(DEFAULT_RULES)
    # WHEN a client PUTs exactly that back
    # THEN the same rules result
    assert parse_mappings(shown) == DEFAULT_RULES


# --- validation: every kind of offending rule ----------------------------------------------------------


OFFENDING_TEAMS_RULES: list[tuple[str, Any, str]] = [
    ("unknown availability", teams_rule(availability="Sleeping"), "availability"),
    ("availability in the wrong case", teams_rule(availability="busy"), "availability"),
    ("unknown activity", teams_rule(activity="Napping"), "activity"),
    ("activity in the wrong case", teams_rule(activity="inacall"), "activity"),
    ("missing availability", {"activity": "InACall", "idleCodeId": "x"}, "availability is required"),
    ("missing activity", {"availability": "Busy", "idleCodeId": "x"}, "activity is required"),
    ("missing idle code", {"availability": "Busy", "activity": "InACall"}, "idleCodeId is required"),
    ("null idle code", teams_rule(idleCodeId=None), "idleCodeId is required"),
    ("empty idle code", teams_rule(idleCodeId=""), "idleCodeId"),
    ("idle code too long", teams_rule(idleCodeId="x" * 129), "idleCodeId"),
    ("idle code not printable", teams_rule(idleCodeId="a\nb"), "idleCodeId"),
    ("idle code with outer whitespace", teams_rule(idleCodeId=" call"), "whitespace"),
    ("idle code not a string", teams_rule(idleCodeId=7), "idleCodeId must be a string"),
    ("idle code name not a string", teams_rule(idleCodeName=["x"]), "idleCodeName must be a string"),
    ("idle code name too long", teams_rule(idleCodeName="n" * 257), "idleCodeName"),
    ("availability not a string", teams_rule(availability=True), "availability must be a string"),
    ("unknown field", teams_rule(priority=1), "unknown field"),
    ("rule not an object", "Busy/InACall", "must be an object"),
]


@pytest.mark.parametrize(
    ("offending", "expected"),
    [pytest.param(rule, expected, id=name) for name, rule, expected in OFFENDING_TEAMS_RULES],
)
def test_an_offending_teams_rule_is_rejected_by_its_index(offending: Any, expected: str) -> None:
    # GIVEN a valid rule followed by an offending one at index 1
    raw = body([teams_rule(availability="Away", activity="*"), offending])
    # WHEN the body is parsed
    error = rejection(raw)
    # THEN the error is invalidMapping (400) and names the rule and what is wrong with it
    assert error.code == "invalidMapping"
    assert "teamsToContactCenter[1]" in error.message
    assert expected in error.message


OFFENDING_CONTACT_CENTER_RULES: list[tuple[str, Any, str]] = [
    ("unknown agent state", cc_rule(agentState="coffee"), "agentState must be one of"),
    ("agent state in the wrong case", cc_rule(agentState="OnCall"), "agentState must be one of"),
    ("available cannot be mapped", cc_rule(agentState="available"), "cannot be mapped"),
    ("logged out cannot be mapped", cc_rule(agentState="loggedOut"), "cannot be mapped"),
    ("wildcard activity", cc_rule(activity="*"), "activity must be one of"),
    ("unknown availability", cc_rule(availability="Sleeping"), "availability"),
    ("unknown activity", cc_rule(activity="Napping"), "activity"),
    ("pair setPresence refuses", cc_rule(availability="Busy", activity="InAMeeting"), "setPresence"),
    ("valid values, refused pair", cc_rule(availability="DoNotDisturb", activity="InACall"), "setPresence"),
    ("offline is not settable", cc_rule(availability="Offline", activity="Offline"), "setPresence"),
    ("agent state not a string", cc_rule(agentState=3), "agentState must be a string"),
    ("missing agent state", {"availability": "Busy", "activity": "InACall"}, "agentState is required"),
    ("unknown field", cc_rule(idleCodeId="x"), "unknown field"),
    ("rule not an object", ["onCall"], "must be an object"),
]


@pytest.mark.parametrize(
    ("offending", "expected"),
    [pytest.param(rule, expected, id=name) for name, rule, expected in OFFENDING_CONTACT_CENTER_RULES],
)
def test_an_offending_contact_center_rule_is_rejected_by_its_index(offending: Any, expected: str) -> None:
    # GIVEN a valid rule followed by an offending one at index 1
    raw = body(cc=[cc_rule(agentState="wrapUp"), offending])
    # WHEN the body is parsed
    error = rejection(raw)
    # THEN the error names contactCenterToTeams[1] and the problem
    assert error.code == "invalidMapping"
    assert "contactCenterToTeams[1]" in error.message
    assert expected in error.message


@pytest.mark.parametrize(
    ("availability", "activity"),
    [
        ("Available", "Available"),
        ("Busy", "InACall"),
        ("Busy", "InAConferenceCall"),
        ("Away", "Away"),
        ("DoNotDisturb", "Presenting"),
    ],
)
def test_every_pair_set_presence_accepts_is_allowed(availability: str, activity: str) -> None:
    # GIVEN / WHEN a contact-center rule targets one of setPresence's pairs
    rules = parse_mappings(body(cc=[cc_rule(availability=availability, activity=activity)]))
    # THEN it is accepted as is
    assert (rules.contact_center_to_teams[0].availability, rules.contact_center_to_teams[0].activity) == (
        availability,
        activity,
    )


def test_a_repeated_teams_presence_names_both_rules() -> None:
    # GIVEN the same availability/activity mapped twice (rules 0 and 2)
    raw = body([teams_rule(), teams_rule(activity="*"), teams_rule(idleCodeId="other")])
    # WHEN / THEN the duplicate is rejected, naming itself and the rule it repeats
    error = rejection(raw)
    assert "teamsToContactCenter[2]" in error.message
    assert "teamsToContactCenter[0]" in error.message


def test_a_repeated_agent_state_names_both_rules() -> None:
    raw = body(cc=[cc_rule(), cc_rule(agentState="ringing"), cc_rule(availability="Away", activity="Away")])
    error = rejection(raw)
    assert "contactCenterToTeams[2]" in error.message
    assert "contactCenterToTeams[0]" in error.message


def test_the_same_availability_with_an_exact_and_a_wildcard_activity_is_not_a_duplicate() -> None:
    rules = parse_mappings(body([teams_rule(activity="*"), teams_rule()]))
    assert len(rules.teams_to_contact_center) == 2


@pytest.mark.parametrize("direction", ["teamsToContactCenter", "contactCenterToTeams"])
def test_too_many_rules_are_rejected(direction: str) -> None:
    # GIVEN one rule more than allowed (content does not matter: the count is checked first)
    raw = body()
    raw[direction] = [{}] * (MAX_RULES + 1)
    # WHEN / THEN the list is refused with the limit in the message
    error = rejection(raw)
    assert direction in error.message
    assert str(MAX_RULES) in error.message


def test_the_maximum_number_of_rules_is_accepted() -> None:
    availabilities = ["Available", "Away", "Busy", "DoNotDisturb", "Offline", "BeRightBack", "BusyIdle"]
    activities = ["*", "Available", "Away", "Busy", "InACall", "Presenting", "Offline", "OffWork"]
    pairs = [(a, b) for a in availabilities for b in activities][:MAX_RULES]
    raw = body([teams_rule(availability=a, activity=b) for a, b in pairs])
    assert len(parse_mappings(raw).teams_to_contact_center) == len(pairs)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        pytest.param([], "JSON object", id="body-is-a-list"),
        pytest.param("rules", "JSON object", id="body-is-a-string"),
        pytest.param(None, "JSON object", id="body-is-null"),
        pytest.param({"contactCenterToTeams": []}, "teamsToContactCenter is required", id="missing-teams"),
        pytest.param({"teamsToContactCenter": []}, "contactCenterToTeams is required", id="missing-cc"),
        pytest.param(
            {"teamsToContactCenter": {}, "contactCenterToTeams": []}, "must be an array", id="rules-not-array"
        ),
        pytest.param({**body(), "isDefault": True}, "unknown field", id="unknown-body-field"),
    ],
)
def test_a_malformed_body_is_rejected(raw: Any, expected: str) -> None:
    error = rejection(raw)
    assert error.code == "invalidMapping"
    assert expected in error.message


def test_a_long_offending_value_is_shown_cut_short() -> None:
    # GIVEN an availability of 10,000 characters
    error = rejection(body([teams_rule(availability="A" * 10_000)]))
    # THEN the message shows only the start of it
    assert "A" * 100 not in error.message
    assert "..." in error.message


def test_mapping_errors_reach_http_as_400_and_412() -> None:
    # GIVEN the errors the presence-mappings API raises for a bad body and a stale If-Match
    # WHEN the HTTP layer maps them to a status
    # THEN a bad rule is a client error (400) and a stale version a failed precondition (412), not a 500
    assert status_for(InvalidMapping("teamsToContactCenter[0] is wrong")) == 400
    assert status_for(StaleMappings(TENANT)) == 412


# --- defaults -------------------------------------------------------------------------------------------


def test_the_defaults_pass_the_validator() -> None:
    # GIVEN the built-in defaults WHEN they go through the same validation as a PUT THEN they are accepted
    assert parse_mappings(rules_json(DEFAULT_MAPPINGS.rules)) == DEFAULT_MAPPINGS.rules
    assert DEFAULT_MAPPINGS.is_default
    assert DEFAULT_MAPPINGS.etag == DEFAULT_ETAG


@pytest.mark.parametrize(
    ("availability", "activity"),
    [
        ("DoNotDisturb", "DoNotDisturb"),
        ("DoNotDisturb", "UrgentInterruptionsOnly"),
        ("Busy", "InACall"),
        ("Busy", "InAConferenceCall"),
        ("Busy", "Presenting"),
        ("DoNotDisturb", "Presenting"),
    ],
)
def test_the_defaults_map_the_three_market_states(availability: str, activity: str) -> None:
    assert match_teams_rule(DEFAULT_MAPPINGS, availability, activity) is not None


@pytest.mark.parametrize(
    ("availability", "activity"),
    [("Available", "Available"), ("Busy", "Busy"), ("Busy", "InAMeeting"), ("Away", "Away")],
)
def test_the_defaults_leave_other_teams_states_unmapped(availability: str, activity: str) -> None:
    assert match_teams_rule(DEFAULT_MAPPINGS, availability, activity) is None


# --- matching -------------------------------------------------------------------------------------------


def mappings_of(raw: dict[str, Any]) -> PresenceMappings:
    return PresenceMappings(parse_mappings(raw))


def test_an_exact_activity_beats_the_wildcard_whatever_the_order() -> None:
    # GIVEN a "*" rule listed before and after an exact rule of the same availability
    exact = teams_rule(activity="Presenting", idleCodeId="present")
    wildcard = teams_rule(activity="*", idleCodeId="busy")
    for rules in ([wildcard, exact], [exact, wildcard]):
        mappings = mappings_of(body(rules))
        # WHEN the exact presence is matched THEN the exact rule wins
        matched = match_teams_rule(mappings, "Busy", "Presenting")
        assert matched is not None
        assert matched.idle_code_id == "present"
        # AND any other activity of that availability falls back to "*"
        fallback = match_teams_rule(mappings, "Busy", "InAMeeting")
        assert fallback is not None
        assert fallback.idle_code_id == "busy"


def test_no_matching_teams_rule_gives_none() -> None:
    mappings = mappings_of(body([teams_rule(activity="*")]))
    assert match_teams_rule(mappings, "Away", "Away") is None
    assert match_teams_rule(mappings_of(body()), "Busy", "InACall") is None


def test_contact_center_rules_match_by_agent_state() -> None:
    mappings = mappings_of(body(cc=[cc_rule(agentState="wrapUp", availability="Away", activity="Away")]))
    matched = match_contact_center_rule(mappings, AgentState.WRAP_UP)
    assert matched is not None
    assert (matched.availability, matched.activity) == ("Away", "Away")
    assert match_contact_center_rule(mappings, AgentState.ON_CALL) is None


# --- cache ----------------------------------------------------------------------------------------------


class CountingRepository:
    """Returns whatever `stored` holds, counting the reads."""

    def __init__(self, stored: PresenceMappings | None = None) -> None:
        self.stored = stored
        self.reads = 0

    def get(self, tenant_id: str) -> PresenceMappings | None:
        self.reads += 1
        return self.stored

    def insert(self, tenant_id: str, rules: MappingRules, updated_at: Any) -> PresenceMappings:
        raise AssertionError("the cache never writes")

    def replace(self, tenant_id: str, rules: MappingRules, etag: str, updated_at: Any) -> PresenceMappings:
        raise AssertionError("the cache never writes")

    def upsert(self, tenant_id: str, rules: MappingRules, updated_at: Any) -> PresenceMappings:
        raise AssertionError("the cache never writes")


def stored_mappings(idle_code: str, etag: str) -> PresenceMappings:
    return PresenceMappings(parse_mappings(body([teams_rule(idleCodeId=idle_code)])), etag=etag)


def test_the_cache_serves_defaults_when_nothing_is_stored() -> None:
    cache = CachedMappings(CountingRepository(), FakeClock())
    assert cache.get(TENANT) is DEFAULT_MAPPINGS


def test_the_cache_reads_storage_again_only_after_the_ttl() -> None:
    # GIVEN a cache with a 10 s ttl and stored mappings
    clock = FakeClock()
    repository = CountingRepository(stored_mappings("first", 'W/"1"'))
    cache = CachedMappings(repository, clock, timedelta(seconds=10))
    assert cache.get(TENANT).etag == 'W/"1"'
    # WHEN the stored mappings change within the ttl
    repository.stored = stored_mappings("second", 'W/"2"')
    clock.advance(seconds=9.9)
    # THEN the cached version is still served without a read
    assert cache.get(TENANT).etag == 'W/"1"'
    assert repository.reads == 1
    # AND once the ttl has passed the new version is loaded
    clock.advance(seconds=0.1)
    assert cache.get(TENANT).etag == 'W/"2"'
    assert repository.reads == 2


def test_invalidate_makes_the_next_read_load_storage() -> None:
    # GIVEN a cached tenant
    repository = CountingRepository(stored_mappings("first", 'W/"1"'))
    cache = CachedMappings(repository, FakeClock())
    cache.get(TENANT)
    repository.stored = stored_mappings("second", 'W/"2"')
    # WHEN its entry is invalidated (as the service does after a PUT)
    cache.invalidate(TENANT)
    # THEN the very next read sees the new mappings, at the same instant
    assert cache.get(TENANT).etag == 'W/"2"'
    assert repository.reads == 2


def test_a_read_that_raced_an_invalidation_is_not_cached() -> None:
    # GIVEN a read that loads the old mappings while a PUT invalidates the tenant meanwhile
    cache: CachedMappings
    old = stored_mappings("old", 'W/"1"')
    new = stored_mappings("new", 'W/"2"')

    class RacingRepository(CountingRepository):
        def get(self, tenant_id: str) -> PresenceMappings | None:
            self.reads += 1
            if self.reads == 1:
                cache.invalidate(tenant_id)
                self.stored = new
                return old
            return self.stored

    repository = RacingRepository()
    cache = CachedMappings(repository, FakeClock())
    # WHEN the racing read returns
    assert cache.get(TENANT) is old
    # THEN the old value was not put back in the cache: the next read loads the new one
    assert cache.get(TENANT) is new


def test_the_cache_keeps_at_most_max_entries() -> None:
    repository = CountingRepository()
    cache = CachedMappings(repository, FakeClock(), max_entries=2)
    for tenant in ("a", "b", "c"):
        cache.get(tenant)
    # "a" was the least recently used and was evicted; "c" is still cached
    cache.get("c")
    assert repository.reads == 3
    cache.get("a")
    assert repository.reads == 4


@pytest.mark.parametrize(
    ("ttl", "max_entries", "expected"),
    [
        (timedelta(0), 1, "ttl must be positive"),
        (timedelta(seconds=-1), 1, "ttl must be positive"),
        (timedelta(seconds=1), 0, "max_entries must be at least 1"),
    ],
)
def test_the_cache_refuses_nonsensical_limits(ttl: timedelta, max_entries: int, expected: str) -> None:
    with pytest.raises(ValueError, match=expected):
        CachedMappings(CountingRepository(), FakeClock(), ttl, max_entries=max_entries)
