"""Use cases of the connector lifecycle: each public method is one admin action.

The service loads the connector, asks the pure state machine for the next version, and saves it with
the ETag it read, so two concurrent admins cannot both win. A caller who pinned a version with If-Match
gets 412 when it is stale; one who did not asked for last-writer-wins on the fields it sent, so the
service reads again and re-applies them (bounded: each lost round means another writer finished).

Every action is audited with its outcome, refusals included (shared/connectors/audit.py).
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from shared.connectors import state_machine
from shared.connectors.audit import AdminAudit, failure_detail
from shared.connectors.commands import UNSET, CreateConnector, UpdateConnector
from shared.connectors.consent import ConsentCallback, ConsentLinks
from shared.connectors.exceptions import (
    ConnectorAlreadyExists,
    ConnectorNotFound,
    ConsentDenied,
    InvalidConsentCallback,
    StaleConnector,
)
from shared.connectors.model import (
    AuditEntry,
    Connector,
    ConnectorCounts,
    ConnectorStatus,
    ConsentFailure,
    WebexContactCenter,
)
from shared.connectors.ports import (
    AuditLog,
    ConnectorActivity,
    ConnectorRepository,
    ContactCenterHealthReader,
    NoConnectorActivity,
    NoContactCenterHealth,
    NoWebexAuthorizations,
    TenantDataPurger,
    WebexAuthorizationReader,
)
from shared.contact_center.health import ContactCenterCheck
from shared.contact_center.webex.model import WebexAuthorization
from shared.identity.principal import Actor
from shared.security.exceptions import ExpiredSignedState, InvalidSignedState

logger = logging.getLogger(__name__)

# Rounds of read-apply-write without If-Match. A round is lost only to a writer that succeeded, so N
# concurrent edits all succeed within N rounds; past this many the caller gets 412 and can retry.
MAX_SERVER_ATTEMPTS = 16
# Spreads the next round of writers that lost together, so they do not collide again at once.
MAX_RETRY_JITTER_SECONDS = 0.02
MAX_AUDIT_ENTRIES = 200
MAX_CONSENT_ERROR_LENGTH = 500


@dataclass(frozen=True)
class ConnectorWithConsentLink:
    connector: Connector
    consent_url: str


@dataclass(frozen=True)
class ConnectorDetails:
    connector: Connector
    counts: ConnectorCounts
    # The newest check of the configured contact center; None when there is none yet (or no contact
    # center at all).
    contact_center_health: ContactCenterCheck | None = None
    # The Webex sign-in and subscription, when the contact center is Webex Contact Center.
    webex_authorization: WebexAuthorization | None = None


@dataclass(frozen=True)
class DeletionReceipt:
    tenant_id: str
    app_client_id: str
    entities_removed: int


class ConnectorService:
    def __init__(
        self,
        connectors: ConnectorRepository,
        audit: AuditLog,
        purger: TenantDataPurger,
        consent_links: ConsentLinks,
        *,
        app_client_id: str,
        clock: Callable[[], datetime],
        activity: ConnectorActivity | None = None,
        contact_center_health: ContactCenterHealthReader | None = None,
        contact_center_authorizations: WebexAuthorizationReader | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._webex: WebexAuthorizationReader = (
            contact_center_authorizations
            if contact_center_authorizations is not None
            else NoWebexAuthorizations()
        )
        self._activity: ConnectorActivity = activity if activity is not None else NoConnectorActivity()
        self._health: ContactCenterHealthReader = (
            contact_center_health if contact_center_health is not None else NoContactCenterHealth()
        )
        self._connectors = connectors
        self._audit_log = audit
        self._audit = AdminAudit(audit, clock)
        self._purger = purger
        self._links = consent_links
        self._app_client_id = app_client_id
        self._clock = clock
        self._sleep = sleep

    # -- setup and consent -------------------------------------------------------------------------

    def create(self, tenant_id: str, command: CreateConnector, actor: Actor) -> ConnectorWithConsentLink:
        now = self._clock()
        existing = self._connectors.get(tenant_id)
        if existing is not None:
            # Recorded: the tenant has a trail, and a second setup attempt is worth knowing about.
            with self._audit.action(tenant_id, "create", actor):
                raise ConnectorAlreadyExists(tenant_id)
        contact_center = None if command.contact_center is None else command.contact_center.resolve(None)
        attempt = self._links.new_attempt(now, actor)
        connector = state_machine.new_connector(tenant_id, command.settings, contact_center, attempt, now)
        saved = self._connectors.add(connector)
        logger.info("connector created for tenant %s (pendingConsent)", tenant_id)
        self._audit.record(
            tenant_id, "create", actor, at=now, detail=_contact_center_note(contact_center is not None)
        )
        return ConnectorWithConsentLink(saved, self._links.url_for(tenant_id, attempt))

    def request_consent(self, tenant_id: str, actor: Actor) -> ConnectorWithConsentLink:
        with self._audit.action(tenant_id, "requestConsent", actor):
            now = self._clock()
            attempt = self._links.new_attempt(now, actor)
            saved, _ = self._change(
                tenant_id, None, lambda c: state_machine.start_consent_attempt(c, attempt, now)
            )
            logger.info("new consent link issued for tenant %s; earlier links are void", tenant_id)
        return ConnectorWithConsentLink(saved, self._links.url_for(tenant_id, attempt))

    def complete_consent(self, callback: ConsentCallback) -> Connector:
        """Apply Microsoft's redirect. Raise InvalidConsentCallback (nothing changed) or ConsentDenied."""
        if not callback.state:
            raise InvalidConsentCallback("the consent callback has no state")
        try:
            claims = self._links.verify_state(callback.state)
        except ExpiredSignedState as exc:
            raise InvalidConsentCallback(
                "this consent link has expired; request a new one from the connector setup"
            ) from exc
        except InvalidSignedState as exc:
            logger.warning("consent callback with a state that does not verify: %s", exc.message)
            raise InvalidConsentCallback("the consent callback state is not valid") from exc
        tenant_id = claims.tenant_id
        now = self._clock()
        granted = callback.error is None
        if granted and (callback.admin_consent or "").lower() != "true":
            raise InvalidConsentCallback("the consent callback reports neither consent nor an error")
        if granted and callback.tenant is None:
            raise InvalidConsentCallback("the consent callback does not name the tenant")
        if callback.tenant is not None and callback.tenant.lower() != tenant_id:
            logger.warning(
                "consent callback for tenant %s names another tenant %r", tenant_id, callback.tenant[:64]
            )
            raise InvalidConsentCallback("the consent callback names another tenant than the one set up")

        requesters: list[Actor] = []

        def apply(connector: Connector) -> Connector:
            attempt = connector.consent_attempt
            if connector.status is not ConnectorStatus.PENDING_CONSENT or attempt is None:
                raise InvalidConsentCallback("this consent link was already used; request a new one")
            if attempt.attempt_id != claims.attempt_id:
                raise InvalidConsentCallback("this consent link was replaced by a newer one")
            if (
                attempt.requested_by is None
                or claims.requested_by is None
                or claims.requested_by != attempt.requested_by.object_id
            ):
                raise InvalidConsentCallback("this consent link was not issued to a signed-in admin")
            requesters[:] = [attempt.requested_by]
            if granted:
                return state_machine.grant_consent(connector, now)
            failure = ConsentFailure(
                error=(callback.error or "")[:100],
                description=(callback.error_description or "")[:MAX_CONSENT_ERROR_LENGTH],
                at=now,
            )
            return state_machine.record_consent_failure(connector, failure)

        try:
            # Retrying is safe: apply() checks the attempt again on every round, so a state is used once.
            saved, _ = self._change(tenant_id, None, apply)
        except ConnectorNotFound as exc:
            raise InvalidConsentCallback("no connector setup is waiting for this consent") from exc
        except StaleConnector as exc:
            # Someone used or replaced the attempt between our read and write: this state is spent.
            raise InvalidConsentCallback("this consent link was already used; request a new one") from exc
        # The admin who asked for the link (bound into the state); Microsoft does not say who consented.
        requester = requesters[-1] if requesters else None
        if granted:
            logger.info("admin consent granted for tenant %s; connector active", tenant_id)
            self._audit.record(tenant_id, "grantConsent", requester, at=now)
            self._activity.activated(tenant_id)
            return saved
        failure = saved.last_consent_failure
        assert failure is not None  # noqa: S101 - record_consent_failure always sets it
        logger.warning("admin consent refused for tenant %s: %s", tenant_id, failure.error)
        self._audit.record(tenant_id, "grantConsent", requester, failed=True, detail=failure.error, at=now)
        raise ConsentDenied(tenant_id, failure.error, failure.description)

    # -- reading -----------------------------------------------------------------------------------

    def get(self, tenant_id: str) -> ConnectorDetails:
        connector = self._connectors.get(tenant_id)
        if connector is None:
            raise ConnectorNotFound(tenant_id)
        health = None
        if connector.contact_center is not None:
            since = connector.contact_center_changed_at or connector.created_at
            health = self._health.get(tenant_id).current(connector.contact_center, since)
        webex = (
            self._webex.authorization(tenant_id)
            if isinstance(connector.contact_center, WebexContactCenter)
            else None
        )
        return ConnectorDetails(connector, self._activity.counts(tenant_id), health, webex)

    def audit_trail(self, tenant_id: str, limit: int = MAX_AUDIT_ENTRIES) -> list[AuditEntry]:
        """Newest first. After a delete only the deletion record is left, and it is still shown."""
        entries = self._audit_log.list_recent(tenant_id, min(limit, MAX_AUDIT_ENTRIES))
        if not entries and self._connectors.get(tenant_id) is None:
            raise ConnectorNotFound(tenant_id)
        return entries

    # -- changes -----------------------------------------------------------------------------------

    def update(
        self, tenant_id: str, command: UpdateConnector, if_match: str | None, actor: Actor
    ) -> Connector:
        now = self._clock()

        def apply(connector: Connector) -> Connector:
            settings = command.settings.apply_to(connector.settings)
            contact_center = connector.contact_center
            if command.contact_center is not UNSET:
                contact_center = (
                    None
                    if command.contact_center is None
                    else command.contact_center.resolve(connector.contact_center)
                )
            return state_machine.update(connector, settings, contact_center, now)

        with self._audit.action(tenant_id, "update", actor) as note:
            saved, changed = self._change(tenant_id, if_match, apply)
            note.skip = not changed
        if changed:
            logger.info("connector settings updated for tenant %s", tenant_id)
        return saved

    def deactivate(self, tenant_id: str, if_match: str | None, actor: Actor) -> Connector:
        with self._audit.action(tenant_id, "deactivate", actor):
            now = self._clock()
            saved, _ = self._change(tenant_id, if_match, lambda c: state_machine.deactivate(c, now))
            logger.info("connector deactivated for tenant %s", tenant_id)
        self._activity.deactivated(tenant_id)
        return saved

    def reactivate(self, tenant_id: str, if_match: str | None, actor: Actor) -> Connector:
        with self._audit.action(tenant_id, "reactivate", actor):
            now = self._clock()
            saved, _ = self._change(tenant_id, if_match, lambda c: state_machine.reactivate(c, now))
            logger.info("connector reactivated for tenant %s", tenant_id)
        self._activity.activated(tenant_id)
        return saved

    def delete(self, tenant_id: str, if_match: str | None, actor: Actor) -> DeletionReceipt:
        """Purge every row of the tenant, its audit trail included, then leave one deletion record.

        The record is the trail's last entry and survives on purpose: who deleted the connector and
        when is what an admin (or an auditor) asks after a delete. It holds no configuration.
        """
        with self._audit.action(tenant_id, "delete", actor) as note:
            loaded = self._load(tenant_id, if_match)
            marked = state_machine.begin_deletion(loaded, self._clock())
            # Recorded after the purge below, which removes every earlier entry.
            note.skip = True
        cancelled = loaded.status is ConnectorStatus.PENDING_CONSENT
        # The mark is written with the ETag just read: a concurrent reactivate makes this fail before any
        # data is touched. Once marked, nothing else may change the connector; if the purge stops
        # half-way the row stays "deleting" and the admin simply deletes again.
        try:
            connector = loaded if marked == loaded else self._connectors.save(marked)
        except StaleConnector as error:
            self._audit.record(tenant_id, "delete", actor, failed=True, detail=failure_detail(error))
            raise
        # Deactivation removed the subscriptions already; again here in case that failed half-way.
        self._activity.deactivated(tenant_id)
        removed = self._purger.purge(tenant_id)
        self._connectors.delete(connector)
        logger.info(
            "connector deleted for tenant %s by %s (%s other entities removed)",
            tenant_id,
            actor.object_id,
            removed,
        )
        what = "setup cancelled before consent" if cancelled else "connector deleted"
        self._audit.record(
            tenant_id,
            "delete",
            actor,
            detail=(
                f"{what}: {removed + 1} entities removed, the earlier audit trail included; "
                "this record is kept"
            ),
        )
        return DeletionReceipt(tenant_id, self._app_client_id, removed + 1)

    # -- internals ---------------------------------------------------------------------------------

    def _load(self, tenant_id: str, if_match: str | None) -> Connector:
        connector = self._connectors.get(tenant_id)
        if connector is None:
            raise ConnectorNotFound(tenant_id)
        if if_match is not None and not etag_matches(if_match, connector.etag):
            raise StaleConnector(tenant_id)
        return connector

    def _change(
        self,
        tenant_id: str,
        if_match: str | None,
        apply: Callable[[Connector], Connector],
    ) -> tuple[Connector, bool]:
        """Read, apply, write with the ETag read; the flag says whether anything was written.

        Without If-Match a lost write is read again and `apply` runs on the newer connector, so only the
        fields the caller sent change (last writer wins on those).
        """
        attempts = MAX_SERVER_ATTEMPTS if if_match is None else 1
        for attempt in range(1, attempts + 1):
            current = self._load(tenant_id, if_match)
            updated = apply(current)
            if updated == current:
                return current, False
            try:
                return self._connectors.save(updated), True
            except StaleConnector:
                if attempt == attempts:
                    logger.warning(
                        "tenant %s: the connector changed under %s writes in a row; giving up",
                        tenant_id,
                        attempt,
                    )
                    raise
                logger.info(
                    "concurrent change on tenant %s; applying again (attempt %s)", tenant_id, attempt + 1
                )
                self._sleep(random.uniform(0, MAX_RETRY_JITTER_SECONDS))  # noqa: S311 - spreading, not security
        raise AssertionError("unreachable")  # pragma: no cover


def _contact_center_note(configured: bool) -> str | None:
    return None if configured else "no contact center yet: presence sync waits until one is configured"


def etag_matches(if_match: str, etag: str | None) -> bool:
    """RFC 9110 If-Match with weak comparison: `*` or any listed tag equal to the stored one."""
    if etag is None:
        return False
    candidates = [tag.strip() for tag in if_match.split(",")]
    if "*" in candidates:
        return True
    return _opaque(etag) in {_opaque(tag) for tag in candidates}


def _opaque(tag: str) -> str:
    return tag[2:] if tag.startswith("W/") else tag
