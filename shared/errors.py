"""The root of every error the connector raises on purpose.

Each area (connectors, storage, security, ...) has its own `exceptions` module with a base class
derived from `AppError` and one small class per failure. The HTTP layer maps each class to a status
exactly once (shared/http/errors.py).
"""

from __future__ import annotations

from typing import ClassVar


class AppError(Exception):
    """An expected failure with a stable machine-readable code and a message safe to show."""

    code: ClassVar[str] = "error"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class ConfigurationError(AppError):
    """The app settings are missing or invalid: the app must not start."""

    code = "configurationError"
