"""Failures of the security primitives."""

from __future__ import annotations

from shared.errors import AppError


class SecurityError(AppError):
    code = "securityError"


class InvalidSignedState(SecurityError):
    """Malformed, tampered with, signed for another purpose or with another key."""

    code = "invalidState"


class ExpiredSignedState(SecurityError):
    code = "expiredState"


class SecretDecryptionFailed(SecurityError):
    """A sealed secret does not open with the configured key (wrong key, tampered, or moved between rows)."""

    code = "secretDecryptionFailed"


class UnknownSigningKey(SecurityError):
    """A token names a `kid` that is not among its issuer's published signing keys."""

    code = "unknownSigningKey"


class SigningKeysUnavailable(SecurityError):
    """The issuer's signing keys could not be fetched: no token can be checked, whatever it holds."""

    code = "signingKeysUnavailable"
