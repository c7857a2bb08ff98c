"""The GraphGateway on msgraph-sdk.

msgraph-sdk is imported on the first Graph call, never when this module is imported or the gateway
is built: the notification hot path loads shared/ but must not pay the SDK's import time. The SDK is
async and the callers are not: every call runs on one event loop in a daemon thread, where the shared
HTTP client, the per-tenant clients and their credentials (with their cached tokens) live.
"""

from __future__ import annotations

import importlib
import logging
import threading
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from datetime import UTC, datetime, timedelta
from types import TracebackType
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import quote, urlsplit

from shared.errors import AppError
from shared.graph.credentials import AppCredentialFactory
from shared.graph.delegated_credential import DelegatedTokenCredential
from shared.graph.error_mapping import graph_error_for_status, graph_error_from
from shared.graph.event_loop_thread import EventLoopThread
from shared.graph.exceptions import GraphError, GraphNotFound, GraphUnavailable
from shared.graph.json_reads import (
    batch_users_from_json,
    odata_error_of,
    presences_from_json,
    user_page_from_json,
)
from shared.graph.model import (
    DirectoryUser,
    GraphSubscription,
    Presence,
    SubscriptionRequest,
    UserPage,
    UserPageRequest,
    UserQuery,
)
from shared.graph.odata import MAX_BATCH_REQUESTS, USER_SELECT, unique_chunks
from shared.graph.ports import DelegatedTokenProvider

if TYPE_CHECKING:
    import httpx
    from azure.core.credentials_async import AsyncTokenCredential
    from msgraph.graph_service_client import GraphServiceClient

logger = logging.getLogger(__name__)

T = TypeVar("T")

DEFAULT_GRAPH_BASE_URL = "https://graph.microsoft.com/v1.0"
GRAPH_SCOPE = "https://graph.microsoft.com/.default"
# Bearer tokens may travel over plain http only to this machine (the local Graph simulator).
_LOOPBACK_HOSTS = frozenset({"localhost", "127.0.0.1", "::1"})


class MsGraphGateway:
    """Thread-safe; call `close()` (or use it as a context manager) to release connections."""

    def __init__(
        self,
        credential_factory: AppCredentialFactory,
        base_url: str = DEFAULT_GRAPH_BASE_URL,
        *,
        timeout_seconds: float = 30.0,
        max_retries: int = 0,
    ) -> None:
        """`credential_factory(tenant_id)` gives the app-only credential for a tenant (built once per
        tenant); `timeout_seconds` bounds each Graph call, token acquisition included; `max_retries`
        lets the SDK retry 429/503/504 itself after Retry-After (0: the caller gets GraphThrottled).
        """
        if timeout_seconds <= 0:
            raise ValueError("timeout_seconds must be positive")
        if max_retries < 0:
            raise ValueError("max_retries must not be negative")
        self._credential_factory = credential_factory
        self._base_url = base_url.rstrip("/")
        self._timeout_seconds = timeout_seconds
        self._max_retries = max_retries
        self._loop_thread = EventLoopThread("msgraph-gateway")
        self._close_lock = threading.Lock()
        self._closed = False
        self._models_loaded = threading.Event()
        self._models_lock = threading.Lock()
        # Touched only on the loop thread, so they need no lock.
        self._http_client: httpx.AsyncClient | None = None
        self._app_clients: dict[str, GraphServiceClient] = {}
        self._app_credentials: dict[str, AsyncTokenCredential] = {}
        # Plain httpx for the JSON reads that skip msgraph-sdk (shared.graph.json_reads).
        self._json_client: httpx.AsyncClient | None = None

    # App-only -------------------------------------------------------------------------------

    def get_user(self, tenant_id: str, id_or_upn: str) -> DirectoryUser | None:
        from shared.graph import msgraph_operations

        try:
            return self._app_call(
                tenant_id, "get user", lambda client: msgraph_operations.get_user(client, id_or_upn)
            )
        except GraphNotFound:
            return None

    def get_users(
        self, tenant_id: str, ids_or_upns: Sequence[str]
    ) -> dict[str, DirectoryUser | GraphError | None]:
        """Many user reads, 20 per `$batch` call (JSON batching, relative URLs): per reference the user,
        None when the directory has none, or the GraphError of that one read (a 429 of one read does
        not fail the others). A failure of a whole batch call raises."""
        select = ",".join(USER_SELECT)
        results: dict[str, DirectoryUser | GraphError | None] = {}
        for chunk in unique_chunks(ids_or_upns, MAX_BATCH_REQUESTS):
            requests = [
                {"id": str(index), "method": "GET", "url": f"/users/{quote(ref, safe='@')}?$select={select}"}
                for index, ref in enumerate(chunk)
            ]
            body = self._json_call(
                tenant_id, "get users ($batch)", "POST", "/$batch", body={"requests": requests}
            )
            results.update(batch_users_from_json(body, chunk))
        return results

    def search_users(self, tenant_id: str, query: UserQuery) -> list[DirectoryUser]:
        from shared.graph import msgraph_operations

        return self._app_call(
            tenant_id, "search users", lambda client: msgraph_operations.search_users(client, query)
        )

    def list_users_page(self, tenant_id: str, request: UserPageRequest) -> UserPage:
        params = {"$select": ",".join(request.select), "$top": str(request.top), "$count": "true"}
        if request.search is not None:
            params["$search"] = request.search
        if request.filter is not None:
            params["$filter"] = request.filter
        if request.skip_token is not None:
            params["$skiptoken"] = request.skip_token
        # $search, $count, ne/not and startswith on department are advanced queries: they need this.
        body = self._json_call(
            tenant_id, "list users", "GET", "/users", params=params, headers={"ConsistencyLevel": "eventual"}
        )
        return user_page_from_json(body)

    def get_presences(self, tenant_id: str, user_ids: Sequence[str]) -> list[Presence]:
        presences: list[Presence] = []
        for chunk in unique_chunks(user_ids):
            body = self._json_call(
                tenant_id,
                "get presences",
                "POST",
                "/communications/getPresencesByUserId",
                body={"ids": chunk},
            )
            presences.extend(presences_from_json(body))
        return presences

    def set_presence(
        self,
        tenant_id: str,
        user_id: str,
        session_id: str,
        availability: str,
        activity: str,
        expiration: timedelta,
    ) -> None:
        from shared.graph import msgraph_operations

        self._app_call(
            tenant_id,
            "set presence",
            lambda client: msgraph_operations.set_presence(
                client, user_id, session_id, availability, activity, expiration
            ),
        )

    def clear_presence(self, tenant_id: str, user_id: str, session_id: str) -> bool:
        from shared.graph import msgraph_operations

        try:
            self._app_call(
                tenant_id,
                "clear presence",
                lambda client: msgraph_operations.clear_presence(client, user_id, session_id),
            )
        except GraphNotFound:
            logger.info("tenant %s user %s had no presence session to clear", tenant_id, user_id)
            return False
        return True

    def set_status_message(
        self, tenant_id: str, user_id: str, content: str, expires_at: datetime | None
    ) -> None:
        status: dict[str, Any] = {"message": {"content": content, "contentType": "text"}}
        if expires_at is not None:
            # dateTime without an offset, the zone named beside it (presenceStatusMessage).
            status["expiryDateTime"] = {
                "dateTime": expires_at.astimezone(UTC).replace(tzinfo=None).isoformat(timespec="seconds"),
                "timeZone": "UTC",
            }
        self._json_call(
            tenant_id,
            "set status message",
            "POST",
            f"/users/{quote(user_id, safe='')}/presence/setStatusMessage",
            body={"statusMessage": status},
            expect_body=False,
        )

    # Delegated ------------------------------------------------------------------------------

    def create_subscription(
        self, tenant_id: str, token_provider: DelegatedTokenProvider, request: SubscriptionRequest
    ) -> GraphSubscription:
        from shared.graph import msgraph_operations

        subscription = self._delegated_call(
            tenant_id,
            token_provider,
            "create subscription",
            lambda client: msgraph_operations.create_subscription(client, request),
        )
        logger.info(
            "tenant %s subscription %s created, expires %s",
            tenant_id,
            subscription.id,
            subscription.expiration.isoformat(),
        )
        return subscription

    def renew_subscription(
        self,
        tenant_id: str,
        token_provider: DelegatedTokenProvider,
        subscription_id: str,
        expiration: datetime,
    ) -> GraphSubscription:
        from shared.graph import msgraph_operations

        if expiration.tzinfo is None:
            raise ValueError("expiration must be timezone-aware")
        return self._delegated_call(
            tenant_id,
            token_provider,
            "renew subscription",
            lambda client: msgraph_operations.renew_subscription(client, subscription_id, expiration),
        )

    def delete_subscription(
        self, tenant_id: str, token_provider: DelegatedTokenProvider, subscription_id: str
    ) -> None:
        from shared.graph import msgraph_operations

        try:
            self._delegated_call(
                tenant_id,
                token_provider,
                "delete subscription",
                lambda client: msgraph_operations.delete_subscription(client, subscription_id),
            )
        except GraphNotFound:
            logger.info("tenant %s subscription %s was already gone", tenant_id, subscription_id)

    def reauthorize_subscription(
        self, tenant_id: str, token_provider: DelegatedTokenProvider, subscription_id: str
    ) -> None:
        from shared.graph import msgraph_operations

        self._delegated_call(
            tenant_id,
            token_provider,
            "reauthorize subscription",
            lambda client: msgraph_operations.reauthorize_subscription(client, subscription_id),
        )

    # Lifetime -------------------------------------------------------------------------------

    def close(self) -> None:
        """Close the credentials and connections and stop the loop thread; idempotent."""
        with self._close_lock:
            if self._closed:
                return
            self._closed = True
        if self._loop_thread.running:
            try:
                self._loop_thread.run(self._aclose(), self._timeout_seconds)
            except Exception:
                logger.warning("closing the Graph clients failed", exc_info=True)
        self._loop_thread.close()

    def __enter__(self) -> MsGraphGateway:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc_value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    # Internals ------------------------------------------------------------------------------

    def _app_call(
        self, tenant_id: str, action: str, operation: Callable[[GraphServiceClient], Awaitable[T]]
    ) -> T:
        async def call() -> T:
            return await operation(self._app_client(tenant_id))

        self._load_sdk_models()
        return self._run(tenant_id, action, call)

    def _json_call(
        self,
        tenant_id: str,
        action: str,
        method: str,
        path: str,
        *,
        params: dict[str, str] | None = None,
        headers: dict[str, str] | None = None,
        body: object = None,
        expect_body: bool = True,
    ) -> Any:
        """One app-only Graph request without msgraph-sdk; the JSON body, or the mapped GraphError
        (`expect_body` False: an action answered with an empty 2xx, None)."""

        async def call() -> Any:
            client = self._plain_http_client()
            token = await self._app_credential(tenant_id).get_token(GRAPH_SCOPE)
            response = await client.request(
                method,
                self._base_url + path,
                params=params,
                json=body,
                headers={
                    "Authorization": f"Bearer {token.token}",
                    "Accept": "application/json",
                    **(headers or {}),
                },
            )
            try:
                payload = response.json() if response.content else None
            except ValueError:
                payload = None
            if response.status_code >= 400:
                code, message = odata_error_of(payload)
                raise graph_error_for_status(
                    response.status_code,
                    code,
                    message,
                    retry_after_header=response.headers.get("retry-after"),
                )
            if payload is None:
                if not expect_body and not response.content:
                    return None
                raise GraphError(f"Graph answered {action} with a body that is not JSON")
            return payload

        return self._run(tenant_id, action, call)

    def _delegated_call(
        self,
        tenant_id: str,
        token_provider: DelegatedTokenProvider,
        action: str,
        operation: Callable[[GraphServiceClient], Awaitable[T]],
    ) -> T:
        async def call() -> T:
            from shared.graph.msgraph_client import build_graph_client

            # Cheap: the adapter is new, the HTTP client and its connections are shared.
            client = build_graph_client(
                DelegatedTokenCredential(token_provider), self._shared_http_client(), self._base_url
            )
            return await operation(client)

        self._load_sdk_models()
        return self._run(tenant_id, action, call)

    def _load_sdk_models(self) -> None:
        """msgraph-sdk's first parse imports a thousand modules: do it once, before any call's clock."""
        if self._models_loaded.is_set():
            return
        with self._models_lock:
            if not self._models_loaded.is_set():
                from shared.graph import msgraph_operations

                # The client builder's SDK imports too, which the first call would otherwise pay.
                importlib.import_module("shared.graph.msgraph_client")
                msgraph_operations.load_models()
                self._models_loaded.set()

    def _run(self, tenant_id: str, action: str, call: Callable[[], Coroutine[Any, Any, T]]) -> T:
        if self._closed:
            raise RuntimeError("the Graph gateway is closed")
        try:
            return self._loop_thread.run(call(), self._timeout_seconds)
        except TimeoutError:
            logger.warning("Graph %s for tenant %s timed out", action, tenant_id)
            raise GraphUnavailable(f"Graph did not answer within {self._timeout_seconds} s") from None
        except AppError:
            raise
        except Exception as error:
            mapped = graph_error_from(error)
            if mapped is None:
                raise
            # A 404 is an answer the callers expect (user gone, session expired), not an incident.
            logger.log(
                logging.DEBUG if isinstance(mapped, GraphNotFound) else logging.WARNING,
                "Graph %s for tenant %s failed: %s (status %s, code %s): %s",
                action,
                tenant_id,
                type(mapped).__name__,
                mapped.status,
                mapped.graph_code,
                mapped.message,
            )
            raise mapped from error

    def _shared_http_client(self) -> httpx.AsyncClient:
        if self._http_client is None:
            from shared.graph.msgraph_client import build_http_client

            self._http_client = build_http_client(self._base_url, self._timeout_seconds, self._max_retries)
        return self._http_client

    def _plain_http_client(self) -> httpx.AsyncClient:
        if self._json_client is None:
            import httpx

            split = urlsplit(self._base_url)
            if split.scheme != "https" and split.hostname not in _LOOPBACK_HOSTS:
                raise GraphError(f"refusing to send Graph tokens over plain http to {split.hostname}")
            self._json_client = httpx.AsyncClient(
                timeout=httpx.Timeout(self._timeout_seconds, connect=min(10.0, self._timeout_seconds)),
                http2=True,
                follow_redirects=False,
            )
        return self._json_client

    def _app_credential(self, tenant_id: str) -> AsyncTokenCredential:
        credential = self._app_credentials.get(tenant_id)
        if credential is None:
            credential = self._credential_factory(tenant_id)
            self._app_credentials[tenant_id] = credential
        return credential

    def _app_client(self, tenant_id: str) -> GraphServiceClient:
        client = self._app_clients.get(tenant_id)
        if client is None:
            from shared.graph.msgraph_client import build_graph_client

            client = build_graph_client(
                self._app_credential(tenant_id), self._shared_http_client(), self._base_url
            )
            self._app_clients[tenant_id] = client
        return client

    async def _aclose(self) -> None:
        credentials, self._app_credentials, self._app_clients = list(self._app_credentials.values()), {}, {}
        if self._json_client is not None:
            json_client, self._json_client = self._json_client, None
            await json_client.aclose()
        for credential in credentials:
            try:
                await credential.close()
            except Exception:
                logger.warning("closing a Graph credential failed", exc_info=True)
        if self._http_client is not None:
            client, self._http_client = self._http_client, None
            await client.aclose()
