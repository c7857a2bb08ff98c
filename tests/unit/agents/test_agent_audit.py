"""The roster's admin actions in the audit trail: each PUT, import and DELETE once, with its outcome;
nothing for a tenant without a connector, nothing for a PUT that changed nothing."""

from __future__ import annotations

import pytest

from shared.agents.exceptions import AgentNotFound, InvalidAgentInput, UserAlreadyAssigned
from shared.agents.service import AgentService
from shared.connectors.audit import AdminAudit
from shared.connectors.exceptions import ConnectorNotFound
from tests.fakes import FakeAuditLog
from tests.support.identity import ADMIN
from tests.unit.agents.test_agent_service import ANN, BOB, TENANT, World


class AuditedWorld(World):
    def __init__(self) -> None:
        super().__init__()
        self.audit = FakeAuditLog()
        self.service = AgentService(
            self.repo,
            self.directory,
            self.connectors,
            self.coverage,
            self.listener,
            self.clock,
            audit=AdminAudit(self.audit, self.clock, self.connectors),
        )

    def trail(self) -> list[tuple[str, str, str | None]]:
        return [(e.action, e.outcome, e.detail) for e in self.audit.entries]


@pytest.fixture
def audited() -> AuditedWorld:
    return AuditedWorld()


def test_puts_imports_and_deletes_are_audited_with_the_actor(audited: AuditedWorld) -> None:
    audited.service.put(TENANT, "agent-1", {"userId": ANN}, actor=ADMIN)
    audited.service.put(TENANT, "agent-1", {"userId": ANN}, actor=ADMIN)  # unchanged: no action
    audited.service.import_agents(TENANT, {"agents": [{"agentId": "agent-2", "userId": BOB}]}, actor=ADMIN)
    audited.service.delete(TENANT, "agent-1", actor=ADMIN)
    assert audited.trail() == [
        ("putAgent", "succeeded", f"agent agent-1 created (user {ANN}, group default)"),
        ("importAgents", "succeeded", "1 created, 0 updated, 0 unchanged, 0 failed"),
        ("deleteAgent", "succeeded", f"agent agent-1 (user {ANN})"),
    ]
    assert {e.actor for e in audited.audit.entries} == {ADMIN}


def test_refused_roster_changes_are_audited_as_failed(audited: AuditedWorld) -> None:
    audited.service.put(TENANT, "agent-1", {"userId": ANN}, actor=ADMIN)
    with pytest.raises(UserAlreadyAssigned):
        audited.service.put(TENANT, "agent-2", {"userId": ANN}, actor=ADMIN)
    with pytest.raises(AgentNotFound):
        audited.service.delete(TENANT, "nobody", actor=ADMIN)
    with pytest.raises(InvalidAgentInput):
        audited.service.put(TENANT, "agent-3", {"userId": "not-a-guid"}, actor=ADMIN)
    failed = [
        (action, (detail or "").split(":")[0])
        for action, outcome, detail in audited.trail()
        if outcome == "failed"
    ]
    assert failed == [
        ("putAgent", "userAlreadyAssigned"),
        ("deleteAgent", "agentNotFound"),
        ("putAgent", "invalidRequest"),
    ]


def test_nothing_is_recorded_for_a_tenant_without_a_connector(audited: AuditedWorld) -> None:
    audited.connectors.rows.clear()
    with pytest.raises(ConnectorNotFound):
        audited.service.put(TENANT, "agent-1", {"userId": ANN}, actor=ADMIN)
    # Bad input is refused before the connector is looked up: still no row for a tenant nobody set up
    with pytest.raises(InvalidAgentInput):
        audited.service.put(TENANT, "agent 1", {"userId": ANN}, actor=ADMIN)
    assert audited.audit.entries == []
