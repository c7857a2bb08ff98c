"""Failures of authenticating and authorizing a caller.

`NotAuthenticated` (401): no credential, or one that does not verify: malformed, expired, not yet
valid, tampered, signed by an unknown key, for another audience or from another issuer. `Forbidden`
(403): a valid credential of another tenant, or without the role the route needs. The `reason` is a
short phrase for the `WWW-Authenticate` error description and for the log line; it never holds the
credential itself.
"""

from __future__ import annotations

from shared.errors import AppError


class IdentityError(AppError):
    code = "identityError"


class NotAuthenticated(IdentityError):
    """No usable credential: answered 401 with a `WWW-Authenticate: Bearer` challenge."""

    code = "notAuthenticated"

    def __init__(self, reason: str) -> None:
        super().__init__(f"authentication required: {reason}")
        self.reason = reason


class MissingCredentials(NotAuthenticated):
    code = "missingCredentials"

    def __init__(self, reason: str = "no bearer token was sent") -> None:
        super().__init__(reason)


class InvalidToken(NotAuthenticated):
    code = "invalidToken"


class Forbidden(IdentityError):
    """A verified caller who may not do this: answered 403."""

    code = "forbidden"

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class TenantMismatch(Forbidden):
    code = "tenantMismatch"

    def __init__(self, token_tenant: str, route_tenant: str) -> None:
        super().__init__(f"the token was issued in tenant {token_tenant}, not in tenant {route_tenant}")


class AdminRoleRequired(Forbidden):
    code = "adminRoleRequired"

    def __init__(self) -> None:
        super().__init__(
            "this needs a Global Administrator or Privileged Role Administrator of the tenant, or the "
            "Connector.Admin app role"
        )


class CsrfTokenInvalid(Forbidden):
    """A console session's state-changing call without the session's CSRF token (another site's form)."""

    code = "csrfTokenInvalid"

    def __init__(self) -> None:
        super().__init__(
            "a state-changing call with the console session must send the session's CSRF token in the "
            "X-CSRF-Token header"
        )
