"""First sync without waiting for reconcile: read a new agent's contact-center status once, right away.

When an agent is added (PUT or import) the agent service queues a `firstSync` message; the worker then
reads the agent's status from the contact center and applies it like a reconcile read, so an agent who
was already logged in (on a call, in an idle code) is synced within seconds, not at the next reconcile
run (up to 2 minutes). A Teams change for an agent whose contact-center state was never seen does the
same read first, inline (shared/presence/sync_service.py). Same session id as the agent's other
messages, so it is handled in order with them.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

from shared.presence.envelope import message_digest, read_envelope
from shared.presence.exceptions import InvalidPresenceMessage
from shared.presence.ports import PresenceQueue

logger = logging.getLogger(__name__)

SCHEMA: Final = "firstSync"
VERSION: Final = 1
MAX_MESSAGE_BYTES: Final = 2048


@dataclass(frozen=True)
class FirstSyncRequest:
    tenant_id: str
    user_id: str
    agent_id: str

    @property
    def session_id(self) -> str:
        return f"{self.tenant_id}:{self.user_id}"

    @property
    def kind(self) -> str:
        return SCHEMA

    @property
    def message_id(self) -> str:
        # The same agent added twice within Service Bus's duplicate window needs one first read only.
        return message_digest(SCHEMA, self.tenant_id, self.agent_id, self.user_id)

    def to_json(self) -> bytes:
        body = {
            "schema": SCHEMA,
            "version": VERSION,
            "tenantId": self.tenant_id,
            "userId": self.user_id,
            "agentId": self.agent_id,
        }
        return json.dumps(body, separators=(",", ":")).encode("utf-8")

    @classmethod
    def from_json(cls, raw: bytes) -> FirstSyncRequest:
        body = read_envelope(
            raw, schema=SCHEMA, version=VERSION, max_bytes=MAX_MESSAGE_BYTES, what="first-sync request"
        )
        values = [body.get(name) for name in ("tenantId", "userId", "agentId")]
        if not all(isinstance(value, str) and value for value in values):
            raise InvalidPresenceMessage("the first-sync message lacks tenantId, userId or agentId")
        tenant_id, user_id, agent_id = (str(value) for value in values)
        return cls(tenant_id=tenant_id, user_id=user_id.lower(), agent_id=agent_id)


class QueuedFirstSync:
    """The agent service's FirstSyncRequests port: one message per added agent. Never raises: the
    agent is stored, and the reconcile timer syncs him anyway."""

    def __init__(self, queue: PresenceQueue) -> None:
        self._queue = queue

    def agents_added(self, tenant_id: str, agents: Sequence[tuple[str, str]]) -> None:
        """`agents`: (agent id, Entra user id) pairs."""
        if not agents:
            return
        requests = [FirstSyncRequest(tenant_id, user_id.lower(), agent_id) for agent_id, user_id in agents]
        try:
            self._queue.publish(requests)
        except Exception:
            logger.warning(
                "tenant %s: first sync of %d agent(s) not queued; the reconcile timer syncs them",
                tenant_id,
                len(requests),
                exc_info=True,
            )
            return
        logger.info("tenant %s: first sync queued for %d agent(s)", tenant_id, len(requests))
