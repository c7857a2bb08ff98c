"""Failures of the presence area."""

from __future__ import annotations

from shared.errors import AppError


class PresenceError(AppError):
    code = "presenceError"


class InvalidPresenceMessage(PresenceError):
    """A queue message that is not a presence change this version understands: dead-letter it."""

    code = "invalidPresenceMessage"


class PresenceQueueUnavailable(PresenceError):
    """The hand-off to the queue failed: the notification was not persisted and must be retried."""

    code = "presenceQueueUnavailable"
