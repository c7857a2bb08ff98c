"""An azure-core async TokenCredential around a sync account's DelegatedTokenProvider."""

from __future__ import annotations

import asyncio
import time
from types import TracebackType
from typing import TYPE_CHECKING, Any

from shared.errors import AppError
from shared.graph.exceptions import GraphAuthenticationFailed
from shared.graph.ports import DelegatedTokenProvider

if TYPE_CHECKING:
    from azure.core.credentials import AccessToken

# kiota asks for a token before every request and never caches it, so the expiry reported here is
# only nominal; the provider (MSAL) is the one that tracks the real expiry and refreshes.
_NOMINAL_LIFETIME_SECONDS = 300


class DelegatedTokenCredential:
    def __init__(self, token_provider: DelegatedTokenProvider) -> None:
        self._token_provider = token_provider

    async def get_token(
        self,
        *scopes: str,
        claims: str | None = None,
        tenant_id: str | None = None,
        enable_cae: bool = False,
        **kwargs: Any,
    ) -> AccessToken:
        from azure.core.credentials import AccessToken

        # The provider is synchronous (MSAL may refresh over HTTP): keep it off the event loop.
        try:
            token = await asyncio.get_running_loop().run_in_executor(None, self._token_provider)
        except AppError:
            raise
        except Exception as error:
            raise GraphAuthenticationFailed(
                f"the sync account's token could not be obtained ({type(error).__name__})"
            ) from error
        if not token:
            raise GraphAuthenticationFailed("the sync account's token provider returned no token")
        return AccessToken(token, int(time.time()) + _NOMINAL_LIFETIME_SECONDS)

    async def close(self) -> None:
        return None

    async def __aenter__(self) -> DelegatedTokenCredential:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None = None,
        exc_value: BaseException | None = None,
        traceback: TracebackType | None = None,
    ) -> None:
        await self.close()
