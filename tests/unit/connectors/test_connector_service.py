"""The lifecycle use cases with fake ports: consent state handling, ETags, deletion, audit."""

from __future__ import annotations

import base64
import json
from dataclasses import replace
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest

from shared.connectors.commands import parse_create, parse_update
from shared.connectors.consent import ConsentCallback, ConsentLinks
from shared.connectors.exceptions import (
    ConnectorAlreadyExists,
    ConnectorNotFound,
    ConsentDenied,
    InvalidConnectorInput,
    InvalidConsentCallback,
    InvalidTransition,
    StaleConnector,
)
from shared.connectors.model import Connector, ConnectorSettings, ConnectorStatus
from shared.connectors.service import MAX_SERVER_ATTEMPTS, ConnectorService, etag_matches
from shared.contact_center.exceptions import ContactCenterUnavailable
from shared.contact_center.health import CheckSource, ContactCenterHealth, accepted_check, failed_check
from shared.identity.principal import Actor
from shared.security.signed_state import StateSigner
from tests.fakes import FakeAuditLog, FakeClock, FakeConnectorRepository, FakeTenantPurger
from tests.support.identity import ADMIN

OPS = Actor("5e1f0c9a-4b7d-4f3a-9c2e-8d6b5a4c3b2a", "ops@contoso.com")
ALICE = Actor("a11ce000-0000-4000-8000-000000000001", "a@contoso.com")
BOB = Actor("b0b00000-0000-4000-8000-000000000002", "b@contoso.com")
TENANT = "72f988bf-86f1-41af-91ab-2d7cd011db47"
OTHER_TENANT = "11111111-2222-3333-4444-555555555555"
APP_ID = "00000000-0000-0000-0000-00000000c0de"


class World:
    def __init__(self) -> None:
        self.clock = FakeClock()
        self.repo = FakeConnectorRepository()
        self.audit = FakeAuditLog()
        self.purger = FakeTenantPurger(self.audit)
        self.signer = StateSigner(b"s" * 32, self.clock)
        self.links = ConsentLinks(
            self.signer,
            authority_host="https://login.microsoftonline.com",
            client_id=APP_ID,
            redirect_uri="https://connector.example.com/api/consent/callback",
            ttl=timedelta(minutes=15),
        )
        self.service = ConnectorService(
            self.repo, self.audit, self.purger, self.links, app_client_id=APP_ID, clock=self.clock
        )

    def create(self) -> str:
        return self.service.create(TENANT, parse_create(None), ADMIN).consent_url

    def activate(self) -> None:
        self.service.complete_consent(granted(self.create()))


def state_of(url: str) -> str:
    return parse_qs(urlsplit(url).query)["state"][0]


def granted(url: str, tenant: str | None = TENANT) -> ConsentCallback:
    return ConsentCallback(state_of(url), tenant, "True", None, None)


def denied(url: str) -> ConsentCallback:
    return ConsentCallback(state_of(url), TENANT, None, "access_denied", "The admin declined")


@pytest.fixture
def world() -> World:
    return World()


def test_create_returns_microsofts_admin_consent_url_for_the_tenant(world: World) -> None:
    url = world.create()
    parts = urlsplit(url)
    query = parse_qs(parts.query)
    assert f"{parts.scheme}://{parts.netloc}{parts.path}" == (
        f"https://login.microsoftonline.com/{TENANT}/v2.0/adminconsent"
    )
    assert query["client_id"] == [APP_ID]
    assert query["scope"] == ["https://graph.microsoft.com/.default"]
    assert query["redirect_uri"] == ["https://connector.example.com/api/consent/callback"]
    assert world.repo.rows[TENANT].status is ConnectorStatus.PENDING_CONSENT


def test_a_second_create_for_the_tenant_conflicts(world: World) -> None:
    world.create()
    with pytest.raises(ConnectorAlreadyExists):
        world.create()


def test_consent_callback_activates_the_connector_once(world: World) -> None:
    # GIVEN a pending connector and its consent link
    url = world.create()
    world.clock.advance(minutes=2)
    # WHEN Microsoft redirects back with admin_consent=True
    connector = world.service.complete_consent(granted(url))
    # THEN the connector is active since now
    assert connector.status is ConnectorStatus.ACTIVE
    assert connector.activated_at == world.clock.now
    # AND the same state cannot be used again
    with pytest.raises(InvalidConsentCallback, match="already used"):
        world.service.complete_consent(granted(url))


def test_a_new_consent_link_supersedes_the_old_one(world: World) -> None:
    first = world.create()
    second = world.service.request_consent(TENANT, ADMIN).consent_url
    before = world.repo.rows[TENANT]
    with pytest.raises(InvalidConsentCallback, match="replaced"):
        world.service.complete_consent(granted(first))
    assert world.repo.rows[TENANT] == before
    assert world.service.complete_consent(granted(second)).status is ConnectorStatus.ACTIVE


def test_the_link_names_the_admin_who_asked_and_only_his_state_completes_it(world: World) -> None:
    # GIVEN a consent link an admin asked for
    url = world.create()
    attempt = world.repo.rows[TENANT].consent_attempt
    assert attempt is not None
    assert attempt.requested_by == ADMIN
    claims = world.links.verify_state(state_of(url))
    assert claims.requested_by == ADMIN.object_id
    before = world.repo.rows[TENANT]
    # WHEN a state for the same attempt names another admin (or, signed before states named one, nobody)
    for requested_by in (OPS.object_id, None):
        payload = {
            "p": "adminConsent",
            "t": TENANT,
            "a": attempt.attempt_id,
            "e": int(attempt.expires_at.timestamp()),
        }
        if requested_by is not None:
            payload["o"] = requested_by
        forged = _signed(world.signer, "adminConsent", payload)
        # THEN the callback is refused and nothing changes
        with pytest.raises(InvalidConsentCallback, match="signed-in admin"):
            world.service.complete_consent(ConsentCallback(forged, TENANT, "True", None, None))
        assert world.repo.rows[TENANT] == before
    # AND the admin's own link still works, and the consent is recorded for him
    world.service.complete_consent(granted(url))
    assert world.service.audit_trail(TENANT)[0].actor == ADMIN


def _signed(signer: StateSigner, purpose: str, claims: dict[str, object]) -> str:
    """A state signed with the app's key from raw claims (what an old version, or a bug, could sign)."""
    payload = base64.urlsafe_b64encode(json.dumps(claims, separators=(",", ":"), sort_keys=True).encode())
    text = payload.rstrip(b"=").decode()
    return f"{text}.{signer._mac(purpose, text)}"


def test_an_expired_link_is_refused_and_changes_nothing(world: World) -> None:
    url = world.create()
    before = world.repo.rows[TENANT]
    world.clock.advance(minutes=15, seconds=1)
    with pytest.raises(InvalidConsentCallback, match="expired"):
        world.service.complete_consent(granted(url))
    assert world.repo.rows[TENANT] == before


def test_a_forged_state_is_refused_and_the_real_one_still_works(world: World) -> None:
    url = world.create()
    state = state_of(url)
    forged = ConsentCallback(state[:-3] + "AAA", TENANT, "True", None, None)
    with pytest.raises(InvalidConsentCallback, match="not valid"):
        world.service.complete_consent(forged)
    assert world.service.complete_consent(granted(url)).status is ConnectorStatus.ACTIVE


def test_a_tenant_differing_from_the_state_is_refused_and_the_state_stays_usable(world: World) -> None:
    url = world.create()
    with pytest.raises(InvalidConsentCallback, match="another tenant"):
        world.service.complete_consent(granted(url, tenant=OTHER_TENANT))
    assert world.repo.rows[TENANT].status is ConnectorStatus.PENDING_CONSENT
    assert world.service.complete_consent(granted(url)).status is ConnectorStatus.ACTIVE


def test_a_callback_without_consent_or_error_is_refused(world: World) -> None:
    url = world.create()
    with pytest.raises(InvalidConsentCallback):
        world.service.complete_consent(ConsentCallback(state_of(url), TENANT, None, None, None))
    with pytest.raises(InvalidConsentCallback, match="no state"):
        world.service.complete_consent(ConsentCallback(None, TENANT, "True", None, None))


def test_a_consent_error_is_recorded_and_uses_up_the_state(world: World) -> None:
    url = world.create()
    with pytest.raises(ConsentDenied, match="access_denied"):
        world.service.complete_consent(denied(url))
    stored = world.repo.rows[TENANT]
    assert stored.status is ConnectorStatus.PENDING_CONSENT
    assert stored.last_consent_failure is not None
    assert stored.last_consent_failure.description == "The admin declined"
    with pytest.raises(InvalidConsentCallback, match="already used"):
        world.service.complete_consent(granted(url))
    assert [(e.action, e.outcome) for e in world.audit.entries][-1] == ("grantConsent", "failed")


def test_consent_for_a_deleted_connector_is_refused(world: World) -> None:
    url = world.create()
    world.repo.rows.clear()
    with pytest.raises(InvalidConsentCallback, match="no connector"):
        world.service.complete_consent(granted(url))


def test_request_consent_is_refused_once_active(world: World) -> None:
    world.activate()
    with pytest.raises(InvalidTransition, match="active"):
        world.service.request_consent(TENANT, ADMIN)


def test_update_with_a_stale_if_match_fails_and_changes_nothing(world: World) -> None:
    world.create()
    stale = world.repo.rows[TENANT].etag
    world.service.update(TENANT, parse_update({"settings": {"presenceSync": False}}), None, ADMIN)
    before = world.repo.rows[TENANT]
    with pytest.raises(StaleConnector):
        world.service.update(TENANT, parse_update({"settings": {"showUserDetails": False}}), stale, ADMIN)
    assert world.repo.rows[TENANT] == before


def test_update_with_the_current_if_match_applies(world: World) -> None:
    world.create()
    etag = world.repo.rows[TENANT].etag
    updated = world.service.update(TENANT, parse_update({"settings": {"showUserDetails": True}}), etag, ADMIN)
    assert updated.settings.show_user_details is True
    assert updated.etag != etag


def test_an_update_that_changes_nothing_neither_writes_nor_audits(world: World) -> None:
    world.create()
    writes, audited = world.repo.writes, len(world.audit.entries)
    world.service.update(TENANT, parse_update({"settings": {"presenceSync": True}}), None, ADMIN)
    assert world.repo.writes == writes
    assert len(world.audit.entries) == audited


def test_delete_marks_the_connector_before_purging_so_a_racing_reactivate_loses(world: World) -> None:
    # GIVEN an inactive connector as a DELETE has read it
    world.activate()
    world.service.deactivate(TENANT, None, ADMIN)
    read_by_delete = world.repo.rows[TENANT]
    # AND a reactivate that lands before the DELETE writes anything
    world.service.reactivate(TENANT, None, ADMIN)
    world.repo.get = lambda tenant_id: read_by_delete  # type: ignore[method-assign]
    # WHEN the DELETE goes on with what it read
    with pytest.raises(StaleConnector):
        world.service.delete(TENANT, None, ADMIN)
    # THEN it failed before the purge, and the active connector keeps its data
    assert world.purger.purged == []
    assert world.repo.rows[TENANT].status is ConnectorStatus.ACTIVE
    assert world.audit.entries


def test_a_delete_that_stopped_half_way_can_be_repeated(world: World) -> None:
    world.activate()
    world.service.deactivate(TENANT, None, ADMIN)
    world.purger.fail_once = True
    with pytest.raises(RuntimeError):
        world.service.delete(TENANT, None, ADMIN)
    assert world.repo.rows[TENANT].status is ConnectorStatus.DELETING
    with pytest.raises(InvalidTransition):
        world.service.reactivate(TENANT, None, ADMIN)
    world.service.delete(TENANT, None, ADMIN)
    assert TENANT not in world.repo.rows


def test_a_granted_callback_must_name_the_tenant(world: World) -> None:
    url = world.create()
    with pytest.raises(InvalidConsentCallback, match="does not name the tenant"):
        world.service.complete_consent(granted(url, tenant=None))
    assert world.service.complete_consent(granted(url)).status is ConnectorStatus.ACTIVE


def test_delete_is_refused_unless_inactive_then_removes_everything(world: World) -> None:
    world.activate()
    with pytest.raises(InvalidTransition, match="deactivate the connector first"):
        world.service.delete(TENANT, None, ADMIN)
    world.service.deactivate(TENANT, None, ADMIN)
    receipt = world.service.delete(TENANT, None, ADMIN)
    assert receipt.app_client_id == APP_ID
    assert TENANT not in world.repo.rows
    assert world.purger.purged == [TENANT]
    # The trail is purged with the rest; one deletion record is left, and it is still readable
    [record] = world.service.audit_trail(TENANT)
    assert (record.action, record.outcome, record.actor) == ("delete", "succeeded", ADMIN)
    assert record.detail is not None
    assert record.detail.startswith("connector deleted: 5 entities removed")
    with pytest.raises(ConnectorNotFound):
        world.service.get(TENANT)
    world.create()
    assert world.repo.rows[TENANT].status is ConnectorStatus.PENDING_CONSENT
    assert [e.action for e in world.service.audit_trail(TENANT)] == ["create", "delete"]


def test_a_setup_that_never_got_consent_is_cancelled_by_deleting_it(world: World) -> None:
    # GIVEN a setup whose admin never consents (or a mistyped tenant)
    consent_url = world.create()
    with pytest.raises(InvalidTransition):
        world.service.deactivate(TENANT, None, ADMIN)
    # WHEN the admin deletes it
    receipt = world.service.delete(TENANT, None, ADMIN)
    # THEN it is purged like any delete
    assert receipt.entities_removed >= 1
    assert TENANT not in world.repo.rows
    assert world.purger.purged == [TENANT]
    # AND its consent link can no longer activate anything
    with pytest.raises(InvalidConsentCallback, match="no connector"):
        world.service.complete_consent(granted(consent_url))
    # AND the deletion record says it was a cancelled setup
    [record] = world.service.audit_trail(TENANT)
    assert record.detail is not None
    assert record.detail.startswith("setup cancelled before consent")


def test_refused_and_stale_actions_are_audited_as_failed_with_the_reason(world: World) -> None:
    world.activate()
    stale = world.repo.rows[TENANT].etag
    world.service.update(TENANT, parse_update({"settings": {"presenceSync": False}}), None, ALICE)
    refusals = [
        (lambda: world.service.delete(TENANT, None, BOB), InvalidTransition),
        (lambda: world.service.reactivate(TENANT, None, BOB), InvalidTransition),
        (
            lambda: world.service.update(
                TENANT, parse_update({"settings": {"presenceSync": True}}), stale, BOB
            ),
            StaleConnector,
        ),
        (lambda: world.service.deactivate(TENANT, stale, BOB), StaleConnector),
        (lambda: world.service.create(TENANT, parse_create(None), BOB), ConnectorAlreadyExists),
        (lambda: world.service.request_consent(TENANT, BOB), InvalidTransition),
    ]
    for call, error in refusals:
        with pytest.raises(error):
            call()
    trail = world.service.audit_trail(TENANT)
    failed = [(e.action, e.actor, (e.detail or "").split(":")[0]) for e in trail if e.outcome == "failed"]
    assert failed == [
        ("requestConsent", BOB, "invalidStatus"),
        ("create", BOB, "connectorExists"),
        ("deactivate", BOB, "preconditionFailed"),
        ("update", BOB, "preconditionFailed"),
        ("reactivate", BOB, "invalidStatus"),
        ("delete", BOB, "invalidStatus"),
    ]
    assert "deactivate the connector first" in (trail[5].detail or "")
    # AND the one change that went through is there too
    assert ("update", "succeeded") in [(e.action, e.outcome) for e in trail]


def test_input_the_service_refuses_is_audited_as_failed(world: World) -> None:
    world.create()
    webhook_without_secret = {"contactCenter": {"type": "webhook", "url": "https://cc.example.com/hook"}}
    with pytest.raises(InvalidConnectorInput, match="secret is required"):
        world.service.update(TENANT, parse_update(webhook_without_secret), None, ALICE)
    latest = world.service.audit_trail(TENANT)[0]
    assert (latest.action, latest.outcome) == ("update", "failed")
    assert (latest.detail or "").startswith("invalidRequest: contactCenter.secret is required")


class LosesRaces(FakeConnectorRepository):
    """Another writer lands between each read and write, `losses` times."""

    def __init__(self, losses: int) -> None:
        super().__init__()
        self.losses = losses

    def save(self, connector: Connector) -> Connector:
        if self.losses and connector.tenant_id in self.rows:
            self.losses -= 1
            current = self.rows[connector.tenant_id]
            # The other writer changed a field this caller does not send.
            self._stamp(replace(current, settings=replace(current.settings, show_user_details=True)))
        return super().save(connector)


def test_a_patch_without_if_match_is_applied_again_over_concurrent_edits(world: World) -> None:
    # GIVEN a repository where 15 other writers land between this PATCH's reads and writes
    world.repo = LosesRaces(0)
    sleeps: list[float] = []
    world.service = ConnectorService(
        world.repo,
        world.audit,
        world.purger,
        world.links,
        app_client_id=APP_ID,
        clock=world.clock,
        sleep=sleeps.append,
    )
    world.create()
    world.repo.losses = MAX_SERVER_ATTEMPTS - 1
    # WHEN a PATCH without If-Match sends one field
    updated = world.service.update(TENANT, parse_update({"settings": {"presenceSync": False}}), None, ADMIN)
    # THEN it is applied on top of the other writers' change: last writer wins on the field it sent only
    assert updated.settings == ConnectorSettings(show_user_details=True, presence_sync=False)
    assert world.repo.rows[TENANT].settings == updated.settings
    assert len(sleeps) == MAX_SERVER_ATTEMPTS - 1
    assert all(0 <= s <= 0.02 for s in sleeps)


def test_a_patch_without_if_match_gives_up_with_412_after_the_bounded_attempts(world: World) -> None:
    world.repo = LosesRaces(0)
    world.service = ConnectorService(
        world.repo,
        world.audit,
        world.purger,
        world.links,
        app_client_id=APP_ID,
        clock=world.clock,
        sleep=lambda _: None,
    )
    world.create()
    world.repo.losses = MAX_SERVER_ATTEMPTS
    with pytest.raises(StaleConnector):
        world.service.update(TENANT, parse_update({"settings": {"presenceSync": False}}), None, ADMIN)
    assert world.repo.rows[TENANT].settings.presence_sync is True


def test_a_patch_with_if_match_is_never_applied_again(world: World) -> None:
    world.repo = LosesRaces(0)
    world.service = ConnectorService(
        world.repo,
        world.audit,
        world.purger,
        world.links,
        app_client_id=APP_ID,
        clock=world.clock,
        sleep=lambda _: pytest.fail("a pinned version must not be retried"),
    )
    world.create()
    etag = world.repo.rows[TENANT].etag
    world.repo.losses = 1
    with pytest.raises(StaleConnector):
        world.service.update(TENANT, parse_update({"settings": {"presenceSync": False}}), etag, ADMIN)


def test_reading_or_changing_a_missing_connector_is_not_found(world: World) -> None:
    for call in (
        lambda: world.service.get(TENANT),
        lambda: world.service.deactivate(TENANT, None, ADMIN),
        lambda: world.service.audit_trail(TENANT),
        lambda: world.service.delete(TENANT, None, ADMIN),
    ):
        with pytest.raises(ConnectorNotFound):
            call()


def test_audit_trail_is_newest_first_with_actor(world: World) -> None:
    world.activate()
    world.clock.advance(minutes=1)
    world.service.deactivate(TENANT, None, OPS)
    trail = world.service.audit_trail(TENANT)
    assert [e.action for e in trail] == ["deactivate", "grantConsent", "create"]
    assert trail[0].actor == OPS
    # consent is recorded for the admin who asked for the link
    assert trail[1].actor == ADMIN


def test_an_audit_failure_does_not_undo_or_fail_the_change(world: World) -> None:
    world.activate()
    world.audit.fail = True
    assert world.service.deactivate(TENANT, None, ADMIN).status is ConnectorStatus.INACTIVE


@pytest.mark.parametrize(
    ("if_match", "etag", "expected"),
    [
        ('W/"v1"', 'W/"v1"', True),
        ('"v1"', 'W/"v1"', True),
        ('W/"v2", W/"v1"', 'W/"v1"', True),
        ("*", 'W/"v1"', True),
        ('W/"v2"', 'W/"v1"', False),
        ("garbage", 'W/"v1"', False),
        ("*", None, False),
    ],
)
def test_if_match_comparison(if_match: str, etag: str | None, expected: bool) -> None:
    assert etag_matches(if_match, etag) is expected


class HealthReader:
    def __init__(self) -> None:
        self.health = ContactCenterHealth()

    def get(self, tenant_id: str) -> ContactCenterHealth:
        return self.health


def test_get_shows_the_newest_contact_center_check_made_since_the_contact_center_last_changed(
    world: World,
) -> None:
    reader = HealthReader()
    world.service = ConnectorService(
        world.repo,
        world.audit,
        world.purger,
        world.links,
        app_client_id=APP_ID,
        clock=world.clock,
        contact_center_health=reader,
    )
    hook = {"type": "webhook", "url": "https://cc.example.com/hook", "secret": "s" * 24}
    # GIVEN a connector without a contact center: nothing to report
    world.create()
    assert world.service.get(TENANT).contact_center_health is None
    # AND once one is configured, what the admin's test and the engine saw
    world.clock.advance(minutes=1)
    world.service.update(TENANT, parse_update({"contactCenter": hook}), None, ADMIN)
    world.clock.advance(minutes=1)
    configured = world.repo.rows[TENANT].contact_center
    assert configured is not None
    tested = accepted_check(CheckSource.TEST, world.clock.now, configured, 204)
    world.clock.advance(minutes=1)
    failing = failed_check(
        CheckSource.SYNC, world.clock.now, configured, ContactCenterUnavailable("cannot be reached")
    )
    reader.health = ContactCenterHealth(last_test=tested, last_sync=failing)
    # THEN GET shows the newer one: the engine cannot reach it
    assert world.service.get(TENANT).contact_center_health == failing
    # AND a settings change keeps that evidence, a new URL voids it (it was about the old one)
    world.clock.advance(minutes=1)
    world.service.update(TENANT, parse_update({"settings": {"presenceSync": False}}), None, ADMIN)
    assert world.service.get(TENANT).contact_center_health == failing
    world.service.update(
        TENANT, parse_update({"contactCenter": {**hook, "url": "https://cc2.example.com/hook"}}), None, ADMIN
    )
    assert world.service.get(TENANT).contact_center_health is None
