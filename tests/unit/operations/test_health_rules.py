"""The problem codes and the tenant counts, from the rows the engine and the subscription service write."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from shared.connectors.model import Connector, ConnectorSettings, ConnectorStatus, WebhookContactCenter
from shared.contact_center.health import CheckSource, ContactCenterCheck
from shared.contact_center.model import AgentState
from shared.operations.health import (
    Authorization,
    Coverage,
    Problem,
    agent_problems,
    contact_center_authorization,
    coverage_of,
    last_hour,
    subscription_counts,
)
from shared.operations.model import DELAY_BUCKETS, MinuteStats, bucket_of, empty_histogram, percentile
from shared.operations.ports import Direction
from shared.presence.sync_state import (
    AgentSyncState,
    CommandOutcome,
    CommandRecord,
    CommandTarget,
    ContactCenterView,
    TeamsView,
)
from shared.subscriptions.model import SubscriptionRecord, SubscriptionStatus
from shared.sync_accounts.model import SyncAccount, SyncAccountStatus

NOW = datetime(2026, 12, 2, 10, 0, tzinfo=UTC)
TENANT = "11111111-1111-1111-1111-111111111111"
USER = "22222222-2222-2222-2222-222222222222"
ACCOUNT = "33333333-3333-3333-3333-333333333333"
HOOK = WebhookContactCenter("https://cc.example.com/hook", "s" * 24)
CONNECTOR = Connector(TENANT, ConnectorStatus.ACTIVE, ConnectorSettings(), HOOK, NOW, NOW)
TEAMS = TeamsView("Available", "Available", "1", NOW, NOW)
CC = ContactCenterView(AgentState.AVAILABLE, None, None, NOW, 1, "e1", NOW)
SYNCED = AgentSyncState(teams=TEAMS, contact_center=CC)


def record(
    status: SubscriptionStatus = SubscriptionStatus.ACTIVE,
    expires_in: timedelta = timedelta(minutes=50),
    users: tuple[str, ...] = (USER,),
) -> SubscriptionRecord:
    return SubscriptionRecord(
        TENANT, ACCOUNT, "sub-1", users, NOW + expires_in, NOW, None, None, status, None
    )


def account(status: SyncAccountStatus = SyncAccountStatus.HEALTHY) -> SyncAccount:
    return SyncAccount(
        TENANT, ACCOUNT, "sync@contoso.example", "Sync", status, NOW, NOW, NOW, "token revoked"
    )


COVERED = Coverage(record(), account())


def codes(connector: Connector, state: AgentSyncState, coverage: Coverage = COVERED) -> list[Problem]:
    return [problem.code for problem in agent_problems(connector, state, coverage, NOW)]


def test_a_subscribed_agent_seen_on_both_sides_has_no_problem() -> None:
    assert codes(CONNECTOR, SYNCED) == []


@pytest.mark.parametrize(
    ("connector", "state", "coverage", "expected"),
    [
        (replace(CONNECTOR, status=ConnectorStatus.INACTIVE), SYNCED, COVERED, Problem.CONNECTOR_NOT_ACTIVE),
        (
            replace(CONNECTOR, settings=ConnectorSettings(presence_sync=False)),
            SYNCED,
            COVERED,
            Problem.PRESENCE_SYNC_OFF,
        ),
        (replace(CONNECTOR, contact_center=None), SYNCED, COVERED, Problem.NO_CONTACT_CENTER),
        (CONNECTOR, SYNCED, Coverage(None, None), Problem.NOT_SUBSCRIBED),
        (
            CONNECTOR,
            SYNCED,
            Coverage(record(expires_in=timedelta(minutes=-1)), account()),
            Problem.NOT_SUBSCRIBED,
        ),
        (CONNECTOR, SYNCED, Coverage(record(SubscriptionStatus.FAILED), account()), Problem.NOT_SUBSCRIBED),
        (
            CONNECTOR,
            SYNCED,
            Coverage(record(), account(SyncAccountStatus.REAUTHORIZATION_REQUIRED)),
            Problem.SYNC_ACCOUNT_NEEDS_SIGN_IN,
        ),
        (CONNECTOR, replace(SYNCED, teams=None), COVERED, Problem.NO_TEAMS_PRESENCE),
        (
            CONNECTOR,
            replace(SYNCED, teams=replace(TEAMS, manual_override_since=NOW)),
            COVERED,
            Problem.MANUAL_TEAMS_STATUS,
        ),
        (
            CONNECTOR,
            replace(SYNCED, contact_center=replace(CC, state=AgentState.LOGGED_OUT)),
            COVERED,
            Problem.LOGGED_OUT,
        ),
    ],
)
def test_each_problem_has_its_code(
    connector: Connector, state: AgentSyncState, coverage: Coverage, expected: Problem
) -> None:
    assert codes(connector, state, coverage) == [expected]


def refused(
    kind: str, status: int | None, error: str, target: CommandTarget = CommandTarget.CONTACT_CENTER
) -> AgentSyncState:
    return replace(
        SYNCED,
        last_command=CommandRecord(kind, target, CommandOutcome.REFUSED, NOW, "teams-dnd", error, status),
    )


@pytest.mark.parametrize(
    ("state", "expected"),
    [
        (
            refused("setIdle", 400, "auxCodeId teams-dnd is not an idle code of this organization"),
            Problem.UNKNOWN_IDLE_CODE,
        ),
        (refused("setIdle", 404, "idle code teams-dnd not found"), Problem.UNKNOWN_IDLE_CODE),
        # An unknown agent's 404 is no idle-code problem
        (refused("setIdle", 404, "tenant t has no agent a"), Problem.CONTACT_CENTER_REFUSED),
        (refused("setIdle", 409, "the agent is wrapping up"), Problem.CONTACT_CENTER_REFUSED),
        (refused("setAvailable", 400, "bad idle code"), Problem.CONTACT_CENTER_REFUSED),
        (refused("setPresence", 400, "bad activity", CommandTarget.TEAMS), Problem.TEAMS_REFUSED),
    ],
)
def test_a_refused_command_says_which_kind_of_refusal(state: AgentSyncState, expected: Problem) -> None:
    problems = agent_problems(CONNECTOR, state, COVERED, NOW)
    assert [p.code for p in problems] == [expected]
    assert state.last_command is not None
    assert f"HTTP {state.last_command.status}" in problems[0].message
    assert (state.last_command.error or "") in problems[0].message


def test_an_accepted_command_is_no_problem() -> None:
    accepted = replace(
        SYNCED,
        last_command=CommandRecord(
            "setIdle", CommandTarget.CONTACT_CENTER, CommandOutcome.ACCEPTED, NOW, "teams-dnd"
        ),
    )
    assert codes(CONNECTOR, accepted) == []


def test_the_problem_sentences_name_ids_never_upns() -> None:
    state = replace(SYNCED, teams=replace(TEAMS, manual_override_since=NOW))
    coverage = Coverage(record(), account(SyncAccountStatus.REAUTHORIZATION_REQUIRED))
    for problem in agent_problems(CONNECTOR, state, coverage, NOW):
        assert "sync@contoso.example" not in problem.message
    sign_in = next(
        p
        for p in agent_problems(CONNECTOR, state, coverage, NOW)
        if p.code is Problem.SYNC_ACCOUNT_NEEDS_SIGN_IN
    )
    assert ACCOUNT in sign_in.message


def test_coverage_finds_the_subscription_holding_the_user_and_its_account() -> None:
    other = replace(record(users=("someone-else",)), account_id="other")
    coverage = coverage_of(USER, [other, record()], [account()])
    assert coverage.subscription == record()
    assert coverage.account == account()
    assert coverage_of("nobody", [record()], [account()]) == Coverage(None, None)


def test_subscription_counts() -> None:
    counts = subscription_counts(
        [
            record(),
            record(expires_in=timedelta(minutes=10)),
            record(expires_in=timedelta(minutes=-5)),
            record(SubscriptionStatus.FAILED),
            record(SubscriptionStatus.PENDING),
        ],
        NOW,
    )
    assert (counts.active, counts.expiring, counts.failed, counts.pending) == (2, 1, 1, 1)


@pytest.mark.parametrize(
    ("status", "reachable", "expected"),
    [
        (204, True, Authorization.AUTHORIZED),
        (401, True, Authorization.REFUSED),
        (403, True, Authorization.REFUSED),
        (None, False, Authorization.UNREACHABLE),
    ],
)
def test_contact_center_authorization(status: int | None, reachable: bool, expected: Authorization) -> None:
    check = ContactCenterCheck(CheckSource.SYNC, NOW, "x", reachable, status == 204, status, "r")
    assert contact_center_authorization(check) is expected
    assert contact_center_authorization(None) is Authorization.UNKNOWN


def test_percentiles_are_bucket_upper_bounds() -> None:
    histogram = empty_histogram()
    assert percentile(histogram, 0.5) is None
    for seconds in [0.1] * 98 + [3.0, 4000.0]:
        histogram[bucket_of(seconds)] += 1
    assert percentile(histogram, 0.5) == 0.25
    assert percentile(histogram, 0.99) == 5.0
    # Past the last bound: the largest bound stands for "slower than that"
    assert percentile(histogram, 1.0) == DELAY_BUCKETS[-1]
    assert bucket_of(0.25) == 0
    assert bucket_of(0.2501) == 1


def test_last_hour_adds_up_every_process_and_minute() -> None:
    one = MinuteStats(TENANT, NOW, "a")
    one.notifications_dropped["unknownSubscription"] += 2
    one.changes["applied"] += 3
    one.add_delay(Direction.TEAMS_TO_CONTACT_CENTER.value, 0.4)
    two = MinuteStats(TENANT, NOW + timedelta(minutes=1), "b")
    two.notifications_dropped["unknownSubscription"] += 1
    two.dead_lettered = 1
    two.add_delay(Direction.CONTACT_CENTER_TO_TEAMS.value, 20.0)
    hour = last_hour([one, two])
    assert hour.notifications_dropped == {"unknownSubscription": 3}
    assert hour.changes == {"applied": 3}
    assert hour.dead_lettered == 1
    assert hour.delay_samples() == 2
    assert hour.delay_percentile(Direction.TEAMS_TO_CONTACT_CENTER, 0.5) == 0.5
    assert hour.delay_percentile(Direction.CONTACT_CENTER_TO_TEAMS, 0.99) == 30.0
    assert hour.delay_percentile(None, 0.99) == 30.0
