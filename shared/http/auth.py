"""The one way an HTTP trigger requires a caller: `@authorized(POLICY)`.

    @bp.function_name("get_connector")
    @bp.route(route="tenants/{tenantId}/connector", methods=["GET"], auth_level=func.AuthLevel.ANONYMOUS)
    @authorized(ADMIN)
    def get_connector(req: func.HttpRequest, caller: Principal) -> func.HttpResponse: ...

The decorator authenticates the request with the composition root's Authenticator (the credential
sources it holds: the Entra bearer token today), parses `{tenantId}`, applies the policy, and only then
calls the handler with the verified principal. Failures are answered through `http_errors` (401 with a
`WWW-Authenticate: Bearer` challenge, 403, 400 for a malformed tenant id) and logged with the tenant
and the reason, never the credential; the handler is not called, so nothing changes.

The Functions Python worker binds a function's parameters by name (every parameter must be a binding),
so the registered function keeps the `(req)` signature: the wrapper publishes `__signature__` and
`__annotations__` of `(req: func.HttpRequest) -> func.HttpResponse`, which is what `inspect.signature`
and `typing.get_type_hints` (the worker's two probes) then report, and the principal reaches the
handler as its second argument. It also wraps `http_errors`, so a route cannot get the order wrong.
"""

from __future__ import annotations

import functools
import inspect
import logging
import uuid
from collections.abc import Callable
from typing import Any, cast

import azure.functions as func

from shared.bootstrap import services
from shared.connectors.commands import parse_tenant_id
from shared.http.errors import http_errors
from shared.identity.credentials import CredentialRequest
from shared.identity.exceptions import Forbidden, NotAuthenticated
from shared.identity.policies import Policy
from shared.identity.principal import Principal

logger = logging.getLogger(__name__)

ProtectedHandler = Callable[[func.HttpRequest, Principal], func.HttpResponse]
HttpHandler = Callable[[func.HttpRequest], func.HttpResponse]

_POLICY_ATTRIBUTE = "__connector_policy__"
_REQUEST_SIGNATURE = inspect.Signature(
    [inspect.Parameter("req", inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=func.HttpRequest)],
    return_annotation=func.HttpResponse,
)


def authorized(policy: Policy) -> Callable[[ProtectedHandler], HttpHandler]:
    def decorate(handler: ProtectedHandler) -> HttpHandler:
        @functools.wraps(handler)
        def guarded(req: func.HttpRequest) -> func.HttpResponse:
            caller = authorize_request(req, policy, handler.__name__)
            return handler(req, caller)

        published = cast(Any, guarded)
        published.__signature__ = _REQUEST_SIGNATURE
        published.__annotations__ = {"req": func.HttpRequest, "return": func.HttpResponse}
        setattr(published, _POLICY_ATTRIBUTE, policy)
        # functools.wraps in http_errors copies __dict__: the outer function carries all three too.
        return http_errors(guarded)

    return decorate


def policy_of(function: Callable[..., Any]) -> Policy | None:
    """The policy a registered function was declared with; None for an unprotected one."""
    policy = getattr(function, _POLICY_ATTRIBUTE, None)
    return policy if isinstance(policy, Policy) else None


def authorize_request(req: func.HttpRequest, policy: Policy, route_name: str) -> Principal:
    """The verified caller of `req` that `policy` admits in the route's tenant; raise otherwise."""
    route_tenant = req.route_params.get("tenantId")
    try:
        principal = services().authenticator.authenticate(credential_request(req), policy)
    except NotAuthenticated as refused:
        logger.warning(
            "tenant %s: %s %s refused (401): %s",
            _loggable_tenant(route_tenant),
            req.method,
            route_name,
            refused.reason,
        )
        raise
    tenant_id = parse_tenant_id(route_tenant)
    try:
        policy.authorize(principal, tenant_id)
    except Forbidden as refused:
        logger.warning(
            "tenant %s: %s %s refused (403) to %s %s of tenant %s: %s",
            tenant_id,
            req.method,
            route_name,
            principal.kind.value,
            principal.object_id,
            principal.tenant_id,
            refused.reason,
        )
        raise
    return principal


def credential_request(req: func.HttpRequest) -> CredentialRequest:
    return CredentialRequest(
        method=req.method,
        url=req.url,
        headers={name.lower(): value for name, value in req.headers.items()},
        route_params=dict(req.route_params),
        body=req.get_body() or b"",
    )


def _loggable_tenant(value: str | None) -> str:
    """The route's tenant as it may appear in a log line: a GUID, or a marker (never raw input)."""
    try:
        return str(uuid.UUID(value or ""))
    except ValueError:
        return "<not a tenant id>"
