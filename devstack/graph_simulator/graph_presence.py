"""Graph presence: get, getPresencesByUserId, setPresence / clearPresence and the user's preferred state."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from devstack.graph_simulator.errors import GraphApiError
from devstack.graph_simulator.faults import SlidingWindowLimiter, fault_error
from devstack.graph_simulator.http_types import Request, Response, Router
from devstack.graph_simulator.models import Caller, User
from devstack.graph_simulator.presence_rules import (
    DEFAULT_SESSION_DURATION,
    MAX_SESSION_DURATION,
    MIN_SESSION_DURATION,
    SET_PRESENCE_PAIRS,
    USER_PREFERRED_PAIRS,
    PreferredState,
    SessionState,
    default_preferred_expiry,
    parse_iso_duration,
)
from devstack.graph_simulator.state import SimulatorState
from devstack.graph_simulator.status_message import parse_set_status_message

GRAPH_CONTEXT = "https://graph.microsoft.com/v1.0/$metadata"
MAX_BULK_IDS = 650
_GUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")

Authenticator = Callable[[Request], Caller]

_READ_DELEGATED = {"Presence.Read.All"}
_READ_APPLICATION = {"Presence.Read.All", "Presence.ReadWrite.All"}


def presence_to_graph(user: User, now: datetime | None = None) -> dict[str, Any]:
    """`now`: expired status messages are not shown (presenceStatusMessage.expiryDateTime)."""
    expired = (
        now is not None
        and user.status_message_expires_at is not None
        and user.status_message_expires_at <= now
    )
    return {
        "id": user.id,
        "availability": user.availability,
        "activity": user.activity,
        "sequenceNumber": user.sequence_number,
        "statusMessage": None
        if user.status_message is None or expired
        else {
            "message": {"content": user.status_message, "contentType": "text"},
            "expiryDateTime": None,
            "publishedDateTime": None,
        },
        "outOfOfficeSettings": {"message": user.out_of_office_message, "isOutOfOffice": user.out_of_office},
    }


def _forbidden() -> GraphApiError:
    return GraphApiError(403, "Forbidden", "Insufficient privileges to complete the operation.")


def _not_found(reference: str) -> GraphApiError:
    return GraphApiError(404, "NotFound", f"User '{reference}' was not found.")


def _only_parameters(body: dict[str, Any], allowed: set[str], action: str) -> None:
    for name in body:
        if name not in allowed and not name.startswith("@odata."):
            raise GraphApiError(
                400,
                "BadRequest",
                f"The parameter '{name}' in the request payload is not a valid parameter for the operation "
                f"'{action}'.",
            )


def _required_string(body: dict[str, Any], name: str) -> str:
    value = body.get(name)
    if not isinstance(value, str) or not value:
        raise GraphApiError(400, "BadRequest", f"The parameter '{name}' is required and must be a string.")
    return value


def _duration(body: dict[str, Any]) -> timedelta:
    raw = body.get("expirationDuration")
    if raw is None:
        return DEFAULT_SESSION_DURATION
    if not isinstance(raw, str):
        raise GraphApiError(
            400, "BadRequest", "expirationDuration must be an ISO 8601 duration such as PT5M."
        )
    try:
        duration = parse_iso_duration(raw)
    except ValueError as error:
        raise GraphApiError(
            400, "BadRequest", f"Cannot convert the literal '{raw}' to the expected type 'Edm.Duration'."
        ) from error
    if not MIN_SESSION_DURATION <= duration <= MAX_SESSION_DURATION:
        raise GraphApiError(
            400, "BadRequest", f"expirationDuration {raw} is out of range: it must be between PT5M and PT4H."
        )
    return duration


def preferred_state(availability: str, activity: str, body: dict[str, Any], now: datetime) -> PreferredState:
    """setUserPreferredPresence's expiry: `expirationDuration` when given (any positive duration; the
    documented example asks for PT8H, beyond setPresence's PT4H), else a day for DoNotDisturb and Busy
    and 7 days for the rest."""
    raw = body.get("expirationDuration")
    if raw is None:
        return PreferredState(availability, activity, default_preferred_expiry(availability, now))
    if not isinstance(raw, str):
        raise GraphApiError(
            400, "BadRequest", "expirationDuration must be an ISO 8601 duration such as PT8H."
        )
    try:
        duration = parse_iso_duration(raw)
    except ValueError as error:
        raise GraphApiError(
            400, "BadRequest", f"Cannot convert the literal '{raw}' to the expected type 'Edm.Duration'."
        ) from error
    if duration <= timedelta(0):
        raise GraphApiError(400, "BadRequest", f"expirationDuration {raw} must be positive.")
    return PreferredState(availability, activity, now + duration)


class PresenceApi:
    def __init__(
        self,
        state: SimulatorState,
        authenticate: Authenticator,
        bulk_limiter: SlidingWindowLimiter,
    ) -> None:
        self._state = state
        self._authenticate = authenticate
        self._bulk_limiter = bulk_limiter

    def register(self, router: Router) -> None:
        router.add("GET", "/v1\\.0/me/presence", self.get_my_presence)
        router.add("GET", "/v1\\.0/users/(?P<user>[^/]+)/presence", self.get_user_presence)
        router.add(
            "GET", "/v1\\.0/communications/presences/(?P<user>[^/]+)", self.get_communications_presence
        )
        router.add("POST", "/v1\\.0/communications/getPresencesByUserId", self.get_presences_by_user_id)
        router.add("POST", "/v1\\.0/users/(?P<user>[^/]+)/presence/setPresence", self.set_presence)
        router.add("POST", "/v1\\.0/users/(?P<user>[^/]+)/presence/clearPresence", self.clear_presence)
        router.add("POST", "/v1\\.0/users/(?P<user>[^/]+)/presence/setStatusMessage", self.set_status_message)
        router.add(
            "POST",
            "/v1\\.0/users/(?P<user>[^/]+)/presence/setUserPreferredPresence",
            self.set_user_preferred_presence,
        )
        router.add(
            "POST",
            "/v1\\.0/users/(?P<user>[^/]+)/presence/clearUserPreferredPresence",
            self.clear_user_preferred_presence,
        )

    # Reads ---------------------------------------------------------------------------------------

    def get_my_presence(self, request: Request) -> Response:
        caller = self._authenticate(request)
        if caller.user_id is None:
            raise GraphApiError(
                400, "BadRequest", "/me request is only valid with delegated authentication flow."
            )
        if not caller.scopes & {"Presence.Read", "Presence.Read.All"}:
            raise _forbidden()
        return self._presence_response(caller, caller.user_id)

    def get_user_presence(self, request: Request) -> Response:
        caller = self._authenticate(request)
        return self._read(caller, request.params["user"])

    def get_communications_presence(self, request: Request) -> Response:
        caller = self._authenticate(request)
        reference = request.params["user"]
        if not _GUID.fullmatch(reference):
            raise GraphApiError(400, "BadRequest", f"'{reference}' is not a valid user object id.")
        return self._read(caller, reference)

    def _read(self, caller: Caller, reference: str) -> Response:
        user = self._state.get_user(caller.tenant_id, reference)
        own = user is not None and caller.user_id == user.id and "Presence.Read" in caller.scopes
        if not own and not caller.has_any(_READ_DELEGATED, _READ_APPLICATION):
            raise _forbidden()
        if user is None:
            raise _not_found(reference)
        return self._presence_response(caller, user.id)

    def _presence_response(self, caller: Caller, user_id: str) -> Response:
        user = self._state.get_user(caller.tenant_id, user_id)
        if user is None:
            raise _not_found(user_id)
        context = f"{GRAPH_CONTEXT}#users('{user.id}')/presence/$entity"
        return Response.json(200, {"@odata.context": context, **presence_to_graph(user, self._state.now())})

    def get_presences_by_user_id(self, request: Request) -> Response:
        caller = self._authenticate(request)
        if not caller.has_any(_READ_DELEGATED, _READ_APPLICATION):
            raise _forbidden()
        wait = self._bulk_limiter.check(f"{caller.tenant_id}/{caller.app_id}")
        if wait is not None:
            raise fault_error(429, wait)
        body = request.json_object()
        _only_parameters(body, {"ids"}, "getPresencesByUserId")
        ids = body.get("ids")
        if not isinstance(ids, list) or not ids or not all(isinstance(i, str) for i in ids):
            raise GraphApiError(
                400, "BadRequest", "The parameter 'ids' must be a non-empty array of user ids."
            )
        if len(ids) > MAX_BULK_IDS:
            raise GraphApiError(
                400,
                "BadRequest",
                f"The number of ids ({len(ids)}) exceeds the maximum of {MAX_BULK_IDS} per request.",
            )
        bad = next((i for i in ids if not _GUID.fullmatch(i)), None)
        if bad is not None:
            raise GraphApiError(400, "BadRequest", f"'{bad}' is not a valid user object id.")
        seen: set[str] = set()
        value: list[dict[str, Any]] = []
        for user_id in ids:
            key = user_id.lower()
            if key in seen:
                continue
            seen.add(key)
            user = self._state.get_user(caller.tenant_id, key)
            if user is not None:
                value.append(presence_to_graph(user, self._state.now()))
        return Response.json(
            200, {"@odata.context": f"{GRAPH_CONTEXT}#Collection(microsoft.graph.presence)", "value": value}
        )

    # Writes --------------------------------------------------------------------------------------

    def _writable_user(self, request: Request) -> tuple[Caller, User]:
        caller = self._authenticate(request)
        user = self._state.get_user(caller.tenant_id, request.params["user"])
        own = user is not None and caller.user_id == user.id and "Presence.ReadWrite" in caller.scopes
        if not own and not caller.has_any(set(), {"Presence.ReadWrite.All"}):
            raise _forbidden()
        if user is None:
            raise _not_found(request.params["user"])
        return caller, user

    def set_presence(self, request: Request) -> Response:
        caller, user = self._writable_user(request)
        body = request.json_object()
        _only_parameters(body, {"sessionId", "availability", "activity", "expirationDuration"}, "setPresence")
        session_id = _required_string(body, "sessionId")
        if caller.is_app_only and session_id.lower() != caller.app_id.lower():
            raise GraphApiError(
                400,
                "BadRequest",
                f"sessionId '{session_id}' must be the id of the calling application ({caller.app_id}).",
            )
        availability = _required_string(body, "availability")
        activity = _required_string(body, "activity")
        if (availability, activity) not in SET_PRESENCE_PAIRS:
            allowed = ", ".join(f"{a}/{b}" for a, b in sorted(SET_PRESENCE_PAIRS))
            raise GraphApiError(
                400,
                "BadRequest",
                f"The combination availability '{availability}' and activity '{activity}' is not supported; "
                f"supported: {allowed}.",
            )
        duration = _duration(body)
        now = self._state.now()
        self._state.set_presence_session(
            caller.tenant_id, user.id, SessionState(session_id, availability, activity, now, now + duration)
        )
        return Response.empty(200)

    def clear_presence(self, request: Request) -> Response:
        caller, user = self._writable_user(request)
        body = request.json_object()
        _only_parameters(body, {"sessionId"}, "clearPresence")
        session_id = _required_string(body, "sessionId")
        if not self._state.clear_presence_session(caller.tenant_id, user.id, session_id):
            raise GraphApiError(
                404, "NotFound", f"Presence session '{session_id}' was not found for this user."
            )
        return Response.empty(200)

    def set_status_message(self, request: Request) -> Response:
        caller, user = self._writable_user(request)
        content, expires_at = parse_set_status_message(request.json_object())
        self._state.set_status_message(caller.tenant_id, user.id, content, expires_at)
        return Response.empty(200)

    def set_user_preferred_presence(self, request: Request) -> Response:
        caller, user = self._writable_user(request)
        body = request.json_object()
        _only_parameters(body, {"availability", "activity", "expirationDuration"}, "setUserPreferredPresence")
        availability = _required_string(body, "availability")
        activity = _required_string(body, "activity")
        if (availability, activity) not in USER_PREFERRED_PAIRS:
            raise GraphApiError(
                400,
                "BadRequest",
                f"The combination availability '{availability}' and activity '{activity}' is not supported.",
            )
        self._state.set_preferred_presence(
            caller.tenant_id, user.id, preferred_state(availability, activity, body, self._state.now())
        )
        return Response.empty(200)

    def clear_user_preferred_presence(self, request: Request) -> Response:
        caller, user = self._writable_user(request)
        self._state.set_preferred_presence(caller.tenant_id, user.id, None)
        return Response.empty(200)
