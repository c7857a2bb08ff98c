"""Failures of directory searches; each maps to one HTTP status in shared/http/errors.py."""

from __future__ import annotations

from shared.errors import AppError


class DirectoryError(AppError):
    code = "directoryError"


class InvalidDirectoryQuery(DirectoryError):
    """A query parameter is malformed, too long, or holds control characters (400)."""

    code = "invalidDirectoryQuery"


class InvalidSkipToken(DirectoryError):
    """The skipToken was not issued by this connector for this tenant and query, or expired (400)."""

    code = "invalidSkipToken"


class ShowUserDetailsDisabled(DirectoryError):
    """The tenant's connector has "Show user details" off: the directory is closed (403)."""

    code = "showUserDetailsDisabled"

    def __init__(self, tenant_id: str) -> None:
        super().__init__(
            f"the connector of tenant {tenant_id} has showUserDetails off; a tenant admin turns it on in the "
            "connector's settings to open the expert directory"
        )
