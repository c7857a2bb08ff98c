"""The console session as a credential source: the authenticator tries it after the bearer token.

A request without the console cookie is "no credential of this kind" (None). A cookie that does not
open or has expired is NotAuthenticated (401, the page offers to sign in again). A state-changing
method (anything but GET, HEAD, OPTIONS) must carry the session's CSRF token in `X-CSRF-Token`, else
it is refused 403 `csrfTokenInvalid` before the route runs, so a form or fetch from another site that
rides on the cookie changes nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime

from shared.console.session import CSRF_HEADER, CookiePolicy, CookieRejected, SessionSealer
from shared.identity.credentials import CredentialRequest
from shared.identity.exceptions import CsrfTokenInvalid, InvalidToken
from shared.identity.principal import AuthMethod, Principal

logger = logging.getLogger(__name__)

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


class SessionCookieSource:
    def __init__(self, sealer: SessionSealer, cookies: CookiePolicy, clock: Callable[[], datetime]) -> None:
        self._sealer = sealer
        self._cookies = cookies
        self._clock = clock

    @property
    def method(self) -> AuthMethod:
        return AuthMethod.SESSION

    def authenticate(self, request: CredentialRequest) -> Principal | None:
        value = self._cookies.value_in(request.header("cookie"))
        if value is None:
            return None
        try:
            session = self._sealer.open_session(value, self._clock())
        except CookieRejected as rejected:
            raise InvalidToken(f"the console session is not valid: {rejected}; sign in again") from rejected
        if request.method.upper() not in SAFE_METHODS and not session.csrf_matches(
            request.header(CSRF_HEADER)
        ):
            logger.warning(
                "tenant %s: %s with the console session of %s refused: no valid CSRF token",
                session.principal.tenant_id,
                request.method,
                session.principal.object_id,
            )
            raise CsrfTokenInvalid()
        return session.principal
