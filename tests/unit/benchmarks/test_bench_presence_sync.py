"""The presence sync benchmark: a tiny real run on the local stack (figures printed, never judged by
their values), how sent changes are paired with what the contact center recorded, and when the run
reports failure."""

from __future__ import annotations

import json
import re
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest

from benchmarks.bench_presence_sync import (
    Agent,
    AppliedState,
    Attribution,
    BenchOptions,
    CpuSeconds,
    RunResult,
    SentChange,
    Tenant,
    attribute,
    attribute_agent,
    main,
    plan_change,
    print_report,
)
from devstack.azurite import Azurite
from devstack.service_bus import DeliveryRecord, Outcome
from shared.mappings.defaults import CALL_IDLE_CODE_ID, PRESENTING_IDLE_CODE_ID

NUMBER = r"\d[\d,]*(?:\.\d+)?"
T0 = datetime(2026, 11, 21, 9, 0, tzinfo=UTC)
TENANT = Tenant("84bd8158-6d4d-4958-8b9f-9d6445542f95", "secret", (Agent("agent-1", "user-1"),))


def sent(index: int, *, at_ms: int, measured: bool = True) -> SentChange:
    """Change `index` of a one-agent run, published at T0 + at_ms."""
    return SentChange(
        plan_change(index, 1), f"message-{index}", T0 + timedelta(milliseconds=at_ms), 0.0, measured
    )


def state(outcome: tuple[str, str | None], *, at_ms: int) -> AppliedState:
    return AppliedState(outcome[0], outcome[1], T0 + timedelta(milliseconds=at_ms))


def delivery(message_id: str, kind: str, *, started_ms: int, finished_ms: int) -> DeliveryRecord:
    return DeliveryRecord(
        message_id=message_id,
        session_id=TENANT.session_id(TENANT.agents[0]),
        sequence_number=1,
        delivery_count=1,
        outcome=Outcome.COMPLETED,
        error=None,
        enqueued_at=T0,
        started_at=T0 + timedelta(milliseconds=started_ms),
        finished_at=T0 + timedelta(milliseconds=finished_ms),
        body=json.dumps({"schema": kind}).encode(),
        content_type="application/json",
    )


def result_of(changes: tuple[SentChange, ...], attribution: Attribution) -> RunResult:
    return RunResult(
        options=BenchOptions(agents=1, rate=20, seconds=1, warmup=0, tables_connection_string=None),
        tenant=TENANT,
        sent=changes,
        attribution=attribution,
        settled=True,
        send_seconds=0.95,
        deliveries=(),
        deliveries_complete=True,
        dead_letters=0,
        table_requests={"presenceChange": 2 * len(changes)},
        setup_table_requests=10,
        discarded_connections=0,
        graph_requests=Counter(),
        contact_center_requests=Counter({"POST /webhook": len(changes)}),
        cpu=CpuSeconds(0.5, None),
        max_concurrent_sessions=32,
    )


@pytest.mark.integration
def test_a_tiny_run_prints_every_figure_and_exits_zero(
    azurite: Azurite, capsys: pytest.CaptureFixture[str]
) -> None:
    # GIVEN 5 agents changing 20 times a second for 1 s, on the session Azurite
    argv = ["--agents", "5", "--rate", "20", "--seconds", "1", "--warmup", "0"]
    argv += ["--tables-connection-string", azurite.connection_string]

    # WHEN the benchmark runs on the local stack
    code = main(argv)

    # THEN every change went through once, and each figure is printed
    out = capsys.readouterr().out
    assert code == 0, out
    assert re.search(r"changes: 20 sent, .* 0 lost, 0 applied twice", out), out
    for figure in (
        rf"added latency, publish -> contact center \(ms\): p50 {NUMBER}  p90 {NUMBER}  p99 {NUMBER}  max",
        rf"achieved: {NUMBER} changes/s sent, {NUMBER} changes/s applied",
        rf"Service Bus, Teams changes \(ms\): latency p50 {NUMBER}",
        rf"Graph calls per change: {NUMBER}",
        rf"table operations per change: {NUMBER} handling the Teams change",
        rf"contact-center calls per change: {NUMBER} \(\d+ POST /webhook\)",
        rf"CPU per change \(ms\), per process: connector {NUMBER} .* load generator {NUMBER} .* simulators "
        rf"{NUMBER}, Azurite (?:{NUMBER}|n/a)",
        rf"agent logins before the run: 5 in {NUMBER} s, \d+ roster syncs, {NUMBER} table operations, "
        rf"{NUMBER} rows read",
        r"machine: \d+ CPUs, load average",
    ):
        assert re.search(figure, out), (figure, out)


def test_changes_alternate_between_a_mapped_presence_and_available() -> None:
    # GIVEN two agents
    # WHEN the first eight changes are planned
    planned = [plan_change(index, 2) for index in range(8)]

    # THEN agents take turns, and each goes Presenting, Available, In a call, Available
    assert [change.agent_index for change in planned] == [0, 1] * 4
    assert [(change.availability, change.activity, change.expected) for change in planned[::2]] == [
        ("DoNotDisturb", "Presenting", ("idle", PRESENTING_IDLE_CODE_ID)),
        ("Available", "Available", ("available", None)),
        ("Busy", "InACall", ("idle", CALL_IDLE_CODE_ID)),
        ("Available", "Available", ("available", None)),
    ]


def at(ms: int) -> datetime:
    return T0 + timedelta(milliseconds=ms)


def test_a_state_set_while_a_change_is_the_newest_handled_is_its_result() -> None:
    # GIVEN three changes handled at 10, 110 and 210 ms, each followed by the state it asks for
    changes = [sent(0, at_ms=0), sent(1, at_ms=100), sent(2, at_ms=200)]
    handled = [(changes[0], at(10)), (changes[1], at(110)), (changes[2], at(210))]
    history = [
        state(change.planned.expected, at_ms=ms) for change, ms in zip(changes, (20, 130, 215), strict=True)
    ]

    # WHEN they are attributed
    result = attribute_agent(handled, history, [])

    # THEN each change is applied by its state
    assert result.applied == list(zip(changes, history, strict=True))
    assert (result.unchanged, result.superseded, result.lost, result.extra) == ([], [], [], [])


def test_a_state_set_twice_is_a_change_applied_twice() -> None:
    # GIVEN one change whose idle code was set twice
    change = sent(0, at_ms=0)
    history = [state(change.planned.expected, at_ms=20), state(change.planned.expected, at_ms=30)]

    # WHEN it is attributed
    result = attribute_agent([(change, at(10))], history, [])

    # THEN the first state applied it and the second is extra
    assert result.applied == [(change, history[0])]
    assert result.extra == [history[1]]


def test_a_state_set_before_any_change_was_handled_was_not_asked_for() -> None:
    # GIVEN a state recorded before the only change was handled
    change = sent(0, at_ms=0)
    early = state(change.planned.expected, at_ms=5)

    # WHEN it is attributed
    result = attribute_agent([(change, at(10))], [early], [])

    # THEN the state is extra and the change, the agent's last, is lost
    assert result.extra == [early]
    assert result.lost == [change]


def test_a_wrong_state_is_extra_and_its_change_lost() -> None:
    # GIVEN Presenting answered with the In a call idle code
    change = sent(0, at_ms=0)
    wrong = state(sent(2, at_ms=0).planned.expected, at_ms=20)

    # WHEN it is attributed
    result = attribute_agent([(change, at(10))], [wrong], [])

    # THEN neither matches the other
    assert (result.applied, result.extra, result.lost) == ([], [wrong], [change])


def test_a_change_handled_before_the_echo_it_waited_for_is_superseded() -> None:
    # GIVEN Presenting applied, then Available and In a call handled while Presenting's echo was on its
    # way; the echo, handled after In a call, let the engine apply In a call
    changes = [sent(0, at_ms=0), sent(1, at_ms=100), sent(2, at_ms=200)]
    handled = [(changes[0], at(10)), (changes[1], at(110)), (changes[2], at(210))]
    history = [state(changes[0].planned.expected, at_ms=20), state(changes[2].planned.expected, at_ms=400)]

    # WHEN they are attributed, the echo handled at 390 ms
    result = attribute_agent(handled, history, [at(390)])

    # THEN Available was superseded and In a call applied by the state set after the echo
    assert result.superseded == [changes[1]]
    assert result.applied == [(changes[0], history[0]), (changes[2], history[1])]
    assert (result.lost, result.extra) == ([], [])


def test_a_change_an_echo_released_without_a_state_is_lost() -> None:
    # GIVEN Presenting applied, then Available handled, and an echo handled before In a call came in
    changes = [sent(0, at_ms=0), sent(1, at_ms=100), sent(2, at_ms=200)]
    handled = [(changes[0], at(10)), (changes[1], at(110)), (changes[2], at(210))]
    history = [state(changes[0].planned.expected, at_ms=20), state(changes[2].planned.expected, at_ms=215)]

    # WHEN they are attributed, the echo handled at 150 ms
    result = attribute_agent(handled, history, [at(150)])

    # THEN Available should have been applied then: it is lost
    assert result.lost == [changes[1]]


def test_the_last_change_without_a_state_is_lost() -> None:
    # GIVEN the agent's only change, handled, never applied
    change = sent(0, at_ms=0)

    # WHEN it is attributed
    result = attribute_agent([(change, at(10))], [], [])

    # THEN nothing came after it that could have replaced it
    assert result.lost == [change]


def test_available_while_the_agent_is_available_needs_nothing() -> None:
    # GIVEN Presenting superseded, then Available, the state the agent logged in with
    changes = [sent(0, at_ms=0), sent(1, at_ms=100)]
    handled = [(changes[0], at(10)), (changes[1], at(110))]

    # WHEN they are attributed
    result = attribute_agent(handled, [], [])

    # THEN Presenting was superseded and Available was already in effect
    assert result.superseded == [changes[0]]
    assert result.unchanged == [changes[1]]


def test_a_change_whose_message_was_never_handled_is_lost() -> None:
    # GIVEN two changes of which only the first was delivered to the function, and applied
    changes = [sent(0, at_ms=0), sent(1, at_ms=100)]
    deliveries = [delivery("message-0", "presenceChange", started_ms=10, finished_ms=30)]
    histories = {"agent-1": [state(changes[0].planned.expected, at_ms=20)]}

    # WHEN every agent's changes are attributed
    result = attribute(TENANT, changes, histories, deliveries)

    # THEN the first is applied and the second, never handled, lost
    assert [change for change, _ in result.applied] == [changes[0]]
    assert result.lost == [changes[1]]


def test_a_lost_change_makes_the_run_fail(capsys: pytest.CaptureFixture[str]) -> None:
    # GIVEN two changes of which the second was lost
    changes = (sent(0, at_ms=0), sent(1, at_ms=50))
    applied = state(changes[0].planned.expected, at_ms=20)
    attribution = Attribution(applied=[(changes[0], applied)], lost=[changes[1]])

    # WHEN the report is printed
    code = print_report(result_of(changes, attribution))

    # THEN the counts show it and the run fails
    captured = capsys.readouterr()
    assert code == 1
    assert "2 sent, 1 applied, 0 already in effect, 0 superseded, 1 lost, 0 applied twice" in captured.out
    assert "1 measured and 0 warm-up changes were lost" in captured.err


def test_a_change_applied_twice_makes_the_run_fail(capsys: pytest.CaptureFixture[str]) -> None:
    # GIVEN one change whose state was set twice
    changes = (sent(0, at_ms=0),)
    first = state(changes[0].planned.expected, at_ms=20)
    attribution = Attribution(
        applied=[(changes[0], first)], extra=[state(changes[0].planned.expected, at_ms=40)]
    )

    # WHEN the report is printed
    code = print_report(result_of(changes, attribution))

    # THEN the run fails, naming it
    assert code == 1
    assert "1 contact-center states were set twice or unasked" in capsys.readouterr().err


def test_a_clean_run_exits_zero_and_prints_its_figures(capsys: pytest.CaptureFixture[str]) -> None:
    # GIVEN two changes applied 20 and 30 ms after they were published
    changes = (sent(0, at_ms=0), sent(1, at_ms=50))
    attribution = Attribution(
        applied=[
            (changes[0], state(changes[0].planned.expected, at_ms=20)),
            (changes[1], state(changes[1].planned.expected, at_ms=80)),
        ]
    )

    # WHEN the report is printed
    code = print_report(result_of(changes, attribution))

    # THEN it succeeds, with the latencies and the per-change counts
    out = capsys.readouterr().out
    assert code == 0
    assert "p50 25.0  p90 30.0  p99 30.0  max 30.0" in out
    assert "table operations per change: 2.00 handling the Teams change" in out
    assert "contact-center calls per change: 1.00 (2 POST /webhook)" in out


def test_superseded_changes_do_not_fail_the_run(capsys: pytest.CaptureFixture[str]) -> None:
    # GIVEN Presenting superseded by Available, which was already in effect
    changes = (sent(0, at_ms=0), sent(1, at_ms=50))
    attribution = Attribution(superseded=[changes[0]], unchanged=[changes[1]])

    # WHEN the report is printed
    code = print_report(result_of(changes, attribution))

    # THEN the counts show them and the run succeeds: the engine skipped them on purpose
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert "2 sent, 0 applied, 1 already in effect, 1 superseded, 0 lost, 0 applied twice" in captured.out
