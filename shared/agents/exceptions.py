"""Failures of the agent roster; each class maps to one HTTP status in shared/http/errors.py."""

from __future__ import annotations

from shared.errors import AppError


class AgentError(AppError):
    code = "agentError"


class InvalidAgentInput(AgentError):
    """An agent id, user reference, page size or import item is missing, of the wrong type or not allowed."""

    code = "invalidRequest"


class TooManyAgents(InvalidAgentInput):
    code = "tooManyAgents"

    def __init__(self, count: int, limit: int) -> None:
        super().__init__(f"an import takes at most {limit} agents, this one has {count}; split it up")
        self.count = count
        self.limit = limit


class InvalidCursor(InvalidAgentInput):
    """The paging cursor was not issued by this API for this tenant (or was cut or edited)."""

    code = "invalidCursor"

    def __init__(self) -> None:
        super().__init__("cursor is not valid: pass nextCursor from the previous page unchanged")


class AgentNotFound(AgentError):
    code = "agentNotFound"

    def __init__(self, tenant_id: str, agent_id: str) -> None:
        super().__init__(f"tenant {tenant_id} has no agent {agent_id}")
        self.tenant_id = tenant_id
        self.agent_id = agent_id


class UserNotFound(AgentError):
    """The directory of the tenant has no user with the given object id or userPrincipalName."""

    code = "userNotFound"

    def __init__(self, tenant_id: str, reference: str) -> None:
        super().__init__(f"the directory of tenant {tenant_id} has no user {reference}")
        self.tenant_id = tenant_id
        self.reference = reference


class UserAlreadyAssigned(AgentError):
    """A Teams user backs at most one agent per tenant: presence could not be synced both ways otherwise."""

    code = "userAlreadyAssigned"

    def __init__(self, user_id: str, agent_id: str) -> None:
        super().__init__(
            f"user {user_id} is already assigned to agent {agent_id}; "
            "delete that agent or give it another user first"
        )
        self.user_id = user_id
        self.agent_id = agent_id


class ConnectorDeleting(AgentError):
    code = "connectorDeleting"

    def __init__(self, tenant_id: str) -> None:
        super().__init__(f"the connector of tenant {tenant_id} is being deleted; agents cannot be changed")
        self.tenant_id = tenant_id


class ConcurrentAgentChange(AgentError):
    """Other writers kept changing the same agent or user while this change was retried."""

    code = "concurrentChange"

    def __init__(self, tenant_id: str, agent_id: str) -> None:
        super().__init__(
            f"agent {agent_id} of tenant {tenant_id} was changed concurrently by someone else; try again"
        )
        self.tenant_id = tenant_id
        self.agent_id = agent_id


class UserLookupFailed(AgentError):
    """Microsoft Graph refused to resolve a user (consent revoked, permission missing, bad request)."""

    code = "userLookupFailed"

    def __init__(self, tenant_id: str, reference: str, reason: str) -> None:
        super().__init__(
            f"Microsoft Graph refused to look up user {reference} in tenant {tenant_id} ({reason}); "
            "check that admin consent is still granted"
        )
        self.tenant_id = tenant_id
        self.reference = reference
        self.reason = reason


# -- agent groups ------------------------------------------------------------------------------------


class InvalidGroupInput(InvalidAgentInput):
    """A group id, group body or moveTo is missing, of the wrong type or not allowed."""

    code = "invalidRequest"


class GroupNotFound(AgentError):
    code = "agentGroupNotFound"

    def __init__(self, tenant_id: str, group_id: str) -> None:
        super().__init__(f"tenant {tenant_id} has no agent group {group_id}")
        self.tenant_id = tenant_id
        self.group_id = group_id


class UnknownGroup(AgentError):
    """An agent names a group that does not exist (a 400 of the agent's input, not a missing route)."""

    code = "unknownAgentGroup"

    def __init__(self, tenant_id: str, group_id: str) -> None:
        super().__init__(
            f"tenant {tenant_id} has no agent group {group_id}; create it with PUT "
            f"/api/tenants/{tenant_id}/agent-groups/{group_id} first, or leave groupId out (default group)"
        )
        self.tenant_id = tenant_id
        self.group_id = group_id


class DefaultGroupReadOnly(AgentError):
    code = "defaultGroupReadOnly"

    def __init__(self, action: str) -> None:
        super().__init__(
            f"the default group cannot be {action}: it follows the tenant's settings (presenceSync of "
            "the connector, the tenant's presence mappings); change those instead"
        )


class GroupNotEmpty(AgentError):
    code = "agentGroupNotEmpty"

    def __init__(self, tenant_id: str, group_id: str, agents: int) -> None:
        super().__init__(
            f"agent group {group_id} of tenant {tenant_id} still has {agents} agent(s); move them first "
            "or delete with ?moveTo=<groupId> to move them to another group"
        )
        self.tenant_id = tenant_id
        self.group_id = group_id
        self.agents = agents


class StaleGroup(AgentError):
    """The caller's ETag (If-Match) no longer matches: someone changed the group meanwhile."""

    code = "preconditionFailed"

    def __init__(self, tenant_id: str, group_id: str) -> None:
        super().__init__(
            f"agent group {group_id} of tenant {tenant_id} was changed by someone else (or does not "
            "exist at that version); GET it again and retry"
        )
        self.tenant_id = tenant_id
        self.group_id = group_id


class UnreadableGroup(AgentError):
    """A stored group row cannot be read back (edited by hand, or written by a newer schema): a 500."""

    code = "unreadableAgentGroup"


class InvalidRosterCsv(InvalidAgentInput):
    """A roster CSV that cannot be read as a whole (encoding, header, quoting, size): nothing is written."""

    code = "invalidCsv"
