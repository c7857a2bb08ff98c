"""Fakes of every port the subscriptions service uses. They keep the real adapters' contracts: ETags
and the lease on the roster row, Graph's one-subscription-per-account rule (409), 404 for a lost
subscription, tokens obtained by calling the provider."""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from shared.errors import AppError
from shared.graph.exceptions import GraphNotFound, GraphUnavailable
from shared.graph.model import (
    DirectoryUser,
    GraphSubscription,
    Presence,
    SubscriptionRequest,
    UserPage,
    UserPageRequest,
    UserQuery,
)
from shared.graph.ports import DelegatedTokenProvider
from shared.presence.ports import SyncMessage
from shared.storage.exceptions import StorageUnavailable
from shared.subscriptions.model import RosterState, SubscriptionRecord, SubscriptionStatus
from shared.sync_accounts.exceptions import SyncAccountReauthorizationRequired

TOKEN_PREFIX = "token-for-"


class FakeSubscriptionRepository:
    def __init__(self) -> None:
        self.records: dict[tuple[str, str], SubscriptionRecord] = {}
        self.rosters: dict[str, RosterState] = {}
        self._etags = itertools.count(1)
        self.down = False
        self.puts: list[SubscriptionRecord] = []
        # Called inside release_lease before it decides, to simulate a racing roster change.
        self.before_release: Callable[[], None] | None = None

    def _check(self) -> None:
        if self.down:
            raise StorageUnavailable("Table Storage is unreachable")

    def _etag(self) -> str:
        return f'W/"{next(self._etags)}"'

    def list(self, tenant_id: str) -> list[SubscriptionRecord]:
        self._check()
        return [r for (t, _), r in sorted(self.records.items()) if t == tenant_id]

    def get(self, tenant_id: str, account_id: str) -> SubscriptionRecord | None:
        self._check()
        return self.records.get((tenant_id, account_id))

    def find_by_subscription_id(self, tenant_id: str, subscription_id: str) -> SubscriptionRecord | None:
        self._check()
        for (tenant, _), record in self.records.items():
            if tenant == tenant_id and record.subscription_id == subscription_id.lower():
                return record
        return None

    def put(self, record: SubscriptionRecord) -> SubscriptionRecord:
        self._check()
        stored = replace(record, etag=self._etag())
        self.records[(record.tenant_id, record.account_id)] = stored
        self.puts.append(stored)
        return stored

    def _merge(self, tenant_id: str, account_id: str, subscription_id: str, **changes: object):
        self._check()
        record = self.records.get((tenant_id, account_id))
        if record is None or record.subscription_id != subscription_id.lower():
            return None
        stored = replace(record, etag=self._etag(), **changes)  # type: ignore[arg-type]
        self.records[(tenant_id, account_id)] = stored
        return stored

    def record_renewal(self, tenant_id, account_id, subscription_id, expires_at, at):
        return self._merge(
            tenant_id,
            account_id,
            subscription_id,
            expires_at=expires_at,
            renewed_at=at,
            status=SubscriptionStatus.ACTIVE,
        )

    def record_reauthorization(self, tenant_id, account_id, subscription_id, at):
        return self._merge(tenant_id, account_id, subscription_id, reauthorized_at=at)

    def record_error(self, tenant_id, account_id, subscription_id, message, status):
        return self._merge(tenant_id, account_id, subscription_id, last_error=message, status=status)

    def delete(self, tenant_id: str, account_id: str) -> None:
        self._check()
        self.records.pop((tenant_id, account_id), None)

    def tenant_ids(self) -> set[str]:
        self._check()
        return {tenant for tenant, _ in self.records}

    def roster_state(self, tenant_id: str) -> RosterState:
        self._check()
        return self.rosters.get(tenant_id, RosterState(0, None, None))

    def bump_roster_version(self, tenant_id: str) -> int:
        state = self.roster_state(tenant_id)
        self.rosters[tenant_id] = replace(state, version=state.version + 1, etag=self._etag())
        return state.version + 1

    def try_acquire_lease(self, tenant_id: str, owner: str, now: datetime, until: datetime) -> bool:
        state = self.roster_state(tenant_id)
        if state.lease_owner not in (None, owner) and state.lease_until and state.lease_until > now:
            return False
        self.rosters[tenant_id] = replace(state, lease_owner=owner, lease_until=until, etag=self._etag())
        return True

    def extend_lease(self, tenant_id: str, owner: str, until: datetime) -> bool:
        state = self.roster_state(tenant_id)
        if state.lease_owner != owner:
            return False
        self.rosters[tenant_id] = replace(state, lease_until=until, etag=self._etag())
        return True

    def release_lease(self, tenant_id: str, owner: str, seen_version: int | None) -> bool:
        if self.before_release is not None:
            hook, self.before_release = self.before_release, None
            hook()
        state = self.roster_state(tenant_id)
        if state.lease_owner != owner:
            return True
        if seen_version is not None and state.version != seen_version:
            return False
        self.rosters[tenant_id] = replace(state, lease_owner=None, lease_until=None, etag=self._etag())
        return True

    def hold_lease(self, tenant_id: str, owner: str, until: datetime) -> None:
        state = self.roster_state(tenant_id)
        self.rosters[tenant_id] = replace(state, lease_owner=owner, lease_until=until)


@dataclass
class HeldSubscription:
    id: str
    tenant_id: str
    account_id: str
    user_ids: tuple[str, ...]
    request: SubscriptionRequest
    expiration: datetime


@dataclass
class FakeGraph:
    """Graph as the service sees it: one presence subscription per (tenant, account), calls recorded."""

    clock: Callable[[], datetime]
    presences: dict[str, Presence] = field(default_factory=dict)
    subscriptions: dict[str, HeldSubscription] = field(default_factory=dict)
    calls: list[tuple[str, ...]] = field(default_factory=list)
    # (method, account id or "*") -> exception raised on the next matching call(s)
    failures: dict[tuple[str, str], AppError] = field(default_factory=dict)
    sticky_failures: bool = False

    def _account(self, token_provider: DelegatedTokenProvider) -> str:
        token = token_provider()
        assert token.startswith(TOKEN_PREFIX)
        return token[len(TOKEN_PREFIX) :]

    def _maybe_fail(self, method: str, account: str) -> None:
        for key in ((method, account), (method, "*")):
            error = self.failures.get(key)
            if error is not None:
                if not self.sticky_failures:
                    del self.failures[key]
                raise error

    def graph_calls(self, method: str) -> list[tuple[str, ...]]:
        return [call for call in self.calls if call[0] == method]

    def held_by(self, tenant_id: str, account_id: str) -> HeldSubscription | None:
        for held in self.subscriptions.values():
            if held.tenant_id == tenant_id and held.account_id == account_id:
                return held
        return None

    # -- GraphGateway ------------------------------------------------------------------------------

    def get_user(self, tenant_id: str, id_or_upn: str) -> DirectoryUser | None:
        raise AssertionError("not used by the subscriptions service")

    def list_users_page(self, tenant_id: str, request: UserPageRequest) -> UserPage:
        raise AssertionError("not used by the subscriptions service")

    def search_users(self, tenant_id: str, query: UserQuery) -> list[DirectoryUser]:
        raise AssertionError("not used by the subscriptions service")

    def set_presence(self, *args: object) -> None:
        raise AssertionError("not used by the subscriptions service")

    def clear_presence(self, tenant_id: str, user_id: str, session_id: str) -> bool:
        raise AssertionError("not used by the subscriptions service")

    def set_status_message(
        self, tenant_id: str, user_id: str, content: str, expires_at: datetime | None
    ) -> None:
        raise AssertionError("not used by the subscriptions service")

    def get_presences(self, tenant_id: str, user_ids: Sequence[str]) -> list[Presence]:
        self.calls.append(("get_presences", tenant_id, ",".join(sorted(user_ids))))
        self._maybe_fail("get_presences", "*")
        return [self.presences[u] for u in user_ids if u in self.presences]

    def create_subscription(
        self, tenant_id: str, token_provider: DelegatedTokenProvider, request: SubscriptionRequest
    ) -> GraphSubscription:
        account = self._account(token_provider)
        self.calls.append(("create", tenant_id, account, request.resource))
        self._maybe_fail("create", account)
        from shared.graph.exceptions import GraphConflict

        if self.held_by(tenant_id, account) is not None:
            raise GraphConflict("A presence subscription for this user and application already exists")
        users = _users_of(request.resource)
        held = HeldSubscription(
            str(uuid.uuid4()), tenant_id, account, users, request, min(request.expiration, self._max())
        )
        self.subscriptions[held.id] = held
        return GraphSubscription(id=held.id, resource=request.resource, expiration=held.expiration)

    def renew_subscription(
        self,
        tenant_id: str,
        token_provider: DelegatedTokenProvider,
        subscription_id: str,
        expiration: datetime,
    ) -> GraphSubscription:
        account = self._account(token_provider)
        self.calls.append(("renew", tenant_id, account, subscription_id))
        self._maybe_fail("renew", account)
        held = self.subscriptions.get(subscription_id)
        if held is None:
            raise GraphNotFound("subscription not found", status=404)
        held.expiration = min(expiration, self._max())
        return GraphSubscription(id=held.id, resource=held.request.resource, expiration=held.expiration)

    def delete_subscription(
        self, tenant_id: str, token_provider: DelegatedTokenProvider, subscription_id: str
    ) -> None:
        account = self._account(token_provider)
        self.calls.append(("delete", tenant_id, account, subscription_id))
        self._maybe_fail("delete", account)
        self.subscriptions.pop(subscription_id, None)

    def reauthorize_subscription(
        self, tenant_id: str, token_provider: DelegatedTokenProvider, subscription_id: str
    ) -> None:
        account = self._account(token_provider)
        self.calls.append(("reauthorize", tenant_id, account, subscription_id))
        self._maybe_fail("reauthorize", account)
        if subscription_id not in self.subscriptions:
            raise GraphNotFound("subscription not found", status=404)

    def _max(self) -> datetime:
        return self.clock() + timedelta(minutes=60)


def _users_of(resource: str) -> tuple[str, ...]:
    inside = resource.split("id in (", 1)[1].rstrip(")")
    return tuple(part.strip("'") for part in inside.split(","))


class FakeRoster:
    def __init__(self) -> None:
        self.users: dict[str, list[str]] = {}

    def user_ids(self, tenant_id: str) -> list[str]:
        return list(self.users.get(tenant_id, []))


class FakeAccounts:
    def __init__(self) -> None:
        self.usable: dict[str, list[str]] = {}
        self.marked: list[tuple[str, str, str]] = []
        # Accounts whose refresh token was revoked: calling their provider raises.
        self.revoked: set[str] = set()

    def usable_account_ids(self, tenant_id: str) -> list[str]:
        return list(self.usable.get(tenant_id, []))

    def token_provider(self, tenant_id: str, account_id: str) -> DelegatedTokenProvider:
        def provide() -> str:
            if account_id in self.revoked:
                raise SyncAccountReauthorizationRequired(tenant_id, account_id, "invalid_grant")
            return TOKEN_PREFIX + account_id

        return provide

    def mark_reauthorization_required(self, tenant_id: str, account_id: str, reason: str) -> None:
        self.marked.append((tenant_id, account_id, reason))
        if account_id in self.usable.get(tenant_id, []):
            self.usable[tenant_id].remove(account_id)


class FakeQueue:
    def __init__(self) -> None:
        self.published: list[SyncMessage] = []
        self.down = False

    def publish(self, changes: Sequence[SyncMessage]) -> None:
        if self.down:
            from shared.presence.exceptions import PresenceQueueUnavailable

            raise PresenceQueueUnavailable("Service Bus is unreachable")
        self.published.extend(changes)


class FakeActiveTenants:
    def __init__(self, tenant_ids: Iterable[str] = ()) -> None:
        self.tenant_ids = list(tenant_ids)

    def active_tenant_ids(self) -> list[str]:
        return list(self.tenant_ids)


class RecordingCache:
    def __init__(self) -> None:
        self.forgotten: list[str] = []

    def forget(self, subscription_id: str) -> None:
        self.forgotten.append(subscription_id)


def unavailable() -> GraphUnavailable:
    return GraphUnavailable("Graph did not answer", status=503)
