"""Keeps each tenant's presence subscriptions in line with its agent roster and sync accounts.

One sync pass reads the roster version, the roster, the usable sync accounts and the records, plans the
shards (sharding.py), deletes the subscriptions that must go or be replaced, creates the new ones (and
reads their users' presence to close the gap), and renews those close to expiry. Only the holder of the
tenant's lease (the `~roster` row) runs a pass; whoever bumps the roster version while a pass runs makes
the holder loop again, so no roster change is lost.

Failure policy: a failed shard is recorded `failed` with its reason and the other shards go on; the
renew timer (every 5 minutes) runs the pass again, which retries it. A 409 from Graph means a
subscription of that account exists that we did not record (a run stopped between Graph's answer and
the table write); it lapses within 60 minutes, and the retries succeed from then on.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Final

from shared.connectors.model import ConnectorStatus
from shared.connectors.ports import ConnectorRepository
from shared.errors import AppError
from shared.graph.ports import GraphGateway
from shared.notifications.client_state import ClientStateSigner
from shared.notifications.encryption_keys import EncryptionKeyRing
from shared.operations.ports import NoReports, OperationsReporter
from shared.presence.ports import PresenceQueue
from shared.subscriptions.exceptions import LeaseLost
from shared.subscriptions.lifecycle import LifecycleHandler
from shared.subscriptions.model import (
    Capacity,
    LifecycleReport,
    RenewReport,
    SubscriptionRecord,
    SubscriptionStatus,
    SyncOutcome,
    SyncReport,
)
from shared.subscriptions.ports import (
    ActiveTenants,
    AgentRoster,
    SubscriptionCache,
    SubscriptionRepository,
    SyncAccountPool,
)
from shared.subscriptions.resources import normalized_user_ids
from shared.subscriptions.shard_operations import (
    FailureKind,
    RenewalResult,
    ShardFailure,
    ShardOperations,
)
from shared.subscriptions.sharding import ShardPlan, plan_shards

logger = logging.getLogger(__name__)

MAX_PASSES: Final = 5
# Graph: never renew and reauthorize one subscription within 10 minutes of each other.
RENEW_REAUTHORIZE_SPACING: Final = timedelta(minutes=10)
MIN_EXPIRATION: Final = timedelta(minutes=45)
MAX_EXPIRATION: Final = timedelta(minutes=60)


@dataclass(frozen=True)
class _Snapshot:
    version: int
    desired: frozenset[str]
    usable: tuple[str, ...]
    records: dict[str, SubscriptionRecord]
    now: datetime


@dataclass
class _Tally:
    passes: int = 0
    created: int = 0
    replaced: int = 0
    deleted: int = 0
    renewed: int = 0
    recreated: int = 0
    failed: int = 0
    unsubscribed: int = 0
    presences_published: int = 0
    errors: list[str] = field(default_factory=list)

    def report(self, tenant_id: str, outcome: SyncOutcome) -> SyncReport:
        return SyncReport(
            tenant_id=tenant_id,
            outcome=outcome,
            passes=self.passes,
            created=self.created,
            replaced=self.replaced,
            deleted=self.deleted,
            renewed=self.renewed,
            recreated=self.recreated,
            failed=self.failed,
            unsubscribed=self.unsubscribed,
            presences_published=self.presences_published,
            errors=tuple(self.errors),
        )


@dataclass
class _Lease:
    tenant_id: str
    owner: str
    until: datetime


class SubscriptionService:
    def __init__(
        self,
        repository: SubscriptionRepository,
        graph: GraphGateway,
        agents: AgentRoster,
        accounts: SyncAccountPool,
        connectors: ConnectorRepository,
        queue: PresenceQueue,
        client_states: ClientStateSigner,
        keys: EncryptionKeyRing,
        notification_url: str,
        lifecycle_url: str,
        clock: Callable[[], datetime],
        *,
        active_tenants: ActiveTenants,
        directory: SubscriptionCache | None = None,
        lease_duration: timedelta = timedelta(minutes=2),
        renew_before: timedelta = timedelta(minutes=30),
        expiration: timedelta = MAX_EXPIRATION,
        reporter: OperationsReporter | None = None,
    ) -> None:
        self._reporter: OperationsReporter = reporter if reporter is not None else NoReports()
        if not MIN_EXPIRATION <= expiration <= MAX_EXPIRATION:
            raise ValueError("presence subscriptions expire after 45 to 60 minutes")
        if not timedelta(0) < renew_before < expiration:
            raise ValueError("renew_before must be positive and shorter than the expiration")
        if lease_duration <= timedelta(0):
            raise ValueError("lease_duration must be positive")
        self._repository = repository
        self._agents = agents
        self._accounts = accounts
        self._connectors = connectors
        self._active_tenants = active_tenants
        self._clock = clock
        self._lease_duration = lease_duration
        self._renew_before = renew_before
        self._operations = ShardOperations(
            repository,
            graph,
            accounts,
            queue,
            client_states,
            keys,
            notification_url,
            lifecycle_url,
            clock,
            expiration=expiration,
            cache=directory,
        )
        self._lifecycle = LifecycleHandler(
            repository,
            self._operations,
            client_states,
            clock,
            resync=self.sync_tenant,
            renew_before=renew_before,
            spacing=RENEW_REAUTHORIZE_SPACING,
        )

    # -- listeners (roster and sync accounts) ------------------------------------------------------

    def roster_changed(self, tenant_id: str) -> None:
        """Bump the roster version, then sync at once so a new agent is covered within seconds. Never
        raises: the roster write already happened, and the renew timer repairs what fails here."""
        try:
            self._repository.bump_roster_version(tenant_id)
            self._log_report(self.sync_tenant(tenant_id))
        except Exception as error:  # the caller's roster write must not fail
            self._log_swallowed(tenant_id, "roster change", error)

    def accounts_changed(self, tenant_id: str) -> None:
        try:
            self._log_report(self.sync_tenant(tenant_id))
        except Exception as error:  # the sign-in must not fail; the timer repairs
            self._log_swallowed(tenant_id, "sync account change", error)

    def account_removed(self, tenant_id: str, account_id: str) -> None:
        """Called before the account's rows go: delete its subscription while its token still works,
        then move its users to accounts with room."""
        try:
            record = self._repository.get(tenant_id, account_id)
            if record is not None:
                failure = self._operations.delete(record, account_usable=False)
                if failure is not None:
                    logger.warning("tenant %s: %s; it lapses on its own", tenant_id, failure.describe())
                self._repository.delete(tenant_id, account_id)
            self._log_report(self._sync(tenant_id, excluded=frozenset({account_id})))
        except Exception as error:  # removing the account must not fail either
            self._log_swallowed(tenant_id, f"removal of sync account {account_id}", error)

    # -- coverage and capacity ----------------------------------------------------------------------

    def subscribed_user_ids(self, tenant_id: str) -> frozenset[str]:
        now = self._clock()
        return frozenset(
            user_id
            for record in self._repository.list(tenant_id)
            if record.is_live(now)
            for user_id in record.user_ids
        )

    def used(self, tenant_id: str) -> dict[str, int]:
        """Users assigned to each account's subscription (its used capacity, out of 650)."""
        return {record.account_id: len(record.user_ids) for record in self._repository.list(tenant_id)}

    def capacity(self, tenant_id: str) -> Capacity:
        desired = normalized_user_ids(tenant_id, self._agents.user_ids(tenant_id))
        usable = set(self._accounts.usable_account_ids(tenant_id))
        now = self._clock()
        records = self._repository.list(tenant_id)
        subscribed = {u for r in records if r.is_live(now) for u in r.user_ids} & desired
        return Capacity.of(
            agents=len(desired),
            subscribed=len(subscribed),
            accounts_usable=len(usable),
            accounts_total=len(usable | {record.account_id for record in records}),
        )

    # -- sync -------------------------------------------------------------------------------------

    def sync_tenant(self, tenant_id: str) -> SyncReport:
        return self._sync(tenant_id, excluded=frozenset())

    def remove_all(self, tenant_id: str) -> int:
        """Delete every subscription of the tenant in Graph (best effort per account) and its records;
        the `~roster` row stays. Returns how many records were removed."""
        records = self._repository.list(tenant_id)
        for record in records:
            failure = self._operations.delete(record, account_usable=False)
            if failure is not None:
                logger.warning("tenant %s: %s; it lapses on its own", tenant_id, failure.describe())
            self._repository.delete(tenant_id, record.account_id)
        if records:
            logger.info("tenant %s: %d presence subscriptions removed", tenant_id, len(records))
        return len(records)

    def renew_due(self) -> RenewReport:
        """For the timer: sync every active tenant and every tenant with records (that renews what is
        close to expiry, recreates what Graph lost, retries failures and removes leftovers of inactive
        tenants). One tenant failing never stops the others."""
        tenant_ids = sorted(set(self._active_tenants.active_tenant_ids()) | self._repository.tenant_ids())
        totals = _Tally()
        synced = 0
        failed: list[str] = []
        for tenant_id in tenant_ids:
            try:
                report = self.sync_tenant(tenant_id)
            except Exception:
                logger.exception("tenant %s: subscription sync failed; next timer run retries", tenant_id)
                failed.append(tenant_id)
                continue
            synced += 1
            totals.created += report.created
            totals.replaced += report.replaced
            totals.deleted += report.deleted
            totals.renewed += report.renewed
            totals.recreated += report.recreated
            if report.errors:
                self._log_report(report)
        return RenewReport(
            tenants=len(tenant_ids),
            synced=synced,
            failed=len(failed),
            created=totals.created,
            replaced=totals.replaced,
            deleted=totals.deleted,
            renewed=totals.renewed,
            recreated=totals.recreated,
            failed_tenant_ids=tuple(failed),
        )

    def handle_lifecycle(self, body: bytes) -> LifecycleReport:
        """`POST /api/graph/lifecycle`: raises MalformedNotificationError for a body that is no
        notification collection, StorageUnavailable when records cannot be read; nothing else."""
        return self._lifecycle.handle(body)

    # -- internals --------------------------------------------------------------------------------

    def _sync(self, tenant_id: str, excluded: frozenset[str]) -> SyncReport:
        connector = self._connectors.get(tenant_id)
        if connector is None or connector.status is not ConnectorStatus.ACTIVE:
            removed = self.remove_all(tenant_id)
            return SyncReport(tenant_id, SyncOutcome.CONNECTOR_NOT_ACTIVE, deleted=removed)
        # Read without the lease first: in the steady state there is nothing to do and nothing to write.
        snapshot = self._snapshot(tenant_id, excluded)
        if not self._has_work(snapshot):
            return SyncReport(tenant_id, SyncOutcome.UP_TO_DATE)
        now = self._clock()
        lease = _Lease(tenant_id, uuid.uuid4().hex, now + self._lease_duration)
        if not self._repository.try_acquire_lease(tenant_id, lease.owner, now, lease.until):
            logger.info("tenant %s: another instance is syncing subscriptions; it sees the change", tenant_id)
            return SyncReport(tenant_id, SyncOutcome.LEASE_HELD)
        tally = _Tally()
        released = False
        try:
            for _ in range(MAX_PASSES):
                tally.passes += 1
                snapshot = self._snapshot(tenant_id, excluded)
                accounts_failed = self._run_pass(snapshot, tenant_id, lease, tally)
                if accounts_failed:
                    logger.info("tenant %s: sync accounts failed; moving their agents", tenant_id)
                    continue
                if self._repository.release_lease(tenant_id, lease.owner, snapshot.version):
                    released = True
                    break
                logger.info("tenant %s: the roster changed during the sync; syncing again", tenant_id)
            else:
                logger.warning(
                    "tenant %s: still changing after %d passes; the renew timer continues",
                    tenant_id,
                    MAX_PASSES,
                )
        except LeaseLost as error:
            released = True
            tally.errors.append(error.message)
            logger.warning("tenant %s: %s", tenant_id, error.message)
        finally:
            if not released:
                self._release_quietly(lease)
        return tally.report(tenant_id, SyncOutcome.SYNCED)

    def _snapshot(self, tenant_id: str, excluded: frozenset[str]) -> _Snapshot:
        version = self._repository.roster_state(tenant_id).version
        desired = normalized_user_ids(tenant_id, self._agents.user_ids(tenant_id))
        usable = tuple(a for a in self._accounts.usable_account_ids(tenant_id) if a not in excluded)
        records = {record.account_id: record for record in self._repository.list(tenant_id)}
        return _Snapshot(version, desired, usable, records, self._clock())

    def _plan(self, snapshot: _Snapshot) -> ShardPlan:
        stale = {account for account, record in snapshot.records.items() if not record.is_live(snapshot.now)}
        current = {account: frozenset(record.user_ids) for account, record in snapshot.records.items()}
        return plan_shards(current, snapshot.desired, snapshot.usable, stale=stale)

    def _has_work(self, snapshot: _Snapshot) -> bool:
        plan = self._plan(snapshot)
        return bool(plan.touched) or any(
            self._renewal_due(record, snapshot.now)
            for account, record in snapshot.records.items()
            if account in plan.assignment
        )

    def _renewal_due(self, record: SubscriptionRecord, now: datetime) -> bool:
        if not record.is_live(now) or record.expires_at is None:
            return False
        if record.expires_at - now > self._renew_before:
            return False
        last = record.last_touched()
        # Graph's 10-minute rule; renew_before (30 min) leaves later timer runs to renew it.
        spaced = last is None or now - last >= RENEW_REAUTHORIZE_SPACING
        return spaced or record.expires_at - now <= RENEW_REAUTHORIZE_SPACING

    def _run_pass(self, snapshot: _Snapshot, tenant_id: str, lease: _Lease, tally: _Tally) -> bool:
        """One pass; True when a sync account turned out unusable (its users need another pass)."""
        plan = self._plan(snapshot)
        tally.unsubscribed = len(plan.unsubscribed)
        if plan.unsubscribed:
            logger.warning(
                "tenant %s: %d agents have no sync account with room (%d usable)",
                tenant_id,
                len(plan.unsubscribed),
                len(snapshot.usable),
            )
        usable = frozenset(snapshot.usable)
        accounts_failed = False
        blocked: set[str] = set()

        # Deletes first: Graph allows one presence subscription per account, and a user moving between
        # accounts must leave the old one before joining the new one.
        for account in sorted(plan.delete | plan.replace):
            record = snapshot.records[account]
            self._keep_lease(lease)
            failure = self._operations.delete(record, account_usable=account in usable)
            if failure is not None:
                accounts_failed |= self._note_failure(failure, tally)
            if account in plan.delete:
                if failure is None or account not in usable:
                    # An unusable account's subscription cannot be deleted without its token; it
                    # lapses within the hour and its notifications are dropped as unknown.
                    self._repository.delete(tenant_id, account)
                    tally.deleted += 1
            elif failure is not None:
                blocked.add(account)

        for account in sorted((plan.replace - blocked) | plan.create):
            self._keep_lease(lease)
            previous = snapshot.records.get(account)
            users = plan.assignment[account]
            record, failure = self._operations.create(tenant_id, account, users)
            if failure is not None:
                accounts_failed |= self._note_failure(failure, tally)
                continue
            if previous is None:
                tally.created += 1
            elif frozenset(previous.user_ids) == users:
                tally.recreated += 1
            else:
                tally.replaced += 1
            self._close_gap(record, tally)

        for account, record in sorted(snapshot.records.items()):
            if account in plan.touched or account not in usable:
                continue
            if not self._renewal_due(record, snapshot.now):
                continue
            self._keep_lease(lease)
            accounts_failed |= self._renew(record, tally)
        return accounts_failed

    def _renew(self, record: SubscriptionRecord, tally: _Tally) -> bool:
        result, failure = self._operations.renew(record)
        if result is RenewalResult.RENEWED:
            tally.renewed += 1
            return False
        if result is RenewalResult.LOST:
            recreated, failure = self._operations.create(
                record.tenant_id, record.account_id, frozenset(record.user_ids)
            )
            if failure is None:
                tally.recreated += 1
                self._close_gap(recreated, tally)
                return False
        if failure is None:
            return False
        accounts_failed = self._note_failure(failure, tally)
        if result is RenewalResult.FAILED and record.subscription_id is not None:
            # The subscription still works until it expires: keep it active, but show why.
            self._repository.record_error(
                record.tenant_id,
                record.account_id,
                record.subscription_id,
                failure.describe(),
                SubscriptionStatus.ACTIVE,
            )
        return accounts_failed

    def _close_gap(self, record: SubscriptionRecord, tally: _Tally) -> None:
        published, error = self._operations.close_gap(record)
        tally.presences_published += published
        if error is not None:
            tally.errors.append(error)

    @staticmethod
    def _note_failure(failure: ShardFailure, tally: _Tally) -> bool:
        tally.failed += 1
        tally.errors.append(failure.describe())
        return failure.kind is FailureKind.ACCOUNT_UNUSABLE

    def _keep_lease(self, lease: _Lease) -> None:
        now = self._clock()
        if lease.until - now > self._lease_duration / 2:
            return
        until = now + self._lease_duration
        if not self._repository.extend_lease(lease.tenant_id, lease.owner, until):
            raise LeaseLost(f"the sync lease of tenant {lease.tenant_id} lapsed and was taken over")
        lease.until = until

    def _release_quietly(self, lease: _Lease) -> None:
        try:
            self._repository.release_lease(lease.tenant_id, lease.owner, None)
        except AppError as error:
            # It lapses on its own after lease_duration.
            logger.warning("tenant %s: sync lease not released: %s", lease.tenant_id, error.message)

    def _log_report(self, report: SyncReport) -> None:
        # Every report with failures passes here once (the alert on subscription failures counts them).
        self._reporter.subscription_failures(report.tenant_id, report.failed)
        if report.errors:
            logger.warning(
                "tenant %s: subscription sync %s with %d failures: %s",
                report.tenant_id,
                report.outcome.value,
                report.failed,
                "; ".join(report.errors),
            )
        else:
            logger.info(
                "tenant %s: subscription sync %s (%d created, %d replaced, %d deleted, %d renewed)",
                report.tenant_id,
                report.outcome.value,
                report.created,
                report.replaced,
                report.deleted,
                report.renewed,
            )

    @staticmethod
    def _log_swallowed(tenant_id: str, what: str, error: Exception) -> None:
        if isinstance(error, AppError):
            logger.warning(
                "tenant %s: subscriptions not synced after the %s (%s); the renew timer retries",
                tenant_id,
                what,
                error.message,
            )
        else:
            logger.error(
                "tenant %s: subscriptions not synced after the %s; the renew timer retries",
                tenant_id,
                what,
                exc_info=error,
            )
