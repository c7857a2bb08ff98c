"""CommandRunner: a decision's commands through the contact-center adapter and Graph, Retry-After and
back-off on "later", permanent refusals folded into the state to save."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta

import pytest

from shared.contact_center.exceptions import (
    ContactCenterAuthFailed,
    ContactCenterError,
    ContactCenterRejected,
    ContactCenterUnavailable,
)
from shared.contact_center.health import CheckSource, ContactCenterCheck
from shared.contact_center.model import AgentState
from shared.graph.exceptions import (
    GraphAuthenticationFailed,
    GraphBadRequest,
    GraphError,
    GraphForbidden,
    GraphNotFound,
    GraphThrottled,
    GraphUnavailable,
)
from shared.operations.ports import Direction
from shared.presence.commands import MAX_INLINE_WAIT_SECONDS, CommandRunner, Target
from shared.presence.exceptions import TransientSyncFailure
from shared.presence.sync_rules import (
    SESSION_DURATION,
    ClearPresence,
    ContactCenterCommand,
    Outcome,
    SetAvailable,
    SetIdle,
    SetPresence,
    SyncDecision,
    TeamsCommand,
)
from shared.presence.sync_state import (
    AgentSyncState,
    CommandOutcome,
    CommandTarget,
    PendingCommand,
    PendingKind,
    PresenceSession,
)
from tests.fakes import FakeOperationsReporter
from tests.unit.presence.engine_fakes import (
    AGENT,
    APP_ID,
    CONTACT_CENTER,
    START,
    TENANT,
    USER,
    FakeContactCenters,
    FakeGraph,
    FakeSleep,
    seen_in_contact_center,
)

TARGET = Target(TENANT, USER, AGENT, CONTACT_CENTER)
DND = SetIdle("teams-dnd", "Teams: Do not disturb", expected_state=AgentState.AVAILABLE)
ON_CALL = SetPresence("Busy", "InACall", SESSION_DURATION)
# What the rules saved along with the commands above: the idle code asked, the session set.
ASKED = AgentSyncState(
    contact_center=seen_in_contact_center(AgentState.AVAILABLE, START - timedelta(hours=1)),
    pending=(PendingCommand(PendingKind.SET_IDLE, "teams-dnd", START),),
    idle_code_id="teams-dnd",
    idle_code_name="Teams: Do not disturb",
    session=PresenceSession("Busy", "InACall", START, START + SESSION_DURATION),
)


class HealthReports:
    def __init__(self) -> None:
        self.reports: list[tuple[str, ContactCenterCheck]] = []

    def report(self, tenant_id: str, check: ContactCenterCheck) -> None:
        self.reports.append((tenant_id, check))


class Runner:
    def __init__(self, max_inline_wait: float = MAX_INLINE_WAIT_SECONDS) -> None:
        self.contact_centers = FakeContactCenters()
        self.graph = FakeGraph()
        self.sleep = FakeSleep()
        self.health = HealthReports()
        self.reporter = FakeOperationsReporter()
        self.runner = CommandRunner(
            self.contact_centers,
            self.graph,
            APP_ID,
            sleep=self.sleep,
            max_inline_wait=max_inline_wait,
            health=self.health,
            reporter=self.reporter,
        )

    def run(
        self,
        contact_center: ContactCenterCommand | None = None,
        teams: TeamsCommand | None = None,
        *,
        delivery_count: int = 1,
        observed_at: datetime | None = None,
    ) -> AgentSyncState:
        decision = SyncDecision(ASKED, Outcome.APPLIED, "test", contact_center=contact_center, teams=teams)
        return self.runner.run(TARGET, decision, START, delivery_count, observed_at=observed_at)


@pytest.fixture
def runner() -> Runner:
    return Runner()


# -- success ---------------------------------------------------------------------------------------------


def test_each_command_goes_to_its_system_and_the_decided_state_is_returned(runner: Runner) -> None:
    # WHEN a decision with a contact-center and a Teams command runs
    state = runner.run(DND, ON_CALL)
    # THEN the tenant's adapter and Graph got them, with the connector's session id
    assert runner.contact_centers.clients_asked == [(TENANT, CONTACT_CENTER)]
    assert runner.contact_centers.calls == [("set_idle", TENANT, AGENT, "teams-dnd")]
    assert runner.graph.calls == [("set_presence", TENANT, USER, APP_ID, "Busy", "InACall", SESSION_DURATION)]
    # AND the state to save is the decided one, with the last command the connector sent
    assert replace(state, last_command=None) == ASKED
    assert state.last_command is not None
    assert (state.last_command.kind, state.last_command.target, state.last_command.outcome) == (
        "setPresence",
        CommandTarget.TEAMS,
        CommandOutcome.ACCEPTED,
    )
    assert state.last_command.detail == "Busy/InACall"
    assert runner.sleep.waits == []


def test_set_available_and_clear_presence(runner: Runner) -> None:
    runner.run(SetAvailable(expected_idle_code_id="teams-dnd"), ClearPresence())
    assert runner.contact_centers.calls == [("set_available", TENANT, AGENT)]
    assert runner.graph.calls == [("clear_presence", TENANT, USER, APP_ID)]


def test_a_decision_without_commands_calls_nothing(runner: Runner) -> None:
    assert runner.run() == ASKED
    assert runner.contact_centers.calls == []
    assert runner.contact_centers.clients_asked == []
    assert runner.graph.calls == []


# -- "later" -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("retry_after", "waited"),
    [(30.0, MAX_INLINE_WAIT_SECONDS), (10.0, 10.0), (2.5, 2.5), (0.0, None), (-4.0, None)],
)
def test_a_429_waits_retry_after_bounded_then_asks_for_a_redelivery(
    runner: Runner, retry_after: float, waited: float | None
) -> None:
    runner.contact_centers.throttle(retry_after)
    # WHEN the contact center answers 429 with Retry-After
    with pytest.raises(TransientSyncFailure):
        runner.run(DND, ON_CALL)
    # THEN the message waited Retry-After, never more than the bound (the queue lock must outlast it)
    assert runner.sleep.waits == ([] if waited is None else [waited])
    # AND the Teams command was not sent: the whole decision is taken again on redelivery
    assert runner.graph.calls == []


@pytest.mark.parametrize(("delivery_count", "waited"), [(1, 1.0), (2, 2.0), (3, 4.0), (4, 8.0), (10, 8.0)])
def test_a_503_without_retry_after_backs_off_by_delivery_count(
    runner: Runner, delivery_count: int, waited: float
) -> None:
    runner.contact_centers.unavailable()
    with pytest.raises(TransientSyncFailure):
        runner.run(DND, delivery_count=delivery_count)
    assert runner.sleep.waits == [waited]


def test_a_503_with_retry_after_honours_it(runner: Runner) -> None:
    runner.contact_centers.unavailable(retry_after=6.0)
    with pytest.raises(TransientSyncFailure):
        runner.run(DND, delivery_count=3)
    assert runner.sleep.waits == [6.0]


def test_refused_credentials_are_retried_until_the_message_dead_letters(runner: Runner) -> None:
    runner.contact_centers.failures.append(ContactCenterAuthFailed("401", status=401))
    with pytest.raises(TransientSyncFailure):
        runner.run(DND)
    assert runner.sleep.waits == [1.0]


@pytest.mark.parametrize(
    ("failure", "waited"),
    [
        (GraphThrottled("429", retry_after=45.0, status=429), MAX_INLINE_WAIT_SECONDS),
        (GraphThrottled("503", retry_after=3.0, status=503), 3.0),
        (GraphThrottled("429", retry_after=None, status=429), 1.0),
        (GraphUnavailable("502", status=502), 1.0),
        (GraphAuthenticationFailed("no token"), 1.0),
    ],
)
def test_graph_saying_later_asks_for_a_redelivery(runner: Runner, failure: GraphError, waited: float) -> None:
    runner.graph.failures.append(failure)
    with pytest.raises(TransientSyncFailure):
        runner.run(teams=ON_CALL)
    assert runner.sleep.waits == [waited]


def test_a_runner_without_inline_wait_never_sleeps() -> None:
    # GIVEN the reconcile timer's runner (max_inline_wait=0)
    runner = Runner(max_inline_wait=0)
    runner.contact_centers.throttle(30.0)
    runner.contact_centers.unavailable()
    runner.graph.failures.append(GraphThrottled("429", retry_after=5.0, status=429))
    # WHEN every system says "later"
    for contact_center, teams in ((DND, None), (DND, None), (None, ON_CALL)):
        with pytest.raises(TransientSyncFailure):
            runner.run(contact_center, teams)
    # THEN it never slept
    assert runner.sleep.waits == []


def test_an_unreachable_contact_center_is_one_warning_line_saying_what_happened(
    runner: Runner, caplog: pytest.LogCaptureFixture
) -> None:
    # GIVEN a contact center nothing listens for
    runner.contact_centers.failures.append(
        ContactCenterUnavailable(
            "webhook agent state change: the contact center at cc.example.com:443 cannot be reached: "
            "the connection was refused (nothing accepts connections on that port)"
        )
    )
    # WHEN the command runs
    with (
        caplog.at_level("INFO", logger="shared.presence.commands"),
        pytest.raises(TransientSyncFailure) as raised,
    ):
        runner.run(DND, delivery_count=2)
    # THEN one line says what happened and what comes next, with no traceback
    [record] = caplog.records
    assert record.levelname == "WARNING"
    assert record.exc_info is None
    assert record.getMessage() == (
        f"tenant {TENANT} agent {AGENT}: webhook agent state change: the contact center at "
        "cc.example.com:443 cannot be reached: the connection was refused (nothing accepts connections on "
        "that port); the change is retried: waiting 2.0 s, then the message is delivered again (attempt 3)"
    )
    assert "asks to retry" not in record.getMessage()
    # AND the failure the queue sees says the same
    assert "cannot be reached" in raised.value.message


def test_every_contact_center_outcome_is_reported_as_health_evidence(runner: Runner) -> None:
    runner.run(DND)
    runner.contact_centers.unavailable()
    with pytest.raises(TransientSyncFailure):
        runner.run(DND)
    runner.contact_centers.reject()
    runner.run(DND)
    outcomes = [(tenant, c.source, c.reachable, c.accepted, c.status) for tenant, c in runner.health.reports]
    assert outcomes == [
        (TENANT, CheckSource.SYNC, True, True, None),
        (TENANT, CheckSource.SYNC, True, False, 503),
        (TENANT, CheckSource.SYNC, True, False, 404),
    ]
    # Graph failures say nothing about the contact center
    runner.graph.failures.append(GraphUnavailable("502", status=502))
    with pytest.raises(TransientSyncFailure):
        runner.run(teams=ON_CALL)
    assert len(runner.health.reports) == 3


# -- refused for good -----------------------------------------------------------------------------------


def test_a_rejected_idle_code_is_folded_into_the_state_and_teams_still_gets_its_command(
    runner: Runner,
) -> None:
    runner.contact_centers.reject()
    # WHEN the contact center refuses the idle code (404: unknown agent or idle code)
    state = runner.run(DND, ON_CALL)
    # THEN no event of it is awaited and the connector does not claim the idle code
    assert state.pending == ()
    assert (state.idle_code_id, state.idle_code_name) == (None, None)
    assert state.session == ASKED.session
    # AND the Teams side was still applied, without any wait
    assert len(runner.graph.calls_of("set_presence")) == 1
    assert runner.sleep.waits == []


def test_another_contact_center_error_is_not_swallowed(runner: Runner) -> None:
    runner.contact_centers.failures.append(ContactCenterError("unexpected"))
    with pytest.raises(ContactCenterError):
        runner.run(DND)


@pytest.mark.parametrize(
    "failure",
    [GraphBadRequest("bad pair", status=400), GraphForbidden("no consent", status=403)],
)
def test_a_presence_graph_refuses_is_not_held_as_the_session(runner: Runner, failure: GraphError) -> None:
    runner.graph.failures.append(failure)
    state = runner.run(teams=ON_CALL)
    assert state.session is None
    assert state.pending == ASKED.pending
    assert runner.sleep.waits == []


def test_a_clear_graph_refuses_leaves_the_state_as_decided(runner: Runner) -> None:
    runner.graph.failures.append(GraphNotFound("no such session", status=404))
    state = runner.run(teams=ClearPresence())
    assert replace(state, last_command=None) == ASKED
    # AND the refusal is the last command, with Graph's answer
    assert state.last_command is not None
    assert (state.last_command.kind, state.last_command.outcome, state.last_command.status) == (
        "clearPresence",
        CommandOutcome.REFUSED,
        404,
    )
    assert state.last_command.error == "no such session"


# -- what operations is told ------------------------------------------------------------------------------


def test_the_delay_from_the_observed_change_to_the_accepted_command_is_kept_and_reported(
    runner: Runner,
) -> None:
    # WHEN the change was observed 2 s before the decision and the contact center accepts at once
    state = runner.run(DND, observed_at=START - timedelta(seconds=2))
    # THEN the state keeps the delay, and it was reported for the tenant and the direction
    assert state.delay_to_contact_center is not None
    assert 2.0 <= state.delay_to_contact_center.seconds < 3.0
    assert state.delay_to_teams is None
    [(_, tenant, direction, seconds)] = runner.reporter.of("sync_delay")
    assert (tenant, direction) == (TENANT, Direction.TEAMS_TO_CONTACT_CENTER)
    assert seconds == state.delay_to_contact_center.seconds


def test_without_an_observed_time_no_delay_is_measured(runner: Runner) -> None:
    state = runner.run(DND)
    assert state.delay_to_contact_center is None
    assert runner.reporter.of("sync_delay") == []


def test_a_refusal_and_graph_throttling_are_reported(runner: Runner) -> None:
    runner.contact_centers.failures.append(ContactCenterRejected("no such idle code", status=400))
    state = runner.run(DND)
    assert runner.reporter.of("contact_center_refused") == [("contact_center_refused", TENANT)]
    assert state.last_command is not None
    assert (state.last_command.outcome, state.last_command.status) == (CommandOutcome.REFUSED, 400)
    assert state.last_command.error == "no such idle code"
    runner.graph.failures.append(GraphThrottled("429", retry_after=0.0, status=429))
    with pytest.raises(TransientSyncFailure):
        runner.run(teams=ON_CALL)
    assert runner.reporter.of("graph_throttled") == [("graph_throttled", TENANT)]
