"""The simulated Webex organisations: users, agents and their sessions, auxiliary codes and
subscriptions, under one lock. Every agent change returns the events Webex would emit for it."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from devstack.contact_center_simulator.webex import events as ev
from devstack.contact_center_simulator.webex.errors import API, RESULT, WebexError
from devstack.contact_center_simulator.webex.model import (
    AVAILABLE,
    AVAILABLE_AUX_CODE,
    IDLE,
    IDLE_CODE,
    ROLE_ADMIN,
    ROLE_AGENT,
    ROLE_SUPERVISOR,
    TASK_STATES,
    WRAP_UP_CODE,
    Activity,
    AgentSession,
    AuxCode,
    Org,
    Subscription,
    WebexAgent,
    WebexUser,
    millis,
    new_id,
)
from devstack.contact_center_simulator.webex.rules import (
    MAX_SUBSCRIPTIONS_PER_ORG,
    ActivitiesQuery,
    SubscriptionFields,
)

DEFAULT_ORG_ID: Final = "0b8a0a3e-5f5e-4a43-9d8b-2a1f3c4d5e6f"
DEFAULT_TEAM_ID: Final = "5c1f9b0e-7a2d-4e3b-8c4d-1e2f3a4b5c6d"
DEFAULT_SUPERVISOR_ID: Final = "9d6a2b1c-3e4f-4a5b-8c7d-6e5f4a3b2c1d"
DEFAULT_ADMIN_ONLY_ID: Final = "1a2b3c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d"
# (name, work type, active, default): the codes every simulated organisation starts with.
DEFAULT_AUX_CODES: Final = (
    ("Not Ready", IDLE_CODE, True, True),
    ("Meeting", IDLE_CODE, True, False),
    ("Break", IDLE_CODE, True, False),
    ("Lunch", IDLE_CODE, True, False),
    ("Teams Do Not Disturb", IDLE_CODE, True, False),
    ("Teams Presenting", IDLE_CODE, True, False),
    ("Teams Call", IDLE_CODE, True, False),
    ("Training (retired)", IDLE_CODE, False, False),
    ("Resolved", WRAP_UP_CODE, True, True),
    ("Escalated", WRAP_UP_CODE, True, False),
)
DEFAULT_CHANNELS: Final = ("telephony", "chat")


def aux_code_id(org_id: str, name: str) -> str:
    """Stable ids for the default codes, so a restarted simulator keeps the ids admins mapped."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"webex-sim/{org_id}/aux/{name}"))


@dataclass(frozen=True)
class Emission:
    """One agent event and the subscriptions it goes to."""

    event: dict[str, Any]
    deliveries: list[EmittedEvent]


@dataclass(frozen=True)
class EmittedEvent:
    subscription_id: str
    agent_id: str
    url: str
    secret: str | None
    event: dict[str, Any]


def _session(agent: WebexAgent) -> AgentSession:
    if agent.session is None:
        raise RuntimeError(f"agent {agent.agent_id} has no session")
    return agent.session


class WebexStore:
    def __init__(self, clock: Callable[[], datetime]) -> None:
        self._now = clock
        self._lock = threading.RLock()
        self._orgs: dict[str, Org] = {}
        self._users: dict[str, WebexUser] = {}
        self._agents: dict[str, WebexAgent] = {}
        self._codes: dict[str, AuxCode] = {}
        self._subscriptions: dict[str, Subscription] = {}
        self._events: list[dict[str, Any]] = []
        self.signed_in_user_id = DEFAULT_SUPERVISOR_ID
        self.reset()

    def reset(self) -> None:
        with self._lock:
            for table in (self._orgs, self._users, self._agents, self._codes, self._subscriptions):
                table.clear()
            self._events.clear()
            self.add_org(DEFAULT_ORG_ID, "Simulated Contact Center")
            self.add_user(
                WebexUser(
                    DEFAULT_SUPERVISOR_ID,
                    DEFAULT_ORG_ID,
                    "supervisor@wxcc-sim.example.com",
                    "Sam Supervisor",
                    frozenset({ROLE_ADMIN, ROLE_SUPERVISOR}),
                )
            )
            self.add_user(
                WebexUser(
                    DEFAULT_ADMIN_ONLY_ID,
                    DEFAULT_ORG_ID,
                    "admin@wxcc-sim.example.com",
                    "Ada Admin",
                    frozenset({ROLE_ADMIN}),
                )
            )
            self.signed_in_user_id = DEFAULT_SUPERVISOR_ID

    # Organisations, users, codes ---------------------------------------------------------------

    def add_org(self, org_id: str, name: str, team_id: str | None = None) -> Org:
        with self._lock:
            org = Org(
                org_id,
                name,
                {team_id or (DEFAULT_TEAM_ID if org_id == DEFAULT_ORG_ID else new_id()): "Team 1"},
            )
            self._orgs[org_id] = org
            created = millis(self._now())
            for code_name, work_type, active, default in DEFAULT_AUX_CODES:
                code = AuxCode(
                    aux_code_id(org_id, code_name),
                    org_id,
                    code_name,
                    work_type,
                    active,
                    default,
                    f"{code_name} (simulator)",
                    created,
                )
                self._codes[code.code_id] = code
            return org

    def org(self, org_id: str) -> Org | None:
        with self._lock:
            return self._orgs.get(org_id)

    def orgs_view(self) -> list[dict[str, Any]]:
        with self._lock:
            return [{"orgId": o.org_id, "name": o.name, "teams": dict(o.teams)} for o in self._orgs.values()]

    def add_user(self, user: WebexUser) -> None:
        with self._lock:
            if user.org_id not in self._orgs:
                raise WebexError(404, f"organization {user.org_id} is unknown")
            self._users[user.user_id] = user

    def user(self, user_id: str) -> WebexUser | None:
        with self._lock:
            return self._users.get(user_id)

    def users(self) -> list[WebexUser]:
        with self._lock:
            return list(self._users.values())

    def add_aux_code(self, code: AuxCode) -> bool:
        with self._lock:
            created = code.code_id not in self._codes
            if code.default:
                for other in self._codes.values():
                    if other.org_id == code.org_id and other.work_type_code == code.work_type_code:
                        other.default = False
            self._codes[code.code_id] = code
            return created

    def aux_codes(self, org_id: str) -> list[AuxCode]:
        with self._lock:
            return [AuxCode(**vars(c)) for c in self._codes.values() if c.org_id == org_id]

    def _active_idle_code(self, org_id: str, code_id: str) -> AuxCode | None:
        code = self._codes.get(code_id)
        if code is None or code.org_id != org_id or code.work_type_code != IDLE_CODE or not code.active:
            return None
        return code

    def _default_idle_code(self, org_id: str) -> AuxCode:
        codes = [
            c
            for c in self._codes.values()
            if c.org_id == org_id and c.work_type_code == IDLE_CODE and c.active
        ]
        if not codes:
            raise WebexError(400, f"organization {org_id} has no active idle code")
        return next((c for c in codes if c.default), codes[0])

    # Agents -----------------------------------------------------------------------------------

    def add_agent(
        self,
        agent_id: str,
        org_id: str,
        team_id: str | None,
        name: str,
        email: str,
        channels: tuple[str, ...],
    ) -> WebexAgent:
        with self._lock:
            org = self._orgs.get(org_id)
            if org is None:
                raise WebexError(404, f"organization {org_id} is unknown")
            team = team_id or next(iter(org.teams))
            org.teams.setdefault(team, f"Team {len(org.teams) + 1}")
            if agent_id in self._agents and self._agents[agent_id].org_id != org_id:
                raise WebexError(
                    409, f"agent {agent_id} belongs to organization {self._agents[agent_id].org_id}"
                )
            agent = self._agents.get(agent_id) or WebexAgent(agent_id, org_id, team, name, email, channels)
            agent.team_id, agent.name, agent.email, agent.channels = team, name, email, channels
            self._agents[agent_id] = agent
            if agent_id not in self._users:
                self._users[agent_id] = WebexUser(agent_id, org_id, email, name, frozenset({ROLE_AGENT}))
            return agent

    def agent_view(self, agent_id: str) -> dict[str, Any] | None:
        with self._lock:
            agent = self._agents.get(agent_id)
            return None if agent is None else self._view(agent)

    def agents_view(self) -> list[dict[str, Any]]:
        with self._lock:
            return [self._view(a) for a in self._agents.values()]

    def _view(self, agent: WebexAgent) -> dict[str, Any]:
        session = agent.session
        return {
            "agentId": agent.agent_id,
            "orgId": agent.org_id,
            "teamId": agent.team_id,
            "name": agent.name,
            "email": agent.email,
            "channels": list(agent.channels),
            "loggedIn": session is not None,
            "state": session.state if session else None,
            "auxCodeId": session.aux_code_id if session else None,
            "lastStateChangeReason": session.reason if session else None,
            "agentSessionId": session.session_id if session else None,
            "taskChannel": session.task_channel if session else None,
        }

    def login(self, agent_id: str, state: str, aux_code: str | None, reason: str) -> Emission:
        with self._lock:
            agent = self._known_agent(agent_id)
            if agent.session is not None:
                raise WebexError(409, f"agent {agent_id} is already logged in")
            now = self._now()
            code_id, _ = self._state_code(agent, state, aux_code)
            agent.session = AgentSession(new_id(), now, state, code_id, reason, now)
            self._open_all(agent, is_login=True)
            return self._emit(agent, "agent:login")

    def logout(self, agent_id: str, reason: str) -> Emission:
        with self._lock:
            agent = self._known_agent(agent_id)
            session = agent.session
            if session is None:
                raise WebexError(409, f"agent {agent_id} is not logged in")
            now = self._now()
            for activity in agent.open_activities.values():
                activity.end = now
            agent.open_activities.clear()
            session.reason, session.changed_at = reason, now
            emitted = self._emit(agent, "agent:logout")
            agent.session = None
            return emitted

    def agent_change(
        self, agent_id: str, state: str, aux_code: str | None, reason: str, channel: str | None
    ) -> Emission:
        """The agent's own change on his desktop, or the routing engine's (a call rings, connects ...)."""
        with self._lock:
            agent = self._known_agent(agent_id)
            if agent.session is None:
                raise WebexError(409, f"agent {agent_id} is not logged in")
            if state in TASK_STATES:
                task_channel = channel or ("chat" if state == "engaged" else "telephony")
                if task_channel not in agent.channels:
                    raise WebexError(400, f"agent {agent_id} has no {task_channel} channel")
                if agent.session.task_channel not in (None, task_channel):
                    raise WebexError(409, f"agent {agent_id} is on a {agent.session.task_channel} task")
                return self._change(agent, state, "", reason, task_channel)
            if channel is not None:
                raise WebexError(400, "channelType belongs to task states only")
            code_id, _ = self._state_code(agent, state, aux_code)
            return self._change(agent, state, code_id, reason, None)

    def supervisor_change(
        self, caller: WebexUser, agent_id: str | None, state: str, aux_code: str, reason: str
    ) -> Emission:
        """PUT /v1/agents/session/state: the checks Webex makes, in its order."""
        with self._lock:
            target_id = agent_id or caller.user_id
            agent = self._agents.get(target_id)
            if agent is None or agent.org_id != caller.org_id:
                raise WebexError(400, f"agentId {target_id} is not an agent of this organization", style=API)
            if agent_id is not None and agent_id != caller.user_id and not caller.supervises(agent.team_id):
                raise WebexError(
                    403,
                    "Forbidden: only a supervisor of the agent's team with Change Agent States may change "
                    "another agent's state",
                    style=API,
                )
            if agent.session is None:
                raise WebexError(400, f"Agent {target_id} does not have an active session", style=API)
            if agent.session.task_channel is not None:
                raise WebexError(
                    400,
                    f"Agent {target_id} is handling a task ({agent.session.state}): state not changed",
                    style=API,
                )
            if state == IDLE and self._active_idle_code(agent.org_id, aux_code) is None:
                raise WebexError(
                    400, f"auxCodeId {aux_code} is not an active idle code of this organization", style=API
                )
            return self._change(agent, state, aux_code if state == IDLE else AVAILABLE_AUX_CODE, reason, None)

    def _known_agent(self, agent_id: str) -> WebexAgent:
        agent = self._agents.get(agent_id)
        if agent is None:
            raise WebexError(404, f"agent {agent_id} is unknown: add it with POST /_sim/webex/agents")
        return agent

    def _state_code(self, agent: WebexAgent, state: str, aux_code: str | None) -> tuple[str, str]:
        if state == AVAILABLE:
            if aux_code not in (None, AVAILABLE_AUX_CODE):
                raise WebexError(400, "auxCodeId belongs to idle only")
            return AVAILABLE_AUX_CODE, ""
        if state != IDLE:
            raise WebexError(400, f"state {state} cannot start a session or end a task")
        code = (
            self._default_idle_code(agent.org_id)
            if aux_code is None
            else self._active_idle_code(agent.org_id, aux_code)
        )
        if code is None:
            raise WebexError(
                400, f"auxCodeId {aux_code} is not an active idle code of organization {agent.org_id}"
            )
        return code.code_id, code.name

    def _change(
        self, agent: WebexAgent, state: str, code_id: str, reason: str, task_channel: str | None
    ) -> Emission:
        session = _session(agent)
        now = self._now()
        session.state, session.aux_code_id, session.reason, session.changed_at = state, code_id, reason, now
        session.task_channel = task_channel
        if task_channel is not None:
            self._reopen(agent, task_channel, is_login=False)
        else:
            self._open_all(agent, is_login=False)
        return self._emit(agent, "agent:state_change")

    def _code_name(self, code_id: str) -> str:
        code = self._codes.get(code_id)
        return code.name if code else ""

    def _open_all(self, agent: WebexAgent, *, is_login: bool) -> None:
        for channel in agent.channels:
            self._reopen(agent, channel, is_login=is_login)

    def _reopen(self, agent: WebexAgent, channel: str, *, is_login: bool) -> None:
        session = _session(agent)
        now = self._now()
        previous = agent.open_activities.get(channel)
        if previous is not None:
            previous.end = now
        idle = session.state == IDLE
        task_id = ""
        if session.task_channel == channel:
            task_id = previous.task_id if previous is not None and previous.task_id else new_id()
        activity = Activity(
            channel_type=channel,
            channel_id=str(uuid.uuid5(uuid.NAMESPACE_URL, f"{agent.agent_id}/{channel}")),
            state=session.state,
            idle_code_id=session.aux_code_id if idle else "",
            idle_code_name=self._code_name(session.aux_code_id) if idle else "",
            reason=session.reason,
            start=now,
            is_login=is_login,
            session_id=session.session_id,
            task_id=task_id,
        )
        agent.open_activities[channel] = activity
        agent.activities.append(activity)

    def _emit(self, agent: WebexAgent, event_type: str) -> Emission:
        session = _session(agent)
        idle = session.state == IDLE
        data = {
            ev.AGENT_ID: agent.agent_id,
            ev.ORG_ID: agent.org_id,
            ev.SESSION_ID: session.session_id,
            ev.TEAM_ID: agent.team_id,
            ev.CHANNEL_TYPE: session.task_channel or "telephony",
            ev.CURRENT_STATE: "logout" if event_type == "agent:logout" else session.state,
            ev.AUX_CODE_ID: session.aux_code_id
            if idle
            else (AVAILABLE_AUX_CODE if session.state == AVAILABLE else ""),
            ev.IDLE_CODE_NAME: self._code_name(session.aux_code_id) if idle else "",
            ev.REASON: session.reason,
            ev.CREATED_TIME: millis(session.changed_at),
        }
        event = ev.envelope(event_type, agent.org_id, data)
        self._events.append(event)
        del self._events[:-5000]
        return Emission(
            event,
            [
                EmittedEvent(s.sub_id, agent.agent_id, s.destination_url, s.secret, event)
                for s in self._subscriptions.values()
                if s.org_id == agent.org_id and s.status == "active" and event_type in s.event_types
            ],
        )

    def events(self) -> list[dict[str, Any]]:
        with self._lock:
            return list(self._events)

    # Activities -------------------------------------------------------------------------------

    def activities(self, org_id: str, query: ActivitiesQuery) -> list[dict[str, Any]]:
        with self._lock:
            found: list[tuple[int, dict[str, Any]]] = []
            for agent in self._agents.values():
                if agent.org_id != org_id:
                    continue
                if query.agent_ids and agent.agent_id not in query.agent_ids:
                    continue
                if query.team_ids and agent.team_id not in query.team_ids:
                    continue
                for activity in agent.activities:
                    if query.channel_types and activity.channel_type not in query.channel_types:
                        continue
                    start = millis(activity.start)
                    if query.start_ms <= start <= query.end_ms:
                        found.append((start, self._activity_json(agent, activity)))
            found.sort(key=lambda pair: pair[0])
            return [item for _, item in found]

    def _activity_json(self, agent: WebexAgent, activity: Activity) -> dict[str, Any]:
        org = self._orgs[agent.org_id]
        return {
            "active": activity.end is None,
            "agentId": agent.agent_id,
            "agentDn": "",
            "agentLogin": agent.email,
            "agentSessionId": activity.session_id,
            "agentName": agent.name,
            "currentState": activity.state,
            "siteId": "sim-site",
            "siteName": "Simulated Site",
            "teamId": agent.team_id,
            "teamName": org.teams.get(agent.team_id, ""),
            "isLogin": 1 if activity.is_login else 0,
            "taskId": activity.task_id,
            "channelId": activity.channel_id,
            "channelType": activity.channel_type,
            "subChannelType": activity.channel_type,
            "idleCodeName": activity.idle_code_name,
            "idleCode": activity.idle_code_id,
            "queueId": "",
            "queueName": "",
            "wrapupCodeName": "",
            "reason": activity.reason,
            "startTime": millis(activity.start),
            "endTime": -1 if activity.end is None else millis(activity.end),
            "mmProfileType": "blended",
        }

    # Subscriptions ----------------------------------------------------------------------------

    def create_subscription(self, org_id: str, fields: SubscriptionFields, by: str) -> Subscription:
        with self._lock:
            if (
                sum(1 for s in self._subscriptions.values() if s.org_id == org_id)
                >= MAX_SUBSCRIPTIONS_PER_ORG
            ):
                raise WebexError(400, "The organization's subscription limit is reached", style=RESULT)
            now = millis(self._now())
            if fields.name is None or fields.event_types is None or fields.destination_url is None:
                raise WebexError(400, "name, eventTypes and destinationUrl are required", style=RESULT)
            subscription = Subscription(
                new_id(),
                org_id,
                fields.name,
                fields.description or "",
                fields.event_types,
                fields.destination_url,
                fields.secret,
                "active",
                now,
                by,
                now,
                by,
            )
            self._subscriptions[subscription.sub_id] = subscription
            return subscription

    def subscriptions(self, org_id: str | None = None) -> list[Subscription]:
        with self._lock:
            return [
                Subscription(**vars(s))
                for s in self._subscriptions.values()
                if org_id is None or s.org_id == org_id
            ]

    def subscription(self, org_id: str, sub_id: str) -> Subscription:
        with self._lock:
            found = self._subscriptions.get(sub_id)
            if found is None or found.org_id != org_id:
                raise WebexError(404, f"Subscription {sub_id} not found", style=RESULT)
            return Subscription(**vars(found))

    def update_subscription(
        self, org_id: str, sub_id: str, fields: SubscriptionFields, by: str
    ) -> Subscription:
        with self._lock:
            self.subscription(org_id, sub_id)
            found = self._subscriptions[sub_id]
            if fields.description is not None:
                found.description = fields.description
            if fields.event_types is not None:
                found.event_types = fields.event_types
            if fields.destination_url is not None:
                found.destination_url = fields.destination_url
            if fields.secret is not None:
                found.secret = fields.secret
            if fields.status is not None:
                found.status = fields.status
            found.updated_ms, found.updated_by = millis(self._now()), by
            return Subscription(**vars(found))

    def delete_subscription(self, org_id: str, sub_id: str) -> None:
        with self._lock:
            self.subscription(org_id, sub_id)
            del self._subscriptions[sub_id]

    def live_subscription(self, sub_id: str) -> Subscription | None:
        """The subscription as it is now (deliveries use its current URL and secret)."""
        with self._lock:
            found = self._subscriptions.get(sub_id)
            return None if found is None or found.status != "active" else Subscription(**vars(found))

    def lose_subscription(self, sub_id: str) -> bool:
        """Control: Webex lost the subscription (the connector's renewal must recreate it)."""
        with self._lock:
            return self._subscriptions.pop(sub_id, None) is not None
