"""The Microsoft identity platform through MSAL: the sign-in URL, the code redemption, token sessions.

This is the only module that imports msal (lazily: it is not needed on the notification path).

Two hosts, because locally they differ: the browser is sent to `browser_authority_host` (login page),
while MSAL talks to `token_authority_host` (discovery and token endpoint), which must be https; the
local simulator serves it with a self-signed certificate, trusted through `ca_bundle_path`. The
authorize URL is built here rather than by MSAL, whose URL would come from discovery on the token host.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlencode, urlsplit

import requests
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from requests.adapters import HTTPAdapter

from shared.errors import ConfigurationError
from shared.sync_accounts.exceptions import (
    AppCredentialRejected,
    IdentityPlatformUnavailable,
    SignInRejected,
    TokenRefreshRejected,
)
from shared.sync_accounts.model import PRESENCE_SCOPE, AcquiredToken, RedeemedSignIn, SignedInIdentity

if TYPE_CHECKING:
    from requests import PreparedRequest, Response

logger = logging.getLogger(__name__)

# What the browser asks for: the Graph permission plus a refresh token and the user's identity.
SIGN_IN_SCOPES = (PRESENCE_SCOPE, "offline_access", "openid", "profile")
DEFAULT_TIMEOUT_SECONDS = 10.0
# Only a new interactive sign-in fixes these (revoked or expired refresh token, withdrawn consent, MFA).
_SIGN_IN_AGAIN_ERRORS = frozenset(
    {"invalid_grant", "interaction_required", "consent_required", "login_required"}
)
# The app's own credential or registration is wrong: every account would fail the same way.
_APP_ERRORS = frozenset({"invalid_client", "unauthorized_client"})
MAX_DESCRIPTION_LENGTH = 300


class MsalOAuthClient:
    def __init__(
        self,
        client_id: str,
        client_credential: str | dict[str, str],
        token_authority_host: str,
        browser_authority_host: str,
        redirect_uri: str,
        ca_bundle_path: str | None,
        *,
        timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS,
    ) -> None:
        if not client_id:
            raise ConfigurationError("the sign-in app's client id is missing")
        if not client_credential:
            raise ConfigurationError("the sign-in app's client secret or certificate is missing")
        if urlsplit(token_authority_host).scheme != "https":
            raise ConfigurationError(f"the token authority host must be https, not {token_authority_host!r}")
        if urlsplit(browser_authority_host).scheme not in {"http", "https"}:
            raise ConfigurationError(f"the browser authority host is not a URL: {browser_authority_host!r}")
        if urlsplit(redirect_uri).scheme not in {"http", "https"}:
            raise ConfigurationError(f"the sign-in redirect URI is not a URL: {redirect_uri!r}")
        self._client_id = client_id
        self._credential = client_credential
        self._token_authority_host = token_authority_host.rstrip("/")
        self._browser_authority_host = browser_authority_host.rstrip("/")
        self._redirect_uri = redirect_uri
        self._ca_bundle_path = ca_bundle_path
        self._timeout_seconds = timeout_seconds

    def authorize_url(
        self, tenant_id: str, *, state: str, code_challenge: str, login_hint: str | None
    ) -> str:
        params = {
            "client_id": self._client_id,
            "response_type": "code",
            "redirect_uri": self._redirect_uri,
            "response_mode": "query",
            "scope": " ".join(SIGN_IN_SCOPES),
            "state": state,
            "code_challenge": code_challenge,
            "code_challenge_method": "S256",
        }
        if login_hint is not None:
            params["login_hint"] = login_hint
        else:
            # The admin's own browser session would otherwise sign in silently as the admin.
            params["prompt"] = "select_account"
        query = urlencode(params, quote_via=quote)
        return f"{self._browser_authority_host}/{tenant_id}/oauth2/v2.0/authorize?{query}"

    def redeem_code(self, tenant_id: str, code: str, code_verifier: str) -> RedeemedSignIn:
        import msal

        cache = msal.SerializableTokenCache()
        result = self._redeem(tenant_id, cache, code, code_verifier, [PRESENCE_SCOPE], None, "the sign-in")
        return RedeemedSignIn(identity=_identity(result), token_cache=_checked_cache(cache))

    def console_authorize_url(
        self, tenant_id: str, *, scopes: tuple[str, ...], state: str, code_challenge: str, nonce: str
    ) -> str:
        """Where the console sends an admin or agent to sign in: the Microsoft sign-in page, whoever is
        signed in there already (`prompt=login`), for an access token of the connector's own API."""
        params = {
            "client_id": self._client_id,
            "response_type": "code",
            "redirect_uri": self._redirect_uri,
            "response_mode": "query",
            "scope": " ".join(scopes),
            "state": state,
            "nonce": nonce,
            "code_challenge": code_challenge,
            "code_challenge_method": "S256",
            "prompt": "login",
        }
        query = urlencode(params, quote_via=quote)
        return f"{self._browser_authority_host}/{tenant_id}/oauth2/v2.0/authorize?{query}"

    def console_access_token(
        self, tenant_id: str, code: str, code_verifier: str, *, scopes: tuple[str, ...], nonce: str
    ) -> AcquiredToken:
        """Redeem the console's code for an access token of `scopes`; no token cache is kept (the
        console session holds the verified principal, not the token)."""
        import msal

        cache = msal.SerializableTokenCache()
        result = self._redeem(
            tenant_id, cache, code, code_verifier, list(scopes), nonce, "the console sign-in"
        )
        if "access_token" not in result:
            raise SignInRejected("invalid_response", "the token response carries no access token")
        return AcquiredToken(token=str(result["access_token"]), expires_in_seconds=_expires_in(result))

    def _redeem(
        self,
        tenant_id: str,
        cache: Any,
        code: str,
        code_verifier: str,
        scopes: list[str],
        nonce: str | None,
        what: str,
    ) -> dict[str, Any]:
        """MSAL's answer to the code redemption, its failures raised as the area's errors."""
        application = self._application(tenant_id, cache)
        try:
            result: dict[str, Any] = application.acquire_token_by_authorization_code(
                code,
                scopes=scopes,
                redirect_uri=self._redirect_uri,
                nonce=nonce,
                data={"code_verifier": code_verifier},
            )
        except _id_token_errors() as error:
            # Its message carries the token's claims (names, UPN): only the kind goes to the log.
            logger.warning(
                "tenant %s: %s's ID token is not valid (%s)", tenant_id, what, type(error).__name__
            )
            raise SignInRejected("invalid_id_token", "the ID token of the sign-in is not valid") from error
        except _transport_errors() as error:
            raise _unavailable(tenant_id, f"the code redemption of {what}", error) from error
        if "error" in result:
            error_code, description = _error_of(result)
            if error_code in _APP_ERRORS:
                raise _app_rejected(tenant_id, error_code, description)
            logger.warning(
                "tenant %s: the authorization code of %s was refused (%s)", tenant_id, what, error_code
            )
            raise SignInRejected(error_code, description)
        return result

    def session(self, tenant_id: str, account_id: str) -> MsalTokenSession:
        return MsalTokenSession(self, tenant_id, account_id)

    def _application(self, tenant_id: str, cache: Any) -> Any:
        """A ConfidentialClientApplication for the tenant; building it reads the tenant's discovery
        document from the token host."""
        import msal

        try:
            return msal.ConfidentialClientApplication(
                self._client_id,
                client_credential=self._credential,
                authority=f"{self._token_authority_host}/{tenant_id}",
                # Without this MSAL asks login.microsoftonline.com about any other host.
                instance_discovery=False,
                token_cache=cache,
                http_client=self._http_client(),
            )
        except _transport_errors() as error:
            raise _unavailable(tenant_id, "the authority discovery", error) from error

    def _http_client(self) -> requests.Session:
        session = requests.Session()
        adapter = _TimeoutAdapter(self._timeout_seconds)
        session.mount("https://", adapter)
        session.mount("http://", adapter)
        if self._ca_bundle_path is not None:
            session.verify = self._ca_bundle_path
            # requests lets REQUESTS_CA_BUNDLE / CURL_CA_BUNDLE override Session.verify; a private CA is
            # configured on purpose, so the environment must not replace it.
            session.trust_env = False
        return session


class MsalTokenSession:
    """One sync account's MSAL app and token cache. The service serialises calls per account."""

    def __init__(self, client: MsalOAuthClient, tenant_id: str, account_id: str) -> None:
        import msal

        self._client = client
        self._tenant_id = tenant_id
        self._account_id = account_id
        self._cache = msal.SerializableTokenCache()
        self._application: Any = None

    def load(self, token_cache: str) -> None:
        self._cache.deserialize(token_cache)

    def acquire(self) -> AcquiredToken:
        if self._application is None:
            self._application = self._client._application(self._tenant_id, self._cache)
        application = self._application
        account = next(
            (entry for entry in application.get_accounts() if _is_account(entry, self._account_id)), None
        )
        if account is None:
            raise TokenRefreshRejected("no_account", "the token cache holds no sign-in of this account")
        try:
            result = application.acquire_token_silent_with_error([PRESENCE_SCOPE], account)
        except _transport_errors() as error:
            raise _unavailable(self._tenant_id, f"the token refresh of {self._account_id}", error) from error
        if result is None:
            raise TokenRefreshRejected("no_refresh_token", "the token cache holds no usable refresh token")
        if "access_token" in result:
            return AcquiredToken(token=str(result["access_token"]), expires_in_seconds=_expires_in(result))
        error_code, description = _error_of(result)
        if error_code in _SIGN_IN_AGAIN_ERRORS:
            raise TokenRefreshRejected(error_code, description)
        if error_code in _APP_ERRORS:
            raise _app_rejected(self._tenant_id, error_code, description)
        logger.warning(
            "tenant %s: the token refresh of sync account %s failed (%s)",
            self._tenant_id,
            self._account_id,
            error_code,
        )
        raise IdentityPlatformUnavailable(f"the identity platform refused the token refresh: {error_code}")

    def changed_cache(self) -> str | None:
        if not self._cache.has_state_changed:
            return None
        serialized: str = self._cache.serialize()
        self._cache.has_state_changed = False
        return serialized


def msal_certificate_credential(pem: bytes) -> dict[str, str]:
    """MSAL's client credential for a certificate given as PEM (private key and certificate).

    MSAL derives the SHA-256 thumbprint from `public_certificate` and signs the client assertion with
    PS256, which Entra accepts for every certificate registered on the app.
    """
    try:
        private_key = serialization.load_pem_private_key(pem, password=None)
        certificate = x509.load_pem_x509_certificate(pem)
    except (ValueError, TypeError) as exc:
        raise ConfigurationError("the app certificate must be PEM with an unencrypted private key") from exc
    key_pem = private_key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode("ascii")
    certificate_pem = certificate.public_bytes(serialization.Encoding.PEM).decode("ascii")
    return {"private_key": key_pem, "public_certificate": certificate_pem}


class _TimeoutAdapter(HTTPAdapter):
    """requests has no session-wide timeout; a token call must not hang a Functions invocation."""

    def __init__(self, timeout_seconds: float) -> None:
        super().__init__(max_retries=1)
        self._timeout_seconds = timeout_seconds

    def send(
        self,
        request: PreparedRequest,
        stream: bool = False,
        timeout: Any = None,
        verify: Any = True,
        cert: Any = None,
        proxies: dict[str, str] | None = None,
    ) -> Response:
        return super().send(
            request,
            stream=stream,
            timeout=self._timeout_seconds if timeout is None else timeout,
            verify=verify,
            cert=cert,
            proxies=proxies,
        )


def _id_token_errors() -> tuple[type[Exception], ...]:
    from msal.oauth2cli.oidc import IdTokenError

    return (IdTokenError,)


def _transport_errors() -> tuple[type[Exception], ...]:
    from msal.exceptions import MsalServiceError

    # MsalServiceError: a 5xx from the token endpoint; ValueError: a body that is not JSON.
    return (requests.RequestException, MsalServiceError, ValueError, OSError)


def _unavailable(tenant_id: str, what: str, error: Exception) -> IdentityPlatformUnavailable:
    # MSAL's and requests' messages name URLs and statuses, never a secret or token.
    logger.warning("tenant %s: %s failed: %s: %.300s", tenant_id, what, type(error).__name__, error)
    return IdentityPlatformUnavailable(
        f"the Microsoft identity platform did not answer ({type(error).__name__}); try again shortly"
    )


def _app_rejected(tenant_id: str, error_code: str, description: str) -> AppCredentialRejected:
    logger.error("tenant %s: the identity platform refused the app credential: %s", tenant_id, error_code)
    return AppCredentialRejected(
        f"the identity platform refused the connector app's credential ({error_code}): {description}"
    )


def _error_of(result: dict[str, Any]) -> tuple[str, str]:
    error_code = str(result.get("error") or "unknown_error")[:100]
    # Entra appends trace and correlation ids on further lines; the first line says what happened.
    description = str(result.get("error_description") or "").strip().splitlines()
    return error_code, (description[0] if description else "")[:MAX_DESCRIPTION_LENGTH]


def _identity(result: dict[str, Any]) -> SignedInIdentity:
    claims = result.get("id_token_claims")
    if not isinstance(claims, dict):
        raise SignInRejected("invalid_response", "the token response carries no ID token")
    object_id, tenant_id = claims.get("oid"), claims.get("tid")
    username = claims.get("preferred_username") or claims.get("upn")
    if not isinstance(object_id, str) or not isinstance(tenant_id, str) or not isinstance(username, str):
        raise SignInRejected("invalid_response", "the ID token lacks the account's oid, tid or username")
    name = claims.get("name")
    return SignedInIdentity(
        tenant_id=tenant_id.lower(),
        account_id=object_id.lower(),
        user_principal_name=username,
        display_name=name if isinstance(name, str) and name else None,
    )


def _checked_cache(cache: Any) -> str:
    # Without a refresh token the account would stop working within the hour.
    if next(iter(cache.search(cache.CredentialType.REFRESH_TOKEN)), None) is None:
        raise SignInRejected(
            "no_refresh_token", "no refresh token was issued; the offline_access permission is required"
        )
    serialized: str = cache.serialize()
    return serialized


def _is_account(entry: dict[str, Any], account_id: str) -> bool:
    local = str(entry.get("local_account_id") or "").lower()
    home = str(entry.get("home_account_id") or "").lower().split(".")[0]
    return account_id in {local, home}


def _expires_in(result: dict[str, Any]) -> int:
    try:
        return max(0, int(result.get("expires_in", 0)))
    except (TypeError, ValueError):
        return 0
