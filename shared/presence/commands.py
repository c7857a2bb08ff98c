"""Carrying out a sync decision's commands: the contact-center one through the tenant's adapter, the
Teams one through Graph's setPresence / clearPresence with the connector's session id.

A refusal that will not change on retry (unknown agent, invalid idle code, a pair Graph rejects) is
folded into the state, so the agent's record says what did not happen. "Later" (429, 503, timeouts,
an unreachable contact center) waits for Retry-After, bounded, and raises TransientSyncFailure so the
message is delivered again; that expected retry is logged once, as one line saying what happened.
Every contact-center outcome is reported as health evidence (GET connector shows it).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from shared.connectors.model import ContactCenterConfig
from shared.contact_center.exceptions import (
    ContactCenterAuthFailed,
    ContactCenterError,
    ContactCenterRejected,
    ContactCenterThrottled,
    ContactCenterUnavailable,
)
from shared.contact_center.health import CheckSource, accepted_check, failed_check
from shared.contact_center.ports import ContactCenterClients, ContactCenterHealthReporter, NoHealthReports
from shared.graph.exceptions import (
    GraphAuthenticationFailed,
    GraphError,
    GraphThrottled,
    GraphUnavailable,
)
from shared.graph.ports import GraphGateway
from shared.operations import telemetry
from shared.operations.ports import Direction, NoReports, OperationsReporter
from shared.presence.exceptions import TransientSyncFailure
from shared.presence.sync_rules import (
    ClearPresence,
    SetIdle,
    SetPresence,
    SyncDecision,
    contact_center_command_rejected,
    teams_command_failed,
)
from shared.presence.sync_state import (
    AgentSyncState,
    CommandOutcome,
    CommandRecord,
    CommandTarget,
    MeasuredDelay,
)

logger = logging.getLogger(__name__)

# The longest a message waits for a Retry-After before it is abandoned and delivered again; the queue
# lock (1 minute) must comfortably outlast it.
MAX_INLINE_WAIT_SECONDS = 10.0
DEFAULT_BACKOFF_SECONDS = 1.0


@dataclass(frozen=True)
class Target:
    tenant_id: str
    user_id: str
    agent_id: str
    contact_center: ContactCenterConfig


class CommandRunner:
    def __init__(
        self,
        contact_centers: ContactCenterClients,
        graph: GraphGateway,
        session_id: str,
        *,
        sleep: Callable[[float], None] = time.sleep,
        max_inline_wait: float = MAX_INLINE_WAIT_SECONDS,
        health: ContactCenterHealthReporter | None = None,
        retried_by: str = "the message is delivered again",
        reporter: OperationsReporter | None = None,
    ) -> None:
        self._retried_by = retried_by
        self._reporter: OperationsReporter = reporter if reporter is not None else NoReports()
        self._health: ContactCenterHealthReporter = health if health is not None else NoHealthReports()
        self._contact_centers = contact_centers
        self._graph = graph
        self._session_id = session_id
        self._sleep = sleep
        self._max_inline_wait = max_inline_wait

    def run(
        self,
        target: Target,
        decision: SyncDecision,
        now: datetime,
        delivery_count: int,
        *,
        observed_at: datetime | None = None,
    ) -> AgentSyncState:
        """The state to save once the commands ran (raises TransientSyncFailure to retry later).
        `observed_at`: when the change that led to the decision was seen, for the measured delay."""
        state = decision.state
        command = decision.contact_center
        started = time.monotonic()
        cc_refused = False
        if command is not None:
            client = self._contact_centers.client_for(target.tenant_id, target.contact_center)
            try:
                with telemetry.span(
                    f"contact center {_kind(command)}",
                    attributes={telemetry.TENANT_ID: target.tenant_id, telemetry.AGENT_ID: target.agent_id},
                ):
                    if isinstance(command, SetIdle):
                        client.set_idle(
                            target.agent_id, command.idle_code_id, command.idle_code_name, decision.reason
                        )
                    else:
                        client.set_available(target.agent_id, decision.reason)
                accepted_at = now + timedelta(seconds=time.monotonic() - started)
                state = replace(
                    state,
                    last_command=_record(command, CommandTarget.CONTACT_CENTER, accepted_at),
                    delay_to_contact_center=self._delay(
                        target, Direction.TEAMS_TO_CONTACT_CENTER, observed_at, accepted_at, state
                    ),
                )
                # The port's state changes do not return the 2xx they got.
                self._health.report(
                    target.tenant_id, accepted_check(CheckSource.SYNC, now, target.contact_center, None)
                )
                logger.info(
                    "tenant %s agent %s: contact center %s (%s)",
                    target.tenant_id,
                    target.agent_id,
                    _describe(command),
                    decision.reason,
                )
            except ContactCenterRejected as exc:
                self._report_failure(target, exc, now)
                logger.warning(
                    "tenant %s agent %s: the contact center refused %s: %s",
                    target.tenant_id,
                    target.agent_id,
                    _describe(command),
                    exc.message,
                )
                self._reporter.contact_center_refused(target.tenant_id)
                cc_refused = True
                state = replace(
                    contact_center_command_rejected(state, command, now),
                    last_command=_record(command, CommandTarget.CONTACT_CENTER, now, exc.message, exc.status),
                )
            except (ContactCenterThrottled, ContactCenterUnavailable) as exc:
                self._report_failure(target, exc, now)
                self._later(target, exc.retry_after, delivery_count, exc.message)
            except ContactCenterAuthFailed as exc:
                # Fixable by the admin (credentials): keep retrying until the message dead-letters.
                self._report_failure(target, exc, now)
                self._later(target, None, delivery_count, f"{exc.message} (check the credentials)")
        teams = decision.teams
        if teams is not None:
            try:
                with telemetry.span(
                    f"graph {_kind(teams)}",
                    attributes={telemetry.TENANT_ID: target.tenant_id, telemetry.AGENT_ID: target.agent_id},
                ):
                    if isinstance(teams, SetPresence):
                        self._graph.set_presence(
                            target.tenant_id,
                            target.user_id,
                            self._session_id,
                            teams.availability,
                            teams.activity,
                            teams.expiration,
                        )
                    else:
                        self._graph.clear_presence(target.tenant_id, target.user_id, self._session_id)
                accepted_at = now + timedelta(seconds=time.monotonic() - started)
                state = replace(
                    state,
                    # A refusal of this same decision's contact-center command says more than this.
                    last_command=state.last_command
                    if cc_refused
                    else _record(teams, CommandTarget.TEAMS, accepted_at),
                    delay_to_teams=self._delay(
                        target, Direction.CONTACT_CENTER_TO_TEAMS, observed_at, accepted_at, state
                    ),
                )
                logger.info(
                    "tenant %s agent %s: Teams %s (%s)",
                    target.tenant_id,
                    target.agent_id,
                    _describe(teams),
                    decision.reason,
                )
            except GraphThrottled as exc:
                self._reporter.graph_throttled(target.tenant_id)
                self._later(target, exc.retry_after, delivery_count, f"Graph: {exc.message}")
            except (GraphUnavailable, GraphAuthenticationFailed) as exc:
                self._later(target, None, delivery_count, f"Graph: {exc.message}")
            except GraphError as exc:
                logger.warning(
                    "tenant %s agent %s: Graph refused %s: %s",
                    target.tenant_id,
                    target.agent_id,
                    _describe(teams),
                    exc.message,
                )
                state = replace(
                    teams_command_failed(state, teams, now),
                    last_command=_record(teams, CommandTarget.TEAMS, now, exc.message, exc.status),
                )
        return state

    def _delay(
        self,
        target: Target,
        direction: Direction,
        observed_at: datetime | None,
        accepted_at: datetime,
        state: AgentSyncState,
    ) -> MeasuredDelay | None:
        """The delay this command measured (reported as a metric), or the one measured before."""
        previous = (
            state.delay_to_contact_center
            if direction is Direction.TEAMS_TO_CONTACT_CENTER
            else state.delay_to_teams
        )
        if observed_at is None:
            return previous
        # Clocks of the two sides may disagree by a little: a delay is never negative.
        seconds = max(0.0, (accepted_at - observed_at).total_seconds())
        self._reporter.sync_delay(target.tenant_id, direction, seconds)
        return MeasuredDelay(seconds, accepted_at)

    def _report_failure(self, target: Target, error: ContactCenterError, now: datetime) -> None:
        self._health.report(
            target.tenant_id, failed_check(CheckSource.SYNC, now, target.contact_center, error)
        )

    def _later(
        self, target: Target, retry_after: float | None, delivery_count: int, what_happened: str
    ) -> None:
        """The one line an expected retry logs (no traceback: nothing is wrong with the code)."""
        wait = (
            retry_after
            if retry_after is not None
            else DEFAULT_BACKOFF_SECONDS * min(2 ** (delivery_count - 1), 8)
        )
        wait = max(0.0, min(wait, self._max_inline_wait))
        logger.warning(
            "tenant %s agent %s: %s; the change is retried: waiting %.1f s, then %s (attempt %s)",
            target.tenant_id,
            target.agent_id,
            what_happened,
            wait,
            self._retried_by,
            delivery_count + 1,
        )
        if wait > 0:
            # Nothing to wait for (the timer's runner, or Retry-After: 0): straight back to the caller.
            self._sleep(wait)
        raise TransientSyncFailure(what_happened)


def _kind(command: object) -> str:
    if isinstance(command, SetIdle):
        return "setIdle"
    if isinstance(command, SetPresence):
        return "setPresence"
    if isinstance(command, ClearPresence):
        return "clearPresence"
    return "setAvailable"


def _record(
    command: object,
    target: CommandTarget,
    at: datetime,
    error: str | None = None,
    status: int | None = None,
) -> CommandRecord:
    detail = None
    if isinstance(command, SetIdle):
        detail = command.idle_code_id
    elif isinstance(command, SetPresence):
        detail = f"{command.availability}/{command.activity}"
    return CommandRecord(
        kind=_kind(command),
        target=target,
        outcome=CommandOutcome.ACCEPTED if error is None else CommandOutcome.REFUSED,
        at=at,
        detail=detail,
        error=error,
        status=status,
    )


def _describe(command: object) -> str:
    if isinstance(command, SetIdle):
        return f"idle {command.idle_code_id}"
    if isinstance(command, SetPresence):
        return f"setPresence {command.availability}/{command.activity}"
    if isinstance(command, ClearPresence):
        return "clearPresence"
    return "available"
