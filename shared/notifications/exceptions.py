"""Failures while verifying and opening Microsoft Graph change notifications.

The intake drops a notification that raises any of these (and logs the code); none of them may turn
into a 5xx. `shared.security.exceptions.SigningKeysUnavailable` (the issuer's keys cannot be fetched)
says nothing about the notification itself and is the one failure answered 503.
"""

from __future__ import annotations

from shared.errors import AppError


class NotificationError(AppError):
    code = "notificationError"


class MalformedNotificationError(NotificationError):
    """The payload is not a changeNotificationCollection as Graph's schema defines it."""

    code = "malformedNotification"


class NotificationBatchTooLarge(MalformedNotificationError):
    """More notifications or validation tokens in one body than Graph ever sends together."""

    code = "payloadTooLarge"


class EncryptionCertificateError(NotificationError):
    """A notification encryption certificate cannot be loaded or is unfit for a subscription."""

    code = "invalidEncryptionCertificate"


class UnknownEncryptionCertificateError(NotificationError):
    """encryptedContent names a certificate id the key ring does not hold."""

    code = "unknownEncryptionCertificate"


class EncryptionCertificateThumbprintMismatchError(NotificationError):
    """The certificate id is known but the thumbprint Graph sent is not that certificate's."""

    code = "encryptionCertificateThumbprintMismatch"


class DataSignatureMismatchError(NotificationError):
    """HMAC-SHA256 of `data` does not match `dataSignature`: tampered or forged content."""

    code = "dataSignatureMismatch"


class DecryptionFailedError(NotificationError):
    """The data key does not unwrap, or the content does not decrypt to a JSON object."""

    code = "decryptionFailed"


class InvalidValidationTokenError(NotificationError):
    """A validationTokens JWT fails signature, lifetime, issuer, audience or publisher checks."""

    code = "invalidValidationToken"


class UnknownSigningKeyError(InvalidValidationTokenError):
    """The token's `kid` is not among the issuer's published signing keys."""

    code = "unknownSigningKey"


class MissingValidationTokenError(NotificationError):
    """No valid token in the batch covers a tenant that has notifications in it."""

    code = "missingValidationToken"


class ClientStateMismatchError(NotificationError):
    """The clientState was not issued by this app for the notification's tenant."""

    code = "clientStateMismatch"
