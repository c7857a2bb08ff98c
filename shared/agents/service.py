"""Use cases of the agent roster: each public method is one admin action (or one read other services need).

Agents can be added while the connector waits for consent or is deactivated (they are synced once it is
active), but a userPrincipalName can only be resolved through the tenant's directory, which needs consent.
The subscription side learns about roster changes through `RosterListener.roster_changed`, called once
per API call after the change is stored; its failure never undoes or fails a stored change, because the
renewal timer reconciles subscriptions with the roster anyway.
"""

from __future__ import annotations

import builtins
import logging
import uuid
from collections import Counter
from collections.abc import Callable, Hashable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, Final

from shared.agents.commands import (
    ImportItem,
    RejectedItem,
    UserById,
    UserByPrincipalName,
    UserReference,
    check_page_size,
    parse_agent_id,
    parse_import,
    parse_user_reference,
)
from shared.agents.cursors import decode_cursor, encode_cursor
from shared.agents.exceptions import (
    AgentError,
    AgentNotFound,
    ConnectorDeleting,
    InvalidAgentInput,
    UserLookupFailed,
    UserNotFound,
)
from shared.agents.model import (
    AgentListItem,
    AgentPage,
    ImportReport,
    ImportResult,
    ImportStatus,
    ItemError,
    SavedAgent,
    UserDetails,
    WriteStatus,
)
from shared.agents.ports import (
    AgentRepository,
    FirstSyncRequests,
    NoFirstSync,
    RosterListener,
    SubscriptionCoverage,
    UserDirectory,
)
from shared.connectors.audit import AdminAudit, audited
from shared.connectors.exceptions import ConnectorNotActive, ConnectorNotFound
from shared.connectors.model import Connector, ConnectorStatus
from shared.connectors.ports import ConnectorRepository
from shared.errors import AppError
from shared.graph.exceptions import GraphError, GraphThrottled, GraphUnavailable
from shared.identity.principal import Actor

logger = logging.getLogger(__name__)

# Each userPrincipalName of an import is one Graph call: a few at a time, well inside Graph's limits.
IMPORT_LOOKUP_WORKERS: Final = 8
DUPLICATE_IN_IMPORT: Final = "duplicateInImport"


@dataclass(frozen=True)
class _ResolvedUser:
    user_id: str
    # None: the directory was not asked or did not answer; what is stored is kept.
    details: UserDetails | None


@dataclass(frozen=True)
class _Entry:
    """An import item on its way: its position in the request and, once resolved, its user."""

    index: int
    item: ImportItem
    user: _ResolvedUser | None = None


class AgentService:
    def __init__(
        self,
        repository: AgentRepository,
        graph: UserDirectory,
        connectors: ConnectorRepository,
        coverage: SubscriptionCoverage,
        listener: RosterListener,
        clock: Callable[[], datetime],
        *,
        lookup_workers: int = IMPORT_LOOKUP_WORKERS,
        audit: AdminAudit | None = None,
        first_sync: FirstSyncRequests | None = None,
    ) -> None:
        self._first_sync: FirstSyncRequests = first_sync if first_sync is not None else NoFirstSync()
        if lookup_workers < 1:
            raise ValueError("lookup_workers must be at least 1")
        self._audit = audit
        self._repository = repository
        self._graph = graph
        self._connectors = connectors
        self._coverage = coverage
        self._listener = listener
        self._clock = clock
        self._lookup_workers = lookup_workers

    # -- changes -----------------------------------------------------------------------------------

    def put(
        self, tenant_id: str, agent_id: str, body: Any, *, actor: Actor | None = None
    ) -> tuple[AgentListItem, bool]:
        """Create or replace one agent; the flag says whether it was created."""
        with audited(self._audit, tenant_id, "putAgent", actor) as note:
            agent_id = parse_agent_id(agent_id)
            reference = parse_user_reference(_object_or_none(body))
            connector = self._writable_connector(tenant_id)
            user = self._resolve(tenant_id, connector, reference)
            saved = self._repository.save(tenant_id, agent_id, user.user_id, user.details, self._clock())
            note.detail = f"agent {agent_id} {saved.status.value} (user {user.user_id})"
            note.skip = saved.status is WriteStatus.UNCHANGED
        logger.info(
            "agent %s of tenant %s %s (user %s)", agent_id, tenant_id, saved.status.value, user.user_id
        )
        if saved.user_changed:
            self._notify(tenant_id)
            self._first_sync.agents_added(tenant_id, [(agent_id, user.user_id)])
        return self._item(tenant_id, saved), saved.status is WriteStatus.CREATED

    def import_agents(self, tenant_id: str, body: Any, *, actor: Actor | None = None) -> ImportReport:
        """Create or replace many agents; every item gets its own outcome, in request order."""
        with audited(self._audit, tenant_id, "importAgents", actor) as note:
            report = self._import(tenant_id, body)
            note.detail = ", ".join(f"{report.count(status)} {status.value}" for status in ImportStatus)
        return report

    def _import(self, tenant_id: str, body: Any) -> ImportReport:
        parsed = parse_import(_object_or_none(body))
        connector = self._writable_connector(tenant_id)
        results: list[ImportResult | None] = [None] * len(parsed)
        entries: list[_Entry] = []
        for index, item in enumerate(parsed):
            if isinstance(item, RejectedItem):
                results[index] = _failed(item.agent_id, InvalidAgentInput.code, item.message)
            else:
                entries.append(_Entry(index, item))
        entries = _without_duplicates(entries, results, _agent_key, _same_agent)
        entries = _without_duplicates(entries, results, _reference_key, _same_user)
        entries = self._resolve_all(tenant_id, connector, entries, results)
        # A userPrincipalName and a userId may name the same user.
        entries = _without_duplicates(entries, results, _resolved_user_id, _same_user)
        self._write_all(tenant_id, entries, results)
        report = ImportReport([result for result in results if result is not None])
        logger.info(
            "import for tenant %s: %s created, %s updated, %s unchanged, %s failed",
            tenant_id,
            report.count(ImportStatus.CREATED),
            report.count(ImportStatus.UPDATED),
            report.count(ImportStatus.UNCHANGED),
            report.count(ImportStatus.FAILED),
        )
        return report

    def delete(self, tenant_id: str, agent_id: str, *, actor: Actor | None = None) -> None:
        with audited(self._audit, tenant_id, "deleteAgent", actor) as note:
            agent_id = parse_agent_id(agent_id)
            self._existing_connector(tenant_id)
            removed = self._repository.delete(tenant_id, agent_id)
            if removed is None:
                raise AgentNotFound(tenant_id, agent_id)
            note.detail = f"agent {agent_id} (user {removed.user_id})"
        logger.info("agent %s of tenant %s deleted (user %s)", agent_id, tenant_id, removed.user_id)
        self._notify(tenant_id)

    # -- reading -----------------------------------------------------------------------------------

    def count(self, tenant_id: str) -> int:
        return self._repository.count(tenant_id)

    def user_ids(self, tenant_id: str) -> builtins.list[str]:
        return self._repository.user_ids(tenant_id)

    def list(self, tenant_id: str, limit: int, cursor: str | None) -> AgentPage:
        limit = check_page_size(limit)
        continuation = None if cursor is None else decode_cursor(tenant_id, cursor)
        self._existing_connector(tenant_id)
        page = self._repository.list_page(tenant_id, limit, continuation)
        next_cursor = None if page.continuation is None else encode_cursor(tenant_id, page.continuation)
        if not page.agents:
            return AgentPage([], next_cursor)
        subscribed = self._coverage.subscribed_user_ids(tenant_id)
        presences = self._repository.last_presences(tenant_id)
        items = [
            AgentListItem(agent, agent.user_id in subscribed, presences.get(agent.user_id))
            for agent in page.agents
        ]
        return AgentPage(items, next_cursor)

    # -- internals ---------------------------------------------------------------------------------

    def _existing_connector(self, tenant_id: str) -> Connector:
        connector = self._connectors.get(tenant_id)
        if connector is None:
            raise ConnectorNotFound(tenant_id)
        return connector

    def _writable_connector(self, tenant_id: str) -> Connector:
        connector = self._existing_connector(tenant_id)
        if connector.status is ConnectorStatus.DELETING:
            raise ConnectorDeleting(tenant_id)
        return connector

    def _resolve(self, tenant_id: str, connector: Connector, reference: UserReference) -> _ResolvedUser:
        active = connector.status is ConnectorStatus.ACTIVE
        if isinstance(reference, UserByPrincipalName):
            if not active:
                raise ConnectorNotActive(
                    tenant_id,
                    connector.status.value,
                    "so userPrincipalName cannot be resolved: send the user's Entra object id as userId "
                    "instead, or finish admin consent first",
                )
            return self._resolve_principal_name(tenant_id, reference.user_principal_name)
        if not active:
            # Without consent the directory cannot be read; the name is filled in on a later PUT.
            return _ResolvedUser(reference.user_id, None)
        try:
            user = self._graph.get_user(tenant_id, reference.user_id)
        except GraphError as exc:
            logger.warning(
                "user %s of tenant %s could not be looked up (%s); storing the agent without its name",
                reference.user_id,
                tenant_id,
                exc.code,
            )
            return _ResolvedUser(reference.user_id, None)
        if user is None:
            raise UserNotFound(tenant_id, reference.user_id)
        return _ResolvedUser(reference.user_id, UserDetails(user.user_principal_name, user.display_name))

    def _resolve_principal_name(self, tenant_id: str, principal_name: str) -> _ResolvedUser:
        try:
            user = self._graph.get_user(tenant_id, principal_name)
        except (GraphUnavailable, GraphThrottled):
            raise
        except GraphError as exc:
            logger.warning(
                "Graph refused to resolve a user of tenant %s: %s (%s)", tenant_id, exc.code, exc.status
            )
            raise UserLookupFailed(tenant_id, principal_name, exc.code) from exc
        if user is None:
            raise UserNotFound(tenant_id, principal_name)
        try:
            user_id = str(uuid.UUID(user.id))
        except ValueError as exc:
            raise UserLookupFailed(tenant_id, principal_name, "the user id is not a GUID") from exc
        return _ResolvedUser(user_id, UserDetails(user.user_principal_name, user.display_name))

    def _resolve_all(
        self,
        tenant_id: str,
        connector: Connector,
        entries: Sequence[_Entry],
        results: builtins.list[ImportResult | None],
    ) -> builtins.list[_Entry]:
        def resolve(entry: _Entry) -> _Entry | ItemError:
            try:
                return replace(entry, user=self._resolve(tenant_id, connector, entry.item.user))
            except AppError as exc:
                return ItemError(exc.code, exc.message)

        with ThreadPoolExecutor(self._lookup_workers, thread_name_prefix="agent-import") as pool:
            outcomes = list(pool.map(resolve, entries))
        resolved: list[_Entry] = []
        for entry, outcome in zip(entries, outcomes, strict=True):
            if isinstance(outcome, ItemError):
                results[entry.index] = ImportResult(entry.item.agent_id, ImportStatus.FAILED, outcome)
            else:
                resolved.append(outcome)
        return resolved

    def _write_all(
        self, tenant_id: str, entries: Sequence[_Entry], results: builtins.list[ImportResult | None]
    ) -> None:
        # In request order, one after the other: the outcome of an import does not depend on timing.
        roster_changed = False
        added: builtins.list[tuple[str, str]] = []
        try:
            for entry in entries:
                agent_id = entry.item.agent_id
                user_id = _resolved_user_id(entry)
                details = None if entry.user is None else entry.user.details
                try:
                    saved = self._repository.save(tenant_id, agent_id, user_id, details, self._clock())
                except AgentError as exc:
                    results[entry.index] = _failed(agent_id, exc.code, exc.message)
                    continue
                roster_changed = roster_changed or saved.user_changed
                if saved.user_changed:
                    added.append((agent_id, user_id))
                results[entry.index] = ImportResult(agent_id, ImportStatus(saved.status.value))
        finally:
            # Also when storage fails half-way: what was written must reach the subscriptions.
            if roster_changed:
                self._notify(tenant_id)
            self._first_sync.agents_added(tenant_id, added)

    def _item(self, tenant_id: str, saved: SavedAgent) -> AgentListItem:
        agent = saved.agent
        subscribed = agent.user_id in self._coverage.subscribed_user_ids(tenant_id)
        # A new user row has no presence yet; spare the read.
        presence = None if saved.user_changed else self._repository.presence_of(tenant_id, agent.user_id)
        return AgentListItem(agent, subscribed, presence)

    def _notify(self, tenant_id: str) -> None:
        try:
            self._listener.roster_changed(tenant_id)
        except Exception:
            # The roster is stored; the subscription timer brings subscriptions in line later.
            logger.exception(
                "roster change of tenant %s could not be applied to subscriptions now", tenant_id
            )


def _object_or_none(body: Any) -> dict[str, Any] | None:
    if body is None or isinstance(body, dict):
        return body
    raise InvalidAgentInput("the body must be a JSON object")


def _without_duplicates(
    entries: Sequence[_Entry],
    results: list[ImportResult | None],
    key: Callable[[_Entry], Hashable],
    message: Callable[[_Entry], str],
) -> list[_Entry]:
    """Fail every entry whose key occurs more than once; return the others."""
    counts = Counter(key(entry) for entry in entries)
    kept: list[_Entry] = []
    for entry in entries:
        if counts[key(entry)] > 1:
            results[entry.index] = _failed(entry.item.agent_id, DUPLICATE_IN_IMPORT, message(entry))
        else:
            kept.append(entry)
    return kept


def _agent_key(entry: _Entry) -> str:
    return entry.item.agent_id


def _same_agent(entry: _Entry) -> str:
    return f"agentId {entry.item.agent_id} appears more than once in this import"


def _same_user(entry: _Entry) -> str:
    user = entry.item.user.label if entry.user is None else entry.user.user_id
    return f"user {user} is named by more than one agent of this import"


def _reference_key(entry: _Entry) -> tuple[str, str]:
    user = entry.item.user
    if isinstance(user, UserById):
        return ("id", user.user_id)
    # Directory lookups ignore case.
    return ("upn", user.user_principal_name.casefold())


def _resolved_user_id(entry: _Entry) -> str:
    return entry.item.user.label if entry.user is None else entry.user.user_id


def _failed(agent_id: str | None, code: str, message: str) -> ImportResult:
    return ImportResult(agent_id, ImportStatus.FAILED, ItemError(code, message))
