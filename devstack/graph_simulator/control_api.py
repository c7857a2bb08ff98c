"""The control API (/_sim, no auth): seed tenants, users, apps; drive presence; inspect and inject faults."""

from __future__ import annotations

import json
import logging
import re
import uuid
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from devstack.graph_simulator.clock import format_graph_datetime, parse_graph_datetime
from devstack.graph_simulator.errors import ControlApiError
from devstack.graph_simulator.faults import FaultInjector, FaultRule, fault_as_json
from devstack.graph_simulator.graph_subscriptions import subscription_to_graph
from devstack.graph_simulator.graph_users import user_to_graph
from devstack.graph_simulator.http_types import Request, Response, Router
from devstack.graph_simulator.models import (
    DEFAULT_APPLICATION_PERMISSIONS,
    DEFAULT_DELEGATED_PERMISSIONS,
    AppRegistration,
    ConsentFailure,
    DeliveryRecord,
    RequestRecord,
    Tenant,
    User,
)
from devstack.graph_simulator.notifications import LIFECYCLE_EVENTS, NotificationService
from devstack.graph_simulator.presence_control import (
    CLIENT,
    PresenceInputError,
    client_id_of,
    client_session_from,
    parse_presence_change,
    presence_kind,
    presence_views,
)
from devstack.graph_simulator.presence_rules import PreferredState, SessionKind
from devstack.graph_simulator.state import SimulatorState
from devstack.graph_simulator.tokens import TokenIssuer

logger = logging.getLogger(__name__)

# The directory role an admin token carries when the body names neither `wids` nor `roles`.
GLOBAL_ADMINISTRATOR = "62e90394-69f5-4237-9190-012177145e10"
CONNECTOR_MANAGE_SCOPE = "Connector.Manage"
MAX_API_TOKEN_SECONDS = 86_400
_API_TOKEN_FIELDS = frozenset(
    {"tenantId", "upn", "oid", "wids", "roles", "scopes", "audience", "expiresInSeconds", "version"}
)
_ADMIN_NAMESPACE = uuid.UUID("6d1e4cbe-3c0f-4c55-9f1d-2b8d6b1f0a77")
_GUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
_T = "(?P<tenant>[^/]+)"
_U = "(?P<user>[^/]+)"

InfoProvider = Callable[[], dict[str, Any]]


def _bad(message: str) -> ControlApiError:
    return ControlApiError(400, "badRequest", message)


def _body(request: Request) -> dict[str, Any]:
    if not request.body:
        return {}
    try:
        body = json.loads(request.body)
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise _bad(f"the body is not JSON: {error}") from error
    if not isinstance(body, dict):
        raise _bad("the body must be a JSON object")
    return body


def _optional_str(body: dict[str, Any], name: str) -> str | None:
    value = body.get(name)
    if value is not None and not isinstance(value, str):
        raise _bad(f"{name} must be a string")
    return value


def _optional_bool(body: dict[str, Any], name: str, default: bool) -> bool:
    value = body.get(name, default)
    if not isinstance(value, bool):
        raise _bad(f"{name} must be true or false")
    return value


def _str_list(body: dict[str, Any], name: str) -> list[str] | None:
    value = body.get(name)
    if value is None:
        return None
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise _bad(f"{name} must be an array of strings")
    return list(value)


def _guid(value: str, name: str) -> str:
    if not _GUID.fullmatch(value):
        raise _bad(f"{name} '{value}' is not a GUID")
    return value.lower()


def tenant_to_json(tenant: Tenant) -> dict[str, Any]:
    return {
        "id": tenant.id,
        "displayName": tenant.display_name,
        "domains": list(tenant.domains),
        "consents": [
            {"clientId": c.client_id, "scope": c.scope, "grantedAt": format_graph_datetime(c.granted_at)}
            for c in tenant.consents.values()
        ],
    }


def user_to_json(user: User) -> dict[str, Any]:
    return {**user_to_graph(user), **presence_views(user)}


def request_to_json(record: RequestRecord) -> dict[str, Any]:
    return {
        "seq": record.seq,
        "kind": record.kind,
        "method": record.method,
        "path": record.path,
        "query": record.query,
        "tenant": record.tenant_id,
        "at": format_graph_datetime(record.at),
        "status": record.status,
    }


def delivery_to_json(record: DeliveryRecord) -> dict[str, Any]:
    return {
        "seq": record.seq,
        "kind": record.kind,
        "url": record.url,
        "subscriptionIds": list(record.subscription_ids),
        "notificationCount": record.notification_count,
        "attempt": record.attempt,
        "status": record.status,
        "error": record.error,
        "latencyMs": round(record.latency_ms, 3),
        "at": format_graph_datetime(record.at),
    }


class ControlApi:
    def __init__(
        self,
        state: SimulatorState,
        issuer: TokenIssuer,
        notifications: NotificationService,
        faults: FaultInjector,
        info: InfoProvider,
        api_audience: str | None = None,
    ) -> None:
        self._state = state
        self._issuer = issuer
        self._notifications = notifications
        self._faults = faults
        self._info = info
        self._api_audience = api_audience

    def register(self, router: Router) -> None:
        add = router.add
        add("GET", "/_sim/info", self.info)
        add("POST", "/_sim/reset", self.reset)
        add("POST", "/_sim/apps", self.register_app)
        add("POST", "/_sim/tokens", self.issue_token)
        add("POST", "/_sim/token", self.issue_api_token)
        add("POST", "/_sim/keys/rotate", self.rotate_keys)
        add("POST", f"/_sim/tenants/{_T}", self.put_tenant)
        add("GET", f"/_sim/tenants/{_T}", self.get_tenant)
        add("POST", f"/_sim/tenants/{_T}/users", self.create_user)
        add("GET", f"/_sim/tenants/{_T}/users", self.list_users)
        add("GET", f"/_sim/tenants/{_T}/users/{_U}", self.get_user)
        add("POST", f"/_sim/tenants/{_T}/users/{_U}/presence", self.set_user_presence)
        add("DELETE", f"/_sim/tenants/{_T}/users/{_U}/presence", self.clear_user_presence)
        add("PUT", f"/_sim/tenants/{_T}/users/{_U}/out-of-office", self.set_out_of_office)
        add("PUT", f"/_sim/tenants/{_T}/users/{_U}/status-message", self.set_status_message)
        add("POST", f"/_sim/tenants/{_T}/users/{_U}/revoke-sessions", self.revoke_sessions)
        add("GET", f"/_sim/tenants/{_T}/subscriptions", self.list_subscriptions)
        add("POST", f"/_sim/tenants/{_T}/consent/next-error", self.fail_next_consent)
        add("DELETE", f"/_sim/tenants/{_T}/consents/(?P<client>[^/]+)", self.revoke_consent)
        add("POST", "/_sim/subscriptions/(?P<id>[^/]+)/lifecycle", self.send_lifecycle)
        add("POST", "/_sim/subscriptions/(?P<id>[^/]+)/expire", self.expire_subscription)
        add("POST", "/_sim/faults", self.add_fault)
        add("GET", "/_sim/faults", self.list_faults)
        add("DELETE", "/_sim/faults", self.clear_faults)
        add("GET", "/_sim/requests", self.list_requests)
        add("DELETE", "/_sim/requests", self.clear_requests)
        add("GET", "/_sim/deliveries", self.list_deliveries)
        add("DELETE", "/_sim/deliveries", self.clear_deliveries)

    def info(self, request: Request) -> Response:
        return Response.json(200, self._info())

    def reset(self, request: Request) -> Response:
        self._state.reset()
        self._faults.clear()
        return Response.empty(204)

    # Apps, tenants, tokens ------------------------------------------------------------------------

    def register_app(self, request: Request) -> Response:
        body = _body(request)
        client_id = _guid(str(body.get("clientId", "")), "clientId")
        app = AppRegistration(
            client_id=client_id,
            display_name=_optional_str(body, "displayName") or client_id,
            secrets=frozenset(_str_list(body, "secrets") or ()),
            redirect_uris=tuple(_str_list(body, "redirectUris") or ()),
            application_permissions=frozenset(
                _str_list(body, "applicationPermissions") or DEFAULT_APPLICATION_PERMISSIONS
            ),
            delegated_permissions=frozenset(
                _str_list(body, "delegatedPermissions") or DEFAULT_DELEGATED_PERMISSIONS
            ),
        )
        self._state.register_app(app)
        return Response.json(
            201,
            {
                "clientId": app.client_id,
                "displayName": app.display_name,
                "secretCount": len(app.secrets),
                "redirectUris": list(app.redirect_uris),
                "applicationPermissions": sorted(app.application_permissions),
                "delegatedPermissions": sorted(app.delegated_permissions),
            },
        )

    def issue_token(self, request: Request) -> Response:
        """A Graph access token without a sign-in flow (tests of the Graph surface only)."""
        body = _body(request)
        tenant = self._existing_tenant(str(body.get("tenantId", "")))
        client_id = _guid(str(body.get("clientId", "")), "clientId")
        app = self._state.app_for(client_id)
        now = self._state.now()
        user_id = body.get("userId")
        if user_id is None:
            roles = _str_list(body, "roles")
            token = self._issuer.app_access_token(
                tenant.id, client_id, roles if roles is not None else app.application_permissions, now
            )
        else:
            user = self._existing_user(tenant.id, str(user_id))
            scopes = _str_list(body, "scopes")
            token = self._issuer.delegated_access_token(
                user, client_id, scopes if scopes is not None else app.delegated_permissions, now
            )
        return Response.json(200, {"access_token": token, "token_type": "Bearer", "expires_in": 3599})

    def issue_api_token(self, request: Request) -> Response:
        """An access token for the connector's own API (an admin calling it), like the Azure CLI gets
        with `az account get-access-token --scope api://<app id>/Connector.Manage`."""
        body = _body(request)
        unknown = sorted(set(body) - _API_TOKEN_FIELDS)
        if unknown:
            raise _bad(
                f"unknown field(s): {', '.join(unknown)}; allowed: {', '.join(sorted(_API_TOKEN_FIELDS))}"
            )
        tenant = self._existing_tenant(str(body.get("tenantId", "")), create=True)
        version = body.get("version", "2.0")
        if version not in ("1.0", "2.0"):
            raise _bad("version must be '1.0' or '2.0'")
        audience = _optional_str(body, "audience")
        if audience is None:
            if not self._api_audience:
                raise _bad("audience is required: the simulator was started without --api-audience")
            audience = self._api_audience if version == "2.0" else f"api://{self._api_audience}"
        lifetime = body.get("expiresInSeconds", 3600)
        if (
            isinstance(lifetime, bool)
            or not isinstance(lifetime, int)
            or abs(lifetime) > MAX_API_TOKEN_SECONDS
        ):
            raise _bad(
                f"expiresInSeconds must be an integer from -{MAX_API_TOKEN_SECONDS} "
                f"to {MAX_API_TOKEN_SECONDS}"
            )
        domain = tenant.domains[0] if tenant.domains else f"{tenant.id[:8]}.example"
        upn = _optional_str(body, "upn") or f"admin@{domain}"
        user = self._state.get_user(tenant.id, upn)
        raw_oid = _optional_str(body, "oid")
        if raw_oid is not None:
            object_id = _guid(raw_oid, "oid")
        elif user is not None:
            object_id = user.id
        else:
            object_id = str(uuid.uuid5(_ADMIN_NAMESPACE, f"{tenant.id}/{upn.lower()}"))
        wids, roles = _str_list(body, "wids"), _str_list(body, "roles")
        if wids is None:
            wids = [GLOBAL_ADMINISTRATOR] if roles is None else []
        scopes = _str_list(body, "scopes")
        token = self._issuer.api_access_token(
            tenant.id,
            audience,
            self._state.now(),
            object_id=object_id,
            username=upn,
            wids=wids,
            roles=roles or [],
            scopes=[CONNECTOR_MANAGE_SCOPE] if scopes is None else scopes,
            lifetime=timedelta(seconds=lifetime),
            version=str(version),
        )
        logger.info(
            "API access token issued in tenant %s for %s (audience %s)", tenant.id, object_id, audience
        )
        return Response.json(200, {"access_token": token, "token_type": "Bearer", "expires_in": lifetime})

    def rotate_keys(self, request: Request) -> Response:
        """A new signing key signs from now on; the previous ones stay in the JWKS unless retired."""
        body = _body(request)
        retire = body.get("retirePrevious", False)
        if not isinstance(retire, bool) or set(body) - {"retirePrevious"}:
            raise _bad("the body may only hold retirePrevious (a boolean)")
        fresh = self._issuer.key.rotate(retire_previous=retire)
        logger.info("signing key rotated: %s now signs", fresh.key_id)
        return Response.json(
            200, {"kid": fresh.key_id, "keys": [k["kid"] for k in self._issuer.key.jwks()["keys"]]}
        )

    def put_tenant(self, request: Request) -> Response:
        tenant_id = _guid(request.params["tenant"], "tenantId")
        body = _body(request)
        try:
            tenant, created = self._state.ensure_tenant(
                tenant_id, _optional_str(body, "displayName"), _str_list(body, "domains") or ()
            )
        except ValueError as error:
            raise ControlApiError(409, "conflict", str(error)) from error
        current = self._state.get_tenant(tenant.id) or tenant
        return Response.json(201 if created else 200, tenant_to_json(current))

    def get_tenant(self, request: Request) -> Response:
        return Response.json(200, tenant_to_json(self._existing_tenant(request.params["tenant"])))

    def fail_next_consent(self, request: Request) -> Response:
        tenant = self._existing_tenant(request.params["tenant"], create=True)
        body = _body(request)
        failure = ConsentFailure(
            _optional_str(body, "error") or "access_denied",
            _optional_str(body, "errorDescription")
            or "AADSTS65004: User declined to consent to access the app.",
        )
        self._state.set_next_consent_failure(tenant.id, failure)
        return Response.empty(204)

    def revoke_consent(self, request: Request) -> Response:
        tenant = self._existing_tenant(request.params["tenant"])
        if not self._state.revoke_consent(tenant.id, request.params["client"]):
            raise ControlApiError(404, "notFound", "no consent for that client id in this tenant")
        return Response.empty(204)

    # Users and presence ---------------------------------------------------------------------------

    def create_user(self, request: Request) -> Response:
        tenant = self._existing_tenant(request.params["tenant"], create=True)
        body = _body(request)
        upn = _optional_str(body, "userPrincipalName")
        if not upn or "@" not in upn:
            raise _bad("userPrincipalName is required and must look like name@domain")
        raw_id = _optional_str(body, "id")
        sessions = {}
        if body.get("presence") is not None:
            presence = body["presence"]
            if not isinstance(presence, dict):
                raise _bad("presence must be an object {availability, activity, clientId?}")
            try:
                # The presence the user's Teams client shows once he is signed in.
                client = client_session_from(presence, self._state.now())
            except PresenceInputError as error:
                raise _bad(f"presence: {error}") from error
            sessions[client.key] = client
        user = User(
            id=_guid(raw_id, "id") if raw_id else str(uuid.uuid4()),
            tenant_id=tenant.id,
            user_principal_name=upn,
            display_name=_optional_str(body, "displayName") or upn.split("@")[0],
            department=_optional_str(body, "department"),
            job_title=_optional_str(body, "jobTitle"),
            business_phones=_str_list(body, "businessPhones") or [],
            mail=_optional_str(body, "mail") or upn,
            given_name=_optional_str(body, "givenName"),
            surname=_optional_str(body, "surname"),
            mobile_phone=_optional_str(body, "mobilePhone"),
            office_location=_optional_str(body, "officeLocation"),
            account_enabled=_optional_bool(body, "accountEnabled", True),
            out_of_office=_optional_bool(body, "outOfOffice", False),
            out_of_office_message=_optional_str(body, "outOfOfficeMessage"),
            status_message=_optional_str(body, "statusMessage"),
            sessions=sessions,
            directory_roles=tuple(_str_list(body, "directoryRoles") or ()),
            app_roles=tuple(_str_list(body, "appRoles") or ()),
        )
        try:
            created = self._state.add_user(user)
        except ValueError as error:
            raise ControlApiError(409, "conflict", str(error)) from error
        return Response.json(201, user_to_json(created))

    def set_out_of_office(self, request: Request) -> Response:
        """The user's automatic replies: {isOutOfOffice, message?} (Graph shows them as
        presence.outOfOfficeSettings and notifies the change)."""
        tenant = self._existing_tenant(request.params["tenant"])
        user = self._state.get_user(tenant.id, request.params["user"])
        if user is None:
            raise ControlApiError(404, "notFound", "no such user")
        body = _body(request)
        on = body.get("isOutOfOffice")
        if not isinstance(on, bool) or set(body) - {"isOutOfOffice", "message"}:
            raise _bad("the body is {isOutOfOffice: true | false, message?: string}")
        message = _optional_str(body, "message")
        updated = self._state.set_out_of_office(tenant.id, user.id, on, message)
        return Response.json(200, user_to_json(updated))

    def set_status_message(self, request: Request) -> Response:
        """The note the user types in Teams himself: {message: string | null} (null clears it)."""
        tenant = self._existing_tenant(request.params["tenant"])
        user = self._existing_user(tenant.id, request.params["user"])
        body = _body(request)
        message = body.get("message")
        if set(body) - {"message"} or not (message is None or isinstance(message, str)):
            raise _bad("the body is {message: string | null}")
        updated = self._state.set_status_message(tenant.id, user.id, message or "", None)
        return Response.json(200, user_to_json(updated))

    def list_users(self, request: Request) -> Response:
        tenant = self._existing_tenant(request.params["tenant"])
        return Response.json(200, {"value": [user_to_json(u) for u in self._state.list_users(tenant.id)]})

    def get_user(self, request: Request) -> Response:
        tenant = self._existing_tenant(request.params["tenant"])
        return Response.json(200, user_to_json(self._existing_user(tenant.id, request.params["user"])))

    def set_user_presence(self, request: Request) -> Response:
        """A Teams client's automatic presence (kind client, the default) or the user's preferred one."""
        tenant = self._existing_tenant(request.params["tenant"])
        user = self._existing_user(tenant.id, request.params["user"])
        try:
            change = parse_presence_change(_body(request), self._state.now())
        except PresenceInputError as error:
            raise _bad(str(error)) from error
        if isinstance(change, PreferredState):
            updated, kind = self._state.set_preferred_presence(tenant.id, user.id, change), "preferred"
        else:
            updated, kind = self._state.set_presence_session(tenant.id, user.id, change), CLIENT
        return Response.json(202, {**user_to_json(updated), "set": kind})

    def clear_user_presence(self, request: Request) -> Response:
        """`?kind=client&clientId=..` (default): the client signs out; `?kind=preferred`: reset status."""
        tenant = self._existing_tenant(request.params["tenant"])
        user = self._existing_user(tenant.id, request.params["user"])
        query = request.query
        try:
            kind = presence_kind(query.get("kind"))
            client_id = client_id_of(query.get("clientId")) if kind == CLIENT else None
        except PresenceInputError as error:
            raise _bad(str(error)) from error
        if client_id is not None:
            self._state.clear_presence_session(tenant.id, user.id, client_id, SessionKind.CLIENT)
        else:
            self._state.set_preferred_presence(tenant.id, user.id, None)
        updated = self._existing_user(tenant.id, user.id)
        return Response.json(202, {**user_to_json(updated), "cleared": kind})

    def revoke_sessions(self, request: Request) -> Response:
        tenant = self._existing_tenant(request.params["tenant"])
        user = self._existing_user(tenant.id, request.params["user"])
        revoked = self._state.revoke_sign_in_sessions(tenant.id, user.id)
        return Response.json(200, {"revokedRefreshTokens": revoked})

    # Subscriptions --------------------------------------------------------------------------------

    def list_subscriptions(self, request: Request) -> Response:
        tenant = self._existing_tenant(request.params["tenant"])
        subs = self._state.list_subscriptions(tenant.id)
        return Response.json(
            200,
            {
                "value": [
                    {
                        **subscription_to_graph(s),
                        "tenantId": s.tenant_id,
                        "creator": s.creator_id,
                        "userIds": list(s.user_ids),
                        "createdDateTime": format_graph_datetime(s.created_at),
                    }
                    for s in subs
                ]
            },
        )

    def send_lifecycle(self, request: Request) -> Response:
        subscription = self._state.get_subscription(request.params["id"])
        if subscription is None:
            raise ControlApiError(404, "notFound", "no such subscription")
        event = _optional_str(_body(request), "lifecycleEvent") or "reauthorizationRequired"
        if event not in LIFECYCLE_EVENTS:
            raise _bad(f"lifecycleEvent must be one of {sorted(LIFECYCLE_EVENTS)}")
        if not self._notifications.send_lifecycle(subscription, event):
            raise ControlApiError(409, "noLifecycleUrl", "the subscription has no lifecycleNotificationUrl")
        return Response.json(202, {"subscriptionId": subscription.id, "lifecycleEvent": event})

    def expire_subscription(self, request: Request) -> Response:
        """Graph lost the subscription: it vanishes without any notification (presence has no `missed`)."""
        if not self._state.delete_subscription(request.params["id"]):
            raise ControlApiError(404, "notFound", "no such subscription")
        return Response.empty(204)

    # Faults and records ---------------------------------------------------------------------------

    def add_fault(self, request: Request) -> Response:
        body = _body(request)
        prefix = _optional_str(body, "pathPrefix")
        if not prefix or not prefix.startswith("/v1.0/"):
            raise _bad("pathPrefix is required and must start with /v1.0/")
        status = body.get("status", 429)
        if status not in (429, 503):
            raise _bad("status must be 429 or 503")
        count, retry_after = body.get("count", 1), body.get("retryAfterSeconds", 1)
        if not isinstance(count, int) or count < 1 or not isinstance(retry_after, int) or retry_after < 0:
            raise _bad("count must be a positive integer and retryAfterSeconds a non-negative integer")
        method = _optional_str(body, "method")
        rule = FaultRule(prefix, method.upper() if method else None, count, int(status), retry_after)
        self._faults.add(rule)
        return Response.json(201, fault_as_json(rule))

    def list_faults(self, request: Request) -> Response:
        return Response.json(200, {"value": [fault_as_json(r) for r in self._faults.rules()]})

    def clear_faults(self, request: Request) -> Response:
        self._faults.clear()
        return Response.empty(204)

    def list_requests(self, request: Request) -> Response:
        since_raw = request.query.get("since")
        try:
            since = parse_graph_datetime(since_raw) if since_raw else None
        except ValueError as error:
            raise _bad("since must be an ISO 8601 date-time with an offset") from error
        return Response.json(200, {"value": [request_to_json(r) for r in self._state.requests(since)]})

    def clear_requests(self, request: Request) -> Response:
        self._state.clear_requests()
        return Response.empty(204)

    def list_deliveries(self, request: Request) -> Response:
        return Response.json(200, {"value": [delivery_to_json(d) for d in self._state.deliveries()]})

    def clear_deliveries(self, request: Request) -> Response:
        self._state.clear_deliveries()
        return Response.empty(204)

    # Helpers --------------------------------------------------------------------------------------

    def _existing_tenant(self, reference: str, *, create: bool = False) -> Tenant:
        tenant = self._state.get_tenant(reference)
        if tenant is None and create:
            tenant, _ = self._state.ensure_tenant(_guid(reference, "tenantId"))
        if tenant is None:
            raise ControlApiError(404, "notFound", f"tenant {reference} does not exist")
        return tenant

    def _existing_user(self, tenant_id: str, reference: str) -> User:
        user = self._state.get_user(tenant_id, reference)
        if user is None:
            raise ControlApiError(404, "notFound", f"user {reference} does not exist in tenant {tenant_id}")
        return user
