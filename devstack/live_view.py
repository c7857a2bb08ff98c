"""The live view `make dev` prints: every Teams or contact-center change of the demo agents, paired with
the change the connector mirrored it to on the other side, and the delay between the two.

Delays come from the simulators' own clocks, not from when this view noticed a change (it polls every
250 ms): a contact-center change is dated by its history entry, a Teams presence the connector set by
its session's `setAt`, and any other Teams change by the Graph simulator's sequenceNumber, which is the
wall clock in nanoseconds at the change (it only grows by one when two changes share a nanosecond).
Where none of those is readable the poll time stands in and the delay is shown as approximate (~).

Who made a change tells origin from mirror: in the contact center the history entry's source
(`agent` or `connector`), in Teams whether the user's own state (a Teams client session or the presence
he picked by hand) or an application session changed.

A change the other side has not followed after SETTLE is looked up in the in-process Service Bus: while
its message is being retried (the contact center cannot be reached, Graph throttles) the view says so
once and keeps waiting; only a change nobody is working on any more is shown as "unchanged".
"""

from __future__ import annotations

import logging
import sys
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo
from enum import StrEnum
from typing import Any, Final, TextIO
from urllib.parse import quote

from devstack.demo_tenant import DemoTenant, DemoTenantError, JsonHttp

logger = logging.getLogger(__name__)

POLL_INTERVAL_SECONDS: Final = 0.25
# How often the health summary (GET sync-health) is read; it is printed only when it changed.
HEALTH_INTERVAL_SECONDS: Final = 5.0
# A change the other side has not mirrored after this long is shown as not mirrored.
SETTLE: Final = timedelta(seconds=5)
_TEAMS: Final = "Teams"
_CONTACT_CENTER: Final = "contact center"
_CONNECTOR: Final = "connector"
_AGENT: Final = "agent"
_PLAUSIBLE_CLOCK_SKEW: Final = timedelta(days=1)
_NANOSECONDS: Final = 1_000_000_000


def parse_time(value: str) -> datetime:
    """The simulators write UTC with a Z and six (contact center) or seven (Graph) fraction digits."""
    return datetime.fromisoformat(value).astimezone(UTC)


def sequence_time(sequence_number: str, near: datetime) -> datetime | None:
    """When the Graph simulator made the change that got `sequence_number`, if it reads as a time."""
    try:
        nanoseconds = int(sequence_number, 16)
    except ValueError:
        return None
    seconds, remainder = divmod(nanoseconds, _NANOSECONDS)
    try:
        moment = datetime.fromtimestamp(seconds, UTC) + timedelta(microseconds=remainder // 1000)
    except (OverflowError, OSError, ValueError):
        return None
    return moment if abs(moment - near) <= _PLAUSIBLE_CLOCK_SKEW else None


# -- what the simulators show ------------------------------------------------------------------------


@dataclass(frozen=True)
class TeamsSession:
    session_id: str
    availability: str
    activity: str
    set_at: datetime


@dataclass(frozen=True)
class TeamsSnapshot:
    """One user as the Graph simulator's control API shows him."""

    availability: str
    activity: str
    sequence_number: str
    # What the user himself shows: the presence he picked by hand, and his Teams clients' sessions.
    own_state: tuple[str, str] | None
    sessions: frozenset[TeamsSession]
    client_sessions: frozenset[TeamsSession] = frozenset()

    @classmethod
    def from_simulator(cls, user: Mapping[str, Any]) -> TeamsSnapshot:
        presence = user["presence"]
        preferred = user.get("preferredPresence")
        return cls(
            availability=str(presence["availability"]),
            activity=str(presence["activity"]),
            sequence_number=str(presence.get("sequenceNumber") or ""),
            own_state=None if not preferred else (str(preferred["availability"]), str(preferred["activity"])),
            sessions=_sessions(user.get("sessions")),
            client_sessions=_sessions(user.get("clientSessions")),
        )

    def same_own_state(self, other: TeamsSnapshot) -> bool:
        return (self.own_state, self.client_sessions) == (other.own_state, other.client_sessions)

    @property
    def pair(self) -> tuple[str, str]:
        return self.availability, self.activity


def _sessions(raw: Any) -> frozenset[TeamsSession]:
    return frozenset(
        TeamsSession(str(s["sessionId"]), str(s["availability"]), str(s["activity"]), parse_time(s["setAt"]))
        for s in raw or ()
    )


class QueueStatus(StrEnum):
    """What the queue says about an agent's latest message."""

    RETRYING = "retrying"
    GAVE_UP = "gaveUp"


@dataclass(frozen=True)
class QueueState:
    status: QueueStatus
    delivery_count: int
    reason: str

    @classmethod
    def from_deliveries(cls, deliveries: Sequence[Mapping[str, Any]]) -> QueueState | None:
        """The state of the session's newest settled delivery (oldest first in the list); None when the
        last one completed or there is none: nothing is being retried."""
        if not deliveries:
            return None
        last = deliveries[-1]
        outcome = last.get("outcome")
        error = str(last.get("error") or "")
        # "TransientSyncFailure: the contact center ...": the reason without the class name.
        reason = error.split(": ", 1)[1] if ": " in error else error
        count = int(last.get("deliveryCount") or 0)
        if outcome == "abandoned":
            return cls(QueueStatus.RETRYING, count, reason)
        if outcome == "deadLettered":
            return cls(QueueStatus.GAVE_UP, count, reason)
        return None


@dataclass(frozen=True)
class ContactCenterEntry:
    state: str
    idle_code_id: str | None
    at: datetime
    source: str


@dataclass(frozen=True)
class ContactCenterSnapshot:
    """One agent's history as the contact-center simulator's control API shows it (append-only)."""

    history: tuple[ContactCenterEntry, ...]

    @classmethod
    def from_simulator(cls, agent: Mapping[str, Any]) -> ContactCenterSnapshot:
        return cls(
            tuple(
                ContactCenterEntry(
                    str(e["state"]), e.get("idleCodeId"), parse_time(e["at"]), str(e["source"])
                )
                for e in agent.get("history") or ()
            )
        )


# -- pairing origins with mirrors ----------------------------------------------------------------------


@dataclass(frozen=True)
class AgentLabel:
    agent_id: str
    name: str


@dataclass(frozen=True)
class Change:
    """One line of the view: an origin and its mirror (None: the other side did not follow)."""

    agent: AgentLabel
    at: datetime
    origin: str
    mirror: str | None
    delay_ms: int | None = None
    approximate: bool = False
    # Why the mirror is missing, when the queue knows (still retrying, or given up).
    queue: QueueState | None = None


@dataclass(frozen=True)
class _Observed:
    at: datetime
    system: str
    by_connector: bool
    text: str
    approximate: bool = False


def describe_teams(availability: str, activity: str) -> str:
    return f"{_TEAMS} {availability}/{activity}"


def describe_contact_center(state: str, idle_code_id: str | None) -> str:
    if state == "idle" and idle_code_id:
        return f"{_CONTACT_CENTER} idle {idle_code_id}"
    return f"{_CONTACT_CENTER} {state}"


def _other(system: str) -> str:
    return _CONTACT_CENTER if system == _TEAMS else _TEAMS


class ChangeTracker:
    """Turns successive simulator snapshots into view lines. The first snapshot of an agent is the
    baseline; pure apart from the state it keeps between calls."""

    def __init__(self, agents: Sequence[AgentLabel], settle: timedelta = SETTLE) -> None:
        self._agents = tuple(agents)
        self._settle = settle
        self._teams: dict[str, TeamsSnapshot] = {}
        self._history_length: dict[str, int] = {}
        self._pending: dict[str, _Observed] = {}
        # Pending changes already shown as being retried: shown once, then waited for.
        self._retry_shown: set[str] = set()

    def overdue(self, now: datetime) -> dict[str, datetime]:
        """Agents whose change waits past SETTLE for its mirror, with the change's time: the ones to
        ask the queue about before the next observe()."""
        return {agent: p.at for agent, p in self._pending.items() if now - p.at > self._settle}

    def observe(
        self,
        now: datetime,
        teams: Mapping[str, TeamsSnapshot],
        contact_center: Mapping[str, ContactCenterSnapshot],
        queue: Mapping[str, QueueState | None] | None = None,
    ) -> list[Change]:
        """`teams` and `contact_center` by agent id; an agent missing from one is skipped there.
        `queue`: what the queue says about overdue agents' messages (missing: nothing is known)."""
        changes: list[Change] = []
        for agent in self._agents:
            observed: list[_Observed] = []
            if agent.agent_id in teams:
                observed.extend(self._teams_change(agent.agent_id, teams[agent.agent_id], now))
            if agent.agent_id in contact_center:
                observed.extend(self._contact_center_changes(agent.agent_id, contact_center[agent.agent_id]))
            for item in sorted(observed, key=lambda o: o.at):
                changes.extend(self._apply(agent, item))
            pending = self._pending.get(agent.agent_id)
            if pending is not None and now - pending.at > self._settle:
                state = (queue or {}).get(agent.agent_id)
                if state is not None and state.status is QueueStatus.RETRYING:
                    if agent.agent_id not in self._retry_shown:
                        self._retry_shown.add(agent.agent_id)
                        changes.append(_unmirrored(agent, pending, state))
                    continue
                self._forget(agent.agent_id)
                changes.append(_unmirrored(agent, pending, state))
        return changes

    def _forget(self, agent_id: str) -> None:
        self._pending.pop(agent_id, None)
        self._retry_shown.discard(agent_id)

    def _teams_change(self, agent_id: str, current: TeamsSnapshot, now: datetime) -> list[_Observed]:
        previous = self._teams.get(agent_id)
        self._teams[agent_id] = current
        if previous is None or previous.pair == current.pair:
            return []
        by_connector = current.same_own_state(previous) and current.sessions != previous.sessions
        at = None
        if by_connector:
            at = next(
                (
                    s.set_at
                    for s in current.sessions - previous.sessions
                    if (s.availability, s.activity) == current.pair
                ),
                None,
            )
        if at is None:
            at = sequence_time(current.sequence_number, now)
        return [
            _Observed(
                at if at is not None else now,
                _TEAMS,
                by_connector,
                describe_teams(current.availability, current.activity),
                approximate=at is None,
            )
        ]

    def _contact_center_changes(self, agent_id: str, current: ContactCenterSnapshot) -> list[_Observed]:
        seen = self._history_length.get(agent_id)
        self._history_length[agent_id] = len(current.history)
        if seen is None or len(current.history) < seen:
            # First look, or the simulator was reset: what is there now is the baseline.
            return []
        return [
            _Observed(
                entry.at,
                _CONTACT_CENTER,
                entry.source == _CONNECTOR,
                describe_contact_center(entry.state, entry.idle_code_id),
            )
            for entry in current.history[seen:]
        ]

    def _apply(self, agent: AgentLabel, item: _Observed) -> list[Change]:
        pending = self._pending.get(agent.agent_id)
        if item.by_connector:
            if pending is not None and pending.system != item.system:
                self._forget(agent.agent_id)
                delay = max(item.at - pending.at, timedelta(0))
                return [
                    Change(
                        agent,
                        pending.at,
                        pending.text,
                        item.text,
                        round(delay / timedelta(milliseconds=1)),
                        pending.approximate or item.approximate,
                    )
                ]
            # Nothing seen to mirror: a repair by the reconcile timer, or a late retry.
            return [Change(agent, item.at, _CONNECTOR, item.text)]
        self._forget(agent.agent_id)
        self._pending[agent.agent_id] = item
        return [] if pending is None else [_unmirrored(agent, pending)]


def _unmirrored(agent: AgentLabel, pending: _Observed, queue: QueueState | None = None) -> Change:
    return Change(agent, pending.at, pending.text, None, approximate=pending.approximate, queue=queue)


def format_change(change: Change, name_width: int = 0, tz: tzinfo | None = None) -> str:
    """`15:04:05.123  agent-001 Ann Lee   Teams DoNotDisturb/Presenting  ->  contact center idle
    teams-dnd  (412 ms)`; the time is the origin's, in `tz` (None: the local time zone)."""
    moment = change.at.astimezone(tz)
    clock = moment.strftime("%H:%M:%S.") + f"{moment.microsecond // 1000:03d}"
    who = f"{change.agent.agent_id} {change.agent.name.ljust(name_width)}"
    if change.mirror is None:
        system = _TEAMS if change.origin.startswith(_TEAMS) else _CONTACT_CENTER
        other = _other(system)
        queue = change.queue
        if queue is not None and queue.status is QueueStatus.RETRYING:
            return f"{clock}  {who}  {change.origin}  ->  {other} not yet: retrying ({queue.reason})"
        if queue is not None:
            return (
                f"{clock}  {who}  {change.origin}  ->  {other} unchanged: given up after "
                f"{queue.delivery_count} deliveries ({queue.reason})"
            )
        return f"{clock}  {who}  {change.origin}  ->  {other} unchanged"
    line = f"{clock}  {who}  {change.origin}  ->  {change.mirror}"
    if change.delay_ms is None:
        return line
    return f"{line}  ({'~' if change.approximate else ''}{change.delay_ms} ms)"


def try_this(demo: DemoTenant) -> str:
    """The two commands that move a demo agent in each direction."""
    teams_agent, cc_agent = demo.agents[0], demo.agents[1 % len(demo.agents)]
    presence_url = f"{demo.graph_url}/_sim/tenants/{demo.tenant_id}/users/{teams_agent.user.user_id}/presence"
    state_url = f"{demo.contact_center_url}/_sim/agents/{cc_agent.agent_id}/state"
    header = "-H 'content-type: application/json'"
    return "\n".join(
        [
            "Live view: Teams <-> contact center changes of the demo agents, with the measured delay.",
            f"Try this - {teams_agent.user.display_name} presents in Teams:",
            f"  curl -X POST {presence_url} {header} "
            """-d '{"availability":"DoNotDisturb","activity":"Presenting"}'""",
            f"Try this - {cc_agent.user.display_name} takes a customer call in the contact center:",
            f"  curl -X POST {state_url} {header} " """-d '{"state":"onCall"}'""",
            'Undo: post {"availability":"Available","activity":"Available"} to the same presence URL '
            "(her Teams client shows her Available again), and "
            '{"state":"available"} to the same state URL.',
        ]
    )


# -- the polling thread ------------------------------------------------------------------------------


def _utc_now() -> datetime:
    return datetime.now(UTC)


def _seconds(value: Any) -> str:
    return "-" if value is None else f"{value:g} s"


def format_health(health: Mapping[str, Any]) -> str:
    """The one-line summary of GET sync-health the live view prints whenever it changes."""
    agents = health["agents"]
    problems = ", ".join(f"{count} {code}" for code, count in sorted(agents["withProblem"].items()) if count)
    subscriptions = health["subscriptions"]
    accounts = health["syncAccounts"]
    hour = health["lastHour"]
    delays = hour["syncDelaySeconds"]
    dropped = sum(hour["notificationsDropped"].values()) + sum(hour["changes"]["dropped"].values())
    parts = [
        f"{agents['inSync']}/{agents['total']} agents in sync" + (f" ({problems})" if problems else ""),
        f"subscriptions {subscriptions['active']} active"
        + (
            f", {subscriptions['expiringWithin15Minutes']} expiring"
            if subscriptions["expiringWithin15Minutes"]
            else ""
        )
        + (f", {subscriptions['failed']} failed" if subscriptions["failed"] else ""),
        f"sync accounts {accounts['healthy']} healthy"
        + (f", {accounts['needingSignIn']} need sign-in" if accounts["needingSignIn"] else ""),
        f"contact center {health['contactCenter']['authorization']}",
        f"last hour: delay p50 {_seconds(delays['p50'])} p99 {_seconds(delays['p99'])}, "
        f"{dropped} dropped, {hour['deadLettered']} dead-lettered",
    ]
    return "health: " + " · ".join(parts)


class LiveView:
    """Polls both simulators and prints one line per change until stopped (a BackgroundService), and a
    one-line health summary (GET sync-health) whenever it changes."""

    def __init__(
        self,
        demo: DemoTenant,
        *,
        out: TextIO | None = None,
        interval: float = POLL_INTERVAL_SECONDS,
        http: JsonHttp | None = None,
        clock: Callable[[], datetime] = _utc_now,
    ) -> None:
        self._demo = demo
        self._out = out
        self._interval = interval
        self._http = http or JsonHttp(timeout=5.0)
        self._clock = clock
        labels = [AgentLabel(a.agent_id, a.user.display_name) for a in demo.agents]
        self._tracker = ChangeTracker(labels)
        self._name_width = max((len(label.name) for label in labels), default=0)
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._unreachable = False
        self._last_health: str | None = None
        self._health_due = 0.0

    def health_line(self) -> str | None:
        """The tenant's health summary now; None when the connector does not answer."""
        reply = self._http.call(
            "GET",
            f"{self._demo.host_url}/api/tenants/{self._demo.tenant_id}/sync-health",
            headers={"Authorization": f"Bearer {self._demo.admin_token}"} if self._demo.admin_token else None,
        )
        if reply.status != 200:
            return None
        return format_health(reply.json())

    def _print_health_if_changed(self) -> None:
        if time.monotonic() < self._health_due:
            return
        self._health_due = time.monotonic() + HEALTH_INTERVAL_SECONDS
        line = self.health_line()
        if line is not None and line != self._last_health:
            self._last_health = line
            print(line, file=self._out or sys.stdout, flush=True)

    def start(self) -> LiveView:
        self._stopping.clear()
        self._thread = threading.Thread(target=self._run, name="devstack-live-view", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None

    def poll_once(self) -> list[Change]:
        """Read both simulators once and return the changes since the last read."""
        teams = self._read_teams()
        contact_center = {
            agent.agent_id: ContactCenterSnapshot.from_simulator(
                self._http.expect(
                    "GET", f"{self._demo.contact_center_url}/_sim/agents/{agent.agent_id}"
                ).json()
            )
            for agent in self._demo.agents
        }
        now = self._clock()
        queue = {
            agent_id: self._queue_state(agent_id, since)
            for agent_id, since in self._tracker.overdue(now).items()
        }
        return self._tracker.observe(now, teams, contact_center, queue)

    def _queue_state(self, agent_id: str, since: datetime) -> QueueState | None:
        """The agent's messages since his change, from the in-process Service Bus of the local host."""
        agent = next((a for a in self._demo.agents if a.agent_id == agent_id), None)
        if agent is None:
            return None
        session = quote(f"{self._demo.tenant_id}:{agent.user.user_id}", safe="")
        moment = quote(since.astimezone(UTC).isoformat().replace("+00:00", "Z"), safe="")
        reply = self._http.call(
            "GET",
            f"{self._demo.host_url}/_devstack/service-bus/deliveries?sessionId={session}&since={moment}",
        )
        if reply.status != 200:
            return None
        return QueueState.from_deliveries(reply.json().get("deliveries") or [])

    def _read_teams(self) -> dict[str, TeamsSnapshot]:
        users = self._http.expect(
            "GET", f"{self._demo.graph_url}/_sim/tenants/{self._demo.tenant_id}/users"
        ).json()["value"]
        snapshots: dict[str, TeamsSnapshot] = {}
        for user in users:
            agent = self._demo.agent_for_user(str(user["id"]))
            if agent is not None:
                snapshots[agent.agent_id] = TeamsSnapshot.from_simulator(user)
        return snapshots

    def _run(self) -> None:
        while not self._stopping.is_set():
            try:
                changes = self.poll_once()
            except (DemoTenantError, AttributeError, KeyError, TypeError, ValueError) as error:
                if not self._unreachable:
                    logger.warning("live view: cannot read the simulators (%s); retrying", error)
                self._unreachable = True
            else:
                if self._unreachable:
                    logger.info("live view: reading the simulators again")
                self._unreachable = False
                for change in changes:
                    print(format_change(change, self._name_width), file=self._out or sys.stdout, flush=True)
                try:
                    self._print_health_if_changed()
                except (DemoTenantError, KeyError, TypeError, ValueError) as error:
                    logger.debug("live view: no health summary (%s)", error)
            self._stopping.wait(self._interval)
