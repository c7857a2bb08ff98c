"""The live view's pairing, delays and lines, from canned simulator snapshots (no servers)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from email.message import Message
from typing import Any

import pytest

from devstack.demo_tenant import DEMO_AGENTS, DEMO_TENANT_ID, DemoTenant, HttpReply, JsonHttp
from devstack.live_view import (
    AgentLabel,
    Change,
    ChangeTracker,
    ContactCenterEntry,
    ContactCenterSnapshot,
    LiveView,
    QueueState,
    QueueStatus,
    TeamsSession,
    TeamsSnapshot,
    format_change,
    sequence_time,
    try_this,
)

ANN = AgentLabel("agent-001", "Ann Lee")
T0 = datetime(2026, 11, 21, 15, 4, 5, 123000, tzinfo=UTC)
APP_SESSION = "00000000-0000-0000-0000-00000000c0de"


def at(milliseconds: int) -> datetime:
    return T0 + timedelta(milliseconds=milliseconds)


def sequence_at(moment: datetime) -> str:
    """What the Graph simulator writes: the change's wall clock in nanoseconds, 16 hex digits."""
    return f"{int(moment.timestamp()) * 1_000_000_000 + moment.microsecond * 1000:016X}"


def teams(
    availability: str,
    activity: str,
    changed_at: datetime,
    *,
    own: tuple[str, str] | None = None,
    sessions: frozenset[TeamsSession] = frozenset(),
) -> TeamsSnapshot:
    return TeamsSnapshot(availability, activity, sequence_at(changed_at), own, sessions)


def history(*entries: tuple[str, str | None, datetime, str]) -> ContactCenterSnapshot:
    return ContactCenterSnapshot(tuple(ContactCenterEntry(*entry) for entry in entries))


LOGGED_IN = ("available", None, at(-60_000), "agent")
OFFLINE = teams("Offline", "Offline", at(-60_000))


@pytest.fixture
def tracker() -> ChangeTracker:
    # GIVEN a tracker that has seen Ann offline in Teams and available in the contact center
    tracker = ChangeTracker([ANN])
    assert tracker.observe(at(0), {ANN.agent_id: OFFLINE}, {ANN.agent_id: history(LOGGED_IN)}) == []
    return tracker


def test_a_teams_change_is_paired_with_the_idle_code_the_connector_set(tracker: ChangeTracker) -> None:
    # WHEN Ann presents (seen at one poll) and the connector's idle code shows at the next
    presenting = teams("DoNotDisturb", "Presenting", at(100), own=("DoNotDisturb", "Presenting"))
    first = tracker.observe(at(250), {ANN.agent_id: presenting}, {ANN.agent_id: history(LOGGED_IN)})
    idle = ("idle", "teams-presenting", at(512), "connector")
    second = tracker.observe(at(750), {ANN.agent_id: presenting}, {ANN.agent_id: history(LOGGED_IN, idle)})

    # THEN one line, timed by the simulators' clocks: Graph's sequence number to the history entry
    assert first == []
    assert second == [
        Change(ANN, at(100), "Teams DoNotDisturb/Presenting", "contact center idle teams-presenting", 412)
    ]


def test_a_contact_center_change_is_paired_with_the_session_the_connector_set(tracker: ChangeTracker) -> None:
    # WHEN Ann takes a customer call and, in the same poll, Teams shows the connector's Busy session
    on_call = ("onCall", None, at(100), "agent")
    session = TeamsSession(APP_SESSION, "Busy", "InACall", at(180))
    busy = teams("Busy", "InACall", at(181), sessions=frozenset({session}))
    changes = tracker.observe(at(250), {ANN.agent_id: busy}, {ANN.agent_id: history(LOGGED_IN, on_call)})

    # THEN the delay runs from the history entry to the session's setAt
    assert changes == [Change(ANN, at(100), "contact center onCall", "Teams Busy/InACall", 80)]


def test_a_cleared_session_is_timed_by_the_sequence_number(tracker: ChangeTracker) -> None:
    # GIVEN Ann on a call, shown in Teams by the connector's session
    on_call = ("onCall", None, at(100), "agent")
    session = TeamsSession(APP_SESSION, "Busy", "InACall", at(180))
    busy = teams("Busy", "InACall", at(181), sessions=frozenset({session}))
    tracker.observe(at(250), {ANN.agent_id: busy}, {ANN.agent_id: history(LOGGED_IN, on_call)})

    # WHEN the call ends and the connector clears its session
    available = ("available", None, at(1_000), "agent")
    cleared = teams("Offline", "Offline", at(1_046))
    changes = tracker.observe(
        at(1_250), {ANN.agent_id: cleared}, {ANN.agent_id: history(LOGGED_IN, on_call, available)}
    )

    # THEN the Teams side is dated by the simulator's sequence number
    assert changes == [Change(ANN, at(1_000), "contact center available", "Teams Offline/Offline", 46)]


def test_a_change_the_other_side_does_not_follow_is_shown_once_settled(tracker: ChangeTracker) -> None:
    # WHEN Ann goes Away (no mapping) and nothing happens in the contact center
    away = teams("Away", "Away", at(100), own=("Away", "Away"))
    soon = tracker.observe(at(250), {ANN.agent_id: away}, {ANN.agent_id: history(LOGGED_IN)})
    later = tracker.observe(at(6_000), {ANN.agent_id: away}, {ANN.agent_id: history(LOGGED_IN)})

    # THEN it is not reported as mirrored, and only after the settle time
    assert soon == []
    assert later == [Change(ANN, at(100), "Teams Away/Away", None)]
    assert format_change(later[0], tz=UTC) == (
        "15:04:05.223  agent-001 Ann Lee  Teams Away/Away  ->  contact center unchanged"
    )


RETRYING = QueueState(
    QueueStatus.RETRYING,
    2,
    "webhook agent state change: the contact center at 127.0.0.1:7073 cannot be reached: the connection "
    "was refused (nothing accepts connections on that port)",
)


def test_a_change_still_being_retried_is_not_shown_as_unchanged(tracker: ChangeTracker) -> None:
    # GIVEN Ann presents, and the contact center cannot be reached, so the connector retries
    presenting = teams("DoNotDisturb", "Presenting", at(100), own=("DoNotDisturb", "Presenting"))
    assert tracker.observe(at(250), {ANN.agent_id: presenting}, {ANN.agent_id: history(LOGGED_IN)}) == []
    assert tracker.overdue(at(6_000)) == {ANN.agent_id: at(100)}
    # WHEN the settle time passes while the queue retries the message
    first = tracker.observe(
        at(6_000), {ANN.agent_id: presenting}, {ANN.agent_id: history(LOGGED_IN)}, {ANN.agent_id: RETRYING}
    )
    again = tracker.observe(
        at(9_000), {ANN.agent_id: presenting}, {ANN.agent_id: history(LOGGED_IN)}, {ANN.agent_id: RETRYING}
    )
    # THEN the view says once that it is being retried, and why; never "unchanged"
    assert first == [Change(ANN, at(100), "Teams DoNotDisturb/Presenting", None, queue=RETRYING)]
    assert again == []
    assert format_change(first[0], tz=UTC) == (
        "15:04:05.223  agent-001 Ann Lee  Teams DoNotDisturb/Presenting  ->  contact center not yet: "
        "retrying (webhook agent state change: the contact center at 127.0.0.1:7073 cannot be reached: "
        "the connection was refused (nothing accepts connections on that port))"
    )
    # WHEN the contact center is back and the retry applies the idle code THEN the pair shows, late
    idle = ("idle", "teams-presenting", at(12_100), "connector")
    mirrored = tracker.observe(
        at(12_500), {ANN.agent_id: presenting}, {ANN.agent_id: history(LOGGED_IN, idle)}
    )
    assert mirrored == [
        Change(ANN, at(100), "Teams DoNotDisturb/Presenting", "contact center idle teams-presenting", 12_000)
    ]


def test_a_change_the_queue_gave_up_on_says_so(tracker: ChangeTracker) -> None:
    presenting = teams("DoNotDisturb", "Presenting", at(100), own=("DoNotDisturb", "Presenting"))
    tracker.observe(at(250), {ANN.agent_id: presenting}, {ANN.agent_id: history(LOGGED_IN)})
    gave_up = QueueState(QueueStatus.GAVE_UP, 10, "the contact center answered 503")
    [change] = tracker.observe(
        at(6_000), {ANN.agent_id: presenting}, {ANN.agent_id: history(LOGGED_IN)}, {ANN.agent_id: gave_up}
    )
    assert format_change(change, tz=UTC).endswith(
        "contact center unchanged: given up after 10 deliveries (the contact center answered 503)"
    )
    assert tracker.overdue(at(7_000)) == {}


def test_the_queue_state_is_the_sessions_newest_delivery() -> None:
    abandoned = {
        "outcome": "abandoned",
        "deliveryCount": 3,
        "error": "TransientSyncFailure: cannot be reached",
    }
    assert QueueState.from_deliveries([abandoned]) == QueueState(QueueStatus.RETRYING, 3, "cannot be reached")
    assert QueueState.from_deliveries([abandoned, {"outcome": "completed", "deliveryCount": 4}]) is None
    dead = {"outcome": "deadLettered", "deliveryCount": 10, "error": "TransientSyncFailure: 503"}
    assert QueueState.from_deliveries([dead]) == QueueState(QueueStatus.GAVE_UP, 10, "503")
    assert QueueState.from_deliveries([]) is None


def test_a_newer_origin_closes_the_previous_one_as_not_mirrored(tracker: ChangeTracker) -> None:
    # WHEN Ann goes Away and, before any mirror, takes a break in the contact center
    away = teams("Away", "Away", at(100), own=("Away", "Away"))
    tracker.observe(at(250), {ANN.agent_id: away}, {ANN.agent_id: history(LOGGED_IN)})
    brk = ("idle", "break", at(400), "agent")
    changes = tracker.observe(at(500), {ANN.agent_id: away}, {ANN.agent_id: history(LOGGED_IN, brk)})

    # THEN the Away change is closed; the break waits for its own mirror
    assert changes == [Change(ANN, at(100), "Teams Away/Away", None)]
    later = tracker.observe(at(6_000), {ANN.agent_id: away}, {ANN.agent_id: history(LOGGED_IN, brk)})
    assert later == [Change(ANN, at(400), "contact center idle break", None)]
    assert format_change(later[0], tz=UTC).endswith("contact center idle break  ->  Teams unchanged")


def test_a_connector_change_without_a_seen_origin_is_shown_as_the_connectors(tracker: ChangeTracker) -> None:
    # WHEN the connector moves Ann (a reconcile repair) without any change seen before
    idle = ("idle", "teams-dnd", at(300), "connector")
    changes = tracker.observe(at(500), {ANN.agent_id: OFFLINE}, {ANN.agent_id: history(LOGGED_IN, idle)})

    # THEN the line names the connector as the origin and shows no delay
    assert changes == [Change(ANN, at(300), "connector", "contact center idle teams-dnd")]
    assert format_change(changes[0], tz=UTC) == (
        "15:04:05.423  agent-001 Ann Lee  connector  ->  contact center idle teams-dnd"
    )


def test_the_first_snapshot_is_a_baseline_even_with_history() -> None:
    # GIVEN an agent with a long history already
    tracker = ChangeTracker([ANN])
    entries = history(LOGGED_IN, ("idle", "teams-dnd", at(-500), "connector"))

    # WHEN the view starts THEN nothing from before is reported
    assert tracker.observe(at(0), {ANN.agent_id: OFFLINE}, {ANN.agent_id: entries}) == []


def test_a_reset_simulator_history_is_a_new_baseline(tracker: ChangeTracker) -> None:
    # WHEN the contact-center simulator was reset (shorter history) THEN nothing is reported
    assert tracker.observe(at(500), {ANN.agent_id: OFFLINE}, {ANN.agent_id: history()}) == []
    # AND the next entry counts again
    back = ("onCall", None, at(600), "agent")
    tracker.observe(at(700), {ANN.agent_id: OFFLINE}, {ANN.agent_id: history(back)})
    assert tracker.observe(at(6_000), {ANN.agent_id: OFFLINE}, {ANN.agent_id: history(back)}) == [
        Change(ANN, at(600), "contact center onCall", None)
    ]


def test_an_unreadable_sequence_number_falls_back_to_the_poll_time(tracker: ChangeTracker) -> None:
    # WHEN the Teams change carries no sequence number the view can read
    dnd = TeamsSnapshot(
        "DoNotDisturb", "DoNotDisturb", "not-hex", ("DoNotDisturb", "DoNotDisturb"), frozenset()
    )
    tracker.observe(at(250), {ANN.agent_id: dnd}, {ANN.agent_id: history(LOGGED_IN)})
    idle = ("idle", "teams-dnd", at(400), "connector")
    (change,) = tracker.observe(at(500), {ANN.agent_id: dnd}, {ANN.agent_id: history(LOGGED_IN, idle)})

    # THEN the delay is measured from the poll that saw it and marked approximate
    assert (change.at, change.delay_ms, change.approximate) == (at(250), 150, True)
    assert format_change(change, tz=UTC).endswith("(~150 ms)")


def test_the_line_has_the_documented_shape() -> None:
    change = Change(
        ANN, at(0), "Teams DoNotDisturb/Presenting", "contact center idle teams-dnd", 412, approximate=False
    )
    assert format_change(change, name_width=9, tz=UTC) == (
        "15:04:05.123  agent-001 Ann Lee    Teams DoNotDisturb/Presenting  ->  contact center idle teams-dnd"
        "  (412 ms)"
    )


@pytest.mark.parametrize(
    ("sequence_number", "expected"),
    [
        (sequence_at(T0), T0),
        ("0000000000000001", None),  # 1970: not a clock reading near now
        ("ZZ", None),
        ("", None),
    ],
)
def test_sequence_numbers_read_as_times_only_when_plausible(
    sequence_number: str, expected: datetime | None
) -> None:
    assert sequence_time(sequence_number, near=T0) == expected


def test_snapshots_are_read_from_the_simulators_json() -> None:
    # GIVEN a Graph simulator user and a contact-center simulator agent as their control APIs show them
    user = {
        "id": DEMO_AGENTS[0].user.user_id,
        "presence": {"availability": "Busy", "activity": "InACall", "sequenceNumber": sequence_at(T0)},
        "preferredPresence": None,
        "sessions": [
            {
                "sessionId": APP_SESSION,
                "availability": "Busy",
                "activity": "InACall",
                "setAt": "2026-11-21T15:04:05.1230000Z",
                "expiresAt": "2026-11-21T16:04:05.1230000Z",
            }
        ],
    }
    agent = {
        "agentId": "agent-001",
        "state": "idle",
        "history": [
            {
                "state": "idle",
                "idleCodeId": "teams-dnd",
                "idleCodeName": "x",
                "at": "2026-11-21T15:04:05.123000Z",
                "source": "connector",
            }
        ],
    }

    # THEN the snapshots hold what the view compares
    assert TeamsSnapshot.from_simulator(user) == TeamsSnapshot(
        "Busy",
        "InACall",
        sequence_at(T0),
        None,
        frozenset({TeamsSession(APP_SESSION, "Busy", "InACall", T0)}),
    )
    assert ContactCenterSnapshot.from_simulator(agent) == history(("idle", "teams-dnd", T0, "connector"))


def demo_tenant() -> DemoTenant:
    return DemoTenant(
        tenant_id=DEMO_TENANT_ID,
        agents=DEMO_AGENTS,
        sync_account=DEMO_AGENTS[0].user,
        subscription_ids=("sub-1",),
        host_url="http://127.0.0.1:7071",
        graph_url="http://127.0.0.1:7072",
        contact_center_url="http://127.0.0.1:7073",
    )


def test_try_this_shows_one_command_per_direction() -> None:
    text = try_this(demo_tenant())
    ann, bob = DEMO_AGENTS[0], DEMO_AGENTS[1]
    assert (
        f"curl -X POST http://127.0.0.1:7072/_sim/tenants/{DEMO_TENANT_ID}/users/{ann.user.user_id}/presence "
        '-H \'content-type: application/json\' -d \'{"availability":"DoNotDisturb","activity":"Presenting"}\''
    ) in text
    assert (
        f"curl -X POST http://127.0.0.1:7073/_sim/agents/{bob.agent_id}/state "
        "-H 'content-type: application/json' -d '{\"state\":\"onCall\"}'"
    ) in text
    # Undo brings Ann back to what her Teams client showed before (Available), not Offline
    assert 'Undo: post {"availability":"Available","activity":"Available"} to the same presence URL' in text
    assert "DELETE" not in text


class CannedSimulators(JsonHttp):
    """Answers the two control-API reads with canned bodies, as the simulators would."""

    def __init__(self) -> None:
        super().__init__()
        self.users: list[dict[str, Any]] = []
        self.agents: dict[str, dict[str, Any]] = {}
        self.deliveries: list[dict[str, Any]] = []
        self.queue_reads: list[str] = []

    def call(self, method: str, url: str, body: Any = None, headers: Any = None) -> HttpReply:
        """The local host's in-process Service Bus deliveries."""
        self.queue_reads.append(url)
        return HttpReply(200, Message(), json.dumps({"deliveries": self.deliveries}).encode())

    def expect(
        self, method: str, url: str, body: Any = None, *, ok: Any = (), headers: Any = None
    ) -> HttpReply:
        if url.endswith("/users"):
            payload: Any = {"value": self.users}
        else:
            payload = self.agents[url.rsplit("/", 1)[1]]
        return HttpReply(200, Message(), json.dumps(payload).encode())


def test_poll_once_reads_both_simulators_and_reports_the_pairs() -> None:
    # GIVEN the simulators showing every demo agent offline and available
    http = CannedSimulators()
    now = [at(0)]
    for agent in DEMO_AGENTS:
        http.users.append(
            {
                "id": agent.user.user_id,
                "presence": {
                    "availability": "Offline",
                    "activity": "Offline",
                    "sequenceNumber": sequence_at(at(-9)),
                },
                "preferredPresence": None,
                "sessions": [],
            }
        )
        http.agents[agent.agent_id] = {
            "history": [
                {"state": "available", "idleCodeId": None, "at": "2026-11-21T15:00:00Z", "source": "agent"}
            ]
        }
    http.users.append({"id": "someone-else", "presence": {}, "sessions": []})
    view = LiveView(demo_tenant(), http=http, clock=lambda: now[0])
    assert view.poll_once() == []

    # WHEN Ann presents and the connector sets her idle code
    http.users[0] = {
        **http.users[0],
        "presence": {
            "availability": "DoNotDisturb",
            "activity": "Presenting",
            "sequenceNumber": sequence_at(at(10)),
        },
        "preferredPresence": {"availability": "DoNotDisturb", "activity": "Presenting", "expiresAt": None},
    }
    http.agents["agent-001"]["history"].append(
        {
            "state": "idle",
            "idleCodeId": "teams-presenting",
            "at": "2026-11-21T15:04:05.433000Z",
            "source": "connector",
        }
    )
    now[0] = at(500)

    # THEN one poll reports the pair with its delay
    assert view.poll_once() == [
        Change(
            AgentLabel("agent-001", "Ann Lee"),
            at(10),
            "Teams DoNotDisturb/Presenting",
            "contact center idle teams-presenting",
            300,
        )
    ]


def test_poll_once_asks_the_queue_only_about_changes_past_the_settle_time() -> None:
    http = CannedSimulators()
    ann = DEMO_AGENTS[0]
    now = [at(0)]
    http.users.append(
        {
            "id": ann.user.user_id,
            "presence": {
                "availability": "Offline",
                "activity": "Offline",
                "sequenceNumber": sequence_at(at(-9)),
            },
            "sessions": [],
            "clientSessions": [],
        }
    )
    for agent in DEMO_AGENTS:
        http.agents[agent.agent_id] = {"history": []}
    view = LiveView(demo_tenant(), http=http, clock=lambda: now[0])
    assert view.poll_once() == []
    # WHEN Ann's Teams client shows her presenting, and nothing follows
    client = {
        "sessionId": "teams-desktop",
        "availability": "DoNotDisturb",
        "activity": "Presenting",
        "setAt": "2026-11-21T15:04:05.133Z",
    }
    http.users[0] = {
        **http.users[0],
        "presence": {
            "availability": "DoNotDisturb",
            "activity": "Presenting",
            "sequenceNumber": sequence_at(at(10)),
        },
        "clientSessions": [client],
    }
    now[0] = at(500)
    assert view.poll_once() == []
    assert http.queue_reads == []
    # AND the queue is retrying its message when the settle time has passed
    http.deliveries = [
        {"outcome": "abandoned", "deliveryCount": 1, "error": "TransientSyncFailure: cannot be reached"}
    ]
    now[0] = at(6_000)
    [change] = view.poll_once()
    # THEN the view asked about Ann's session since her change, and shows the retry
    [url] = http.queue_reads
    assert url.startswith("http://127.0.0.1:7071/_devstack/service-bus/deliveries?sessionId=")
    assert f"{DEMO_TENANT_ID}%3A{ann.user.user_id}" in url
    assert change.queue == QueueState(QueueStatus.RETRYING, 1, "cannot be reached")


def test_the_health_line_summarises_get_sync_health() -> None:
    from devstack.live_view import format_health

    health: dict[str, Any] = {
        "agents": {"total": 3, "inSync": 2, "withProblem": {"manualTeamsStatus": 1, "loggedOut": 0}},
        "subscriptions": {"active": 1, "expiringWithin15Minutes": 0, "failed": 0, "pending": 0},
        "syncAccounts": {"healthy": 1, "needingSignIn": 0},
        "contactCenter": {"authorization": "authorized"},
        "lastHour": {
            "notificationsDropped": {"unknownSubscription": 1},
            "changes": {"applied": 5, "superseded": 0, "dropped": {"notAnAgent": 2}},
            "deadLettered": 0,
            "syncDelaySeconds": {"samples": 5, "p50": 0.25, "p99": 1.0},
        },
    }
    assert format_health(health) == (
        "health: 2/3 agents in sync (1 manualTeamsStatus) · subscriptions 1 active · "
        "sync accounts 1 healthy · contact center authorized · "
        "last hour: delay p50 0.25 s p99 1 s, 3 dropped, 0 dead-lettered"
    )
    quiet = {
        **health,
        "lastHour": {**health["lastHour"], "syncDelaySeconds": {"samples": 0, "p50": None, "p99": None}},
    }
    assert "delay p50 - p99 -" in format_health(quiet)
