"""The Webex sign-in, tokens and subscription lifecycle against fakes of the ports."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest

from shared.connectors.audit import AdminAudit
from shared.connectors.model import (
    Connector,
    ConnectorSettings,
    ConnectorStatus,
    WebexContactCenter,
    WebhookContactCenter,
)
from shared.connectors.ports import NoConnectorActivity
from shared.contact_center.exceptions import ContactCenterUnavailable
from shared.contact_center.webex.activity import WebexConnectorActivity
from shared.contact_center.webex.exceptions import (
    InvalidWebexCallback,
    NotWebexContactCenter,
    WebexNotConfigured,
    WebexReauthorizationRequired,
    WebexSignInDenied,
    WebexWrongOrganization,
)
from shared.contact_center.webex.model import WebexAuthorizationStatus
from shared.contact_center.webex.service import WebexConnectionService
from shared.identity.principal import Actor
from shared.security.signed_state import StateSigner
from tests.fakes import FakeAuditLog, FakeClock, FakeConnectorRepository
from tests.unit.contact_center.support import TENANT
from tests.unit.contact_center.webex.fakes import (
    ORG,
    FakeWebexAuthorizations,
    FakeWebexOAuth,
    FakeWebexSubscriptions,
)
from tests.unit.sync_accounts.fakes import FakeSignInRepository

ADMIN = Actor("11111111-2222-3333-4444-555555555555", "admin@contoso.example")
OTHER_ADMIN = Actor("99999999-2222-3333-4444-555555555555", "other@contoso.example")
CONFIG = WebexContactCenter("https://api.wxcc-us1.cisco.com", ORG)
KEY = b"k" * 32


@dataclass
class Wired:
    clock: FakeClock
    connectors: FakeConnectorRepository
    authorizations: FakeWebexAuthorizations
    sign_ins: FakeSignInRepository
    oauth: FakeWebexOAuth
    api: FakeWebexSubscriptions
    audit: FakeAuditLog
    service: WebexConnectionService

    def connector(self, status: ConnectorStatus = ConnectorStatus.ACTIVE, config: object = CONFIG) -> None:
        now = self.clock()
        self.connectors.rows[TENANT] = Connector(
            tenant_id=TENANT,
            status=status,
            settings=ConnectorSettings(),
            contact_center=config,  # type: ignore[arg-type]
            created_at=now,
            updated_at=now,
            etag="v0",
        )

    def sign_in(self, actor: Actor = ADMIN, code: str = "code-1") -> None:
        start = self.service.start_authorize(TENANT, actor)
        self.oauth.codes[code] = "ok"
        self.service.complete_authorize({"state": state_of(start.authorize_url), "code": code})


def state_of(url: str) -> str:
    return parse_qs(urlsplit(url).query)["state"][0]


@pytest.fixture
def wired() -> Wired:
    clock = FakeClock()
    connectors = FakeConnectorRepository()
    authorizations = FakeWebexAuthorizations()
    sign_ins = FakeSignInRepository()
    oauth = FakeWebexOAuth()
    api = FakeWebexSubscriptions()
    audit = FakeAuditLog()
    service = WebexConnectionService(
        authorizations,
        sign_ins,
        connectors,
        oauth,
        api,
        StateSigner(KEY, clock),
        lambda tenant: f"https://connector.example.com/api/tenants/{tenant}/contact-center/webex/events",
        clock,
        audit=AdminAudit(audit, clock),
        active_tenants=_Active(connectors),
    )
    wired = Wired(clock, connectors, authorizations, sign_ins, oauth, api, audit, service)
    wired.connector()
    return wired


class _Active:
    def __init__(self, connectors: FakeConnectorRepository) -> None:
        self._connectors = connectors

    def active_tenant_ids(self) -> list[str]:
        return [t for t, c in self._connectors.rows.items() if c.status is ConnectorStatus.ACTIVE]


# -- sign-in ---------------------------------------------------------------------------------------


def test_sign_in_stores_the_refresh_token_and_registers_the_subscription(wired: Wired) -> None:
    # WHEN an admin starts the Webex sign-in and Webex redirects back with a code
    start = wired.service.start_authorize(TENANT, ADMIN)
    assert start.expires_at == wired.clock() + timedelta(minutes=15)
    (pending,) = wired.sign_ins.added
    assert pending.requested_by == ADMIN.object_id
    wired.oauth.codes["code-1"] = "ok"
    authorization = wired.service.complete_authorize(
        {"state": state_of(start.authorize_url), "code": "code-1"}
    )
    # THEN the code was redeemed with the PKCE verifier of this attempt
    assert wired.oauth.redeemed == [("code-1", pending.code_verifier)]
    # AND the refresh token Webex returned is kept, with who signed in
    stored = wired.authorizations.get(TENANT)
    assert stored is not None
    assert stored.status is WebexAuthorizationStatus.AUTHORIZED
    assert stored.refresh_token == "refresh-1"
    assert stored.authorized_by == ADMIN.object_id
    assert stored.org_id == ORG
    # AND, the connector being active, the agent-event subscription is registered with the new token
    (created,) = wired.api.created
    assert created["token"] == "access-1"
    assert created["url"] == f"https://connector.example.com/api/tenants/{TENANT}/contact-center/webex/events"
    assert "?" not in created["url"]
    assert len(created["secret"]) >= 32
    assert authorization.subscription is not None
    assert authorization.subscription.secret == created["secret"]
    # AND both steps are in the audit trail under the admin
    assert [(e.action, e.outcome, e.actor) for e in wired.audit.entries] == [
        ("startWebexSignIn", "succeeded", ADMIN),
        ("signInWebex", "succeeded", Actor(ADMIN.object_id)),
    ]


def test_every_subscription_gets_its_own_secret(wired: Wired) -> None:
    wired.sign_in(code="a")
    wired.sign_in(code="b")
    first, second = wired.api.created
    assert first["secret"] != second["secret"]
    # AND a fresh sign-in removes the subscription of the earlier one
    assert wired.api.deleted == [first["id"]]
    assert list(wired.api.active) == [second["id"]]


def test_sign_in_while_not_active_registers_no_subscription_yet(wired: Wired) -> None:
    wired.connector(ConnectorStatus.PENDING_CONSENT)
    wired.sign_in()
    assert wired.api.created == []
    authorization = wired.authorizations.get(TENANT)
    assert authorization is not None
    assert authorization.subscription is None


def test_a_state_is_used_once(wired: Wired) -> None:
    start = wired.service.start_authorize(TENANT, ADMIN)
    wired.oauth.codes["code-1"] = "ok"
    wired.service.complete_authorize({"state": state_of(start.authorize_url), "code": "code-1"})
    with pytest.raises(InvalidWebexCallback, match="already used"):
        wired.service.complete_authorize({"state": state_of(start.authorize_url), "code": "code-1"})


@pytest.mark.parametrize("state", ["", "forged.state", "x" * 3000])
def test_a_forged_or_missing_state_changes_nothing(wired: Wired, state: str) -> None:
    wired.service.start_authorize(TENANT, ADMIN)
    with pytest.raises(InvalidWebexCallback):
        wired.service.complete_authorize({"state": state, "code": "code-1"})
    assert wired.authorizations.rows == {}
    assert len(wired.sign_ins.rows) == 1


def test_a_sign_in_state_of_another_purpose_is_refused(wired: Wired) -> None:
    other = StateSigner(KEY, wired.clock).sign(
        "sync-account", TENANT, "a1", wired.clock() + timedelta(minutes=5), requested_by=ADMIN.object_id
    )
    with pytest.raises(InvalidWebexCallback, match="not valid"):
        wired.service.complete_authorize({"state": other, "code": "c"})


def test_an_expired_state_is_refused(wired: Wired) -> None:
    start = wired.service.start_authorize(TENANT, ADMIN)
    wired.clock.advance(minutes=16)
    with pytest.raises(InvalidWebexCallback, match="expired"):
        wired.service.complete_authorize({"state": state_of(start.authorize_url), "code": "c"})


def test_webex_refusing_the_sign_in_is_reported_and_uses_the_attempt_up(wired: Wired) -> None:
    start = wired.service.start_authorize(TENANT, ADMIN)
    state = state_of(start.authorize_url)
    with pytest.raises(WebexSignInDenied, match="access_denied"):
        wired.service.complete_authorize(
            {"state": state, "error": "access_denied", "error_description": "no"}
        )
    assert wired.authorizations.rows == {}
    with pytest.raises(InvalidWebexCallback):
        wired.service.complete_authorize({"state": state, "code": "c"})
    assert wired.audit.entries[-1].outcome == "failed"


def test_a_user_of_another_organization_is_refused(wired: Wired) -> None:
    wired.oauth.org_id = "0c1a3e5f-7b9d-4f21-8a63-5e7c9b1d2f40"
    with pytest.raises(WebexWrongOrganization, match=ORG):
        wired.sign_in()
    assert wired.authorizations.rows == {}
    assert wired.api.created == []


def test_sign_in_needs_a_webex_contact_center_and_the_integration(wired: Wired) -> None:
    wired.connector(config=WebhookContactCenter("https://cc.example.com/hook", "0123456789abcdef"))
    with pytest.raises(NotWebexContactCenter):
        wired.service.start_authorize(TENANT, ADMIN)
    wired.connector()
    wired.oauth.configured = False
    with pytest.raises(WebexNotConfigured):
        wired.service.start_authorize(TENANT, ADMIN)
    assert wired.sign_ins.added == []


# -- tokens ----------------------------------------------------------------------------------------


def test_the_access_token_is_reused_until_shortly_before_expires_in(wired: Wired) -> None:
    wired.oauth.expires_in = 3600
    wired.sign_in()
    assert wired.service.access_token(TENANT) == "access-1"
    wired.clock.advance(minutes=54)
    assert wired.service.access_token(TENANT) == "access-1"
    assert wired.oauth.refreshes == 0
    # THEN within the last 5 minutes it is refreshed, and the rotated refresh token is stored
    wired.clock.advance(minutes=1, seconds=1)
    assert wired.service.access_token(TENANT) == "access-2"
    assert wired.oauth.refreshes == 1
    stored = wired.authorizations.get(TENANT)
    assert stored is not None
    assert stored.refresh_token == "refresh-2"


def test_short_lived_tokens_are_refreshed_at_half_their_life(wired: Wired) -> None:
    wired.oauth.expires_in = 120
    wired.sign_in()
    wired.clock.advance(seconds=59)
    assert wired.service.access_token(TENANT) == "access-1"
    wired.clock.advance(seconds=2)
    assert wired.service.access_token(TENANT) == "access-2"


def test_a_process_without_a_cached_token_refreshes_with_the_stored_refresh_token(wired: Wired) -> None:
    wired.sign_in()
    wired.service.forget_token(TENANT)
    assert wired.service.access_token(TENANT) == "access-2"
    # AND the refresh token used is spent: the rotated one is what the row holds now
    stored = wired.authorizations.get(TENANT)
    assert stored is not None
    assert stored.refresh_token in wired.oauth.live_refresh_tokens


def test_a_refused_refresh_marks_reauthorization_required_and_stops_calling_webex(wired: Wired) -> None:
    wired.sign_in()
    wired.oauth.revoke_all()
    wired.service.forget_token(TENANT)
    with pytest.raises(WebexReauthorizationRequired, match="invalid_grant"):
        wired.service.access_token(TENANT)
    stored = wired.authorizations.get(TENANT)
    assert stored is not None
    assert stored.status is WebexAuthorizationStatus.REAUTHORIZATION_REQUIRED
    assert stored.last_error is not None
    assert "sign in to Webex again" in stored.last_error
    assert stored.last_error_at == wired.clock()
    # THEN later calls fail at once, without another refresh attempt
    refreshes = wired.oauth.refreshes
    with pytest.raises(WebexReauthorizationRequired):
        wired.service.access_token(TENANT)
    assert wired.oauth.refreshes == refreshes
    # AND a fresh sign-in makes it usable again
    wired.sign_in(code="again")
    assert wired.service.access_token(TENANT).startswith("access-")
    fresh = wired.authorizations.get(TENANT)
    assert fresh is not None
    assert fresh.status is WebexAuthorizationStatus.AUTHORIZED


def test_a_token_endpoint_outage_is_transient_and_marks_nothing(wired: Wired) -> None:
    wired.sign_in()
    wired.service.forget_token(TENANT)
    wired.oauth.unavailable = True
    with pytest.raises(ContactCenterUnavailable):
        wired.service.access_token(TENANT)
    stored = wired.authorizations.get(TENANT)
    assert stored is not None
    assert stored.status is WebexAuthorizationStatus.AUTHORIZED


def test_a_refresh_that_loses_to_a_concurrent_write_keeps_its_token(wired: Wired) -> None:
    wired.sign_in()
    wired.service.forget_token(TENANT)
    # GIVEN another instance writes the row while our refresh is on its way
    wired.oauth.after_refresh = lambda: wired.authorizations.touch(TENANT)
    # THEN our access token still serves, and the row the other instance wrote stays
    assert wired.service.access_token(TENANT) == "access-2"
    stored = wired.authorizations.get(TENANT)
    assert stored is not None
    assert stored.refresh_token == "refresh-1"


def test_nobody_signed_in_yet_is_reauthorization_required(wired: Wired) -> None:
    with pytest.raises(WebexReauthorizationRequired, match="nobody has signed in"):
        wired.service.access_token(TENANT)


def test_a_sign_in_for_an_org_the_connector_no_longer_names_is_not_used(wired: Wired) -> None:
    wired.sign_in()
    wired.service.forget_token(TENANT)
    wired.connector(config=replace(CONFIG, org_id="0c1a3e5f-7b9d-4f21-8a63-5e7c9b1d2f40"))
    with pytest.raises(WebexReauthorizationRequired, match="now names"):
        wired.service.access_token(TENANT)


# -- subscription lifecycle ------------------------------------------------------------------------


def test_activation_registers_and_deactivation_removes_the_subscription(wired: Wired) -> None:
    wired.connector(ConnectorStatus.INACTIVE)
    wired.sign_in()
    activity = WebexConnectorActivity(NoConnectorActivity(), wired.service)
    wired.connector(ConnectorStatus.ACTIVE)
    activity.activated(TENANT)
    (created,) = wired.api.created
    assert list(wired.api.active) == [created["id"]]
    wired.connector(ConnectorStatus.INACTIVE)
    activity.deactivated(TENANT)
    assert wired.api.active == {}
    stored = wired.authorizations.get(TENANT)
    assert stored is not None
    assert stored.subscription is None


def test_activation_is_idempotent_while_webex_has_the_subscription(wired: Wired) -> None:
    wired.sign_in()
    wired.service.ensure_subscription(TENANT)
    wired.service.ensure_subscription(TENANT)
    assert len(wired.api.created) == 1


def test_the_timer_recreates_a_subscription_webex_lost(wired: Wired) -> None:
    wired.sign_in()
    (first,) = wired.api.created
    wired.api.lose(first["id"])
    assert wired.service.renew_all() == {TENANT: "ok"}
    assert len(wired.api.created) == 2
    stored = wired.authorizations.get(TENANT)
    assert stored is not None
    assert stored.subscription is not None
    assert stored.subscription.subscription_id == wired.api.created[1]["id"]


def test_a_failed_registration_is_recorded_and_the_timer_tries_again(wired: Wired) -> None:
    wired.connector(ConnectorStatus.INACTIVE)
    wired.sign_in()
    wired.connector(ConnectorStatus.ACTIVE)
    wired.api.fail_create = ContactCenterUnavailable("Webex subscription registration: 503", status=503)
    activity = WebexConnectorActivity(NoConnectorActivity(), wired.service)
    activity.activated(TENANT)  # never raises
    stored = wired.authorizations.get(TENANT)
    assert stored is not None
    assert stored.subscription_error is not None
    assert "503" in stored.subscription_error
    outcome = wired.service.renew_all()
    assert "503" in outcome[TENANT]
    wired.api.fail_create = None
    assert wired.service.renew_all() == {TENANT: "ok"}
    stored = wired.authorizations.get(TENANT)
    assert stored is not None
    assert stored.subscription is not None
    assert stored.subscription_error is None


def test_the_timer_reports_a_tenant_that_must_sign_in_again(wired: Wired) -> None:
    wired.sign_in()
    wired.oauth.revoke_all()
    wired.service.forget_token(TENANT)
    wired.api.lose(wired.api.created[0]["id"])
    assert "invalid_grant" in wired.service.renew_all()[TENANT]
