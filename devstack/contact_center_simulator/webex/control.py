"""The Webex part of the control API (/_sim/webex, no auth): organisations, users, the signed-in user,
integrations, agents and what they do, auxiliary codes, tokens, subscriptions, deliveries."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any, Final

from devstack.contact_center_simulator.webex.deliveries import WebexDeliveries
from devstack.contact_center_simulator.webex.errors import WebexError
from devstack.contact_center_simulator.webex.model import (
    AGENT_STATES,
    CHANNEL_TYPES,
    IDLE_CODE,
    ROLES,
    SCOPES,
    WRAP_UP_CODE,
    AuxCode,
    Integration,
    WebexUser,
    millis,
    new_id,
)
from devstack.contact_center_simulator.webex.oauth import OAuthServer
from devstack.contact_center_simulator.webex.store import (
    DEFAULT_CHANNELS,
    DEFAULT_ORG_ID,
    Emission,
    WebexStore,
)
from devstack.simulator_http import MalformedBody, Request, Response, Router

_P: Final = "/_sim/webex"
_AGENT: Final = "(?P<agent>[^/]+)"
_RECOVERABLE_STATES: Final = ("available", "idle")


def _bad(message: str) -> WebexError:
    return WebexError(400, message)


def _str(
    body: dict[str, Any], name: str, *, required: bool = False, default: str | None = None
) -> str | None:
    value = body.get(name)
    if value is None:
        if required:
            raise _bad(f"{name} is required")
        return default
    if not isinstance(value, str) or not value:
        raise _bad(f"{name} must be a non-empty string")
    return value


def _strings(body: dict[str, Any], name: str) -> list[str] | None:
    value = body.get(name)
    if value is None:
        return None
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise _bad(f"{name} must be an array of non-empty strings")
    return list(value)


def _count(body: dict[str, Any], name: str) -> int | None:
    value = body.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 10_000:
        raise _bad(f"{name} must be an integer from 0 to 10000")
    return value


def _json(request: Request) -> dict[str, Any]:
    try:
        return request.json_object(required=False)
    except MalformedBody as error:
        raise _bad(error.detail) from None


class WebexControlApi:
    def __init__(
        self,
        clock: Callable[[], datetime],
        store: WebexStore,
        oauth: OAuthServer,
        deliveries: WebexDeliveries,
    ) -> None:
        self._now = clock
        self._store = store
        self._oauth = oauth
        self._deliveries = deliveries

    def register(self, router: Router) -> None:
        add = router.add
        add("GET", _P, self.overview)
        add("POST", f"{_P}/orgs", self.add_org)
        add("POST", f"{_P}/users", self.add_user)
        add(
            "GET",
            f"{_P}/users",
            lambda r: Response.json(200, {"users": [u.as_json() for u in self._store.users()]}),
        )
        add("PUT", f"{_P}/signed-in-user", self.sign_in_as)
        add("POST", f"{_P}/integrations", self.add_integration)
        add("GET", f"{_P}/grants", lambda r: Response.json(200, {"grants": self._oauth.grants_view()}))
        add("POST", f"{_P}/tokens/revoke", self.revoke)
        add("POST", f"{_P}/tokens/expire-access", self.expire_access)
        add("POST", f"{_P}/agents", self.add_agent)
        add("GET", f"{_P}/agents", lambda r: Response.json(200, {"agents": self._store.agents_view()}))
        add("GET", f"{_P}/agents/{_AGENT}", self.get_agent)
        add("POST", f"{_P}/agents/{_AGENT}/login", self.login)
        add("POST", f"{_P}/agents/{_AGENT}/logout", self.logout)
        add("POST", f"{_P}/agents/{_AGENT}/state", self.agent_state)
        add("POST", f"{_P}/aux-codes", self.add_aux_code)
        add("GET", f"{_P}/subscriptions", self.subscriptions)
        add("DELETE", f"{_P}/subscriptions/(?P<id>[^/]+)", self.lose_subscription)
        add("GET", f"{_P}/events", lambda r: Response.json(200, {"events": self._store.events()}))
        add("GET", f"{_P}/deliveries", self.deliveries)
        add("DELETE", f"{_P}/deliveries", self.clear_deliveries)
        add("PUT", f"{_P}/deliveries/chaos", self.set_chaos)
        add("GET", f"{_P}/deliveries/chaos", lambda r: Response.json(200, self._deliveries.chaos()))
        add("POST", f"{_P}/deliveries/release", self.release)

    def overview(self, request: Request) -> Response:
        return Response.json(
            200,
            {
                "orgs": self._store.orgs_view(),
                "signedInUserId": self._store.signed_in_user_id,
                "integrations": [i.as_json() for i in self._oauth.integrations()],
                "subscriptions": len(self._store.subscriptions()),
                "deliveryConnectionsOpened": self._deliveries.connections_opened,
            },
        )

    def add_org(self, request: Request) -> Response:
        body = _json(request)
        org_id = _str(body, "orgId") or new_id()
        if self._store.org(org_id) is not None:
            raise WebexError(409, f"organization {org_id} exists")
        org = self._store.add_org(
            org_id, _str(body, "name", default="Simulated organization") or "", _str(body, "teamId")
        )
        return Response.json(201, {"orgId": org.org_id, "name": org.name, "teams": org.teams})

    def add_user(self, request: Request) -> Response:
        body = _json(request)
        roles = _strings(body, "roles") or []
        if not set(roles) <= ROLES:
            raise _bad(f"roles are {', '.join(sorted(ROLES))}")
        teams = _strings(body, "teamIds")
        user = WebexUser(
            _str(body, "userId") or new_id(),
            _str(body, "orgId", default=DEFAULT_ORG_ID) or DEFAULT_ORG_ID,
            _str(body, "email", required=True) or "",
            _str(body, "displayName", default="Simulated user") or "",
            frozenset(roles),
            None if teams is None else frozenset(teams),
        )
        self._store.add_user(user)
        return Response.json(201, user.as_json())

    def sign_in_as(self, request: Request) -> Response:
        user_id = _str(_json(request), "userId", required=True) or ""
        if self._store.user(user_id) is None:
            raise WebexError(404, f"user {user_id} is unknown")
        self._store.signed_in_user_id = user_id
        return Response.json(200, {"signedInUserId": user_id})

    def add_integration(self, request: Request) -> Response:
        body = _json(request)
        redirect_uris = _strings(body, "redirectUris")
        if not redirect_uris:
            raise _bad("redirectUris (at least one) is required")
        scopes = _strings(body, "scopes")
        if scopes is not None and not set(scopes) <= SCOPES:
            raise _bad(f"scopes are among {', '.join(sorted(SCOPES))}")
        integration = Integration(
            _str(body, "clientId", required=True) or "",
            _str(body, "clientSecret", required=True) or "",
            tuple(redirect_uris),
            SCOPES if scopes is None else frozenset(scopes),
        )
        created = self._oauth.register(integration)
        return Response.json(201 if created else 200, integration.as_json())

    def revoke(self, request: Request) -> Response:
        body = _json(request)
        refresh_token, user_id, client_id = (
            _str(body, "refreshToken"),
            _str(body, "userId"),
            _str(body, "clientId"),
        )
        if refresh_token is None and user_id is None and client_id is None:
            raise _bad("name refreshToken, userId and/or clientId")
        count = self._oauth.revoke(refresh_token=refresh_token, user_id=user_id, client_id=client_id)
        return Response.json(200, {"revoked": count})

    def expire_access(self, request: Request) -> Response:
        return Response.json(200, {"expired": self._oauth.expire_access_tokens()})

    # Agents -------------------------------------------------------------------------------------

    def add_agent(self, request: Request) -> Response:
        body = _json(request)
        channels = _strings(body, "channels") or list(DEFAULT_CHANNELS)
        if not set(channels) <= set(CHANNEL_TYPES):
            raise _bad(f"channels are among {', '.join(CHANNEL_TYPES)}")
        agent_id = _str(body, "agentId") or new_id()
        agent = self._store.add_agent(
            agent_id,
            _str(body, "orgId", default=DEFAULT_ORG_ID) or DEFAULT_ORG_ID,
            _str(body, "teamId"),
            _str(body, "name", default=f"Agent {agent_id[:8]}") or "",
            _str(body, "email", default=f"{agent_id[:8]}@wxcc-sim.example.com") or "",
            tuple(dict.fromkeys(channels)),
        )
        view = self._store.agent_view(agent.agent_id)
        events: list[dict[str, Any]] = []
        if body.get("loggedIn") is True and view is not None and not view["loggedIn"]:
            state = _str(body, "state", default="available") or ""
            if state not in _RECOVERABLE_STATES:
                raise _bad("a session starts available or idle")
            emission = self._store.login(agent_id, state, _str(body, "auxCodeId"), "")
            self._deliveries.send(emission.deliveries)
            events.append(emission.event)
        return Response.json(201, {"agent": self._store.agent_view(agent_id), "events": events})

    def get_agent(self, request: Request) -> Response:
        view = self._store.agent_view(request.params["agent"])
        if view is None:
            raise WebexError(404, f"agent {request.params['agent']} is unknown")
        return Response.json(200, view)

    def login(self, request: Request) -> Response:
        body = _json(request)
        state = _str(body, "state", default="idle") or ""
        if state not in _RECOVERABLE_STATES:
            raise _bad("a session starts available or idle")
        emission = self._store.login(
            request.params["agent"], state, _str(body, "auxCodeId"), _str(body, "reason", default="") or ""
        )
        return self._sent(request, emission)

    def logout(self, request: Request) -> Response:
        body = _json(request)
        emission = self._store.logout(request.params["agent"], _str(body, "reason", default="") or "")
        return self._sent(request, emission)

    def agent_state(self, request: Request) -> Response:
        body = _json(request)
        state = _str(body, "state", required=True) or ""
        if state not in AGENT_STATES:
            raise _bad(f"state is one of {', '.join(AGENT_STATES)}")
        channel = _str(body, "channelType")
        if channel is not None and channel not in CHANNEL_TYPES:
            raise _bad(f"channelType is one of {', '.join(CHANNEL_TYPES)}")
        emission = self._store.agent_change(
            request.params["agent"],
            state,
            _str(body, "auxCodeId"),
            _str(body, "reason", default="") or "",
            channel,
        )
        return self._sent(request, emission)

    def _sent(self, request: Request, emission: Emission) -> Response:
        self._deliveries.send(emission.deliveries)
        return Response.json(
            202,
            {
                "agent": self._store.agent_view(request.params["agent"]),
                "event": emission.event,
                "subscriptions": [e.subscription_id for e in emission.deliveries],
            },
        )

    def add_aux_code(self, request: Request) -> Response:
        body = _json(request)
        work_type = _str(body, "workTypeCode", default=IDLE_CODE)
        if work_type not in (IDLE_CODE, WRAP_UP_CODE):
            raise _bad("workTypeCode is IDLE_CODE or WRAP_UP_CODE")
        org_id = _str(body, "orgId", default=DEFAULT_ORG_ID) or DEFAULT_ORG_ID
        if self._store.org(org_id) is None:
            raise WebexError(404, f"organization {org_id} is unknown")
        active, default = body.get("active", True), body.get("defaultCode", False)
        if not isinstance(active, bool) or not isinstance(default, bool):
            raise _bad("active and defaultCode are booleans")
        name = _str(body, "name", required=True) or ""
        code = AuxCode(
            _str(body, "id") or new_id(),
            org_id,
            name,
            work_type or IDLE_CODE,
            active,
            default,
            _str(body, "description", default="") or "",
            millis(self._now()),
        )
        created = self._store.add_aux_code(code)
        return Response.json(201 if created else 200, code.as_dto())

    # Subscriptions and deliveries --------------------------------------------------------------------

    def subscriptions(self, request: Request) -> Response:
        found = self._store.subscriptions(request.query.get("orgId"))
        return Response.json(
            200,
            {
                "subscriptions": [
                    {**s.as_json(), "orgId": s.org_id, "secretSet": bool(s.secret)} for s in found
                ]
            },
        )

    def lose_subscription(self, request: Request) -> Response:
        if not self._store.lose_subscription(request.params["id"]):
            raise WebexError(404, f"subscription {request.params['id']} is unknown")
        return Response.empty(204)

    def deliveries(self, request: Request) -> Response:
        return Response.json(200, {"deliveries": [r.as_json() for r in self._deliveries.records()]})

    def clear_deliveries(self, request: Request) -> Response:
        self._deliveries.clear_records()
        return Response.empty(204)

    def set_chaos(self, request: Request) -> Response:
        body = _json(request)
        unknown = sorted(set(body) - {"duplicateNext", "reorderNext"})
        if unknown:
            raise _bad(f"unknown properties: {', '.join(unknown)}")
        return Response.json(
            200, self._deliveries.set_chaos(_count(body, "duplicateNext"), _count(body, "reorderNext"))
        )

    def release(self, request: Request) -> Response:
        return Response.json(200, {"released": self._deliveries.release()})
