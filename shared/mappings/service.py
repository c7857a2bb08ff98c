"""Use cases of the presence-mappings API: read a tenant's mappings (stored or default) and replace them.

Writes follow the connector API's concurrency rules: with If-Match the write happens only at that
version (the defaults' version DEFAULT_ETAG means "only if nothing is stored yet"), without it the last
writer wins. Storing the same rules again writes nothing, so the ETag does not change for a no-op.
Every PUT on an existing connector is audited with its outcome (invalid rules and 412 included).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from typing import Any, Final

from shared.connectors.audit import AdminAudit
from shared.connectors.exceptions import ConnectorNotFound, InvalidTransition
from shared.connectors.model import ConnectorStatus
from shared.connectors.ports import AuditLog, ConnectorRepository
from shared.contact_center.idle_codes import IdleCodeVerification
from shared.identity.principal import Actor
from shared.mappings.defaults import DEFAULT_MAPPINGS
from shared.mappings.exceptions import StaleMappings, UnknownIdleCode
from shared.mappings.model import DEFAULT_ETAG, MappingRules, PresenceMappings
from shared.mappings.ports import IdleCodeVerifier, MappingCache, MappingRepository, NoIdleCodeCheck
from shared.mappings.validation import parse_mappings

logger = logging.getLogger(__name__)

AUDIT_ACTION: Final = "updatePresenceMappings"
# If-Match: * asks only that the resource exists, and a tenant's mappings always do (the defaults).
_ANY_VERSION: Final = "*"


class PresenceMappingService:
    def __init__(
        self,
        repository: MappingRepository,
        connectors: ConnectorRepository,
        cache: MappingCache,
        audit: AuditLog,
        clock: Callable[[], datetime],
        *,
        idle_codes: IdleCodeVerifier | None = None,
    ) -> None:
        self._idle_codes: IdleCodeVerifier = idle_codes if idle_codes is not None else NoIdleCodeCheck()
        self._repository = repository
        self._connectors = connectors
        self._cache = cache
        self._audit = AdminAudit(audit, clock)
        self._clock = clock

    def get(self, tenant_id: str) -> PresenceMappings:
        self._require_connector(tenant_id, "read the presence mappings of")
        stored = self._repository.get(tenant_id)
        return DEFAULT_MAPPINGS if stored is None else stored

    def put(self, tenant_id: str, body: Any, if_match: str | None, actor: Actor) -> PresenceMappings:
        """Validate and store the mappings; raise InvalidMapping (nothing stored) or StaleMappings."""
        return self.put_checked(tenant_id, body, if_match, actor)[0]

    def put_checked(
        self, tenant_id: str, body: Any, if_match: str | None, actor: Actor
    ) -> tuple[PresenceMappings, IdleCodeVerification]:
        """Like put; also says whether the idle codes could be checked against the contact center
        (UnknownIdleCode, nothing stored, when it lists some of them not)."""
        with self._audit.action(tenant_id, AUDIT_ACTION, actor) as note:
            saved, rules, verification = self._put(tenant_id, body, if_match)
            note.skip = rules is None
            if rules is not None:
                note.detail = (
                    f"{len(rules.teams_to_contact_center)} Teams rules, "
                    f"{len(rules.contact_center_to_teams)} contact-center rules"
                    + ("" if verification.reason is None else "; idle codes not checked")
                )
        return saved, verification

    def _put(
        self, tenant_id: str, body: Any, if_match: str | None
    ) -> tuple[PresenceMappings, MappingRules | None, IdleCodeVerification]:
        """The mappings now stored, the rules written (None: the same rules were stored already), and
        the idle-code check."""
        self._require_connector(tenant_id, "change the presence mappings of")
        rules = parse_mappings(body)
        verification = self._verify_idle_codes(tenant_id, rules)
        now = self._clock()
        if if_match == DEFAULT_ETAG:
            saved = self._repository.insert(tenant_id, rules, now)
        else:
            current = self._repository.get(tenant_id)
            expected = None if if_match == _ANY_VERSION else if_match
            if expected is not None and (current is None or current.etag != expected):
                raise StaleMappings(tenant_id)
            if current is not None and current.rules == rules:
                logger.info("presence mappings of tenant %s unchanged; nothing stored", tenant_id)
                return current, None, verification
            if expected is not None:
                saved = self._repository.replace(tenant_id, rules, expected, now)
            else:
                saved = self._repository.upsert(tenant_id, rules, now)
        self._cache.invalidate(tenant_id)
        logger.info(
            "presence mappings of tenant %s stored: %s Teams rules, %s contact-center rules",
            tenant_id,
            len(rules.teams_to_contact_center),
            len(rules.contact_center_to_teams),
        )
        return saved, rules, verification

    def _verify_idle_codes(self, tenant_id: str, rules: MappingRules) -> IdleCodeVerification:
        ids = [rule.idle_code_id for rule in rules.teams_to_contact_center]
        verification = self._idle_codes.verify(tenant_id, ids)
        if verification.unknown:
            index, rule = next(
                (i, r)
                for i, r in enumerate(rules.teams_to_contact_center)
                if r.idle_code_id in verification.unknown
            )
            raise UnknownIdleCode(
                f"teamsToContactCenter[{index}] ({rule.availability}/{rule.activity}): idleCodeId "
                f"{rule.idle_code_id!r} is not an active idle code of the contact center; "
                "GET /api/tenants/{tenantId}/contact-center/idle-codes lists them"
            )
        return verification

    def _require_connector(self, tenant_id: str, action: str) -> None:
        connector = self._connectors.get(tenant_id)
        if connector is None:
            raise ConnectorNotFound(tenant_id)
        if connector.status is ConnectorStatus.DELETING:
            raise InvalidTransition(action, connector.status.value, "the connector is being deleted")
