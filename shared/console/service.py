"""What the console's routes call: the sign-in, the session in a request's cookie, the cookie itself."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from shared.console.session import ConsoleSession, CookiePolicy, SessionSealer
from shared.console.sign_in import ConsoleSignIn


@dataclass(frozen=True)
class Console:
    sign_in: ConsoleSignIn
    sealer: SessionSealer
    cookies: CookiePolicy
    clock: Callable[[], datetime]

    def session_in(self, cookie_header: str | None) -> ConsoleSession:
        """The request's session; raise CookieRejected without a valid one."""
        return self.sealer.open_session(self.cookies.value_in(cookie_header), self.clock())

    def pending_cookie(self, cookie_header: str | None) -> str | None:
        return self.cookies.value_in(cookie_header)
