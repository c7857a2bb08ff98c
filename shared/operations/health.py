"""Why an agent is or is not in sync, and a tenant's sync health: pure rules over what the engine,
the subscription service and the sync accounts wrote anyway (no I/O here)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Final

from shared.connectors.model import Connector, ConnectorStatus
from shared.contact_center.health import ContactCenterCheck
from shared.contact_center.model import AgentState
from shared.operations.model import MinuteStats, empty_histogram, percentile
from shared.operations.ports import Direction
from shared.presence.sync_state import AgentSyncState, CommandOutcome, CommandTarget
from shared.subscriptions.model import SubscriptionRecord, SubscriptionStatus
from shared.sync_accounts.model import SyncAccount

# A subscription this close to its expiry counts as expiring (the renew timer should have renewed it).
EXPIRING_WITHIN: Final = timedelta(minutes=15)
# HTTP statuses with which a contact center refuses an idle code it does not have (with a reason naming it).
UNKNOWN_IDLE_CODE_STATUSES: Final = frozenset({400, 404, 422})


class Problem(StrEnum):
    CONNECTOR_NOT_ACTIVE = "connectorNotActive"
    PRESENCE_SYNC_OFF = "presenceSyncOff"
    NO_CONTACT_CENTER = "noContactCenter"
    NOT_SUBSCRIBED = "notSubscribed"
    SYNC_ACCOUNT_NEEDS_SIGN_IN = "syncAccountNeedsSignIn"
    MANUAL_TEAMS_STATUS = "manualTeamsStatus"
    CONTACT_CENTER_REFUSED = "contactCenterRefused"
    UNKNOWN_IDLE_CODE = "unknownIdleCode"
    TEAMS_REFUSED = "teamsRefused"
    LOGGED_OUT = "loggedOut"
    NO_TEAMS_PRESENCE = "noTeamsPresence"


@dataclass(frozen=True)
class AgentProblem:
    code: Problem
    message: str


@dataclass(frozen=True)
class Coverage:
    """The subscription covering an agent's Teams user, and its sync account."""

    subscription: SubscriptionRecord | None
    account: SyncAccount | None


def coverage_of(
    user_id: str, subscriptions: Iterable[SubscriptionRecord], accounts: Iterable[SyncAccount]
) -> Coverage:
    record = next((r for r in subscriptions if user_id in r.user_ids), None)
    account = None
    if record is not None:
        account = next((a for a in accounts if a.account_id == record.account_id), None)
    return Coverage(record, account)


def agent_problems(
    connector: Connector,
    state: AgentSyncState,
    coverage: Coverage,
    now: datetime,
) -> list[AgentProblem]:
    """Each reason the agent is not (fully) in sync, with a sentence an admin can act on."""
    problems: list[AgentProblem] = []

    def add(code: Problem, message: str) -> None:
        problems.append(AgentProblem(code, message))

    if connector.status is not ConnectorStatus.ACTIVE:
        add(Problem.CONNECTOR_NOT_ACTIVE, f"The connector is {connector.status.value}: nothing is synced.")
    if not connector.settings.presence_sync:
        add(Problem.PRESENCE_SYNC_OFF, "Presence sync is turned off in the connector's settings.")
    if connector.contact_center is None:
        add(Problem.NO_CONTACT_CENTER, "The connector has no contact center configured.")
    record, account = coverage.subscription, coverage.account
    if record is None or not record.is_live(now):
        why = (
            "no presence subscription includes the agent"
            if record is None
            else f"his subscription is {_subscription_condition(record, now)}"
        )
        add(
            Problem.NOT_SUBSCRIBED,
            f"Teams does not tell the connector about the agent's presence: {why}. "
            "The renew timer retries; check the sync accounts if this stays.",
        )
    if account is not None and not account.is_healthy:
        add(
            Problem.SYNC_ACCOUNT_NEEDS_SIGN_IN,
            f"Sync account {account.account_id}, whose subscription covers the agent, must sign in again"
            + (f" ({account.last_error})." if account.last_error else "."),
        )
    teams = state.teams
    if teams is None:
        add(Problem.NO_TEAMS_PRESENCE, "No Teams presence of the agent was seen yet.")
    elif teams.manual_override:
        add(
            Problem.MANUAL_TEAMS_STATUS,
            f"The agent set a Teams status by hand ({teams.availability}/{teams.activity}); it beats the "
            "connector's presence until it is reset in Teams.",
        )
    command = state.last_command
    if command is not None and command.outcome is CommandOutcome.REFUSED:
        answer = f" (HTTP {command.status})" if command.status is not None else ""
        if command.target is CommandTarget.TEAMS:
            add(
                Problem.TEAMS_REFUSED,
                f"Teams refused {command.kind}{answer}: {command.error or 'no reason given'}.",
            )
        elif _refused_idle_code(command.kind, command.status, command.error):
            add(
                Problem.UNKNOWN_IDLE_CODE,
                f"The contact center refused idle code {command.detail}{answer}: "
                f"{command.error or 'no reason given'}. Map the Teams presence to an idle code the "
                "contact center has.",
            )
        else:
            add(
                Problem.CONTACT_CENTER_REFUSED,
                f"The contact center refused {command.kind}{answer}: {command.error or 'no reason given'}.",
            )
    cc = state.contact_center
    if cc is not None and cc.state is AgentState.LOGGED_OUT:
        add(
            Problem.LOGGED_OUT,
            "The agent is logged out of the contact center: the Teams presence is not mirrored.",
        )
    return problems


def _refused_idle_code(kind: str, status: int | None, error: str | None) -> bool:
    """A setIdle refused as a bad request whose reason is about the idle code (Webex says "auxCodeId
    ... is not an idle code"); an unknown agent's 404 is a refusal of another kind."""
    reason = (error or "").lower().replace(" ", "")
    return (
        kind == "setIdle"
        and status in UNKNOWN_IDLE_CODE_STATUSES
        and ("idlecode" in reason or "auxcode" in reason)
    )


def _subscription_condition(record: SubscriptionRecord, now: datetime) -> str:
    if record.status is SubscriptionStatus.FAILED:
        return f"failed ({record.last_error})" if record.last_error else "failed"
    if record.status is SubscriptionStatus.PENDING:
        return "still being created"
    return "expired"


@dataclass(frozen=True)
class SubscriptionCounts:
    active: int = 0
    expiring: int = 0
    failed: int = 0
    pending: int = 0


def subscription_counts(records: Sequence[SubscriptionRecord], now: datetime) -> SubscriptionCounts:
    active = [r for r in records if r.is_live(now)]
    return SubscriptionCounts(
        active=len(active),
        expiring=sum(1 for r in active if r.expires_at is not None and r.expires_at - now <= EXPIRING_WITHIN),
        failed=sum(1 for r in records if r.status is SubscriptionStatus.FAILED),
        pending=sum(1 for r in records if r.status is SubscriptionStatus.PENDING),
    )


class Authorization(StrEnum):
    AUTHORIZED = "authorized"
    REFUSED = "refused"
    UNREACHABLE = "unreachable"
    UNKNOWN = "unknown"


def contact_center_authorization(check: ContactCenterCheck | None) -> Authorization:
    """What the latest check of the configured contact center says about the connector's credentials."""
    if check is None:
        return Authorization.UNKNOWN
    if check.status in (401, 403):
        return Authorization.REFUSED
    if not check.reachable:
        return Authorization.UNREACHABLE
    return Authorization.AUTHORIZED


@dataclass(frozen=True)
class LastHour:
    """The per-minute figures of every process over the last hour, added up."""

    notifications_dropped: dict[str, int] = field(default_factory=dict)
    changes: dict[str, int] = field(default_factory=dict)
    dead_lettered: int = 0
    graph_throttled: int = 0
    contact_center_refused: int = 0
    delays: dict[str, list[int]] = field(default_factory=dict)

    def delay_percentile(self, direction: Direction | None, fraction: float) -> float | None:
        if direction is None:
            histogram = empty_histogram()
            for counts in self.delays.values():
                histogram = [a + b for a, b in zip(histogram, counts, strict=False)]
        else:
            histogram = self.delays.get(direction.value, empty_histogram())
        return percentile(histogram, fraction)

    def delay_samples(self) -> int:
        return sum(sum(histogram) for histogram in self.delays.values())


def last_hour(stats: Iterable[MinuteStats]) -> LastHour:
    dropped: Counter[str] = Counter()
    changes: Counter[str] = Counter()
    dead = throttled = refused = 0
    delays: dict[str, list[int]] = {}
    for item in stats:
        dropped.update(item.notifications_dropped)
        changes.update(item.changes)
        dead += item.dead_lettered
        throttled += item.graph_throttled
        refused += item.contact_center_refused
        for direction, histogram in item.delays.items():
            mine = delays.setdefault(direction, empty_histogram())
            for index, count in enumerate(histogram[: len(mine)]):
                mine[index] += count
    return LastHour(
        notifications_dropped=dict(dropped),
        changes=dict(changes),
        dead_lettered=dead,
        graph_throttled=throttled,
        contact_center_refused=refused,
        delays=delays,
    )
