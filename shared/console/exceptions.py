"""Failures of the console's sign-in (the session cookie's own failures are NotAuthenticated)."""

from __future__ import annotations

from shared.errors import AppError


class ConsoleSignInError(AppError):
    """A sign-in that cannot complete: answered 400 with a page that says why and links a new sign-in."""

    code = "consoleSignInFailed"


class InvalidConsoleRequest(ConsoleSignInError):
    code = "invalidRequest"
