"""What presence sync needs from a contact center. Adapters: webex_client.py, webhook_client.py."""

from __future__ import annotations

from typing import Protocol

from shared.connectors.model import ContactCenterConfig
from shared.contact_center.model import AgentStatus


class ContactCenterClient(Protocol):
    """One tenant's contact center. Calls are not retried inside: errors from
    shared.contact_center.exceptions say whether a redelivery of the message can succeed."""

    def set_idle(self, agent_id: str, idle_code_id: str, idle_code_name: str | None, reason: str) -> None:
        """Put the agent in the idle state with that idle (aux) code."""
        ...

    def set_available(self, agent_id: str, reason: str) -> None: ...

    def get_status(self, agent_id: str) -> AgentStatus | None:
        """The agent's current state; None when the contact center does not know it."""
        ...


class ContactCenterClients(Protocol):
    def client_for(self, tenant_id: str, config: ContactCenterConfig) -> ContactCenterClient:
        """The client for this tenant and configuration; cached, so cheap to call per message."""
        ...
