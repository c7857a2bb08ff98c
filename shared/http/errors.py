"""The one table that maps error classes to HTTP statuses, and the wrapper every HTTP trigger uses.

Lookup walks the exception's MRO, so a subclass inherits its family's status unless listed itself.
Anything not listed is a bug: it is logged with its traceback and answered 500 without details.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from typing import ParamSpec

import azure.functions as func

from shared.agents import exceptions as agents
from shared.connectors.exceptions import (
    ConnectorAlreadyExists,
    ConnectorNotActive,
    ConnectorNotFound,
    ConsentDenied,
    InvalidConnectorInput,
    InvalidConsentCallback,
    InvalidTransition,
    StaleConnector,
)
from shared.contact_center import exceptions as contact_center
from shared.contact_center.webex import exceptions as webex
from shared.directory import exceptions as directory
from shared.errors import AppError, ConfigurationError
from shared.graph import exceptions as graph
from shared.http.exceptions import HttpInputError, MalformedJson, PayloadTooLarge, UnsupportedMediaType
from shared.http.responses import error_response
from shared.identity.exceptions import Forbidden, NotAuthenticated
from shared.mappings import exceptions as mappings
from shared.notifications.exceptions import MalformedNotificationError, NotificationBatchTooLarge
from shared.presence.exceptions import PresenceQueueUnavailable
from shared.security.exceptions import SigningKeysUnavailable
from shared.storage.exceptions import InvalidTableKey, StorageUnavailable
from shared.subscriptions.exceptions import SubscriptionError
from shared.sync_accounts import exceptions as sync_accounts

logger = logging.getLogger(__name__)

P = ParamSpec("P")

STATUS_BY_ERROR: dict[type[AppError], int] = {
    HttpInputError: 400,
    MalformedJson: 400,
    UnsupportedMediaType: 415,
    PayloadTooLarge: 413,
    InvalidConnectorInput: 400,
    InvalidTableKey: 400,
    InvalidConsentCallback: 400,
    ConsentDenied: 400,
    ConnectorNotFound: 404,
    ConnectorAlreadyExists: 409,
    ConnectorNotActive: 409,
    InvalidTransition: 409,
    StaleConnector: 412,
    StorageUnavailable: 503,
    ConfigurationError: 500,
    # Identity: who is calling (shared/identity); 401 answers carry a WWW-Authenticate challenge
    NotAuthenticated: 401,
    Forbidden: 403,
    # Agents
    agents.InvalidAgentInput: 400,
    agents.TooManyAgents: 413,
    agents.AgentNotFound: 404,
    agents.UserNotFound: 404,
    agents.UserAlreadyAssigned: 409,
    agents.ConnectorDeleting: 409,
    agents.ConcurrentAgentChange: 409,
    agents.UserLookupFailed: 502,
    # Sync accounts
    sync_accounts.InvalidSyncAccountInput: 400,
    sync_accounts.InvalidSignInCallback: 400,
    sync_accounts.SignInExpired: 400,
    sync_accounts.SignInAlreadyUsed: 400,
    sync_accounts.SignInDenied: 400,
    sync_accounts.SignInRejected: 400,
    sync_accounts.WrongTenant: 400,
    sync_accounts.SyncAccountNotFound: 404,
    sync_accounts.SyncAccountReauthorizationRequired: 409,
    sync_accounts.StaleSyncAccount: 412,
    sync_accounts.AppCredentialRejected: 502,
    sync_accounts.IdentityPlatformUnavailable: 503,
    sync_accounts.SyncAccountTokenUnavailable: 503,
    # Graph notifications and subscriptions
    MalformedNotificationError: 400,
    NotificationBatchTooLarge: 413,
    SigningKeysUnavailable: 503,
    PresenceQueueUnavailable: 503,
    SubscriptionError: 503,
    graph.GraphThrottled: 503,
    graph.GraphUnavailable: 503,
    graph.GraphError: 502,
    # Presence mappings (UnreadableMappings stays a 500: a row nobody can read is a bug)
    mappings.InvalidMapping: 400,
    mappings.UnknownIdleCode: 400,
    mappings.StaleMappings: 412,
    # Contact center
    contact_center.InvalidAgentEvents: 400,
    webex.InvalidWebexCallback: 400,
    webex.WebexSignInDenied: 400,
    webex.WebexWrongOrganization: 400,
    webex.WebexGrantRefused: 400,
    webex.NotWebexContactCenter: 409,
    webex.WebexNotConfigured: 409,
    webex.StaleWebexAuthorization: 409,
    webex.WebexReauthorizationRequired: 409,
    contact_center.InvalidEventSignature: 401,
    contact_center.AgentEventsTooLarge: 413,
    contact_center.ContactCenterNotConfigured: 409,
    contact_center.IdleCodesNotOffered: 409,
    contact_center.ContactCenterThrottled: 503,
    contact_center.ContactCenterUnavailable: 503,
    contact_center.ContactCenterError: 502,
    directory.InvalidDirectoryQuery: 400,
    directory.InvalidSkipToken: 400,
    directory.ShowUserDetailsDisabled: 403,
}


# RFC 6750 section 3: the challenge of a 401; the realm names the API whose token is wanted.
BEARER_REALM = "teams-contact-center-connector"


def bearer_challenge(reason: str) -> str:
    """`WWW-Authenticate` of a refused bearer token; the description is ours, never request input."""
    description = "".join(c for c in reason if c.isascii() and c.isprintable() and c not in '"\\')
    return f'Bearer realm="{BEARER_REALM}", error="invalid_token", error_description="{description}"'


def headers_for(error: AppError) -> dict[str, str] | None:
    if isinstance(error, NotAuthenticated):
        return {"WWW-Authenticate": bearer_challenge(error.reason)}
    return None


def status_for(error: AppError) -> int:
    for cls in type(error).__mro__:
        if cls in STATUS_BY_ERROR:
            return STATUS_BY_ERROR[cls]
    return 500


def http_errors(handler: Callable[P, func.HttpResponse]) -> Callable[P, func.HttpResponse]:
    """Turn expected errors into `{"error": {code, message}}` answers and unexpected ones into a 500."""

    @functools.wraps(handler)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> func.HttpResponse:
        try:
            return handler(*args, **kwargs)
        except AppError as error:
            status = status_for(error)
            if status >= 500:
                logger.error("%s failed: %s", handler.__name__, error.message)
                message = "the service is temporarily unavailable" if status == 503 else error.message
                headers = {"Retry-After": "5"} if status == 503 else None
                return error_response(status, error.code, message, headers=headers)
            return error_response(status, error.code, error.message, headers=headers_for(error))
        except Exception:
            logger.exception("%s failed unexpectedly", handler.__name__)
            return error_response(500, "internalError", "an unexpected error occurred")

    return wrapper
