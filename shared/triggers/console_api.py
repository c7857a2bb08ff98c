"""The admin console and expert directory pages: static files, sign-in, session, sign-out.

The pages themselves are public (they hold no data); everything they show comes from the admin API,
called with the session cookie and, for changes, the session's CSRF token (shared/console).
"""

from __future__ import annotations

import logging
from datetime import timedelta
from urllib.parse import urlencode

import azure.functions as func

from shared.bootstrap import services
from shared.connectors.commands import parse_tenant_id
from shared.console.assets import INDEX, SECURITY_HEADERS, read_asset
from shared.console.exceptions import InvalidConsoleRequest
from shared.console.schemas import AssetPath, ConsoleSessionView, SignInCallbackQuery, SignInQuery
from shared.console.service import Console
from shared.console.session import SIGN_IN_LIFETIME, CookieRejected
from shared.console.views import session_view
from shared.errors import AppError, ConfigurationError
from shared.http.contract import HTML, Json, Security, Text, operation
from shared.http.errors import http_errors, status_for
from shared.http.responses import error_response, html_page, json_response
from shared.http.schemas import ErrorEnvelope
from shared.identity.exceptions import CsrfTokenInvalid

logger = logging.getLogger(__name__)

bp = func.Blueprint()

CONSOLE_PATH = "/api/console/"
TAGS = ("console",)
_REDIRECT_HEADERS = {"Location": "Where the browser goes next", "Set-Cookie": "The console's sealed cookie"}


def _console() -> Console:
    console = services().console
    if console is None:
        raise ConfigurationError("the console is not wired in this process")
    return console


def _redirect(location: str, set_cookie: str) -> func.HttpResponse:
    """A 302 that sets the console's cookie; never cached, and the sign-in URLs never leak as referrer."""
    return func.HttpResponse(
        status_code=302,
        headers={
            "Location": location,
            "Set-Cookie": set_cookie,
            "Cache-Control": "no-store",
            "Referrer-Policy": "no-referrer",
        },
    )


def _asset_response(name: str) -> func.HttpResponse:
    found = read_asset(name)
    if found is None:
        return error_response(404, "notFound", "no such console file", headers=SECURITY_HEADERS)
    body, content_type = found
    # The page is small and changes with each deployment; assets may be cached briefly.
    cache = "no-store" if name == INDEX else "public, max-age=300"
    return func.HttpResponse(
        body,
        status_code=200,
        mimetype=content_type,
        charset="utf-8" if content_type.startswith("text/") else None,
        headers={**SECURITY_HEADERS, "Cache-Control": cache},
    )


@bp.function_name("console_page")
@bp.route(route="console", methods=["GET"], auth_level=func.AuthLevel.ANONYMOUS)
@operation(
    summary="The admin console and expert directory page (open /api/console/ in a browser)",
    tags=TAGS,
    security=Security.NONE,
    responses={200: Text(HTML, "The page; it holds no data and signs the browser in before any call")},
)
@http_errors
def console_page(req: func.HttpRequest) -> func.HttpResponse:
    return _asset_response(INDEX)


@bp.function_name("console_asset")
@bp.route(route="console/assets/{name}", methods=["GET"], auth_level=func.AuthLevel.ANONYMOUS)
@operation(
    summary="A script, style sheet or image of the console",
    tags=TAGS,
    path=AssetPath,
    security=Security.NONE,
    responses={
        200: Text("text/javascript", "The file", also=("text/css", "image/svg+xml", "image/png")),
    },
    errors={404: "No console file of that name"},
)
@http_errors
def console_asset(req: func.HttpRequest) -> func.HttpResponse:
    return _asset_response(req.route_params.get("name", ""))


@bp.function_name("console_sign_in")
@bp.route(route="console/sign-in", methods=["GET"], auth_level=func.AuthLevel.ANONYMOUS)
@operation(
    summary="Start the console's sign-in: to Microsoft's sign-in page (authorization code + PKCE)",
    tags=TAGS,
    query=SignInQuery,
    security=Security.NONE,
    responses={
        302: Json(
            None, "To Microsoft's sign-in page, with the pending-sign-in cookie", headers=_REDIRECT_HEADERS
        )
    },
)
@http_errors
def console_sign_in(req: func.HttpRequest) -> func.HttpResponse:
    """`?tenant=<GUID>&page=admin|directory[&popup=1]` -> 302 to the Microsoft sign-in page."""
    tenant_id = parse_tenant_id(req.params.get("tenant"))
    page = req.params.get("page") or "admin"
    popup = req.params.get("popup") == "1"
    console = _console()
    started = console.sign_in.start(tenant_id, page, popup=popup)
    return _redirect(
        started.authorize_url, console.cookies.set_cookie(started.cookie_value, SIGN_IN_LIFETIME)
    )


@bp.function_name("console_auth_callback")
@bp.route(route="console/auth/callback", methods=["GET"], auth_level=func.AuthLevel.ANONYMOUS)
@operation(
    summary="Where Microsoft sends the browser after the console's sign-in",
    tags=TAGS,
    query=SignInCallbackQuery,
    security=Security.NONE,
    responses={
        302: Json(None, "Signed in: to the console, with the session cookie", headers=_REDIRECT_HEADERS),
        400: Json(ErrorEnvelope, "The sign-in cannot complete: a page says why", also=(HTML,)),
        503: Json(ErrorEnvelope, "The identity platform did not answer: a page says so", also=(HTML,)),
    },
)
def console_auth_callback(req: func.HttpRequest) -> func.HttpResponse:
    """The identity platform's redirect back: the session cookie, then the page the sign-in was for."""
    try:
        console = _console()
        signed_in = console.sign_in.complete(
            console.pending_cookie(req.headers.get("cookie")), dict(req.params)
        )
    except AppError as error:
        status = status_for(error)
        if status >= 500:
            logger.error("console sign-in failed: %s", error.message)
        return html_page(
            status if status < 500 else 503,
            "Sign-in failed",
            [error.message, f"Open the console again to sign in: {CONSOLE_PATH}"],
        )
    except Exception:
        logger.exception("console sign-in failed unexpectedly")
        return html_page(500, "Sign-in failed", ["An unexpected error occurred; try again."])
    query = {"signedIn": "1", **({"teamsAuth": "done"} if signed_in.popup else {})}
    fragment = "#/directory" if signed_in.page == "directory" else "#/connector"
    remaining = signed_in.session.expires_at - signed_in.session.signed_in_at
    cookie = console.cookies.set_cookie(signed_in.cookie_value, max(remaining, timedelta(0)))
    return _redirect(f"{CONSOLE_PATH}?{urlencode(query)}{fragment}", cookie)


@bp.function_name("console_session")
@bp.route(route="console/session", methods=["GET"], auth_level=func.AuthLevel.ANONYMOUS)
@operation(
    summary="Who is signed in to the console, and the CSRF token the page sends with changes",
    tags=TAGS,
    security=Security.NONE,
    responses={200: Json(ConsoleSessionView, "The session of the request's console cookie")},
    errors={401: "No valid console session: sign in"},
)
@http_errors
def console_session(req: func.HttpRequest) -> func.HttpResponse:
    """Who is signed in, whether he is an admin, and the CSRF token the page sends with changes."""
    try:
        session = _console().session_in(req.headers.get("cookie"))
    except CookieRejected as rejected:
        return error_response(401, "notSignedIn", f"sign in to use the console ({rejected})")
    return json_response(session_view(session))


@bp.function_name("console_sign_out")
@bp.route(route="console/sign-out", methods=["POST"], auth_level=func.AuthLevel.ANONYMOUS)
@operation(
    summary="End the console session (the cookie is cleared)",
    tags=TAGS,
    security=Security.NONE,
    responses={204: Json(None, "Signed out", headers={"Set-Cookie": "The cleared console cookie"})},
    errors={400: "A body was sent", 403: "A session without its CSRF token in X-CSRF-Token"},
)
@http_errors
def console_sign_out(req: func.HttpRequest) -> func.HttpResponse:
    """Ends the session (the cookie is cleared); needs the CSRF token like any change."""
    console = _console()
    try:
        session = console.session_in(req.headers.get("cookie"))
    except CookieRejected:
        session = None
    if session is not None:
        if not session.csrf_matches(req.headers.get("x-csrf-token")):
            raise CsrfTokenInvalid()
        logger.info(
            "tenant %s: console session of %s signed out",
            session.principal.tenant_id,
            session.principal.object_id,
        )
    if req.get_body():
        raise InvalidConsoleRequest("sign-out takes no body")
    return func.HttpResponse(
        status_code=204, headers={"Set-Cookie": console.cookies.clear_cookie(), "Cache-Control": "no-store"}
    )
