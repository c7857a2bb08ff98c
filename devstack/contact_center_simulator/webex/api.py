"""The Webex routes the connector calls: OAuth and people/me on webexapis.com, and the Contact Center
API (subscriptions, event types, agent state, activities, v2 auxiliary codes) on api.wxcc-<region>.

Every Contact Center call needs a valid bearer token (401 otherwise), the scope its operation names in
the published document, a user role that may do it, and the token's own organisation (403 otherwise).
"""

from __future__ import annotations

import html
import logging
import math
from collections.abc import Callable
from datetime import datetime
from typing import Any, Final

from devstack.contact_center_simulator.webex import rules
from devstack.contact_center_simulator.webex.deliveries import WebexDeliveries
from devstack.contact_center_simulator.webex.errors import API, RESULT, WebexError, tracking_id
from devstack.contact_center_simulator.webex.model import (
    AVAILABLE,
    IDLE,
    IDLE_CODE,
    ROLE_ADMIN,
    ROLE_SUPERVISOR,
    AccessToken,
    WebexUser,
    millis,
)
from devstack.contact_center_simulator.webex.oauth import OAuthPageError, OAuthServer, hydra_id
from devstack.contact_center_simulator.webex.store import WebexStore
from devstack.simulator_http import MalformedBody, Request, Response, Router

logger = logging.getLogger(__name__)

CONFIG_READ: Final = "cjp:config_read"
CONFIG_WRITE: Final = "cjp:config_write"
USER: Final = "cjp:user"
# cjp:config is taken as the union of config_read and config_write (assumed).
_IMPLIED: Final = {CONFIG_READ: "cjp:config", CONFIG_WRITE: "cjp:config"}
_SUBSCRIPTION: Final = "(?P<id>[^/]+)"


def _page(status: int, title: str, message: str) -> Response:
    body = (
        f"<!doctype html><html><head><title>{html.escape(title)}</title></head>"
        f"<body><h1>{html.escape(title)}</h1><p>{html.escape(message)}</p></body></html>"
    )
    return Response(status, body.encode("utf-8"), {"Content-Type": "text/html; charset=utf-8"})


class WebexApi:
    def __init__(
        self,
        clock: Callable[[], datetime],
        store: WebexStore,
        oauth: OAuthServer,
        deliveries: WebexDeliveries,
        *,
        allow_loopback_destinations: Callable[[], bool],
    ) -> None:
        self._now = clock
        self._store = store
        self._oauth = oauth
        self._deliveries = deliveries
        self._allow_loopback = allow_loopback_destinations

    def register(self, router: Router) -> None:
        router.add("GET", "/v1/authorize", self.authorize)
        router.add("POST", "/v1/access_token", self.token)
        router.add("GET", "/v1/people/me", self.people_me)
        router.add("GET", "/v1/event-types", self.event_types)
        router.add("POST", "/v1/subscriptions", self.create_subscription)
        router.add("GET", "/v1/subscriptions", self.list_subscriptions)
        router.add("GET", f"/v1/subscriptions/{_SUBSCRIPTION}", self.get_subscription)
        router.add("PATCH", f"/v1/subscriptions/{_SUBSCRIPTION}", self.update_subscription)
        router.add("DELETE", f"/v1/subscriptions/{_SUBSCRIPTION}", self.delete_subscription)
        router.add("PUT", "/v1/agents/session/state", self.change_state)
        router.add("GET", "/v1/agents/activities", self.activities)
        router.add("GET", "/organization/(?P<org>[^/]+)/v2/auxiliary-code", self.auxiliary_codes)

    # OAuth (webexapis.com) ----------------------------------------------------------------------

    def authorize(self, request: Request) -> Response:
        user = self._store.user(self._store.signed_in_user_id)
        if user is None:
            return _page(400, "Sign-in failed", "The simulated signed-in user does not exist")
        try:
            outcome = self._oauth.authorize(request.query, user)
        except OAuthPageError as error:
            return _page(400, "Authorization failed", error.description)
        return Response.redirect(outcome.location)

    def token(self, request: Request) -> Response:
        payload = self._oauth.token(request.form())
        return Response.json(200, payload, {"Cache-Control": "no-store", "Pragma": "no-cache"})

    def people_me(self, request: Request) -> Response:
        access = self._oauth.authenticate(request.header("authorization"), API)
        user = self._user(access, API)
        return Response.json(
            200,
            {
                "id": hydra_id("PEOPLE", user.user_id),
                "emails": [user.email],
                "displayName": user.display_name,
                "orgId": hydra_id("ORGANIZATION", user.org_id),
                "type": "person",
            },
        )

    # Subscriptions ------------------------------------------------------------------------------

    def event_types(self, request: Request) -> Response:
        access = self._caller(request, CONFIG_READ, RESULT, roles=(ROLE_ADMIN, ROLE_SUPERVISOR))
        org_id = self._org(access, request.query.get("orgId"), RESULT)
        data = [
            {"name": name, "resource": name.split(":")[0], "action": name.split(":")[1]}
            for name in rules.EVENT_TYPES
        ]
        return Response.json(200, {"meta": {"orgId": org_id}, "data": data})

    def create_subscription(self, request: Request) -> Response:
        access = self._caller(request, CONFIG_WRITE, RESULT, roles=(ROLE_ADMIN,))
        fields = rules.subscription_fields(
            self._body(request), create=True, allow_loopback=self._allow_loopback()
        )
        org_id = self._org(access, fields.org_id, RESULT)
        user = self._user(access, RESULT)
        subscription = self._store.create_subscription(org_id, fields, user.email)
        logger.info("subscription %s created in org %s", subscription.sub_id, org_id)
        return Response.json(201, {"meta": {"orgId": org_id}, "data": subscription.as_json()})

    def list_subscriptions(self, request: Request) -> Response:
        access = self._caller(request, CONFIG_READ, RESULT, roles=(ROLE_ADMIN, ROLE_SUPERVISOR))
        org_id = self._org(access, request.query.get("orgId"), RESULT)
        found = self._store.subscriptions(org_id)
        return Response.json(
            200,
            {
                "meta": {"orgId": org_id, "subscriptionCount": len(found)},
                "data": [s.as_json() for s in found],
            },
        )

    def get_subscription(self, request: Request) -> Response:
        access = self._caller(request, CONFIG_READ, RESULT, roles=(ROLE_ADMIN, ROLE_SUPERVISOR))
        org_id = self._org(access, request.query.get("orgId"), RESULT)
        subscription = self._store.subscription(org_id, self._subscription_id(request))
        return Response.json(200, {"meta": {"orgId": org_id}, "data": subscription.as_json()})

    def update_subscription(self, request: Request) -> Response:
        access = self._caller(request, CONFIG_WRITE, RESULT, roles=(ROLE_ADMIN,))
        sub_id = self._subscription_id(request)
        fields = rules.subscription_fields(
            self._body(request), create=False, allow_loopback=self._allow_loopback()
        )
        org_id = self._org(access, fields.org_id or request.query.get("orgId"), RESULT)
        subscription = self._store.update_subscription(
            org_id, sub_id, fields, self._user(access, RESULT).email
        )
        return Response.json(200, {"meta": {"orgId": org_id}, "data": subscription.as_json()})

    def delete_subscription(self, request: Request) -> Response:
        access = self._caller(request, CONFIG_WRITE, RESULT, roles=(ROLE_ADMIN,))
        org_id = self._org(access, request.query.get("orgId"), RESULT)
        sub_id = self._subscription_id(request)
        self._store.delete_subscription(org_id, sub_id)
        logger.info("subscription %s deleted in org %s", sub_id, org_id)
        return Response.empty(204)

    # Agents ---------------------------------------------------------------------------------------

    def change_state(self, request: Request) -> Response:
        access = self._caller(request, USER, API)
        body = self._body(request, API)
        state, aux_code = body.get("state"), body.get("auxCodeId")
        reason, agent_id = body.get("lastStateChangeReason"), body.get("agentId")
        if state not in ("Available", "Idle"):
            raise rules.bad("state can be set to Available or Idle", API)
        if not isinstance(aux_code, str) or not aux_code or len(aux_code) > rules.ID_MAX:
            raise rules.bad(f"auxCodeId is required (at most {rules.ID_MAX} characters)", API)
        if reason is not None and (not isinstance(reason, str) or len(reason) > rules.STATE_TEXT_MAX):
            raise rules.bad(f"lastStateChangeReason is at most {rules.STATE_TEXT_MAX} characters", API)
        if agent_id is not None and (
            not isinstance(agent_id, str) or not agent_id or len(agent_id) > rules.ID_MAX
        ):
            raise rules.bad(f"agentId is at most {rules.ID_MAX} characters", API)
        emission = self._store.supervisor_change(
            self._user(access, API), agent_id, IDLE if state == "Idle" else AVAILABLE, aux_code, reason or ""
        )
        self._deliveries.send(emission.deliveries)
        return Response.empty(202, {"TrackingId": request.header("trackingid") or tracking_id()})

    def activities(self, request: Request) -> Response:
        access = self._caller(request, CONFIG_READ, API, roles=(ROLE_ADMIN, ROLE_SUPERVISOR))
        query = rules.activities_query(request.query, millis(self._now()))
        org_id = self._org(access, query.org_id, API)
        found = self._store.activities(org_id, query)
        page = found[query.page * query.page_size : (query.page + 1) * query.page_size]
        return Response.json(200, {"meta": {"orgId": org_id}, "data": page})

    def auxiliary_codes(self, request: Request) -> Response:
        access = self._caller(request, CONFIG_READ, API, roles=(ROLE_ADMIN, ROLE_SUPERVISOR))
        org_id = request.params["org"]
        if self._store.org(org_id) is None:
            raise WebexError(404, f"Organization {org_id} not found", style=API)
        self._org(access, org_id, API)
        try:
            page = int(request.query.get("page") or 0)
            page_size = int(request.query.get("pageSize") or 100)
        except ValueError:
            raise rules.bad("page and pageSize must be integers", API) from None
        if page < 0 or page_size < 1:
            raise rules.bad("page must be 0 or more and pageSize 1 or more", API)
        page_size = min(page_size, rules.MAX_AUX_PAGE_SIZE)
        keep = rules.aux_code_filter(request.query.get("filter"))
        codes = sorted(
            (c for c in self._store.aux_codes(org_id) if keep(c)),
            key=lambda c: (c.work_type_code != IDLE_CODE, c.name),
        )
        total_pages = max(1, math.ceil(len(codes) / page_size))
        base = f"/organization/{org_id}/v2/auxiliary-code"

        def link(number: int) -> str:
            return f"{base}?page={number}&pageSize={page_size}"

        links = {"self": link(page), "first": link(0), "last": link(total_pages - 1)}
        if page + 1 < total_pages:
            links["next"] = link(page + 1)
        if page > 0:
            links["prev"] = link(page - 1)
        meta = {
            "orgid": org_id,
            "page": page,
            "pageSize": page_size,
            "totalPages": total_pages,
            "totalRecords": len(codes),
            "links": links,
        }
        data = [c.as_dto() for c in codes[page * page_size : (page + 1) * page_size]]
        return Response.json(200, {"meta": meta, "data": data})

    # Checks -------------------------------------------------------------------------------------

    def _caller(
        self, request: Request, scope: str, style: str, *, roles: tuple[str, ...] = ()
    ) -> AccessToken:
        access = self._oauth.authenticate(request.header("authorization"), style)
        implied = _IMPLIED.get(scope)
        if scope not in access.scopes and (implied is None or implied not in access.scopes):
            raise WebexError(403, f"Forbidden: the token does not have the {scope} scope", style=style)
        if roles:
            user = self._user(access, style)
            if not any(role in user.roles for role in roles):
                raise WebexError(
                    403,
                    f"Forbidden: this operation needs a user with the role {' or '.join(roles)}",
                    style=style,
                )
        return access

    def _user(self, access: AccessToken, style: str) -> WebexUser:
        user = self._store.user(access.user_id)
        if user is None:
            raise WebexError(401, "Unauthorized, Token is Invalid", style=style)
        return user

    @staticmethod
    def _org(access: AccessToken, requested: str | None, style: str) -> str:
        if requested is not None and requested != access.org_id:
            raise WebexError(403, "Forbidden: the token may not act on this organization", style=style)
        return access.org_id

    @staticmethod
    def _body(request: Request, style: str = RESULT) -> dict[str, Any]:
        if not request.body.strip():
            raise rules.bad("Body is required", style)
        try:
            body = request.json_body()
        except MalformedBody:
            raise rules.bad("Body is invalid JSON.", style) from None
        if not isinstance(body, dict):
            raise rules.bad("Body must be a JSON object.", style)
        return body

    @staticmethod
    def _subscription_id(request: Request) -> str:
        sub_id = request.params["id"]
        if not rules.is_uuid(sub_id):
            raise rules.bad(f"id {sub_id} is not a UUID")
        return sub_id
