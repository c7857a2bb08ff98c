"""What presence sync needs from a contact center. Adapters: webex_client.py, webhook_client.py."""

from __future__ import annotations

from typing import Protocol

from shared.connectors.model import ContactCenterConfig
from shared.contact_center.health import ContactCenterCheck, ContactCenterHealth
from shared.contact_center.model import AgentStatus, IdleCode


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

    def idle_codes(self) -> list[IdleCode]:
        """The contact center's active idle codes: what Teams states can be mapped to."""
        ...

    def probe(self) -> int:
        """Send one authenticated request that changes nothing (the admin's connection test) and return
        the HTTP status of the contact center's 2xx answer; fail like every other call."""
        ...


class ContactCenterClients(Protocol):
    def client_for(self, tenant_id: str, config: ContactCenterConfig) -> ContactCenterClient:
        """The client for this tenant and configuration; cached, so cheap to call per message."""
        ...


class ContactCenterHealthLog(Protocol):
    """The latest contact-center check per tenant and source (test, sync), kept with the connector."""

    def record(self, tenant_id: str, check: ContactCenterCheck) -> None: ...

    def get(self, tenant_id: str) -> ContactCenterHealth: ...


class ContactCenterHealthReporter(Protocol):
    """Where the presence engine reports what its contact-center calls showed; never raises."""

    def report(self, tenant_id: str, check: ContactCenterCheck) -> None: ...


class NoHealthReports:
    """For an engine wired without health reporting (tests of the engine alone)."""

    def report(self, tenant_id: str, check: ContactCenterCheck) -> None:
        return None
