"""Contact-center health: what a check says, which one GET connector shows, and how sparingly the
engine's evidence is written."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from shared.connectors.model import WebhookContactCenter
from shared.contact_center.exceptions import (
    ContactCenterAuthFailed,
    ContactCenterError,
    ContactCenterRejected,
    ContactCenterThrottled,
    ContactCenterUnavailable,
)
from shared.contact_center.health import (
    CheckSource,
    ContactCenterCheck,
    ContactCenterHealth,
    accepted_check,
    failed_check,
)
from shared.contact_center.health_reports import REFRESH, RecordedHealthReports

T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
TENANT = "72f988bf-86f1-41af-91ab-2d7cd011db47"
HOOK = WebhookContactCenter("https://cc.example.com/hook", "s" * 24)


@pytest.mark.parametrize(
    ("error", "reachable", "hint"),
    [
        # No HTTP answer at all: the contact center is unreachable
        (ContactCenterUnavailable("cannot be reached: the connection was refused"), False, ""),
        # It answered, but not with a 2xx: reachable, not accepted
        (ContactCenterUnavailable("answered 503", status=503), True, ""),
        (ContactCenterThrottled("answered 429", retry_after=2), True, ""),
        (ContactCenterAuthFailed("answered 401", status=401), True, "check that the secret"),
        (ContactCenterRejected("answered 404: unknown agent", status=404), True, ""),
        # The adapter could not even build the request: the URL must change
        (
            ContactCenterRejected("the contact center URL cannot be used"),
            False,
            "change the contact center's URL",
        ),
    ],
)
def test_a_failure_says_whether_the_contact_center_answered_and_why(
    error: ContactCenterError, reachable: bool, hint: str
) -> None:
    check = failed_check(CheckSource.TEST, T0, HOOK, error, 12.5)
    assert (check.reachable, check.accepted, check.status) == (reachable, False, error.status)
    assert check.reason.startswith(error.message)
    assert hint in check.reason
    assert check.latency_ms == 12.5


def test_an_accepted_check_names_the_status_it_got() -> None:
    check = accepted_check(CheckSource.TEST, T0, HOOK, 204, 3.0)
    assert (check.reachable, check.accepted) == (True, True)
    assert check.reason == "the contact center accepted the signed test request (HTTP 204)"
    assert accepted_check(CheckSource.SYNC, T0, HOOK, None).reason == (
        "the contact center accepted the connector's last request"
    )


def test_the_newest_check_since_the_last_contact_center_change_is_shown() -> None:
    test = accepted_check(CheckSource.TEST, T0, HOOK, 204)
    sync = failed_check(CheckSource.SYNC, T0 + timedelta(minutes=1), HOOK, ContactCenterUnavailable("down"))
    health = ContactCenterHealth(last_test=test, last_sync=sync)
    # The engine's failure is newer than the admin's test
    assert health.current(HOOK, None) == sync
    # A check made before the contact center last changed is about another one: not shown
    assert health.current(HOOK, T0 + timedelta(seconds=30)) == sync
    assert health.current(HOOK, T0 + timedelta(minutes=2)) is None
    assert ContactCenterHealth().current(HOOK, None) is None
    # AND a check of another destination (an engine still using a cached older URL) is not shown either
    moved = WebhookContactCenter("https://cc2.example.com/hook", "s" * 24)
    assert health.current(moved, None) is None
    newer = accepted_check(CheckSource.SYNC, T0 + timedelta(minutes=3), moved, None)
    assert ContactCenterHealth(last_test=test, last_sync=newer).current(HOOK, None) == test


class RecordingLog:
    def __init__(self) -> None:
        self.written: list[ContactCenterCheck] = []
        self.fail = False

    def record(self, tenant_id: str, check: ContactCenterCheck) -> None:
        if self.fail:
            raise RuntimeError("table down")
        self.written.append(check)

    def get(self, tenant_id: str) -> ContactCenterHealth:
        return ContactCenterHealth()


def test_the_engine_writes_a_change_of_outcome_at_once_and_the_same_outcome_once_per_refresh() -> None:
    log = RecordingLog()
    reports = RecordedHealthReports(log)
    ok = [accepted_check(CheckSource.SYNC, T0 + timedelta(seconds=s), HOOK, None) for s in range(0, 60, 10)]
    # GIVEN a stream of successful commands: only the first is written
    for check in ok:
        reports.report(TENANT, check)
    assert log.written == [ok[0]]
    # WHEN the contact center goes down, that is written at once
    down = failed_check(
        CheckSource.SYNC, T0 + timedelta(minutes=1), HOOK, ContactCenterUnavailable("refused")
    )
    reports.report(TENANT, down)
    assert log.written[-1] == down
    # AND while it stays down, the outcome is written again only after REFRESH, so `at` stays recent
    still_down = failed_check(
        CheckSource.SYNC, down.at + REFRESH / 2, HOOK, ContactCenterUnavailable("refused")
    )
    reports.report(TENANT, still_down)
    assert log.written[-1] == down
    later = failed_check(CheckSource.SYNC, down.at + REFRESH, HOOK, ContactCenterUnavailable("refused"))
    reports.report(TENANT, later)
    assert log.written[-1] == later
    # AND recovery is written at once
    back = accepted_check(CheckSource.SYNC, later.at + timedelta(seconds=1), HOOK, None)
    reports.report(TENANT, back)
    assert log.written[-1] == back
    assert len(log.written) == 4


def test_a_report_that_could_not_be_written_is_tried_again_and_never_raises() -> None:
    log = RecordingLog()
    reports = RecordedHealthReports(log)
    log.fail = True
    reports.report(TENANT, accepted_check(CheckSource.SYNC, T0, HOOK, None))
    log.fail = False
    second = accepted_check(CheckSource.SYNC, T0 + timedelta(seconds=1), HOOK, None)
    reports.report(TENANT, second)
    assert log.written == [second]
