"""The simulator's in-memory tenants, guarded by one lock; presence changes go to a listener."""

from __future__ import annotations

import dataclasses
import logging
import threading
import time
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta

from devstack.graph_simulator.clock import SimulatorClock
from devstack.graph_simulator.models import (
    AppRegistration,
    AuthorizationCode,
    Consent,
    ConsentFailure,
    DeliveryRecord,
    PresenceChange,
    RefreshGrant,
    RequestRecord,
    Subscription,
    Tenant,
    User,
)
from devstack.graph_simulator.presence_rules import (
    PreferredState,
    SessionKind,
    SessionState,
    aggregate_presence,
    session_key,
)

logger = logging.getLogger(__name__)

ChangeListener = Callable[[list[PresenceChange]], None]

_MAX_RECORDS = 50_000


class SubscriptionConflictError(Exception):
    """The creator already holds a presence subscription for this application."""

    def __init__(self, existing_id: str) -> None:
        super().__init__(existing_id)
        self.existing_id = existing_id


class SimulatorState:
    """Everything the simulator knows. Public methods take the lock; listeners run after it is released."""

    def __init__(self, clock: SimulatorClock | None = None) -> None:
        self.clock = clock or SimulatorClock()
        self._lock = threading.RLock()
        self._tenants: dict[str, Tenant] = {}
        self._domains: dict[str, str] = {}
        self._users: dict[str, dict[str, User]] = {}
        self._apps: dict[str, AppRegistration] = {}
        self._codes: dict[str, AuthorizationCode] = {}
        self._refresh_grants: dict[str, RefreshGrant] = {}
        self._subscriptions: dict[str, Subscription] = {}
        self._requests: list[RequestRecord] = []
        self._deliveries: list[DeliveryRecord] = []
        self._record_seq = 0
        self._last_sequence = 0
        self._listeners: list[ChangeListener] = []

    def now(self) -> datetime:
        return self.clock.now()

    def add_change_listener(self, listener: ChangeListener) -> None:
        with self._lock:
            self._listeners.append(listener)

    def reset(self) -> None:
        """Forget every tenant, app, grant, subscription and record (the signing key stays)."""
        with self._lock:
            self._tenants.clear()
            self._domains.clear()
            self._users.clear()
            self._apps.clear()
            self._codes.clear()
            self._refresh_grants.clear()
            self._subscriptions.clear()
            self._requests.clear()
            self._deliveries.clear()

    # Tenants ---------------------------------------------------------------------------------

    def ensure_tenant(
        self, tenant_id: str, display_name: str | None = None, domains: Iterable[str] = ()
    ) -> tuple[Tenant, bool]:
        tenant_id = tenant_id.lower()
        with self._lock:
            tenant = self._tenants.get(tenant_id)
            created = tenant is None
            if tenant is None:
                tenant = Tenant(id=tenant_id, display_name=display_name or f"Tenant {tenant_id[:8]}")
                self._tenants[tenant_id] = tenant
                self._users[tenant_id] = {}
            elif display_name:
                tenant.display_name = display_name
            for domain in domains:
                owner = self._domains.get(domain.lower())
                if owner is not None and owner != tenant_id:
                    raise ValueError(f"domain {domain} already belongs to tenant {owner}")
                self._domains[domain.lower()] = tenant_id
                if domain.lower() not in tenant.domains:
                    tenant.domains.append(domain.lower())
            return dataclasses.replace(tenant), created

    def get_tenant(self, reference: str) -> Tenant | None:
        """A tenant by GUID or by one of its domains."""
        with self._lock:
            key = reference.lower()
            tenant = self._tenants.get(key) or self._tenants.get(self._domains.get(key, ""))
            return dataclasses.replace(tenant, consents=dict(tenant.consents)) if tenant else None

    # Apps and consent ---------------------------------------------------------------------------

    def register_app(self, app: AppRegistration) -> None:
        with self._lock:
            self._apps[app.client_id.lower()] = app

    def app_for(self, client_id: str) -> AppRegistration:
        """The registered app, or an open one (any secret, default permissions) for unknown client ids."""
        with self._lock:
            app = self._apps.get(client_id.lower())
        return app or AppRegistration(client_id=client_id, display_name=client_id)

    def record_consent(self, tenant_id: str, client_id: str, scope: str) -> None:
        with self._lock:
            tenant = self._tenants[tenant_id]
            tenant.consents[client_id.lower()] = Consent(client_id, scope, self.now())

    def revoke_consent(self, tenant_id: str, client_id: str) -> bool:
        with self._lock:
            tenant = self._tenants.get(tenant_id)
            return tenant is not None and tenant.consents.pop(client_id.lower(), None) is not None

    def is_consented(self, tenant_id: str, client_id: str) -> bool:
        with self._lock:
            tenant = self._tenants.get(tenant_id)
            return tenant is not None and client_id.lower() in tenant.consents

    def set_next_consent_failure(self, tenant_id: str, failure: ConsentFailure | None) -> None:
        with self._lock:
            self._tenants[tenant_id].next_consent_failure = failure

    def take_consent_failure(self, tenant_id: str) -> ConsentFailure | None:
        with self._lock:
            tenant = self._tenants[tenant_id]
            failure, tenant.next_consent_failure = tenant.next_consent_failure, None
            return failure

    # Users -----------------------------------------------------------------------------------

    def add_user(self, user: User) -> User:
        with self._lock:
            users = self._users[user.tenant_id]
            if user.id in users:
                raise ValueError(f"a user with id {user.id} already exists")
            if self._find_user_locked(user.tenant_id, user.user_principal_name) is not None:
                raise ValueError(f"a user with userPrincipalName {user.user_principal_name} already exists")
            users[user.id] = user
            user.sequence_number = self._next_sequence_locked()
            changes = self._recompute_locked(user, self.now(), force=False)
            snapshot = dataclasses.replace(user, sessions=dict(user.sessions))
        self._publish(changes)
        return snapshot

    def get_user(self, tenant_id: str, reference: str) -> User | None:
        """A user by object id or userPrincipalName, with its presence brought up to date."""
        with self._lock:
            user = self._find_user_locked(tenant_id, reference)
            if user is None:
                return None
            changes = self._recompute_locked(user, self.now(), force=False)
            snapshot = dataclasses.replace(
                user, sessions=dict(user.sessions), business_phones=list(user.business_phones)
            )
        self._publish(changes)
        return snapshot

    def find_user_anywhere(self, user_principal_name: str) -> User | None:
        """A user by UPN in any tenant (for the `common`/`organizations` authorities)."""
        with self._lock:
            for tenant_id in self._users:
                user = self._find_user_locked(tenant_id, user_principal_name)
                if user is not None:
                    return dataclasses.replace(user)
        return None

    def list_users(self, tenant_id: str) -> list[User]:
        with self._lock:
            now = self.now()
            changes: list[PresenceChange] = []
            for user in self._users.get(tenant_id, {}).values():
                changes.extend(self._recompute_locked(user, now, force=False))
            users = [
                dataclasses.replace(u, sessions=dict(u.sessions))
                for u in self._users.get(tenant_id, {}).values()
            ]
        self._publish(changes)
        return users

    def revoke_sign_in_sessions(self, tenant_id: str, user_id: str) -> int:
        with self._lock:
            doomed = [
                t
                for t, g in self._refresh_grants.items()
                if g.tenant_id == tenant_id and g.user_id == user_id
            ]
            for token in doomed:
                del self._refresh_grants[token]
            return len(doomed)

    def _find_user_locked(self, tenant_id: str, reference: str) -> User | None:
        users = self._users.get(tenant_id, {})
        user = users.get(reference.lower())
        if user is not None:
            return user
        wanted = reference.lower()
        return next((u for u in users.values() if u.user_principal_name.lower() == wanted), None)

    # Presence --------------------------------------------------------------------------------

    def set_preferred_presence(self, tenant_id: str, user_id: str, preferred: PreferredState | None) -> User:
        with self._lock:
            user = self._users[tenant_id][user_id]
            user.preferred = preferred
            changes = self._recompute_locked(user, self.now(), force=False)
            snapshot = dataclasses.replace(user, sessions=dict(user.sessions))
        self._publish(changes)
        return snapshot

    def set_presence_session(self, tenant_id: str, user_id: str, session: SessionState) -> User:
        """An application's session (setPresence) or one of the user's Teams clients', set or replaced."""
        with self._lock:
            user = self._users[tenant_id][user_id]
            user.sessions[session.key] = session
            changes = self._recompute_locked(user, self.now(), force=False)
            snapshot = dataclasses.replace(user, sessions=dict(user.sessions))
        self._publish(changes)
        return snapshot

    def set_out_of_office(self, tenant_id: str, user_id: str, on: bool, message: str | None) -> User:
        """The user's automatic replies switched on or off: a presence change (new sequence number)
        whatever the availability, as presence.outOfOfficeSettings changes."""
        with self._lock:
            user = self._users[tenant_id][user_id]
            changed = (user.out_of_office, user.out_of_office_message) != (on, message)
            user.out_of_office, user.out_of_office_message = on, message if on else None
            changes = self._recompute_locked(user, self.now(), force=changed)
            snapshot = dataclasses.replace(user, sessions=dict(user.sessions))
        self._publish(changes)
        return snapshot

    def set_status_message(
        self, tenant_id: str, user_id: str, content: str, expires_at: datetime | None
    ) -> User:
        """setStatusMessage: an empty content removes the message."""
        with self._lock:
            user = self._users[tenant_id][user_id]
            user.status_message = content or None
            user.status_message_expires_at = expires_at if content else None
            return dataclasses.replace(user, sessions=dict(user.sessions))

    def clear_presence_session(
        self, tenant_id: str, user_id: str, session_id: str, kind: SessionKind = SessionKind.APPLICATION
    ) -> bool:
        """Remove a session (clearPresence for an application's, sign-out for a client's); False when
        there was none."""
        key = session_key(kind, session_id)
        with self._lock:
            user = self._users[tenant_id][user_id]
            now = self.now()
            session = user.sessions.get(key)
            if session is None or session.expires_at <= now:
                user.sessions.pop(key, None)
                return False
            del user.sessions[key]
            changes = self._recompute_locked(user, now, force=False)
        self._publish(changes)
        return True

    def _recompute_locked(self, user: User, now: datetime, *, force: bool) -> list[PresenceChange]:
        user.sessions = {k: s for k, s in user.sessions.items() if s.expires_at > now}
        if (
            user.preferred is not None
            and user.preferred.expires_at is not None
            and user.preferred.expires_at <= now
        ):
            user.preferred = None
        availability, activity = aggregate_presence(user.preferred, list(user.sessions.values()), now)
        if not force and (availability, activity) == (user.availability, user.activity):
            return []
        user.availability, user.activity = availability, activity
        user.sequence_number = self._next_sequence_locked()
        subscriptions = tuple(
            dataclasses.replace(s)
            for s in self._subscriptions.values()
            if s.tenant_id == user.tenant_id and user.id in s.user_ids and s.expiration > now
        )
        return [
            PresenceChange(
                user.tenant_id,
                user.id,
                availability,
                activity,
                user.sequence_number,
                subscriptions,
                user.out_of_office,
                user.out_of_office_message,
            )
        ]

    def _next_sequence_locked(self) -> str:
        # Fixed-width upper-case hex of a strictly increasing value: sorts lexicographically like Graph's.
        self._last_sequence = max(self._last_sequence + 1, time.time_ns())
        return f"{self._last_sequence:016X}"

    def _publish(self, changes: list[PresenceChange]) -> None:
        if not changes:
            return
        with self._lock:
            listeners = list(self._listeners)
        for listener in listeners:
            try:
                listener(changes)
            except Exception:
                logger.exception("presence change listener failed for %d changes", len(changes))

    # Time ------------------------------------------------------------------------------------

    def tick(self) -> None:
        """Apply what time does: sessions decay and expire, subscriptions lapse."""
        with self._lock:
            now = self.now()
            for sub_id in [s.id for s in self._subscriptions.values() if s.expiration <= now]:
                logger.info("subscription %s expired and was removed", sub_id)
                del self._subscriptions[sub_id]
            self._codes = {c: v for c, v in self._codes.items() if v.expires_at > now}
            changes: list[PresenceChange] = []
            for users in self._users.values():
                for user in users.values():
                    changes.extend(self._recompute_locked(user, now, force=False))
        self._publish(changes)

    # Authorization codes and refresh tokens ---------------------------------------------------

    def store_code(self, code: AuthorizationCode) -> None:
        with self._lock:
            self._codes[code.code] = code

    def redeem_code(self, code: str) -> AuthorizationCode | None:
        """Codes are single-use: the first redemption removes it, whatever its outcome."""
        with self._lock:
            grant = self._codes.pop(code, None)
        if grant is None or grant.expires_at <= self.now():
            return None
        return grant

    def store_refresh_grant(self, grant: RefreshGrant) -> None:
        with self._lock:
            self._refresh_grants[grant.token] = grant

    def find_refresh_grant(self, token: str) -> RefreshGrant | None:
        with self._lock:
            grant = self._refresh_grants.get(token)
        if grant is None or grant.expires_at <= self.now():
            return None
        return grant

    # Subscriptions ---------------------------------------------------------------------------

    def find_presence_subscription_of(
        self, tenant_id: str, app_id: str, creator_id: str
    ) -> Subscription | None:
        with self._lock:
            now = self.now()
            for sub in self._subscriptions.values():
                if (
                    sub.tenant_id == tenant_id
                    and sub.application_id.lower() == app_id.lower()
                    and sub.creator_id == creator_id
                    and sub.expiration > now
                ):
                    return dataclasses.replace(sub)
        return None

    def add_subscription(self, subscription: Subscription) -> None:
        """Insert, unless the creator already holds a presence subscription for this app."""
        with self._lock:
            existing = self.find_presence_subscription_of(
                subscription.tenant_id, subscription.application_id, subscription.creator_id
            )
            if existing is not None:
                raise SubscriptionConflictError(existing.id)
            self._subscriptions[subscription.id] = subscription

    def get_subscription(self, subscription_id: str) -> Subscription | None:
        with self._lock:
            sub = self._subscriptions.get(subscription_id.lower())
            if sub is None:
                return None
            if sub.expiration <= self.now():
                del self._subscriptions[sub.id]
                return None
            return dataclasses.replace(sub)

    def list_subscriptions(self, tenant_id: str | None = None) -> list[Subscription]:
        with self._lock:
            now = self.now()
            return [
                dataclasses.replace(s)
                for s in self._subscriptions.values()
                if (tenant_id is None or s.tenant_id == tenant_id) and s.expiration > now
            ]

    def set_subscription_expiration(self, subscription_id: str, expiration: datetime) -> Subscription | None:
        with self._lock:
            sub = self._subscriptions.get(subscription_id.lower())
            if sub is None or sub.expiration <= self.now():
                return None
            sub.expiration = expiration
            return dataclasses.replace(sub)

    def delete_subscription(self, subscription_id: str) -> bool:
        with self._lock:
            return self._subscriptions.pop(subscription_id.lower(), None) is not None

    # Records ---------------------------------------------------------------------------------

    def record_request(
        self, *, kind: str, method: str, path: str, query: str, tenant_id: str | None, status: int
    ) -> None:
        with self._lock:
            self._record_seq += 1
            self._requests.append(
                RequestRecord(self._record_seq, kind, method, path, query, tenant_id, self.now(), status)
            )
            del self._requests[:-_MAX_RECORDS]

    def requests(self, since: datetime | None = None) -> list[RequestRecord]:
        with self._lock:
            return [r for r in self._requests if since is None or r.at > since]

    def clear_requests(self) -> None:
        with self._lock:
            self._requests.clear()

    def record_delivery(
        self,
        *,
        kind: str,
        url: str,
        subscription_ids: tuple[str, ...],
        notification_count: int,
        attempt: int,
        status: int | None,
        error: str | None,
        latency: timedelta,
    ) -> DeliveryRecord:
        with self._lock:
            self._record_seq += 1
            record = DeliveryRecord(
                self._record_seq,
                kind,
                url,
                subscription_ids,
                notification_count,
                attempt,
                status,
                error,
                latency.total_seconds() * 1000,
                self.now(),
            )
            self._deliveries.append(record)
            del self._deliveries[:-_MAX_RECORDS]
            return record

    def deliveries(self) -> list[DeliveryRecord]:
        with self._lock:
            return list(self._deliveries)

    def clear_deliveries(self) -> None:
        with self._lock:
            self._deliveries.clear()
