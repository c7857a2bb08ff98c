"""The connector service on the real Table adapters (Azurite): parallel edits and the audit trail."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest

from shared.connectors.commands import parse_create, parse_update
from shared.connectors.consent import ConsentLinks
from shared.connectors.exceptions import StaleConnector
from shared.connectors.service import MAX_SERVER_ATTEMPTS, ConnectorService
from shared.errors import AppError
from shared.identity.principal import Actor
from shared.security.secret_box import SecretBox
from shared.security.signed_state import StateSigner
from shared.settings import Settings
from shared.storage.audit_log import TableAuditLog
from shared.storage.connector_repository import TableConnectorRepository
from shared.storage.table_store import TableStore
from shared.storage.tenant_purge import TableTenantPurger

pytestmark = pytest.mark.integration

APP_ID = "00000000-0000-0000-0000-00000000c0de"


def person(upn: str) -> Actor:
    return Actor(str(uuid.uuid5(uuid.NAMESPACE_URL, upn)), upn)


URL_WRITERS = 6
SETTINGS_WRITERS = 6


def utc_now() -> datetime:
    return datetime.now(UTC)


@pytest.fixture
def service(azurite_settings: Settings) -> ConnectorService:
    store = TableStore.from_settings(azurite_settings)
    audit = TableAuditLog(store)
    links = ConsentLinks(
        StateSigner(b"s" * 32, utc_now),
        authority_host="https://login.microsoftonline.com",
        client_id=APP_ID,
        redirect_uri="https://connector.example.com/api/consent/callback",
        ttl=timedelta(minutes=15),
    )
    return ConnectorService(
        TableConnectorRepository(store, SecretBox(azurite_settings.secrets_encryption_key)),
        audit,
        TableTenantPurger(store),
        links,
        app_client_id=APP_ID,
        clock=utc_now,
    )


def run_together(calls: list[Callable[[], object]]) -> list[BaseException | None]:
    """Start every call at the same moment on its own thread; each one's error, or None."""
    barrier = threading.Barrier(len(calls))
    outcomes: list[BaseException | None] = [None] * len(calls)

    def run(index: int) -> None:
        barrier.wait()
        try:
            calls[index]()
        except BaseException as error:
            outcomes[index] = error

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(calls))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return outcomes


def test_parallel_patches_without_if_match_all_apply_their_own_fields(
    service: ConnectorService, tenant_id: str
) -> None:
    # GIVEN a connector, and twelve admins editing it at the same moment without If-Match
    service.create(tenant_id, parse_create(None), person("setup@contoso.com"))
    assert URL_WRITERS + SETTINGS_WRITERS <= MAX_SERVER_ATTEMPTS
    urls = [f"https://cc.example.com/hook/{i}" for i in range(URL_WRITERS)]
    calls: list[Callable[[], object]] = [
        lambda url=url: service.update(  # type: ignore[misc]
            tenant_id,
            parse_update({"contactCenter": {"type": "webhook", "url": url, "secret": "s" * 24}}),
            None,
            person("cc-admin@contoso.com"),
        )
        for url in urls
    ]
    calls += [
        lambda: service.update(
            tenant_id, parse_update({"settings": {"presenceSync": False}}), None, person("ops@contoso.com")
        )
        for _ in range(SETTINGS_WRITERS)
    ]
    # WHEN they all PATCH
    outcomes = run_together(calls)
    # THEN none of them is refused: each asked for last-writer-wins on the fields it sent
    assert outcomes == [None] * len(calls)
    stored = service.get(tenant_id).connector
    # AND no edit lost another's field: one of the URLs won, and presenceSync is off
    assert stored.contact_center is not None
    assert getattr(stored.contact_center, "url", None) in urls
    assert stored.settings.presence_sync is False
    # AND every change is in the audit trail once: six URL changes and the one presenceSync change
    updates = [e for e in service.audit_trail(tenant_id) if e.action == "update"]
    assert len(updates) == URL_WRITERS + 1
    assert all(e.outcome == "succeeded" for e in updates)


def test_parallel_patches_with_the_same_if_match_one_wins_the_rest_get_412_and_are_audited(
    service: ConnectorService, tenant_id: str
) -> None:
    created = service.create(tenant_id, parse_create(None), person("setup@contoso.com")).connector
    etag = created.etag
    calls: list[Callable[[], object]] = [
        lambda i=i: service.update(  # type: ignore[misc]
            tenant_id,
            parse_update(
                {
                    "contactCenter": {
                        "type": "webhook",
                        "url": f"https://cc.example.com/{i}",
                        "secret": "s" * 24,
                    }
                }
            ),
            etag,
            person(f"admin{i}@contoso.com"),
        )
        for i in range(8)
    ]
    outcomes = run_together(calls)
    assert sum(outcome is None for outcome in outcomes) == 1
    assert all(isinstance(o, StaleConnector) for o in outcomes if o is not None)
    trail = [e for e in service.audit_trail(tenant_id) if e.action == "update"]
    assert sorted(e.outcome for e in trail) == ["failed"] * 7 + ["succeeded"]
    assert all((e.detail or "").startswith("preconditionFailed") for e in trail if e.outcome == "failed")


def test_a_deleted_connector_leaves_exactly_its_deletion_record(
    service: ConnectorService, tenant_id: str
) -> None:
    service.create(tenant_id, parse_create(None), person("setup@contoso.com"))
    service.update(
        tenant_id, parse_update({"settings": {"showUserDetails": True}}), None, person("a@contoso.com")
    )
    with pytest.raises(AppError):
        service.deactivate(tenant_id, None, person("a@contoso.com"))
    service.delete(tenant_id, None, person("b@contoso.com"))
    [record] = service.audit_trail(tenant_id)
    assert (record.action, record.outcome, record.actor) == ("delete", "succeeded", person("b@contoso.com"))
    assert (record.detail or "").startswith("setup cancelled before consent")
