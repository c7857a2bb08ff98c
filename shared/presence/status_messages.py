"""Showing the contact-center state as the agent's Teams status message (a group's `statusMessages`).

One Graph read (the message Teams shows now, so a message the user wrote himself is never touched),
the pure rule (status_message_rules), at most one setStatusMessage. It is an extra on top of presence
sync: a failure is logged and never holds the agent's presence back; the expiry of every message the
connector sets bounds a clear that did not happen.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import datetime

from shared.graph.exceptions import GraphError
from shared.graph.ports import GraphGateway
from shared.presence.status_message_rules import SetStatusMessage, status_message_command

logger = logging.getLogger(__name__)


class StatusMessages:
    def __init__(self, graph: GraphGateway) -> None:
        self._graph = graph

    def follow(
        self,
        tenant_id: str,
        user_id: str,
        agent_id: str,
        texts: Mapping[str, str],
        agent_state: str,
        now: datetime,
    ) -> None:
        """Set, keep or clear the status message for the agent's new contact-center state."""
        if not texts:
            return
        try:
            presences = self._graph.get_presences(tenant_id, [user_id])
            current = presences[0].status_message if presences else None
            command = status_message_command(texts, agent_state, current, now)
            if command is None:
                logger.info(
                    "tenant %s agent %s: status message left as it is (state %s, %s)",
                    tenant_id,
                    agent_id,
                    agent_state,
                    "none set" if current is None else "the connector's or the user's own",
                )
                return
            if isinstance(command, SetStatusMessage):
                self._graph.set_status_message(tenant_id, user_id, command.content, command.expires_at)
                logger.info(
                    "tenant %s agent %s: status message set for state %s until %s",
                    tenant_id,
                    agent_id,
                    agent_state,
                    command.expires_at.isoformat(),
                )
            else:
                self._graph.set_status_message(tenant_id, user_id, "", None)
                logger.info(
                    "tenant %s agent %s: status message cleared (state %s)", tenant_id, agent_id, agent_state
                )
        except GraphError as exc:
            logger.warning(
                "tenant %s agent %s: status message not updated (state %s): %s",
                tenant_id,
                agent_id,
                agent_state,
                exc,
            )
