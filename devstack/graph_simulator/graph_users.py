"""Graph users: get by id or userPrincipalName, list with $filter / $search / $select / paging."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

from devstack.graph_simulator.errors import GraphApiError
from devstack.graph_simulator.http_types import Request, Response, Router
from devstack.graph_simulator.models import Caller, User
from devstack.graph_simulator.odata_query import parse_filter, parse_orderby, parse_search, parse_select
from devstack.graph_simulator.state import SimulatorState

GRAPH_CONTEXT = "https://graph.microsoft.com/v1.0/$metadata"
DEFAULT_PAGE_SIZE = 100
MAX_PAGE_SIZE = 999

# Graph returns this set when no $select is given; department is NOT among them.
DEFAULT_PROPERTIES = (
    "businessPhones",
    "displayName",
    "givenName",
    "jobTitle",
    "mail",
    "mobilePhone",
    "officeLocation",
    "preferredLanguage",
    "surname",
    "userPrincipalName",
    "id",
)
# Returned only on $select, like in Graph.
ALL_PROPERTIES = {*DEFAULT_PROPERTIES, "department", "accountEnabled"}
_SUPPORTED_OPTIONS = {"$select", "$filter", "$search", "$top", "$count", "$skiptoken", "$orderby"}

Authenticator = Callable[[Request], Caller]


def user_to_graph(user: User) -> dict[str, Any]:
    return {
        "id": user.id,
        "businessPhones": list(user.business_phones),
        "displayName": user.display_name,
        "givenName": user.given_name,
        "jobTitle": user.job_title,
        "mail": user.mail,
        "mobilePhone": user.mobile_phone,
        "officeLocation": user.office_location,
        "preferredLanguage": user.preferred_language,
        "surname": user.surname,
        "userPrincipalName": user.user_principal_name,
        "department": user.department,
        "accountEnabled": user.account_enabled,
    }


def _project(full: dict[str, Any], selected: list[str] | None) -> dict[str, Any]:
    names = selected if selected is not None else list(DEFAULT_PROPERTIES)
    return {name: full[name] for name in names}


def _denied() -> GraphApiError:
    return GraphApiError(
        403, "Authorization_RequestDenied", "Insufficient privileges to complete the operation."
    )


class UsersApi:
    def __init__(self, state: SimulatorState, authenticate: Authenticator) -> None:
        self._state = state
        self._authenticate = authenticate

    def register(self, router: Router) -> None:
        router.add("GET", "/v1\\.0/users", self.list_users)
        router.add("GET", "/v1\\.0/me", self.get_me)
        router.add("GET", "/v1\\.0/users/(?P<user>[^/]+)", self.get_user)

    def _may_read(self, caller: Caller, target_id: str | None) -> bool:
        if caller.has_any({"User.ReadBasic.All", "User.Read.All"}, {"User.Read.All", "User.ReadWrite.All"}):
            return True
        return not caller.is_app_only and "User.Read" in caller.scopes and caller.user_id == target_id

    def get_me(self, request: Request) -> Response:
        caller = self._authenticate(request)
        if caller.user_id is None:
            raise GraphApiError(
                400, "BadRequest", "/me request is only valid with delegated authentication flow."
            )
        return self._single(request, caller, caller.user_id)

    def get_user(self, request: Request) -> Response:
        caller = self._authenticate(request)
        return self._single(request, caller, request.params["user"])

    def _single(self, request: Request, caller: Caller, reference: str) -> Response:
        unknown = set(request.query) - {"$select"}
        if unknown:
            raise GraphApiError(
                400, "BadRequest", f"Query option '{sorted(unknown)[0]}' is not allowed here."
            )
        user = self._state.get_user(caller.tenant_id, reference)
        if not self._may_read(caller, user.id if user else None):
            raise _denied()
        if user is None:
            raise GraphApiError(
                404,
                "Request_ResourceNotFound",
                f"Resource '{reference}' does not exist or one of its queried reference-property objects are "
                "not present.",
            )
        selected = (
            parse_select(request.query["$select"], ALL_PROPERTIES) if "$select" in request.query else None
        )
        context = (
            f"{GRAPH_CONTEXT}#users({','.join(selected)})/$entity"
            if selected
            else f"{GRAPH_CONTEXT}#users/$entity"
        )
        return Response.json(200, {"@odata.context": context, **_project(user_to_graph(user), selected)})

    def list_users(self, request: Request) -> Response:
        caller = self._authenticate(request)
        if not self._may_read(caller, None):
            raise _denied()
        query = request.query
        unknown = {k for k in query if k.startswith("$")} - _SUPPORTED_OPTIONS
        if unknown:
            raise GraphApiError(400, "BadRequest", f"Query option '{sorted(unknown)[0]}' is not supported.")
        eventual = (request.header("consistencylevel") or "").lower() == "eventual"
        if "$search" in query and not eventual:
            raise GraphApiError(
                400,
                "Request_UnsupportedQuery",
                "Request with $search query parameter only works "
                "through MSGraph with a special request header: "
                "'ConsistencyLevel: eventual'",
            )
        count_requested = query.get("$count", "").lower() == "true"
        if count_requested and not eventual:
            raise GraphApiError(400, "Request_BadRequest", "$count is not currently supported.")
        top = self._page_size(query.get("$top"))
        selected = parse_select(query["$select"], ALL_PROPERTIES) if "$select" in query else None

        users = [user_to_graph(u) for u in self._state.list_users(caller.tenant_id)]
        if "$filter" in query:
            # Advanced query parameters: ConsistencyLevel: eventual with $count=true.
            predicate = parse_filter(query["$filter"], advanced=eventual and count_requested)
            users = [u for u in users if predicate(u)]
        if "$search" in query:
            search = parse_search(query["$search"])
            users = [u for u in users if search(u)]
        if "$orderby" in query:
            order = parse_orderby(query["$orderby"])
            users.sort(key=lambda u: (str(u[order.prop] or "").lower(), u["id"]), reverse=order.descending)
        else:
            users.sort(key=lambda u: (str(u["displayName"] or "").lower(), u["id"]))

        offset = self._offset(query.get("$skiptoken"))
        page = users[offset : offset + top]
        context = f"{GRAPH_CONTEXT}#users({','.join(selected)})" if selected else f"{GRAPH_CONTEXT}#users"
        payload: dict[str, Any] = {"@odata.context": context}
        if count_requested:
            payload["@odata.count"] = len(users)
        if offset + top < len(users):
            next_query = {k: v for k, v in query.items() if k != "$skiptoken"}
            next_query["$skiptoken"] = self._skiptoken(offset + top)
            payload["@odata.nextLink"] = f"{request.base_url}/v1.0/users?{urlencode(next_query)}"
        payload["value"] = [_project(u, selected) for u in page]
        return Response.json(200, payload)

    @staticmethod
    def _page_size(raw: str | None) -> int:
        if raw is None:
            return DEFAULT_PAGE_SIZE
        try:
            size = int(raw)
        except ValueError:
            size = 0
        if not 1 <= size <= MAX_PAGE_SIZE:
            raise GraphApiError(
                400,
                "Request_UnsupportedQuery",
                f"Invalid page size specified: '{raw}'. Must be between 1 and {MAX_PAGE_SIZE} inclusive.",
            )
        return size

    @staticmethod
    def _skiptoken(offset: int) -> str:
        return base64.urlsafe_b64encode(json.dumps({"offset": offset}).encode()).decode().rstrip("=")

    @staticmethod
    def _offset(token: str | None) -> int:
        if token is None:
            return 0
        try:
            padded = token + "=" * (-len(token) % 4)
            offset = json.loads(base64.urlsafe_b64decode(padded))["offset"]
        except (ValueError, KeyError, TypeError) as error:
            raise GraphApiError(
                400, "Directory_ExpiredPageToken", "The specified page token value has expired."
            ) from error
        if not isinstance(offset, int) or offset < 0:
            raise GraphApiError(
                400, "Directory_ExpiredPageToken", "The specified page token value has expired."
            )
        return offset
