"""The Graph gateway the services call: synchronous, because Functions handlers are."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Protocol

from shared.graph.model import (
    DirectoryUser,
    GraphSubscription,
    Presence,
    SubscriptionRequest,
    UserPage,
    UserPageRequest,
    UserQuery,
)

# Returns a bearer access token for Graph, already bound to one (tenant, sync account); it owns
# caching and refreshing (MSAL). It may raise an AppError of its own, which reaches the caller as is.
DelegatedTokenProvider = Callable[[], str]


class GraphGateway(Protocol):
    """Every method raises a shared.graph.exceptions.GraphError subclass when Graph refuses or fails."""

    # App-only calls, with the app's own credential in the given tenant.

    def get_user(self, tenant_id: str, id_or_upn: str) -> DirectoryUser | None:
        """The user by object id or userPrincipalName; None when the directory has no such user."""
        ...

    def search_users(self, tenant_id: str, query: UserQuery) -> list[DirectoryUser]:
        """At most `query.top` users matching every given criterion."""
        ...

    def list_users_page(self, tenant_id: str, request: UserPageRequest) -> UserPage:
        """One page of an advanced `/users` query (ConsistencyLevel: eventual, $count=true)."""
        ...

    def get_presences(self, tenant_id: str, user_ids: Sequence[str]) -> list[Presence]:
        """The presence of each known user (unknown ids are left out), 650 ids per Graph call."""
        ...

    def set_presence(
        self,
        tenant_id: str,
        user_id: str,
        session_id: str,
        availability: str,
        activity: str,
        expiration: timedelta,
    ) -> None:
        """Set or renew the application presence session `session_id` (Graph allows 5 min to 4 h)."""
        ...

    def clear_presence(self, tenant_id: str, user_id: str, session_id: str) -> bool:
        """Remove the session; False when Graph has no such session (already expired or cleared)."""
        ...

    def set_status_message(
        self, tenant_id: str, user_id: str, content: str, expires_at: datetime | None
    ) -> None:
        """Set the user's Teams status message (setStatusMessage); content "" clears it."""
        ...

    # Delegated calls, with a sync account's token (presence subscriptions accept nothing else).

    def create_subscription(
        self, tenant_id: str, token_provider: DelegatedTokenProvider, request: SubscriptionRequest
    ) -> GraphSubscription:
        """Create it; Graph runs the validation handshake first. GraphConflict on a duplicate."""
        ...

    def renew_subscription(
        self,
        tenant_id: str,
        token_provider: DelegatedTokenProvider,
        subscription_id: str,
        expiration: datetime,
    ) -> GraphSubscription:
        """Move the expiration; GraphNotFound when Graph no longer has the subscription."""
        ...

    def delete_subscription(
        self, tenant_id: str, token_provider: DelegatedTokenProvider, subscription_id: str
    ) -> None:
        """Delete it; a subscription Graph no longer has counts as deleted."""
        ...

    def reauthorize_subscription(
        self, tenant_id: str, token_provider: DelegatedTokenProvider, subscription_id: str
    ) -> None:
        """Answer a `reauthorizationRequired` lifecycle event."""
        ...
