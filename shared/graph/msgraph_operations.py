"""The Graph calls the gateway makes through msgraph-sdk, with conversion to shared.graph.model.

The directory reads (a users page, getPresencesByUserId) skip the SDK: see shared.graph.json_reads.

Imports msgraph-sdk at module level: only shared.graph.msgraph_gateway imports this module, and only
on the first Graph call. SDK errors propagate; the gateway maps them.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from kiota_abstractions.base_request_configuration import RequestConfiguration
from msgraph.generated.models.subscription import Subscription
from msgraph.generated.models.user import User
from msgraph.generated.models.user_collection_response import UserCollectionResponse
from msgraph.generated.subscriptions.item.reauthorize.reauthorize_request_builder import (
    ReauthorizeRequestBuilder,
)
from msgraph.generated.subscriptions.item.subscription_item_request_builder import (
    SubscriptionItemRequestBuilder,
)
from msgraph.generated.subscriptions.subscriptions_request_builder import SubscriptionsRequestBuilder
from msgraph.generated.users.item.presence.clear_presence.clear_presence_post_request_body import (
    ClearPresencePostRequestBody,
)
from msgraph.generated.users.item.presence.presence_request_builder import PresenceRequestBuilder
from msgraph.generated.users.item.presence.set_presence.set_presence_post_request_body import (
    SetPresencePostRequestBody,
)
from msgraph.generated.users.item.user_item_request_builder import UserItemRequestBuilder
from msgraph.generated.users.users_request_builder import UsersRequestBuilder
from msgraph.graph_service_client import GraphServiceClient

from shared.graph.durations import iso8601_duration
from shared.graph.exceptions import GraphError
from shared.graph.model import (
    DirectoryUser,
    GraphSubscription,
    SubscriptionRequest,
    UserQuery,
)
from shared.graph.odata import USER_SELECT, user_search

# The request builders the calls below reach through properties that import them on first use.
_REQUEST_BUILDERS = (
    UsersRequestBuilder,
    UserItemRequestBuilder,
    PresenceRequestBuilder,
    SubscriptionsRequestBuilder,
    SubscriptionItemRequestBuilder,
    ReauthorizeRequestBuilder,
)
# The bodies the calls below write or parse.
_MODELS = (
    User,
    UserCollectionResponse,
    Subscription,
    SetPresencePostRequestBody,
    ClearPresencePostRequestBody,
)


def load_models() -> None:
    """Import now what msgraph-sdk imports on its first parse or write of each model.

    A model's get_field_deserializers() imports every model it refers to: over a thousand modules for
    User, seconds of CPU on a quiet machine and over 20 s on a loaded one. Done inside the first Graph
    call, that time counts against the call's timeout, and the call fails (or, for a create, succeeds in
    Graph while we give up on it). The gateway calls this once before it starts any call's clock.
    """
    for model in _MODELS:
        model().get_field_deserializers()


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
