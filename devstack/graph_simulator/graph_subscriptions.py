"""Graph change-notification subscriptions for presence: create, read, renew, delete, reauthorize."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from typing import Any

from devstack.graph_simulator.clock import format_graph_datetime
from devstack.graph_simulator.errors import GraphApiError
from devstack.graph_simulator.http_types import Request, Response, Router
from devstack.graph_simulator.models import Caller, Subscription
from devstack.graph_simulator.state import SimulatorState, SubscriptionConflictError
from devstack.graph_simulator.subscription_rules import (
    TLS_VERSIONS,
    check_client_state,
    check_create_properties,
    check_encryption,
    check_expiration,
    check_notification_url,
    parse_presence_resource,
)

logger = logging.getLogger(__name__)

GRAPH_CONTEXT = "https://graph.microsoft.com/v1.0/$metadata"
Authenticator = Callable[[Request], Caller]
EndpointValidator = Callable[[str, str | None], None]


def subscription_to_graph(sub: Subscription) -> dict[str, Any]:
    return {
        "id": sub.id,
        "resource": sub.resource,
        "applicationId": sub.application_id,
        "changeType": sub.change_type,
        "clientState": sub.client_state,
        "notificationUrl": sub.notification_url,
        "notificationQueryOptions": sub.notification_query_options,
        "lifecycleNotificationUrl": sub.lifecycle_notification_url,
        "expirationDateTime": format_graph_datetime(sub.expiration),
        "creatorId": sub.creator_id,
        "includeResourceData": sub.include_resource_data,
        "latestSupportedTlsVersion": sub.latest_supported_tls_version,
        "encryptionCertificate": sub.encryption_certificate,
        "encryptionCertificateId": sub.encryption_certificate_id,
        "notificationUrlAppId": sub.notification_url_app_id,
    }


def _operation_error(status: int, operation: str, reason: str) -> GraphApiError:
    phrase = {403: "Forbidden", 404: "NotFound", 409: "Conflict"}[status]
    return GraphApiError(
        status,
        "ExtensionError",
        f"Operation: {operation}; Exception: [Status Code: {phrase}; Reason: {reason}]",
    )


class SubscriptionsApi:
    def __init__(
        self, state: SimulatorState, authenticate: Authenticator, validate_endpoint: EndpointValidator
    ) -> None:
        self._state = state
        self._authenticate = authenticate
        self._validate_endpoint = validate_endpoint

    def register(self, router: Router) -> None:
        router.add("POST", "/v1\\.0/subscriptions", self.create)
        router.add("GET", "/v1\\.0/subscriptions", self.list)
        router.add("GET", "/v1\\.0/subscriptions/(?P<id>[^/]+)", self.get)
        router.add("PATCH", "/v1\\.0/subscriptions/(?P<id>[^/]+)", self.patch)
        router.add("DELETE", "/v1\\.0/subscriptions/(?P<id>[^/]+)", self.delete)
        router.add("POST", "/v1\\.0/subscriptions/(?P<id>[^/]+)/reauthorize", self.reauthorize)

    def create(self, request: Request) -> Response:
        caller = self._authenticate(request)
        body = request.json_object()
        check_create_properties(body)
        resource = body.get("resource")
        if not isinstance(resource, str) or not resource:
            raise GraphApiError(400, "InvalidRequest", "resource is required.")
        user_ids = parse_presence_resource(resource)
        if caller.user_id is None:
            raise _operation_error(
                403,
                "Create",
                "The request is not authorized for this user or application. Application permissions are not "
                "supported for presence subscriptions; use a delegated token with Presence.Read.All.",
            )
        reads_only_self = user_ids == (caller.user_id,) and "Presence.Read" in caller.scopes
        if "Presence.Read.All" not in caller.scopes and not reads_only_self:
            raise _operation_error(
                403,
                "Create",
                "The request is not authorized for this user or application (Presence.Read.All).",
            )
        if body.get("changeType") != "updated":
            raise GraphApiError(
                400,
                "InvalidRequest",
                f"changeType '{body.get('changeType')}' is not supported: presence supports 'updated'.",
            )
        notification_url = check_notification_url(
            body.get("notificationUrl"), "notificationUrl", required=True
        )
        lifecycle_url = check_notification_url(
            body.get("lifecycleNotificationUrl"), "lifecycleNotificationUrl", required=False
        )
        client_state = check_client_state(body.get("clientState"))
        encryption = check_encryption(body)
        tls = body.get("latestSupportedTlsVersion") or "v1_2"
        if tls not in TLS_VERSIONS:
            raise GraphApiError(400, "InvalidRequest", f"latestSupportedTlsVersion '{tls}' is not valid.")
        expiration = check_expiration(body.get("expirationDateTime"), self._state.now())
        existing = self._state.find_presence_subscription_of(caller.tenant_id, caller.app_id, caller.user_id)
        if existing is not None:
            raise self._conflict(existing.id)
        if notification_url is None:
            raise GraphApiError(400, "InvalidRequest", "notificationUrl is required.")
        subscription = Subscription(
            id=str(uuid.uuid4()),
            tenant_id=caller.tenant_id,
            application_id=caller.app_id,
            creator_id=caller.user_id,
            resource=resource,
            user_ids=user_ids,
            change_type="updated",
            notification_url=notification_url,
            lifecycle_notification_url=lifecycle_url,
            client_state=client_state,
            expiration=expiration,
            include_resource_data=encryption is not None,
            encryption_certificate=encryption.certificate if encryption else None,
            encryption_certificate_id=encryption.certificate_id if encryption else None,
            latest_supported_tls_version=str(tls),
            notification_url_app_id=body.get("notificationUrlAppId"),
            notification_query_options=body.get("notificationQueryOptions"),
            created_at=self._state.now(),
        )
        # Network I/O happens without the state lock; the conflict check is repeated on insert.
        self._validate_endpoint(notification_url, subscription.id)
        if lifecycle_url is not None:
            self._validate_endpoint(lifecycle_url, subscription.id)
        try:
            self._state.add_subscription(subscription)
        except SubscriptionConflictError as conflict:
            raise self._conflict(conflict.existing_id) from conflict
        logger.info(
            "subscription %s created in tenant %s by user %s for app %s over %d users",
            subscription.id,
            subscription.tenant_id,
            subscription.creator_id,
            subscription.application_id,
            len(user_ids),
        )
        return Response.json(
            201,
            {
                "@odata.context": f"{GRAPH_CONTEXT}#subscriptions/$entity",
                **subscription_to_graph(subscription),
            },
        )

    @staticmethod
    def _conflict(existing_id: str) -> GraphApiError:
        return _operation_error(
            409,
            "Create",
            "A presence subscription for this user and application "
            f"already exists (subscription {existing_id}). "
            "Only one presence subscription per user per application is allowed.",
        )

    def _visible(self, caller: Caller, subscription_id: str) -> Subscription:
        sub = self._state.get_subscription(subscription_id)
        if (
            sub is None
            or sub.tenant_id != caller.tenant_id
            or sub.application_id.lower() != caller.app_id.lower()
            or (caller.user_id is not None and sub.creator_id != caller.user_id)
        ):
            raise _operation_error(404, "Get", "The object was not found.")
        return sub

    def _as_creator(self, caller: Caller, sub: Subscription, operation: str) -> None:
        if caller.user_id != sub.creator_id:
            raise _operation_error(
                403,
                operation,
                "Presence subscriptions can only be renewed or "
                "reauthorized with a delegated token of the user "
                "who created them.",
            )

    def list(self, request: Request) -> Response:
        caller = self._authenticate(request)
        subs = [
            s
            for s in self._state.list_subscriptions(caller.tenant_id)
            if s.application_id.lower() == caller.app_id.lower()
            and (caller.user_id is None or s.creator_id == caller.user_id)
        ]
        return Response.json(
            200,
            {
                "@odata.context": f"{GRAPH_CONTEXT}#subscriptions",
                "value": [subscription_to_graph(s) for s in subs],
            },
        )

    def get(self, request: Request) -> Response:
        caller = self._authenticate(request)
        sub = self._visible(caller, request.params["id"])
        return Response.json(
            200, {"@odata.context": f"{GRAPH_CONTEXT}#subscriptions/$entity", **subscription_to_graph(sub)}
        )

    def patch(self, request: Request) -> Response:
        caller = self._authenticate(request)
        sub = self._visible(caller, request.params["id"])
        self._as_creator(caller, sub, "Update")
        body = request.json_object()
        for name in body:
            if name != "expirationDateTime" and not name.startswith("@odata."):
                raise GraphApiError(
                    400,
                    "InvalidRequest",
                    f"Property '{name}' cannot be updated: only expirationDateTime can be changed.",
                )
        expiration = check_expiration(body.get("expirationDateTime"), self._state.now())
        self._validate_endpoint(sub.notification_url, sub.id)
        updated = self._state.set_subscription_expiration(sub.id, expiration)
        if updated is None:
            raise _operation_error(404, "Update", "The object was not found.")
        logger.info("subscription %s renewed until %s", sub.id, format_graph_datetime(expiration))
        return Response.json(
            200,
            {"@odata.context": f"{GRAPH_CONTEXT}#subscriptions/$entity", **subscription_to_graph(updated)},
        )

    def delete(self, request: Request) -> Response:
        caller = self._authenticate(request)
        sub = self._visible(caller, request.params["id"])
        self._state.delete_subscription(sub.id)
        logger.info("subscription %s deleted in tenant %s", sub.id, sub.tenant_id)
        return Response.empty(204)

    def reauthorize(self, request: Request) -> Response:
        caller = self._authenticate(request)
        sub = self._visible(caller, request.params["id"])
        self._as_creator(caller, sub, "Reauthorize")
        self._validate_endpoint(sub.notification_url, sub.id)
        logger.info("subscription %s reauthorized", sub.id)
        return Response.empty(204)
