"""The Microsoft identity platform endpoints the connector's sign-in flows use.

Admin consent and authorize approve at once: consent for the tenant in the path, sign-in for the user
named by `login_hint` (with `prompt=login` and no hint, a page to pick one of the tenant's users:
sign_in_page.py). The token endpoint enforces what Entra ID does for the
authorization-code (PKCE S256), refresh-token and client-credentials grants.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import html
import logging
import re
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit, urlunsplit

from devstack.graph_simulator.errors import IdentityError
from devstack.graph_simulator.http_types import Request, Response, Router
from devstack.graph_simulator.models import (
    GRAPH_APP_ID,
    GRAPH_RESOURCE,
    OIDC_SCOPES,
    AppRegistration,
    AuthorizationCode,
    RefreshGrant,
    Tenant,
    User,
)
from devstack.graph_simulator.sign_in_page import own_api_scope, sign_in_page, wants_sign_in_page
from devstack.graph_simulator.state import SimulatorState
from devstack.graph_simulator.tokens import (
    ACCESS_TOKEN_LIFETIME,
    REFRESH_TOKEN_LIFETIME,
    TokenIssuer,
    issuer_v2,
)

logger = logging.getLogger(__name__)

TENANT_INDEPENDENT = frozenset({"common", "organizations", "consumers"})
CODE_LIFETIME = timedelta(minutes=10)
_GUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
_TENANT = r"(?P<tenant>[A-Za-z0-9._-]+)"
_GRAPH_PREFIXES = (GRAPH_RESOURCE + "/", GRAPH_APP_ID + "/")


def is_guid(value: str) -> bool:
    return _GUID.fullmatch(value) is not None


def _with_query(url: str, params: dict[str, str]) -> str:
    parts = urlsplit(url)
    query = parts.query + ("&" if parts.query else "") + urlencode(params)
    return urlunsplit((parts.scheme, parts.netloc, parts.path, query, parts.fragment))


def _html_page(status: int, title: str, message: str) -> Response:
    body = (
        f"<!doctype html><html><head><title>{html.escape(title)}</title></head>"
        f"<body><h1>{html.escape(title)}</h1><p>{html.escape(message)}</p></body></html>"
    )
    return Response(status, body.encode("utf-8"), {"Content-Type": "text/html; charset=utf-8"})


def _graph_scope(scope: str) -> str | None:
    """The Graph permission a requested scope names, or None for OIDC scopes."""
    if scope in OIDC_SCOPES:
        return None
    for prefix in _GRAPH_PREFIXES:
        if scope.lower().startswith(prefix.lower()):
            return scope[len(prefix) :]
    return scope


class IdentityPlatform:
    def __init__(self, state: SimulatorState, issuer: TokenIssuer) -> None:
        self._state = state
        self._issuer = issuer

    def register(self, router: Router) -> None:
        router.add("GET", f"/{_TENANT}/v2\\.0/\\.well-known/openid-configuration", self.openid_configuration)
        router.add("GET", f"/{_TENANT}/\\.well-known/openid-configuration", self.openid_configuration)
        router.add("GET", f"/{_TENANT}/discovery/v2\\.0/keys", self.keys)
        router.add("GET", f"/{_TENANT}/discovery/keys", self.keys)
        router.add("GET", f"/{_TENANT}/v2\\.0/adminconsent", self.admin_consent)
        router.add("GET", f"/{_TENANT}/oauth2/v2\\.0/authorize", self.authorize)
        router.add("POST", f"/{_TENANT}/oauth2/v2\\.0/token", self.token)

    # Discovery ---------------------------------------------------------------------------------

    def openid_configuration(self, request: Request) -> Response:
        reference = request.params["tenant"]
        if reference.lower() in TENANT_INDEPENDENT:
            tenant_segment, issuer = reference, issuer_v2("{tenantid}")
        else:
            tenant = self._tenant_or_none(reference)
            if tenant is None:
                return Response.json(
                    400,
                    {
                        "error": "invalid_tenant",
                        "error_description": f"AADSTS90002: Tenant '{reference}' not found.",
                        "error_codes": [90002],
                    },
                )
            tenant_segment, issuer = tenant.id, issuer_v2(tenant.id)
        base = f"{request.base_url}/{tenant_segment}"
        config = {
            "issuer": issuer,
            "authorization_endpoint": f"{base}/oauth2/v2.0/authorize",
            "token_endpoint": f"{base}/oauth2/v2.0/token",
            "device_authorization_endpoint": f"{base}/oauth2/v2.0/devicecode",
            "end_session_endpoint": f"{base}/oauth2/v2.0/logout",
            "jwks_uri": f"{base}/discovery/v2.0/keys",
            "token_endpoint_auth_methods_supported": [
                "client_secret_post",
                "private_key_jwt",
                "client_secret_basic",
            ],
            "response_modes_supported": ["query", "fragment", "form_post"],
            "subject_types_supported": ["pairwise"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "response_types_supported": ["code", "id_token", "code id_token", "id_token token"],
            "scopes_supported": ["openid", "profile", "email", "offline_access"],
            "request_uri_parameter_supported": False,
            "userinfo_endpoint": "https://graph.microsoft.com/oidc/userinfo",
            "code_challenge_methods_supported": ["plain", "S256"],
            "tenant_region_scope": "EU",
            "cloud_instance_name": "microsoftonline.com",
            "claims_supported": [
                "sub",
                "iss",
                "aud",
                "exp",
                "iat",
                "nonce",
                "preferred_username",
                "name",
                "tid",
                "oid",
            ],
        }
        return Response.json(200, config)

    def keys(self, request: Request) -> Response:
        return Response.json(200, self._issuer.key.jwks())

    # Admin consent -----------------------------------------------------------------------------

    def admin_consent(self, request: Request) -> Response:
        query = request.query
        client_id = query.get("client_id", "")
        redirect_uri = query.get("redirect_uri", "")
        state_param = query.get("state")
        reference = request.params["tenant"]
        if not client_id or not is_guid(client_id):
            return _html_page(
                400, "Sign in error", "AADSTS700016: the client_id parameter must be an application id."
            )
        app = self._state.app_for(client_id)
        page_error = self._redirect_uri_error(app, redirect_uri)
        if page_error is not None:
            return page_error
        if reference.lower() in TENANT_INDEPENDENT:
            return _html_page(
                400,
                "Sign in error",
                "AADSTS90009: admin consent needs a tenant (GUID or domain), not common.",
            )
        tenant = self._tenant_or_none(reference)
        if tenant is None and is_guid(reference):
            tenant, _ = self._state.ensure_tenant(reference)
            logger.info("admin consent created unknown tenant %s", tenant.id)
        if tenant is None:
            return _html_page(400, "Sign in error", f"AADSTS90002: Tenant '{reference}' not found.")
        extra = {"state": state_param} if state_param is not None else {}
        scope = query.get("scope", "")
        if not scope:
            return Response.redirect(
                _with_query(
                    redirect_uri,
                    {
                        "error": "invalid_request",
                        "error_description": "AADSTS900144: The request body must contain the following "
                        "parameter: 'scope'.",
                        **extra,
                    },
                )
            )
        failure = self._state.take_consent_failure(tenant.id)
        if failure is not None:
            logger.info("admin consent for app %s in tenant %s fails as configured", client_id, tenant.id)
            return Response.redirect(
                _with_query(
                    redirect_uri,
                    {"error": failure.error, "error_description": failure.error_description, **extra},
                )
            )
        self._state.record_consent(tenant.id, client_id, scope)
        logger.info("admin consent granted to app %s in tenant %s", client_id, tenant.id)
        return Response.redirect(
            _with_query(redirect_uri, {"admin_consent": "True", "tenant": tenant.id, "scope": scope, **extra})
        )

    # Authorization code ------------------------------------------------------------------------

    def authorize(self, request: Request) -> Response:
        query = request.query
        client_id = query.get("client_id", "")
        redirect_uri = query.get("redirect_uri", "")
        if not client_id or not is_guid(client_id):
            return _html_page(
                400, "Sign in error", "AADSTS900144: 'client_id' is missing or not an application id."
            )
        app = self._state.app_for(client_id)
        page_error = self._redirect_uri_error(app, redirect_uri)
        if page_error is not None:
            return page_error
        response_mode = query.get("response_mode", "query")
        state_param = query.get("state")

        def answer(params: dict[str, str]) -> Response:
            if state_param is not None:
                params = {**params, "state": state_param}
            return self._authorization_response(redirect_uri, response_mode, params)

        def fail(error: str, description: str) -> Response:
            return answer({"error": error, "error_description": description})

        if query.get("response_type") != "code":
            return fail("unsupported_response_type", "AADSTS700054: response_type must be 'code'.")
        if not query.get("code_challenge") or query.get("code_challenge_method") != "S256":
            return fail("invalid_request", "AADSTS9002325: Proof Key for Code Exchange (S256) is required.")
        scopes = tuple(query.get("scope", "").split())
        if not scopes:
            return fail("invalid_request", "AADSTS900144: The request must contain the parameter 'scope'.")
        not_granted = [
            s
            for s in (_graph_scope(x) for x in scopes if own_api_scope(x, client_id) is None)
            if s and s != ".default" and s not in app.delegated_permissions
        ]
        if not_granted:
            return fail(
                "consent_required",
                f"AADSTS65001: The user or administrator has not consented to use the application with ID "
                f"'{client_id}' for {', '.join(not_granted)}.",
            )
        login_hint = query.get("login_hint", "")
        if wants_sign_in_page(query.get("prompt"), login_hint):
            tenant = self._tenant_or_none(request.params["tenant"])
            if tenant is not None:
                return sign_in_page(
                    request.path, request.raw_query, tenant.display_name, self._state.list_users(tenant.id)
                )
        if not login_hint:
            return fail(
                "login_required", "AADSTS50058: A silent sign-in request was sent but no user is signed in."
            )
        user = self._user_for_sign_in(request.params["tenant"], login_hint)
        if user is None:
            return fail(
                "invalid_request",
                f"AADSTS50034: The user account {login_hint} does not exist in the "
                f"{request.params['tenant']} directory.",
            )
        code = AuthorizationCode(
            code=TokenIssuer.opaque_token(),
            client_id=client_id.lower(),
            tenant_id=user.tenant_id,
            user_id=user.id,
            redirect_uri=redirect_uri,
            code_challenge=query["code_challenge"],
            scopes=scopes,
            nonce=query.get("nonce"),
            expires_at=self._state.now() + CODE_LIFETIME,
        )
        self._state.store_code(code)
        logger.info(
            "authorization code issued to app %s for user %s in tenant %s", client_id, user.id, user.tenant_id
        )
        params = {"code": code.code, "session_state": str(uuid.uuid4())}
        if query.get("client_info") == "1":
            params["client_info"] = TokenIssuer.client_info(user)
        return answer(params)

    @staticmethod
    def _authorization_response(redirect_uri: str, response_mode: str, params: dict[str, str]) -> Response:
        if response_mode == "form_post":
            fields = "".join(
                f'<input type="hidden" name="{html.escape(k)}" value="{html.escape(v)}"/>'
                for k, v in params.items()
            )
            body = (
                f'<html><body onload="document.forms[0].submit()"><form method="POST" '
                f'action="{html.escape(redirect_uri)}">{fields}</form></body></html>'
            )
            return Response(200, body.encode(), {"Content-Type": "text/html; charset=utf-8"})
        if response_mode == "fragment":
            return Response.redirect(f"{redirect_uri}#{urlencode(params)}")
        return Response.redirect(_with_query(redirect_uri, params))

    # Token endpoint ----------------------------------------------------------------------------

    def token(self, request: Request) -> Response:
        try:
            return self._token(request)
        except IdentityError as error:
            logger.info("token request refused: %s (AADSTS%d)", error.error, error.error_code)
            now = datetime.now(UTC)
            trace = str(uuid.uuid4())
            payload = {
                "error": error.error,
                "error_description": f"{error.description}\r\nTrace ID: {trace}\r\nCorrelation ID: {trace}"
                f"\r\nTimestamp: {now.strftime('%Y-%m-%d %H:%M:%SZ')}",
                "error_codes": [error.error_code],
                "timestamp": now.strftime("%Y-%m-%d %H:%M:%SZ"),
                "trace_id": trace,
                "correlation_id": trace,
            }
            return Response.json(error.status, payload, {"Cache-Control": "no-store"})

    def _token(self, request: Request) -> Response:
        form = {
            k: v[0]
            for k, v in parse_qs(request.body.decode("utf-8", "replace"), keep_blank_values=True).items()
        }
        client_id, client_secret = self._client_credentials_from(request, form)
        if not client_id:
            raise IdentityError(
                400, "invalid_request", "AADSTS900144: The request body must contain 'client_id'.", 900144
            )
        app = self._state.app_for(client_id)
        self._authenticate_client(app, client_secret, form)
        grant_type = form.get("grant_type", "")
        reference = request.params["tenant"]
        if grant_type == "client_credentials":
            return self._client_credentials_grant(app, reference, form)
        if grant_type == "authorization_code":
            return self._authorization_code_grant(app, reference, form)
        if grant_type == "refresh_token":
            return self._refresh_token_grant(app, reference, form)
        raise IdentityError(
            400,
            "unsupported_grant_type",
            f"AADSTS70003: The app requested an unsupported grant type '{grant_type}'.",
            70003,
        )

    @staticmethod
    def _client_credentials_from(request: Request, form: dict[str, str]) -> tuple[str, str | None]:
        authorization = request.header("authorization") or ""
        if authorization.lower().startswith("basic "):
            try:
                decoded = base64.b64decode(authorization[6:]).decode("utf-8")
            except (ValueError, UnicodeDecodeError):
                decoded = ""
            user, _, password = decoded.partition(":")
            return user, password
        return form.get("client_id", ""), form.get("client_secret")

    @staticmethod
    def _authenticate_client(app: AppRegistration, client_secret: str | None, form: dict[str, str]) -> None:
        assertion = form.get("client_assertion")
        if client_secret is None and not assertion:
            raise IdentityError(
                401,
                "invalid_client",
                "AADSTS7000218: The request body must contain the following parameter: 'client_assertion' or "
                "'client_secret'.",
                7000218,
            )
        if not app.secrets:
            return
        if client_secret is None or not any(hmac.compare_digest(client_secret, s) for s in app.secrets):
            raise IdentityError(
                401,
                "invalid_client",
                "AADSTS7000215: Invalid client secret provided. "
                "Ensure the secret being sent in the request is "
                "the client secret value, not the client secret "
                f"ID, for a secret added to app '{app.client_id}'.",
                7000215,
            )

    def _client_credentials_grant(
        self, app: AppRegistration, reference: str, form: dict[str, str]
    ) -> Response:
        if reference.lower() in TENANT_INDEPENDENT:
            raise IdentityError(
                400,
                "invalid_request",
                "AADSTS90133: Tenant-independent endpoints cannot be used with the client credentials grant.",
                90133,
            )
        tenant = self._require_tenant(reference)
        scope = form.get("scope", "")
        if scope.strip() not in {f"{GRAPH_RESOURCE}/.default", f"{GRAPH_APP_ID}/.default"}:
            raise IdentityError(
                400,
                "invalid_scope",
                "AADSTS1002012: The provided value for scope "
                f"{scope} is not valid. Client credential flows must "
                "have a scope value with /.default suffixed to the resource identifier (application ID URI).",
                1002012,
            )
        if not self._state.is_consented(tenant.id, app.client_id):
            raise IdentityError(
                400,
                "unauthorized_client",
                f"AADSTS700016: Application with identifier '{app.client_id}' was not found in the directory "
                f"'{tenant.id}'. This can happen if the application "
                "has not been installed by the administrator "
                "of the tenant or consented to by any user in the tenant.",
                700016,
            )
        now = self._state.now()
        token = self._issuer.app_access_token(tenant.id, app.client_id, app.application_permissions, now)
        logger.info("app-only token issued to app %s in tenant %s", app.client_id, tenant.id)
        return self._token_response({"access_token": token})

    def _authorization_code_grant(
        self, app: AppRegistration, reference: str, form: dict[str, str]
    ) -> Response:
        code = self._state.redeem_code(form.get("code", ""))
        if code is None:
            raise IdentityError(
                400,
                "invalid_grant",
                "AADSTS70008: The provided authorization code or "
                "refresh token has expired, was already redeemed "
                "or is not valid.",
                70008,
            )
        if code.client_id != app.client_id.lower():
            raise IdentityError(
                400, "invalid_grant", "AADSTS70000: The code was issued to a different client.", 70000
            )
        self._check_tenant_path(reference, code.tenant_id)
        if form.get("redirect_uri", "") != code.redirect_uri:
            raise IdentityError(
                400,
                "invalid_grant",
                "AADSTS70000: The redirect_uri does not match the one used in the authorization request.",
                70000,
            )
        verifier = form.get("code_verifier", "")
        challenge = base64.urlsafe_b64encode(
            hashlib.sha256(verifier.encode("ascii", "replace")).digest()
        ).rstrip(b"=")
        if not verifier or not hmac.compare_digest(challenge.decode("ascii"), code.code_challenge):
            raise IdentityError(
                400,
                "invalid_grant",
                "AADSTS501481: The Code_Verifier does not match "
                "the code_challenge supplied in the authorization "
                "request.",
                501481,
            )
        user = self._state.get_user(code.tenant_id, code.user_id)
        if user is None:
            raise IdentityError(400, "invalid_grant", "AADSTS50034: The user account does not exist.", 50034)
        return self._user_tokens(app, user, code.scopes, code.nonce, form)

    def _refresh_token_grant(self, app: AppRegistration, reference: str, form: dict[str, str]) -> Response:
        grant = self._state.find_refresh_grant(form.get("refresh_token", ""))
        if grant is None:
            raise IdentityError(
                400,
                "invalid_grant",
                "AADSTS700082: The refresh token has expired, was revoked or is not valid.",
                700082,
            )
        if grant.client_id != app.client_id.lower():
            raise IdentityError(
                400,
                "invalid_grant",
                "AADSTS700005: The refresh token was issued to a different client.",
                700005,
            )
        self._check_tenant_path(reference, grant.tenant_id)
        user = self._state.get_user(grant.tenant_id, grant.user_id)
        if user is None:
            raise IdentityError(400, "invalid_grant", "AADSTS50034: The user account does not exist.", 50034)
        requested = tuple(form.get("scope", "").split()) or grant.scopes
        granted = {_graph_scope(s) for s in grant.scopes} - {None}
        extra = [
            s for s in (_graph_scope(x) for x in requested) if s and s != ".default" and s not in granted
        ]
        if extra:
            raise IdentityError(
                400,
                "invalid_grant",
                "AADSTS65001: The user or administrator has not "
                f"consented to {', '.join(extra)} for this app.",
                65001,
            )
        return self._user_tokens(app, user, requested, None, form)

    def _user_tokens(
        self,
        app: AppRegistration,
        user: User,
        scopes: tuple[str, ...],
        nonce: str | None,
        form: dict[str, str],
    ) -> Response:
        now = self._state.now()
        graph_scopes: set[str] = set()
        for scope in scopes:
            permission = _graph_scope(scope)
            if permission == ".default":
                graph_scopes |= app.delegated_permissions
            elif permission:
                graph_scopes.add(permission)
        api_scopes = [name for name in (own_api_scope(s, app.client_id) for s in scopes) if name]
        if api_scopes:
            access_token = self._issuer.api_access_token(
                user.tenant_id,
                app.client_id,
                now,
                object_id=user.id,
                username=user.user_principal_name,
                wids=user.directory_roles,
                roles=user.app_roles,
                scopes=api_scopes,
                client_app_id=app.client_id,
                display_name=user.display_name,
            )
        else:
            access_token = self._issuer.delegated_access_token(user, app.client_id, graph_scopes, now)
        payload: dict[str, Any] = {"access_token": access_token, "scope": " ".join(scopes)}
        if "openid" in scopes:
            payload["id_token"] = self._issuer.id_token(user, app.client_id, nonce, now)
        if form.get("client_info") == "1":
            payload["client_info"] = TokenIssuer.client_info(user)
        if "offline_access" in scopes:
            refresh = RefreshGrant(
                token=TokenIssuer.opaque_token(),
                client_id=app.client_id.lower(),
                tenant_id=user.tenant_id,
                user_id=user.id,
                scopes=scopes,
                issued_at=now,
                expires_at=now + REFRESH_TOKEN_LIFETIME,
            )
            self._state.store_refresh_grant(refresh)
            payload["refresh_token"] = refresh.token
        logger.info(
            "delegated token issued to app %s for user %s in tenant %s",
            app.client_id,
            user.id,
            user.tenant_id,
        )
        return self._token_response(payload)

    @staticmethod
    def _token_response(payload: dict[str, Any]) -> Response:
        lifetime = int(ACCESS_TOKEN_LIFETIME.total_seconds()) - 1
        body = {"token_type": "Bearer", "expires_in": lifetime, "ext_expires_in": lifetime, **payload}
        return Response.json(200, body, {"Cache-Control": "no-store", "Pragma": "no-cache"})

    # Helpers -----------------------------------------------------------------------------------

    def _tenant_or_none(self, reference: str) -> Tenant | None:
        return self._state.get_tenant(reference)

    def _require_tenant(self, reference: str) -> Tenant:
        tenant = self._tenant_or_none(reference)
        if tenant is None:
            raise IdentityError(
                400, "invalid_request", f"AADSTS90002: Tenant '{reference}' not found.", 90002
            )
        return tenant

    def _check_tenant_path(self, reference: str, tenant_id: str) -> None:
        if reference.lower() in TENANT_INDEPENDENT:
            return
        if self._require_tenant(reference).id != tenant_id:
            raise IdentityError(
                400, "invalid_grant", "AADSTS50020: The grant was issued in a different tenant.", 50020
            )

    def _user_for_sign_in(self, reference: str, login_hint: str) -> User | None:
        if reference.lower() in TENANT_INDEPENDENT:
            return self._state.find_user_anywhere(login_hint)
        tenant = self._tenant_or_none(reference)
        return self._state.get_user(tenant.id, login_hint) if tenant else None

    @staticmethod
    def _redirect_uri_error(app: AppRegistration, redirect_uri: str) -> Response | None:
        parts = urlsplit(redirect_uri)
        if parts.scheme not in {"http", "https"} or not parts.netloc:
            return _html_page(
                400, "Sign in error", "AADSTS900971: No reply address provided or it is not a URL."
            )
        if app.redirect_uris and redirect_uri not in app.redirect_uris:
            return _html_page(
                400,
                "Sign in error",
                f"AADSTS50011: The redirect URI '{redirect_uri}' specified in the request does not match the "
                f"redirect URIs configured for the application '{app.client_id}'.",
            )
        return None
