"""Each Graph call the gateway makes, as an msgraph-sdk coroutine, with conversion to shared.graph.model.

Imports msgraph-sdk at module level: only shared.graph.msgraph_gateway imports this module, and only
on the first Graph call. SDK errors propagate; the gateway maps them.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import quote

from kiota_abstractions.base_request_configuration import RequestConfiguration
from kiota_abstractions.method import Method
from kiota_abstractions.request_information import RequestInformation
from msgraph.generated.communications.get_presences_by_user_id.get_presences_by_user_id_post_request_body import (  # noqa: E501
    GetPresencesByUserIdPostRequestBody,
)
from msgraph.generated.models.presence import Presence as SdkPresence
from msgraph.generated.models.subscription import Subscription
from msgraph.generated.models.user import User
from msgraph.generated.users.item.presence.clear_presence.clear_presence_post_request_body import (
    ClearPresencePostRequestBody,
)
from msgraph.generated.users.item.presence.set_presence.set_presence_post_request_body import (
    SetPresencePostRequestBody,
)
from msgraph.generated.users.item.user_item_request_builder import UserItemRequestBuilder
from msgraph.generated.users.users_request_builder import UsersRequestBuilder
from msgraph.graph_service_client import GraphServiceClient

from shared.graph.durations import iso8601_duration
from shared.graph.error_mapping import graph_error_for_status
from shared.graph.exceptions import GraphError
from shared.graph.model import (
    DirectoryUser,
    GraphSubscription,
    Presence,
    SubscriptionRequest,
    UserQuery,
    shown_activity,
)
from shared.graph.odata import MAX_BATCH_REQUESTS, USER_SELECT, user_search


async def get_user(client: GraphServiceClient, id_or_upn: str) -> DirectoryUser:
    # Like Graph itself, a user read without $select would leave department out.
    config = RequestConfiguration(
        query_parameters=UserItemRequestBuilder.UserItemRequestBuilderGetQueryParameters(
            select=list(USER_SELECT)
        )
    )
    user = await client.users.by_user_id(id_or_upn).get(request_configuration=config)
    if user is None:
        raise GraphError("Graph answered a user read without a body")
    return directory_user(user)


async def get_users_batch(
    client: GraphServiceClient, ids_or_upns: list[str]
) -> dict[str, DirectoryUser | GraphError | None]:
    """Up to MAX_BATCH_REQUESTS user reads in one `$batch` call: per reference the user, None (404) or
    the GraphError of that read (a 429 of one read does not fail the others). The batch answer is one
    JSON document; msgraph-core's batch helpers are not used because they send absolute URLs."""
    if not 1 <= len(ids_or_upns) <= MAX_BATCH_REQUESTS:
        raise ValueError(f"a batch holds 1 to {MAX_BATCH_REQUESTS} requests")
    select = ",".join(USER_SELECT)
    requests = [
        {"id": str(index), "method": "GET", "url": f"/users/{quote(ref, safe='@')}?$select={select}"}
        for index, ref in enumerate(ids_or_upns)
    ]
    info = RequestInformation(Method.POST, "{+baseurl}/$batch", {"baseurl": client.request_adapter.base_url})
    info.headers.try_add("Accept", "application/json")
    info.set_stream_content(json.dumps({"requests": requests}).encode(), "application/json")
    raw: Any = await client.request_adapter.send_primitive_async(info, "bytes", None)
    answer = json.loads(raw or b"{}")
    results: dict[str, DirectoryUser | GraphError | None] = {}
    for item in answer.get("responses") or []:
        index = int(item["id"])
        status = int(item["status"])
        body: dict[str, Any] = item["body"] if isinstance(item.get("body"), dict) else {}
        if status == 200:
            results[ids_or_upns[index]] = directory_user_from_json(body)
        elif status == 404:
            results[ids_or_upns[index]] = None
        else:
            error: dict[str, Any] = body["error"] if isinstance(body.get("error"), dict) else {}
            headers: dict[str, Any] = item["headers"] if isinstance(item.get("headers"), dict) else {}
            retry_after = next((str(v) for k, v in headers.items() if k.lower() == "retry-after"), None)
            results[ids_or_upns[index]] = graph_error_for_status(
                status, error.get("code"), error.get("message"), retry_after_header=retry_after
            )
    missing = [ref for ref in ids_or_upns if ref not in results]
    if missing:
        raise GraphError(f"Graph's batch answer left out {len(missing)} of its requests")
    return results


def directory_user_from_json(body: dict[str, Any]) -> DirectoryUser:
    user_id = body.get("id")
    if not isinstance(user_id, str) or not user_id:
        raise GraphError("Graph returned a user without an id")
    return DirectoryUser(
        id=user_id,
        display_name=_text(body.get("displayName")),
        user_principal_name=_text(body.get("userPrincipalName")),
        department=_text(body.get("department")),
        job_title=_text(body.get("jobTitle")),
        business_phones=tuple(str(phone) for phone in (body.get("businessPhones") or []) if phone),
    )


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) else None


async def search_users(client: GraphServiceClient, query: UserQuery) -> list[DirectoryUser]:
    search, filter_expression = user_search(query)
    config = RequestConfiguration(
        query_parameters=UsersRequestBuilder.UsersRequestBuilderGetQueryParameters(
            search=search,
            filter=filter_expression,
            select=list(USER_SELECT),
            count=True,
            top=query.top,
        )
    )
    # $search, $count and startswith on department/jobTitle are advanced queries: they need this.
    config.headers.add("ConsistencyLevel", "eventual")
    page = await client.users.get(request_configuration=config)
    return [directory_user(user) for user in (page.value if page and page.value else [])]


async def get_presences(client: GraphServiceClient, user_ids: list[str]) -> list[Presence]:
    body = GetPresencesByUserIdPostRequestBody(ids=user_ids)
    response = await client.communications.get_presences_by_user_id.post(body)
    return [presence(item) for item in (response.value if response and response.value else [])]


async def set_presence(
    client: GraphServiceClient,
    user_id: str,
    session_id: str,
    availability: str,
    activity: str,
    expiration: timedelta,
) -> None:
    body = SetPresencePostRequestBody(
        session_id=session_id,
        availability=availability,
        activity=activity,
        # The SDK writes a timedelta as "0:05:00", which Graph rejects; Edm.Duration is ISO 8601.
        additional_data={"expirationDuration": iso8601_duration(expiration)},
    )
    await client.users.by_user_id(user_id).presence.set_presence.post(body)


async def clear_presence(client: GraphServiceClient, user_id: str, session_id: str) -> None:
    body = ClearPresencePostRequestBody(session_id=session_id)
    await client.users.by_user_id(user_id).presence.clear_presence.post(body)


async def create_subscription(client: GraphServiceClient, request: SubscriptionRequest) -> GraphSubscription:
    body = Subscription(
        resource=request.resource,
        change_type=request.change_type,
        notification_url=request.notification_url,
        lifecycle_notification_url=request.lifecycle_notification_url,
        expiration_date_time=request.expiration,
        client_state=request.client_state,
        include_resource_data=request.include_resource_data,
        encryption_certificate=request.encryption_certificate,
        encryption_certificate_id=request.encryption_certificate_id,
    )
    created = await client.subscriptions.post(body)
    if created is None:
        raise GraphError("Graph answered a subscription create without a body")
    return graph_subscription(created)


async def renew_subscription(
    client: GraphServiceClient, subscription_id: str, expiration: datetime
) -> GraphSubscription:
    # Graph allows nothing but expirationDateTime in a PATCH of a subscription.
    renewed = await client.subscriptions.by_subscription_id(subscription_id).patch(
        Subscription(expiration_date_time=expiration)
    )
    if renewed is None:
        raise GraphError("Graph answered a subscription renewal without a body")
    return graph_subscription(renewed)


async def delete_subscription(client: GraphServiceClient, subscription_id: str) -> None:
    await client.subscriptions.by_subscription_id(subscription_id).delete()


async def reauthorize_subscription(client: GraphServiceClient, subscription_id: str) -> None:
    await client.subscriptions.by_subscription_id(subscription_id).reauthorize.post()


def directory_user(user: User) -> DirectoryUser:
    if not user.id:
        raise GraphError("Graph returned a user without an id")
    return DirectoryUser(
        id=user.id,
        display_name=user.display_name,
        user_principal_name=user.user_principal_name,
        department=user.department,
        job_title=user.job_title,
        business_phones=tuple(phone for phone in (user.business_phones or []) if phone),
    )


def presence(item: SdkPresence) -> Presence:
    if not item.id:
        raise GraphError("Graph returned a presence without a user id")
    settings = item.out_of_office_settings
    return Presence(
        user_id=item.id,
        availability=item.availability or "PresenceUnknown",
        activity=shown_activity(
            item.activity or "PresenceUnknown", settings is not None and settings.is_out_of_office is True
        ),
        sequence_number=item.sequence_number,
    )


def graph_subscription(subscription: Subscription) -> GraphSubscription:
    if not subscription.id or not subscription.resource or subscription.expiration_date_time is None:
        raise GraphError("Graph returned a subscription without id, resource or expirationDateTime")
    return GraphSubscription(
        id=subscription.id,
        resource=subscription.resource,
        expiration=subscription.expiration_date_time,
        change_type=subscription.change_type,
        notification_url=subscription.notification_url,
        lifecycle_notification_url=subscription.lifecycle_notification_url,
        client_state=subscription.client_state,
        include_resource_data=bool(subscription.include_resource_data),
        encryption_certificate_id=subscription.encryption_certificate_id,
        creator_id=subscription.creator_id,
    )
