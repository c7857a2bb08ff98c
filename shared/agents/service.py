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
import time
import uuid
from collections import Counter
from collections.abc import Callable, Hashable, Mapping, Sequence
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
    parse_agent_body,
    parse_agent_id,
    parse_import,
)
from shared.agents.cursors import decode_cursor, encode_cursor
from shared.agents.exceptions import (
    AgentError,
    AgentNotFound,
    ConnectorDeleting,
    InvalidAgentInput,
    UnknownGroup,
    UserAlreadyAssigned,
    UserLookupFailed,
    UserNotFound,
)
from shared.agents.groups import DEFAULT_GROUP_ID
from shared.agents.model import (
    Agent,
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
    GroupLister,
    NoFirstSync,
    RosterListener,
    SubscriptionCoverage,
    UserDirectory,
)
from shared.agents.roster_csv import parse_roster_csv, roster_csv
from shared.connectors.audit import AdminAudit, audited
from shared.connectors.exceptions import ConnectorNotActive, ConnectorNotFound
from shared.connectors.model import Connector, ConnectorStatus
from shared.connectors.ports import ConnectorRepository
from shared.errors import AppError
from shared.graph.exceptions import GraphError, GraphThrottled, GraphUnavailable
from shared.graph.model import DirectoryUser
from shared.graph.odata import MAX_BATCH_REQUESTS
from shared.identity.principal import Actor

logger = logging.getLogger(__name__)

# Each userPrincipalName of an import is one Graph call: a few at a time, well inside Graph's limits.
IMPORT_LOOKUP_WORKERS: Final = 8
# CSV imports read the directory with Graph's $batch: 20 reads per call (Graph's limit).
BATCH_SIZE: Final = MAX_BATCH_REQUESTS
BATCH_RETRY_ROUNDS: Final = 2
MAX_BATCH_RETRY_WAIT: Final = 5.0
EXPORT_PAGE_SIZE: Final = 500
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
        groups: GroupLister | None = None,
        sleep: Callable[[float], None] = time.sleep,
        first_sync: FirstSyncRequests | None = None,
    ) -> None:
        self._first_sync: FirstSyncRequests = first_sync if first_sync is not None else NoFirstSync()
        if lookup_workers < 1:
            raise ValueError("lookup_workers must be at least 1")
        self._audit = audit
        self._groups = groups
        self._sleep = sleep
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
            parsed = parse_agent_body(_object_or_none(body))
            connector = self._writable_connector(tenant_id)
            if parsed.group_id not in self._group_ids(tenant_id):
                raise UnknownGroup(tenant_id, parsed.group_id)
            user = self._resolve(tenant_id, connector, parsed.user)
            saved = self._repository.save(
                tenant_id, agent_id, user.user_id, user.details, self._clock(), parsed.group_id
            )
            note.detail = (
                f"agent {agent_id} {saved.status.value} (user {user.user_id}, group {parsed.group_id})"
            )
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
        return self._import_rows(tenant_id, connector, parsed, batched=False)

    def _import_rows(
        self,
        tenant_id: str,
        connector: Connector,
        parsed: Sequence[ImportItem | RejectedItem],
        *,
        batched: bool,
    ) -> ImportReport:
        """Every item's outcome, in order. `batched`: users are looked up with Graph's $batch."""
        results: list[ImportResult | None] = [None] * len(parsed)
        entries: list[_Entry] = []
        for index, item in enumerate(parsed):
            if isinstance(item, RejectedItem):
                results[index] = _failed(item.agent_id, InvalidAgentInput.code, item.message)
            else:
                entries.append(_Entry(index, item))
        entries = self._in_known_groups(tenant_id, entries, results)
        entries = _without_duplicates(entries, results, _agent_key, _same_agent)
        entries = _without_duplicates(entries, results, _reference_key, _same_user)
        if batched:
            entries = self._resolve_batched(tenant_id, connector, entries, results)
        else:
            entries = self._resolve_all(tenant_id, connector, entries, results)
        # A userPrincipalName and a userId may name the same user.
        entries = _without_duplicates(entries, results, _resolved_user_id, _same_user)
        self._write_all(tenant_id, entries, results, parallel=batched)
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

    def import_csv(self, tenant_id: str, body: bytes, *, actor: Actor | None = None) -> ImportReport:
        """The roster from a CSV file (shared.agents.roster_csv): the file is read whole and checked
        before anything is written; then each row gets its own outcome, users are looked up 20 per
        Graph `$batch` call, and rows are written in chunks."""
        with audited(self._audit, tenant_id, "importAgents", actor) as note:
            rows = parse_roster_csv(body)
            connector = self._writable_connector(tenant_id)
            report = self._import_rows(tenant_id, connector, [row.item for row in rows], batched=True)
            report = ImportReport(
                [replace(result, row=row.row) for result, row in zip(report.results, rows, strict=True)]
            )
            note.detail = "CSV: " + ", ".join(
                f"{report.count(status)} {status.value}" for status in ImportStatus
            )
        logger.info(
            "CSV import for tenant %s: %s rows, %s failed",
            tenant_id,
            len(report.results),
            report.count(ImportStatus.FAILED),
        )
        return report

    def export_csv(self, tenant_id: str) -> str:
        """The whole roster in the import's format (agent id order)."""
        self._existing_connector(tenant_id)
        return roster_csv(self._roster(tenant_id))

    def _roster(self, tenant_id: str) -> builtins.list[Agent]:
        """Every agent of the tenant, in agent id order (range queries of EXPORT_PAGE_SIZE)."""
        agents: list[Agent] = []
        continuation = None
        while True:
            page = self._repository.list_page(tenant_id, EXPORT_PAGE_SIZE, continuation)
            agents.extend(page.agents)
            if page.continuation is None:
                return agents
            continuation = page.continuation

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

    def _group_ids(self, tenant_id: str) -> frozenset[str]:
        """The groups agents may be put in; without a group store, only the default one."""
        stored = () if self._groups is None else self._groups.list(tenant_id)
        return frozenset({DEFAULT_GROUP_ID, *(group.group_id for group in stored)})

    def _in_known_groups(
        self, tenant_id: str, entries: Sequence[_Entry], results: builtins.list[ImportResult | None]
    ) -> builtins.list[_Entry]:
        known = self._group_ids(tenant_id)
        kept: list[_Entry] = []
        for entry in entries:
            if entry.item.group_id in known:
                kept.append(entry)
            else:
                error = UnknownGroup(tenant_id, entry.item.group_id)
                results[entry.index] = _failed(entry.item.agent_id, error.code, error.message)
        return kept

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

    def _resolve_batched(
        self,
        tenant_id: str,
        connector: Connector,
        entries: Sequence[_Entry],
        results: builtins.list[ImportResult | None],
    ) -> builtins.list[_Entry]:
        """Like _resolve_all, with the directory read 20 users per Graph call, a few calls at a time;
        reads Graph throttled are asked again (up to BATCH_RETRY_ROUNDS, after its Retry-After)."""
        active = connector.status is ConnectorStatus.ACTIVE
        refs = [entry.item.user.label for entry in entries] if active else []
        found = self._batched_lookup(tenant_id, refs)
        resolved: list[_Entry] = []
        for entry in entries:
            outcome = _batched_outcome(tenant_id, connector, entry.item.user, found)
            if isinstance(outcome, ItemError):
                results[entry.index] = ImportResult(entry.item.agent_id, ImportStatus.FAILED, outcome)
            else:
                resolved.append(replace(entry, user=outcome))
        return resolved

    def _batched_lookup(
        self, tenant_id: str, refs: Sequence[str]
    ) -> dict[str, DirectoryUser | GraphError | None]:
        found: dict[str, DirectoryUser | GraphError | None] = {}
        pending = list(dict.fromkeys(refs))
        for round_number in range(BATCH_RETRY_ROUNDS + 1):
            chunks = [pending[start : start + BATCH_SIZE] for start in range(0, len(pending), BATCH_SIZE)]

            def lookup(chunk: list[str]) -> Mapping[str, DirectoryUser | GraphError | None]:
                try:
                    return self._graph.get_users(tenant_id, chunk)
                except GraphError as exc:
                    return dict.fromkeys(chunk, exc)

            with ThreadPoolExecutor(self._lookup_workers, thread_name_prefix="agent-csv") as pool:
                for answer in pool.map(lookup, chunks):
                    found.update(answer)
            throttled = [ref for ref in pending if isinstance(found.get(ref), GraphThrottled)]
            if not throttled or round_number == BATCH_RETRY_ROUNDS:
                break
            waits = [getattr(found[ref], "retry_after", None) or 1.0 for ref in throttled]
            logger.info(
                "CSV import for tenant %s: %s user reads throttled; asking again", tenant_id, len(throttled)
            )
            self._sleep(min(max(waits), MAX_BATCH_RETRY_WAIT))
            pending = throttled
        return found

    def _write_all(
        self,
        tenant_id: str,
        entries: Sequence[_Entry],
        results: builtins.list[ImportResult | None],
        *,
        parallel: bool = False,
    ) -> None:
        """Store every entry. JSON imports write in request order, one after the other. CSV imports
        (`parallel`) write `lookup_workers` rows at a time: the rows are independent (an agent id or a
        user occurs once per import), except a row taking a user that another agent of the same import
        gives up; such a row, refused while the other still held the user, is written once more after
        the others, so its outcome does not depend on timing."""
        changed: list[bool] = []
        # The agents whose user is new to them, for the contact center's first sync.
        added: builtins.list[tuple[str, str]] = []
        try:
            if not parallel:
                changed.extend(self._write(tenant_id, entry, results, added)[0] for entry in entries)
                return
            # One range query tells which rows are new (a one-request create) and which change nothing.
            existing = {agent.agent_id: agent for agent in self._roster(tenant_id)}

            def write(entry: _Entry) -> tuple[bool, str | None]:
                current = existing.get(entry.item.agent_id)
                if current is not None and _unchanged(current, entry):
                    results[entry.index] = ImportResult(entry.item.agent_id, ImportStatus.UNCHANGED)
                    return False, None
                return self._write(tenant_id, entry, results, added, current is None)

            with ThreadPoolExecutor(self._lookup_workers, thread_name_prefix="agent-write") as pool:
                outcomes = list(pool.map(write, entries))
            changed.extend(user_changed for user_changed, _ in outcomes)
            moving = {entry.item.agent_id for entry in entries}
            for entry, (_, held_by) in zip(entries, outcomes, strict=True):
                if held_by is not None and held_by in moving:
                    changed.append(self._write(tenant_id, entry, results, added)[0])
        finally:
            # Also when storage fails half-way: what was written must reach the subscriptions.
            if any(changed):
                self._notify(tenant_id)
            self._first_sync.agents_added(tenant_id, added)

    def _write(
        self,
        tenant_id: str,
        entry: _Entry,
        results: builtins.list[ImportResult | None],
        added: builtins.list[tuple[str, str]],
        likely_new: bool = False,
    ) -> tuple[bool, str | None]:
        """Store one entry and record its outcome: whether the roster's users changed, and the agent
        that holds the user when the write was refused for that."""
        agent_id = entry.item.agent_id
        user_id = _resolved_user_id(entry)
        details = None if entry.user is None else entry.user.details
        try:
            saved = self._repository.save(
                tenant_id,
                agent_id,
                user_id,
                details,
                self._clock(),
                entry.item.group_id,
                likely_new=likely_new,
            )
        except AgentError as exc:
            results[entry.index] = _failed(agent_id, exc.code, exc.message)
            return False, exc.agent_id if isinstance(exc, UserAlreadyAssigned) else None
        results[entry.index] = ImportResult(agent_id, ImportStatus(saved.status.value))
        if saved.user_changed:
            added.append((agent_id, user_id))  # list.append is atomic: the pool's threads share it
        return saved.user_changed, None

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


def _batched_outcome(
    tenant_id: str,
    connector: Connector,
    reference: UserReference,
    found: Mapping[str, DirectoryUser | GraphError | None],
) -> _ResolvedUser | ItemError:
    """What _resolve decides for one reference, from the batched reads."""
    active = connector.status is ConnectorStatus.ACTIVE
    if not active:
        if isinstance(reference, UserByPrincipalName):
            error: AppError = ConnectorNotActive(
                tenant_id,
                connector.status.value,
                "so userPrincipalName cannot be resolved: give the user's Entra object id (userId) "
                "instead, or finish admin consent first",
            )
            return ItemError(error.code, error.message)
        return _ResolvedUser(reference.label, None)
    answer = found.get(reference.label)
    if isinstance(answer, GraphError):
        if isinstance(reference, UserById) and not isinstance(answer, GraphThrottled | GraphUnavailable):
            # As for one agent: the id is what matters, the name is filled in on a later import.
            return _ResolvedUser(reference.user_id, None)
        if isinstance(answer, GraphThrottled | GraphUnavailable):
            return ItemError(answer.code, f"{reference.label}: {answer.message}; import the file again later")
        failed = UserLookupFailed(tenant_id, reference.label, answer.code)
        return ItemError(failed.code, failed.message)
    if answer is None:
        missing = UserNotFound(tenant_id, reference.label)
        return ItemError(missing.code, missing.message)
    try:
        user_id = str(uuid.UUID(answer.id))
    except ValueError:
        bad = UserLookupFailed(tenant_id, reference.label, "the user id is not a GUID")
        return ItemError(bad.code, bad.message)
    return _ResolvedUser(user_id, UserDetails(answer.user_principal_name, answer.display_name))


def _unchanged(current: Agent, entry: _Entry) -> bool:
    """Whether storing the entry would change nothing (what AgentRepository.save would find)."""
    details = None if entry.user is None else entry.user.details
    return (
        current.user_id == _resolved_user_id(entry).lower()
        and current.group_id == entry.item.group_id
        and (
            details is None
            or (details.user_principal_name, details.display_name)
            == (current.user_principal_name, current.display_name)
        )
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
