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


class StaleAgentSyncState(PresenceError):
    """Another message changed the agent's sync state since it was read: read again and decide again."""

    code = "staleAgentSyncState"

    def __init__(self, tenant_id: str, user_id: str) -> None:
        super().__init__(f"the sync state of user {user_id} in tenant {tenant_id} changed meanwhile")


class AgentSyncStateGone(PresenceError):
    """The agent was removed from the roster while its message was being applied."""

    code = "agentSyncStateGone"

    def __init__(self, tenant_id: str, user_id: str) -> None:
        super().__init__(f"user {user_id} in tenant {tenant_id} is no longer an agent")


class TransientSyncFailure(PresenceError):
    """A contact center or Graph said "later" (throttled, unavailable): the message is abandoned so
    Service Bus delivers it again; it dead-letters after the queue's maximum delivery count."""

    code = "transientSyncFailure"
