"""Failures of the connector lifecycle area; each class maps to one HTTP status in shared/http/errors.py."""

from __future__ import annotations

from shared.errors import AppError


class ConnectorError(AppError):
    code = "connectorError"


class InvalidConnectorInput(ConnectorError):
    """A tenant id, setting or contact-center field is missing, of the wrong type or not allowed."""

    code = "invalidRequest"


class ConnectorNotFound(ConnectorError):
    code = "connectorNotFound"

    def __init__(self, tenant_id: str) -> None:
        super().__init__(f"tenant {tenant_id} has no connector")
        self.tenant_id = tenant_id


class ConnectorAlreadyExists(ConnectorError):
    code = "connectorExists"

    def __init__(self, tenant_id: str) -> None:
        super().__init__(f"tenant {tenant_id} already has a connector")
        self.tenant_id = tenant_id


class InvalidTransition(ConnectorError):
    """The action is not allowed from the connector's current status."""

    code = "invalidStatus"

    def __init__(self, action: str, status: str, hint: str = "") -> None:
        message = f"cannot {action} a connector whose status is {status}"
        super().__init__(f"{message}: {hint}" if hint else message)
        self.action = action
        self.status = status


class ConnectorNotActive(ConnectorError):
    """The request needs an active connector (admin consent granted, not deactivated).

    The one class for every area (agents resolving UPNs, sync-account sign-ins, agent events);
    `needed_for` says what waits for an active connector, so the admin knows what to do.
    """

    code = "connectorNotActive"

    def __init__(self, tenant_id: str, status: str, needed_for: str) -> None:
        super().__init__(f"the connector of tenant {tenant_id} is {status}; {needed_for}")
        self.tenant_id = tenant_id
        self.status = status


class StaleConnector(ConnectorError):
    """The caller's ETag (If-Match) no longer matches: someone changed the connector meanwhile."""

    code = "preconditionFailed"

    def __init__(self, tenant_id: str) -> None:
        super().__init__(
            f"the connector of tenant {tenant_id} was changed by someone else; GET it again and retry"
        )
        self.tenant_id = tenant_id


class InvalidConsentCallback(ConnectorError):
    """The consent redirect cannot be trusted (forged, expired, superseded, reused or for another tenant)."""

    code = "invalidConsentState"


class ConsentDenied(ConnectorError):
    """Microsoft reported that admin consent was not granted."""

    code = "consentDenied"

    def __init__(self, tenant_id: str, error: str, description: str) -> None:
        super().__init__(f"admin consent was not granted: {error}: {description}".rstrip(": "))
        self.tenant_id = tenant_id
        self.error = error
        self.description = description
