"""The admin audit trail as the services write it: every admin action once, with its outcome.

An action that fails on purpose (a stale If-Match, a refused transition, a conflicting create, bad
input the service itself checks) is recorded as `failed` with the error's code and message, then the
error goes on to the caller unchanged. Two failures are not recorded: a tenant without a connector
(there is no trail to add to, and recording would create rows for tenants nobody set up: with
`connectors`, a failure is recorded only once the tenant is known to have one), and an unexpected
error (a bug, logged with its traceback where it is answered 500).

Writing the entry never fails the action: the change is already stored, and answering an error would
mislead the admin into repeating it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import dataclass
from datetime import datetime
from typing import Final, Protocol

from shared.connectors.exceptions import ConnectorNotFound
from shared.connectors.model import AuditEntry, Connector
from shared.connectors.ports import AuditLog
from shared.errors import AppError
from shared.identity.principal import Actor

logger = logging.getLogger(__name__)

MAX_DETAIL_LENGTH: Final = 1024
# Failures that leave nothing to audit: the tenant has no connector, so it has no trail.
UNRECORDED_FAILURES: Final[tuple[type[AppError], ...]] = (ConnectorNotFound,)


@dataclass
class AuditNote:
    """What the action's body tells the recorder: a detail for the entry, or that nothing happened."""

    detail: str | None = None
    # A request that changed nothing (a PATCH with the values already stored) is not an action.
    skip: bool = False


def failure_detail(error: AppError) -> str:
    return f"{error.code}: {error.message}"[:MAX_DETAIL_LENGTH]


class ConnectorLookup(Protocol):
    def get(self, tenant_id: str) -> Connector | None: ...


class AdminAudit:
    def __init__(
        self, log: AuditLog, clock: Callable[[], datetime], connectors: ConnectorLookup | None = None
    ) -> None:
        self._log = log
        self._clock = clock
        self._connectors = connectors

    def record(
        self,
        tenant_id: str,
        action: str,
        actor: Actor | None,
        *,
        failed: bool = False,
        detail: str | None = None,
        at: datetime | None = None,
    ) -> None:
        entry = AuditEntry(
            tenant_id=tenant_id,
            action=action,
            at=at if at is not None else self._clock(),
            outcome="failed" if failed else "succeeded",
            actor=actor,
            detail=None if detail is None else detail[:MAX_DETAIL_LENGTH],
        )
        try:
            self._log.record(entry)
        except Exception:
            logger.exception("could not write the audit entry %s for tenant %s", action, tenant_id)

    @contextmanager
    def action(self, tenant_id: str, action: str, actor: Actor | None) -> Iterator[AuditNote]:
        """Record the block's outcome: succeeded when it returns, failed when it raises an AppError."""
        note = AuditNote()
        try:
            yield note
        except UNRECORDED_FAILURES:
            raise
        except AppError as error:
            if self._connectors is None or self._connectors.get(tenant_id) is not None:
                self.record(tenant_id, action, actor, failed=True, detail=failure_detail(error))
            raise
        if not note.skip:
            self.record(tenant_id, action, actor, detail=note.detail)


def audited(
    audit: AdminAudit | None, tenant_id: str, action: str, actor: Actor | None
) -> AbstractContextManager[AuditNote]:
    """`audit.action(...)`, or a block that records nothing for a service wired without an audit."""
    return audit.action(tenant_id, action, actor) if audit is not None else nullcontext(AuditNote())
