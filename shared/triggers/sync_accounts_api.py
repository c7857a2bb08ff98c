"""Sync accounts: the admin API (policy ADMIN) and the sign-in callback (anonymous by
necessity: the admin's browser comes back here from the identity platform).

The callback answers with a small HTML page for the person in the browser; a client that asks for JSON
gets JSON (and the usual error envelope).
"""

from __future__ import annotations

import logging

import azure.functions as func

from shared.bootstrap import services
from shared.connectors.commands import parse_tenant_id
from shared.errors import AppError
from shared.http.auth import authorized
from shared.http.contract import HTML, Json, Security, operation
from shared.http.errors import status_for
from shared.http.responses import error_response, html_page, json_response
from shared.identity.policies import ADMIN
from shared.identity.principal import Principal
from shared.sync_accounts.commands import parse_account_id
from shared.sync_accounts.exceptions import SignInDenied
from shared.sync_accounts.schemas import (
    START_BODY,
    SignedInView,
    SignInCallbackQuery,
    SignInStartView,
    SyncAccountListingView,
    SyncAccountPath,
)
from shared.sync_accounts.views import listing_json, sign_in_start_json, sync_account_json

logger = logging.getLogger(__name__)

bp = func.Blueprint()

SYNC_ACCOUNTS_ROUTE = "tenants/{tenantId}/sync-accounts"
CALLBACK_PARAMS = ("state", "code", "error", "error_description")
TAGS = ("sync accounts",)


def _tenant(req: func.HttpRequest) -> str:
    return parse_tenant_id(req.route_params.get("tenantId"))


def _wants_json(req: func.HttpRequest) -> bool:
    return "application/json" in (req.headers.get("accept") or "").lower()


@bp.function_name("start_sync_account_sign_in")
@bp.route(route=SYNC_ACCOUNTS_ROUTE, methods=["POST"], auth_level=func.AuthLevel.ANONYMOUS)
@operation(
    summary="Start signing in a sync account (answers the link to open)",
    tags=TAGS,
    body=START_BODY,
    responses={201: Json(SignInStartView, "Open authorizeUrl and sign in as the sync account")},
    errors={404: "The tenant has no connector", 409: "The connector is not active"},
)
@authorized(ADMIN)
def start_sync_account_sign_in(req: func.HttpRequest, caller: Principal) -> func.HttpResponse:
    tenant_id = _tenant(req)
    started = services().sync_accounts.start_sign_in(tenant_id, START_BODY.read(req), caller.actor)
    return json_response(sign_in_start_json(started), 201)


@bp.function_name("list_sync_accounts")
@bp.route(route=SYNC_ACCOUNTS_ROUTE, methods=["GET"], auth_level=func.AuthLevel.ANONYMOUS)
@operation(
    summary="The tenant's sync accounts and their capacity",
    tags=TAGS,
    responses={200: Json(SyncAccountListingView, "The sync accounts")},
    errors={404: "The tenant has no connector"},
)
@authorized(ADMIN)
def list_sync_accounts(req: func.HttpRequest, caller: Principal) -> func.HttpResponse:
    return json_response(listing_json(services().sync_accounts.listing(_tenant(req))))


@bp.function_name("delete_sync_account")
@bp.route(route=SYNC_ACCOUNTS_ROUTE + "/{accountId}", methods=["DELETE"], auth_level=func.AuthLevel.ANONYMOUS)
@operation(
    summary="Remove a sync account (its presence subscriptions move to the others)",
    tags=TAGS,
    path=SyncAccountPath,
    responses={204: Json(None, "Removed")},
    errors={404: "No such sync account (or no connector)"},
)
@authorized(ADMIN)
def delete_sync_account(req: func.HttpRequest, caller: Principal) -> func.HttpResponse:
    tenant_id = _tenant(req)
    account_id = parse_account_id(req.route_params.get("accountId"))
    services().sync_accounts.delete(tenant_id, account_id, actor=caller.actor)
    return func.HttpResponse(status_code=204, headers={"Cache-Control": "no-store"})


@bp.function_name("sync_account_sign_in_callback")
@bp.route(route="auth/callback", methods=["GET"], auth_level=func.AuthLevel.ANONYMOUS)
@operation(
    summary="Where the identity platform sends the browser back after the sync account's sign-in",
    description="An HTML page for the browser; JSON when the request accepts application/json.",
    tags=TAGS,
    query=SignInCallbackQuery,
    security=Security.NONE,
    responses={
        201: Json(SignedInView, "Signed in (new account)", also=(HTML,)),
        200: Json(SignedInView, "Signed in again", also=(HTML,)),
    },
    errors={
        404: "The tenant has no connector",
        409: "The connector is not active",
        502: "The token endpoint failed",
    },
)
def sync_account_sign_in_callback(req: func.HttpRequest) -> func.HttpResponse:
    params = {name: value for name in CALLBACK_PARAMS if (value := req.params.get(name))}
    try:
        account = services().sync_accounts.complete_sign_in(params)
    except SignInDenied as denied:
        if _wants_json(req):
            return error_response(400, denied.code, denied.message)
        return html_page(
            400,
            "The sync account was not signed in",
            [
                f"Microsoft reported: {denied.error}",
                denied.description or "No further description was given.",
                "Start the sign-in again from the connector's sync-account settings.",
            ],
        )
    except AppError as error:
        status = status_for(error)
        if status >= 500:
            logger.error("sync-account sign-in callback failed: %s", error.message)
        if _wants_json(req):
            return error_response(status, error.code, error.message)
        return html_page(status, "The sync account could not be signed in", [error.message])
    except Exception:
        logger.exception("sync-account sign-in callback failed unexpectedly")
        if _wants_json(req):
            return error_response(500, "internalError", "an unexpected error occurred")
        return html_page(500, "Something went wrong", ["An unexpected error occurred. Please try again."])
    status = 201 if account.created_by_latest_sign_in else 200
    if _wants_json(req):
        return json_response(
            {"tenantId": account.tenant_id, "syncAccount": sync_account_json(account)}, status
        )
    return html_page(
        status,
        "Sync account signed in" if status == 201 else "Sync account signed in again",
        [
            f"{account.user_principal_name} now keeps Teams presence subscriptions for tenant "
            f"{account.tenant_id}.",
            "You can close this window.",
        ],
    )
