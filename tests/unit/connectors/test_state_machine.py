"""The lifecycle rules, transition by transition: every (status, action) pair is either allowed with a
known result or refused with InvalidTransition naming the status."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from shared.connectors import state_machine as sm
from shared.connectors.exceptions import InvalidTransition
from shared.connectors.model import (
    Connector,
    ConnectorSettings,
    ConnectorStatus,
    ConsentAttempt,
    ConsentFailure,
    WebhookContactCenter,
)

T0 = datetime(2026, 11, 21, 9, 0, tzinfo=UTC)
T1 = T0 + timedelta(minutes=5)
TENANT = "72f988bf-86f1-41af-91ab-2d7cd011db47"
ATTEMPT = ConsentAttempt("attempt-1", T0 + timedelta(minutes=15))


def connector(status: ConnectorStatus) -> Connector:
    base = sm.new_connector(TENANT, ConnectorSettings(), None, ATTEMPT, T0)
    return (
        base
        if status is ConnectorStatus.PENDING_CONSENT
        else Connector(
            tenant_id=TENANT,
            status=status,
            settings=ConnectorSettings(),
            contact_center=None,
            created_at=T0,
            updated_at=T0,
        )
    )


def test_a_new_connector_waits_for_consent_with_its_attempt() -> None:
    # WHEN a connector is created
    created = sm.new_connector(TENANT, ConnectorSettings(presence_sync=False), None, ATTEMPT, T0)
    # THEN it is pendingConsent, remembers the attempt and has never been active
    assert created.status is ConnectorStatus.PENDING_CONSENT
    assert created.consent_attempt == ATTEMPT
    assert created.activated_at is None
    assert created.settings.presence_sync is False


def test_granting_consent_activates_and_uses_up_the_attempt() -> None:
    active = sm.grant_consent(connector(ConnectorStatus.PENDING_CONSENT), T1)
    assert active.status is ConnectorStatus.ACTIVE
    assert active.activated_at == T1
    assert active.consent_attempt is None


def test_a_consent_failure_keeps_waiting_but_uses_up_the_attempt() -> None:
    failure = ConsentFailure("access_denied", "The admin declined", T1)
    waiting = sm.record_consent_failure(connector(ConnectorStatus.PENDING_CONSENT), failure)
    assert waiting.status is ConnectorStatus.PENDING_CONSENT
    assert waiting.consent_attempt is None
    assert waiting.last_consent_failure == failure


def test_a_new_consent_attempt_replaces_the_old_one() -> None:
    newer = ConsentAttempt("attempt-2", T1 + timedelta(minutes=15))
    updated = sm.start_consent_attempt(connector(ConnectorStatus.PENDING_CONSENT), newer, T1)
    assert updated.consent_attempt == newer


def test_deactivate_then_reactivate_round_trip() -> None:
    inactive = sm.deactivate(connector(ConnectorStatus.ACTIVE), T1)
    assert (inactive.status, inactive.deactivated_at) == (ConnectorStatus.INACTIVE, T1)
    active = sm.reactivate(inactive, T1 + timedelta(minutes=1))
    assert active.status is ConnectorStatus.ACTIVE
    assert active.activated_at == T1 + timedelta(minutes=1)


def test_settings_can_change_in_every_status_but_deleting() -> None:
    for status in (ConnectorStatus.PENDING_CONSENT, ConnectorStatus.ACTIVE, ConnectorStatus.INACTIVE):
        updated = sm.update(connector(status), ConnectorSettings(show_user_details=False), None, T1)
        assert updated.settings.show_user_details is False
        assert updated.status is status


def test_the_contact_center_change_time_moves_only_when_the_contact_center_changes() -> None:
    hook = WebhookContactCenter("https://cc.example.com/hook", "s" * 24)
    created = sm.new_connector(TENANT, ConnectorSettings(), hook, ATTEMPT, T0)
    assert created.contact_center_changed_at == T0
    settings_only = sm.update(created, ConnectorSettings(presence_sync=False), hook, T1)
    assert settings_only.contact_center_changed_at == T0
    moved = sm.update(
        settings_only, settings_only.settings, WebhookContactCenter("https://x.example.com", "s" * 24), T1
    )
    assert moved.contact_center_changed_at == T1
    assert sm.new_connector(TENANT, ConnectorSettings(), None, ATTEMPT, T0).contact_center_changed_at is None


def test_an_update_to_the_values_already_stored_is_no_change_at_all() -> None:
    current = connector(ConnectorStatus.ACTIVE)
    assert sm.update(current, current.settings, current.contact_center, T1) is current


EXPECTED_ALLOWED = {
    ConnectorStatus.PENDING_CONSENT: {
        sm.Action.REQUEST_CONSENT,
        sm.Action.GRANT_CONSENT,
        sm.Action.RECORD_CONSENT_FAILURE,
        sm.Action.UPDATE,
        sm.Action.DELETE,
    },
    ConnectorStatus.ACTIVE: {sm.Action.DEACTIVATE, sm.Action.UPDATE},
    ConnectorStatus.INACTIVE: {sm.Action.REACTIVATE, sm.Action.DELETE, sm.Action.UPDATE},
    ConnectorStatus.DELETING: {sm.Action.DELETE},
}


@pytest.mark.parametrize("status", list(ConnectorStatus))
def test_allowed_actions_per_status(status: ConnectorStatus) -> None:
    assert sm.allowed_actions(status) == EXPECTED_ALLOWED[status]


@pytest.mark.parametrize(
    ("status", "action"),
    [(s, a) for s in ConnectorStatus for a in sm.Action if a not in EXPECTED_ALLOWED[s]],
)
def test_every_other_transition_is_refused_naming_the_status(
    status: ConnectorStatus, action: sm.Action
) -> None:
    # GIVEN a connector in `status`
    current = connector(status)
    # WHEN an action that status does not allow is attempted
    with pytest.raises(InvalidTransition) as refused:
        sm.ensure_allowed(current, action)
    # THEN the error names the current status
    assert status.value in refused.value.message


def test_delete_is_refused_while_active_with_the_hint_to_deactivate() -> None:
    with pytest.raises(InvalidTransition, match="deactivate the connector first"):
        sm.begin_deletion(connector(ConnectorStatus.ACTIVE), T1)


def test_a_setup_that_never_got_consent_can_be_deleted_without_deactivating() -> None:
    # GIVEN a setup still waiting for consent (a mistyped tenant, an admin who never consents)
    pending = connector(ConnectorStatus.PENDING_CONSENT)
    # THEN it cannot be deactivated, since it never ran ...
    with pytest.raises(InvalidTransition):
        sm.deactivate(pending, T1)
    # ... but deleting it cancels the setup: it is marked for the purge like any delete
    marked = sm.begin_deletion(pending, T1)
    assert marked.status is ConnectorStatus.DELETING
    # AND its consent link can no longer activate it
    with pytest.raises(InvalidTransition):
        sm.grant_consent(marked, T1)


def test_deletion_marks_the_connector_first_and_can_be_repeated() -> None:
    marked = sm.begin_deletion(connector(ConnectorStatus.INACTIVE), T1)
    assert marked.status is ConnectorStatus.DELETING
    assert sm.begin_deletion(marked, T1 + timedelta(minutes=1)) == marked
    with pytest.raises(InvalidTransition):
        sm.reactivate(marked, T1)
