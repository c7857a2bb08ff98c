"""Capacity sentences and record liveness."""

from __future__ import annotations

from datetime import timedelta

import pytest

from shared.subscriptions.model import Capacity, SubscriptionRecord, SubscriptionStatus
from tests.unit.subscriptions.conftest import START, TENANT


@pytest.mark.parametrize(
    ("agents", "usable", "total", "sentence"),
    [
        (1300, 1, 1, "1,300 agents need 2 sync accounts; 1 signed in"),
        (1, 0, 0, "1 agent needs 1 sync account; none signed in"),
        (2000, 2, 3, "2,000 agents need 4 sync accounts; 2 signed in, 1 must sign in again"),
        (650, 1, 1, None),
        (0, 0, 0, None),
    ],
)
def test_capacity_says_what_is_missing(agents: int, usable: int, total: int, sentence: str | None) -> None:
    capacity = Capacity.of(agents=agents, subscribed=0, accounts_usable=usable, accounts_total=total)

    assert capacity.missing == sentence
    assert capacity.accounts_needed == -(-agents // 650)


def _record(**changes: object) -> SubscriptionRecord:
    values: dict[str, object] = {
        "tenant_id": TENANT,
        "account_id": "a",
        "subscription_id": "s",
        "user_ids": ("u",),
        "expires_at": START + timedelta(minutes=30),
        "created_at": START,
        "renewed_at": None,
        "reauthorized_at": None,
        "status": SubscriptionStatus.ACTIVE,
        "last_error": None,
        **changes,
    }
    return SubscriptionRecord(**values)  # type: ignore[arg-type]


def test_record_is_live_only_while_active_and_unexpired() -> None:
    assert _record().is_live(START)
    assert not _record().is_live(START + timedelta(minutes=30))
    assert not _record(status=SubscriptionStatus.FAILED).is_live(START)
    assert not _record(subscription_id=None).is_live(START)


def test_last_touched_is_the_later_of_renewal_and_reauthorization() -> None:
    assert _record().last_touched() is None
    later = START + timedelta(minutes=5)
    assert _record(renewed_at=START, reauthorized_at=later).last_touched() == later
