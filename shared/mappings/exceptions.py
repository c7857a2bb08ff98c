"""Failures of the presence-mappings area; each class maps to one HTTP status in shared/http/errors.py."""

from __future__ import annotations

from shared.errors import AppError


class MappingError(AppError):
    code = "mappingError"


class InvalidMapping(MappingError):
    """The mappings a client sent break a rule; the message names the offending rule by its index."""

    code = "invalidMapping"


class UnknownIdleCode(InvalidMapping):
    """A teamsToContactCenter rule names an idle code the contact center does not list."""

    code = "unknownIdleCode"


class StaleMappings(MappingError):
    """The caller's ETag (If-Match) no longer matches: someone changed the mappings meanwhile."""

    code = "preconditionFailed"

    def __init__(self, tenant_id: str) -> None:
        super().__init__(
            f"the presence mappings of tenant {tenant_id} were changed by someone else; "
            "GET them again and retry"
        )
        self.tenant_id = tenant_id


class UnreadableMappings(MappingError):
    """The stored row cannot be read back as mappings (edited by hand, or written by a newer schema).

    Not the client's fault: it stays unmapped in the HTTP error table, so it is logged and answered 500.
    """

    code = "unreadableMappings"
