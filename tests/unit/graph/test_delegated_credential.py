"""The sync account's token provider behind an azure-core async TokenCredential."""

from __future__ import annotations

import asyncio

import pytest
from azure.core.credentials import AccessToken

from shared.errors import AppError
from shared.graph.delegated_credential import DelegatedTokenCredential
from shared.graph.exceptions import GraphAuthenticationFailed


class AccountSignedOut(AppError):
    code = "accountSignedOut"


def _get_token(provider: object) -> AccessToken:
    async def get() -> AccessToken:
        async with DelegatedTokenCredential(provider) as credential:  # type: ignore[arg-type]
            return await credential.get_token("https://graph.microsoft.com/.default", enable_cae=True)

    return asyncio.run(get())


def test_the_providers_token_is_returned() -> None:
    token = _get_token(lambda: "eyJ.delegated.token")
    assert isinstance(token, AccessToken)
    assert token.token == "eyJ.delegated.token"
    assert token.expires_on > 0


def test_unexpected_provider_failures_are_authentication_failures() -> None:
    def broken() -> str:
        raise OSError("cache unreadable")

    with pytest.raises(GraphAuthenticationFailed, match="OSError"):
        _get_token(broken)
    with pytest.raises(GraphAuthenticationFailed, match="no token"):
        _get_token(lambda: "")


def test_the_apps_own_errors_pass_unchanged() -> None:
    def signed_out() -> str:
        raise AccountSignedOut("sign in again")

    with pytest.raises(AccountSignedOut):
        _get_token(signed_out)
