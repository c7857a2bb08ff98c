"""The Graph calls on one shard's subscription, each with its sync account's delegated token, and the
record writes that go with them. Used by the sync passes and by the lifecycle handler.

Graph and token failures come back as `ShardFailure` values: one account failing must not stop the
other shards. Only StorageUnavailable is raised, since nothing can be recorded without storage.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Final

from shared.errors import AppError
from shared.graph.exceptions import GraphAuthenticationFailed, GraphConflict, GraphNotFound
from shared.graph.model import SubscriptionRequest
from shared.graph.ports import DelegatedTokenProvider, GraphGateway
from shared.notifications.client_state import ClientStateSigner
from shared.notifications.encryption_keys import EncryptionKeyRing
from shared.presence.messages import PresenceChange
from shared.presence.ports import PresenceQueue
from shared.storage.exceptions import StorageUnavailable
from shared.subscriptions.model import SubscriptionRecord, SubscriptionStatus
from shared.subscriptions.ports import SubscriptionCache, SubscriptionRepository, SyncAccountPool
from shared.subscriptions.resources import presence_resource
from shared.sync_accounts.exceptions import SyncAccountNotFound, SyncAccountReauthorizationRequired

logger = logging.getLogger(__name__)

# Graph refuses an expiry more than 60 minutes past its own clock; ours may run a little ahead.
CLOCK_SKEW_MARGIN: Final = timedelta(minutes=1)
CONFLICT_MESSAGE: Final = (
    "Graph already holds a presence subscription for this sync account, most likely left by an "
    "interrupted run; it lapses within 60 minutes and the renew timer creates this one then"
)


class FailureKind(StrEnum):
    # The account must sign in again (or is gone): its users have to move to other accounts.
    ACCOUNT_UNUSABLE = "accountUnusable"
    CONFLICT = "conflict"
    OTHER = "other"


@dataclass(frozen=True)
class ShardFailure:
    account_id: str
    action: str
    kind: FailureKind
    message: str

    def describe(self) -> str:
        return f"account {self.account_id}: {self.action} failed: {self.message}"


class RenewalResult(StrEnum):
    RENEWED = "renewed"
    LOST = "lost"
    FAILED = "failed"


class ShardOperations:
    def __init__(
        self,
        repository: SubscriptionRepository,
        graph: GraphGateway,
        accounts: SyncAccountPool,
        queue: PresenceQueue,
        client_states: ClientStateSigner,
        keys: EncryptionKeyRing,
        notification_url: str,
        lifecycle_url: str,
        clock: Callable[[], datetime],
        *,
        expiration: timedelta,
        cache: SubscriptionCache | None = None,
    ) -> None:
        self._repository = repository
        self._graph = graph
        self._accounts = accounts
        self._queue = queue
        self._client_states = client_states
        self._keys = keys
        self._notification_url = notification_url
        self._lifecycle_url = lifecycle_url
        self._clock = clock
        self._expiration = expiration
        self._cache = cache

    def delete(self, record: SubscriptionRecord, *, account_usable: bool) -> ShardFailure | None:
        """Delete the record's subscription in Graph (not the record); None when Graph no longer has it."""
        subscription_id = record.subscription_id
        if subscription_id is None:
            return None
        try:
            self._graph.delete_subscription(record.tenant_id, self._token(record), subscription_id)
        except StorageUnavailable:
            raise
        except AppError as error:
            return self._failure(record.tenant_id, record.account_id, "delete", error, account_usable)
        self.forget(subscription_id)
        logger.info(
            "tenant %s account %s: subscription %s deleted",
            record.tenant_id,
            record.account_id,
            subscription_id,
        )
        return None

    def create(
        self, tenant_id: str, account_id: str, user_ids: frozenset[str]
    ) -> tuple[SubscriptionRecord, ShardFailure | None]:
        """Create the account's subscription over `user_ids` and record it (failed, with the reason,
        when Graph refuses). The caller has deleted any previous subscription of the account."""
        now = self._clock()
        users = tuple(sorted(user_ids))
        pending = self._repository.put(
            SubscriptionRecord(
                tenant_id=tenant_id,
                account_id=account_id,
                subscription_id=None,
                user_ids=users,
                expires_at=None,
                created_at=now,
                renewed_at=None,
                reauthorized_at=None,
                status=SubscriptionStatus.PENDING,
                last_error=None,
            )
        )
        certificate = self._keys.current
        request = SubscriptionRequest(
            resource=presence_resource(users),
            notification_url=self._notification_url,
            lifecycle_notification_url=self._lifecycle_url,
            expiration=now + self._expiration - CLOCK_SKEW_MARGIN,
            client_state=self._client_states.issue(tenant_id),
            include_resource_data=True,
            encryption_certificate=certificate.public_certificate_base64(),
            encryption_certificate_id=certificate.certificate_id,
        )
        try:
            token = self._accounts.token_provider(tenant_id, account_id)
            created = self._graph.create_subscription(tenant_id, token, request)
        except StorageUnavailable:
            raise
        except AppError as error:
            failure = self._failure(tenant_id, account_id, "create", error, account_usable=True)
            failed = replace(pending, status=SubscriptionStatus.FAILED, last_error=failure.message)
            return self._repository.put(failed), failure
        active = replace(
            pending,
            subscription_id=created.id.lower(),
            expires_at=created.expiration,
            status=SubscriptionStatus.ACTIVE,
        )
        try:
            record = self._repository.put(active)
        except StorageUnavailable:
            # Unrecorded, it would block this account with 409s until it lapses: take it back.
            self.delete(active, account_usable=False)
            raise
        # A notification that raced ahead of this write may have cached "unknown" in this process.
        self.forget(created.id)
        logger.info(
            "tenant %s account %s: subscription %s created over %d users, expires %s",
            tenant_id,
            account_id,
            created.id,
            len(users),
            created.expiration.isoformat(),
        )
        return record, None

    def renew(self, record: SubscriptionRecord) -> tuple[RenewalResult, ShardFailure | None]:
        """PATCH the expiry (this reauthorizes too) and record it; LOST when Graph no longer has it."""
        subscription_id = record.subscription_id
        if subscription_id is None:
            return RenewalResult.LOST, None
        now = self._clock()
        try:
            renewed = self._graph.renew_subscription(
                record.tenant_id,
                self._token(record),
                subscription_id,
                now + self._expiration - CLOCK_SKEW_MARGIN,
            )
        except GraphNotFound:
            logger.warning(
                "tenant %s account %s: Graph lost subscription %s",
                record.tenant_id,
                record.account_id,
                subscription_id,
            )
            return RenewalResult.LOST, None
        except StorageUnavailable:
            raise
        except AppError as error:
            return RenewalResult.FAILED, self._failure(
                record.tenant_id, record.account_id, "renew", error, account_usable=True
            )
        self._repository.record_renewal(
            record.tenant_id, record.account_id, subscription_id, renewed.expiration, now
        )
        logger.info(
            "tenant %s account %s: subscription %s renewed until %s",
            record.tenant_id,
            record.account_id,
            subscription_id,
            renewed.expiration.isoformat(),
        )
        return RenewalResult.RENEWED, None

    def reauthorize(self, record: SubscriptionRecord) -> tuple[RenewalResult, ShardFailure | None]:
        subscription_id = record.subscription_id
        if subscription_id is None:
            return RenewalResult.LOST, None
        now = self._clock()
        try:
            self._graph.reauthorize_subscription(record.tenant_id, self._token(record), subscription_id)
        except GraphNotFound:
            return RenewalResult.LOST, None
        except StorageUnavailable:
            raise
        except AppError as error:
            return RenewalResult.FAILED, self._failure(
                record.tenant_id, record.account_id, "reauthorize", error, account_usable=True
            )
        self._repository.record_reauthorization(record.tenant_id, record.account_id, subscription_id, now)
        logger.info(
            "tenant %s account %s: subscription %s reauthorized",
            record.tenant_id,
            record.account_id,
            subscription_id,
        )
        return RenewalResult.RENEWED, None

    def close_gap(self, record: SubscriptionRecord) -> tuple[int, str | None]:
        """Read the shard's presence (app-only) and queue it, for the changes a new or replaced
        subscription missed. Returns how many presences were queued, and what failed if anything."""
        if not record.user_ids:
            return 0, None
        wanted = frozenset(record.user_ids)
        try:
            presences = self._graph.get_presences(record.tenant_id, record.user_ids)
            observed_at = self._clock()
            changes = [
                PresenceChange(
                    tenant_id=record.tenant_id,
                    user_id=presence.user_id.lower(),
                    availability=presence.availability,
                    activity=presence.activity,
                    sequence_number=presence.sequence_number,
                    observed_at=observed_at,
                    subscription_id=record.subscription_id,
                    source="teams",
                )
                for presence in presences
                if presence.user_id.lower() in wanted
            ]
            self._queue.publish(changes)
        except StorageUnavailable:
            raise
        except AppError as error:
            logger.warning(
                "tenant %s account %s: presence of subscription %s not read after (re)creating it: %s",
                record.tenant_id,
                record.account_id,
                record.subscription_id,
                error.message,
            )
            return 0, f"account {record.account_id}: reading presence failed: {error.message}"
        logger.info(
            "tenant %s subscription %s: %d presences queued to close the gap",
            record.tenant_id,
            record.subscription_id,
            len(changes),
        )
        return len(changes), None

    def forget(self, subscription_id: str) -> None:
        if self._cache is not None:
            self._cache.forget(subscription_id)

    def _token(self, record: SubscriptionRecord) -> DelegatedTokenProvider:
        return self._accounts.token_provider(record.tenant_id, record.account_id)

    def _failure(
        self, tenant_id: str, account_id: str, action: str, error: AppError, account_usable: bool
    ) -> ShardFailure:
        if isinstance(error, SyncAccountNotFound):
            kind = FailureKind.ACCOUNT_UNUSABLE
        elif isinstance(error, SyncAccountReauthorizationRequired | GraphAuthenticationFailed):
            kind = FailureKind.ACCOUNT_UNUSABLE
            if account_usable:
                self._mark_reauthorization_required(tenant_id, account_id, error)
        elif isinstance(error, GraphConflict):
            kind = FailureKind.CONFLICT
        else:
            kind = FailureKind.OTHER
        message = CONFLICT_MESSAGE if kind is FailureKind.CONFLICT else error.message
        logger.warning(
            "tenant %s account %s: %s of the presence subscription failed (%s): %s",
            tenant_id,
            account_id,
            action,
            error.code,
            message,
        )
        return ShardFailure(account_id=account_id, action=action, kind=kind, message=message)

    def _mark_reauthorization_required(self, tenant_id: str, account_id: str, error: AppError) -> None:
        reason = (
            error.reason
            if isinstance(error, SyncAccountReauthorizationRequired)
            else f"Graph refused the account's token: {error.message}"
        )
        try:
            self._accounts.mark_reauthorization_required(tenant_id, account_id, reason)
        except StorageUnavailable:
            raise
        except AppError as failure:
            logger.warning(
                "tenant %s account %s: could not be marked for a new sign-in: %s",
                tenant_id,
                account_id,
                failure.message,
            )
