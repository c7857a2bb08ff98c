"""Builds msgraph-sdk clients: one shared HTTP client, a request adapter per credential.

Imports msgraph-sdk at module level: only shared.graph.msgraph_gateway imports this module, and only
on the first Graph call.
"""

from __future__ import annotations

from urllib.parse import urlsplit

import httpx
from azure.core.credentials_async import AsyncTokenCredential
from kiota_authentication_azure.azure_identity_authentication_provider import (
    AzureIdentityAuthenticationProvider,
)
from kiota_http.kiota_client_factory import KiotaClientFactory
from kiota_http.middleware.options import RetryHandlerOption
from msgraph.graph_request_adapter import GraphRequestAdapter
from msgraph.graph_service_client import GraphServiceClient

GRAPH_SCOPES = ["https://graph.microsoft.com/.default"]

_CONNECT_TIMEOUT_SECONDS = 10.0


def build_http_client(base_url: str, timeout_seconds: float, max_retries: int) -> httpx.AsyncClient:
    """The HTTP client every Graph call shares (one connection pool), with kiota's default middleware.

    kiota's retry handler honours Retry-After on 429/503/504; with `max_retries=0` it is off and
    throttling reaches the caller, who can reschedule instead of blocking a Functions worker.
    """
    client = httpx.AsyncClient(
        base_url=base_url,
        timeout=httpx.Timeout(timeout_seconds, connect=min(_CONNECT_TIMEOUT_SECONDS, timeout_seconds)),
        http2=True,
    )
    retry = RetryHandlerOption(max_retries=max_retries, should_retry=max_retries > 0)
    return KiotaClientFactory.create_with_default_middleware(client, {retry.get_key(): retry})


def build_graph_client(
    credential: AsyncTokenCredential, http_client: httpx.AsyncClient, base_url: str
) -> GraphServiceClient:
    host = urlsplit(base_url).hostname or ""
    # Tokens only ever go to the configured Graph host, never to a host a nextLink points at.
    auth_provider = AzureIdentityAuthenticationProvider(credential, scopes=GRAPH_SCOPES, allowed_hosts=[host])
    adapter = GraphRequestAdapter(auth_provider, client=http_client)
    adapter.base_url = base_url
    return GraphServiceClient(request_adapter=adapter)
