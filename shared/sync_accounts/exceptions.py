"""Failures of the sync-account area; each class maps to one HTTP status in shared/http/errors.py."""

from __future__ import annotations

from shared.errors import AppError


class SyncAccountError(AppError):
    code = "syncAccountError"


class InvalidSyncAccountInput(SyncAccountError):
    """A body field or route value is missing, of the wrong type or not allowed."""

    code = "invalidRequest"


class SyncAccountNotFound(SyncAccountError):
    code = "syncAccountNotFound"

    def __init__(self, tenant_id: str, account_id: str) -> None:
        super().__init__(f"tenant {tenant_id} has no sync account {account_id}")
        self.tenant_id = tenant_id
        self.account_id = account_id


class StaleSyncAccount(SyncAccountError):
    """The row changed since it was read (its ETag no longer matches)."""

    code = "preconditionFailed"

    def __init__(self, tenant_id: str, account_id: str) -> None:
        super().__init__(f"sync account {account_id} of tenant {tenant_id} was changed meanwhile")
        self.tenant_id = tenant_id
        self.account_id = account_id


class TokenCacheTooLarge(SyncAccountError):
    """The sealed token cache would not fit in one table entity."""

    code = "tokenCacheTooLarge"


class InvalidSignInCallback(SyncAccountError):
    """The redirect cannot be trusted: no state, a forged state, or neither a code nor an error."""

    code = "invalidSignInState"


class SignInExpired(SyncAccountError):
    code = "signInExpired"

    def __init__(self) -> None:
        super().__init__("this sign-in link has expired; start the sign-in again")


class SignInAlreadyUsed(SyncAccountError):
    """The pending sign-in of this state is gone: used once already, expired and cleaned up, or purged."""

    code = "signInAlreadyUsed"

    def __init__(self) -> None:
        super().__init__("this sign-in link was already used or has expired; start the sign-in again")


class SignInDenied(SyncAccountError):
    """The identity platform redirected back with an error instead of a code."""

    code = "signInDenied"

    def __init__(self, tenant_id: str, error: str, description: str) -> None:
        super().__init__(f"the sign-in did not succeed: {error}: {description}".rstrip(": "))
        self.tenant_id = tenant_id
        self.error = error
        self.description = description


class SignInRejected(SyncAccountError):
    """The token endpoint refused to redeem the authorization code (or answered without what we need)."""

    code = "signInFailed"

    def __init__(self, error: str, description: str) -> None:
        super().__init__(f"the sign-in could not be completed: {error}: {description}".rstrip(": "))
        self.error = error
        self.description = description


class WrongTenant(SyncAccountError):
    """The signed-in account belongs to another tenant than the one the sign-in was started for."""

    code = "wrongTenant"

    def __init__(self, expected_tenant_id: str, actual_tenant_id: str) -> None:
        super().__init__(
            f"the account that signed in belongs to tenant {actual_tenant_id}, not to {expected_tenant_id}; "
            "sign in with an account of the connector's tenant"
        )
        self.expected_tenant_id = expected_tenant_id
        self.actual_tenant_id = actual_tenant_id


class TokenRefreshRejected(SyncAccountError):
    """The identity platform refused the refresh token for a reason only a new sign-in fixes."""

    code = "tokenRefreshRejected"

    def __init__(self, error: str, description: str) -> None:
        super().__init__(f"the refresh token was refused: {error}: {description}".rstrip(": "))
        self.error = error
        self.description = description


class SyncAccountReauthorizationRequired(SyncAccountError):
    """The account's refresh token no longer works: an admin must sign the account in again."""

    code = "syncAccountReauthorizationRequired"

    def __init__(self, tenant_id: str, account_id: str, reason: str) -> None:
        super().__init__(f"sync account {account_id} of tenant {tenant_id} must sign in again: {reason}")
        self.tenant_id = tenant_id
        self.account_id = account_id
        self.reason = reason


class IdentityPlatformUnavailable(SyncAccountError):
    """The identity platform did not answer, answered with a server error or with something unreadable."""

    code = "identityPlatformUnavailable"


class AppCredentialRejected(SyncAccountError):
    """The identity platform refused the app's own credential: a configuration problem, not the user's."""

    code = "appCredentialRejected"


class SyncAccountTokenUnavailable(SyncAccountError):
    """No token can be produced right now for a reason a new sign-in would not fix."""

    code = "syncAccountTokenUnavailable"
