"""What a subscription request must satisfy before it goes to Graph."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from shared.graph.model import SubscriptionRequest


def _request(**overrides: Any) -> SubscriptionRequest:
    fields: dict[str, Any] = {
        "resource": "/communications/presences?$filter=id in ('a')",
        "notification_url": "https://connector.example/api/graph/notifications",
        "lifecycle_notification_url": "https://connector.example/api/graph/lifecycle",
        "expiration": datetime.now(UTC) + timedelta(minutes=55),
        "client_state": "state",
        "include_resource_data": True,
        "encryption_certificate": "MIIB",
        "encryption_certificate_id": "cert-1",
    }
    fields.update(overrides)
    return SubscriptionRequest(**fields)


def test_a_complete_request_defaults_to_updated() -> None:
    assert _request().change_type == "updated"


@pytest.mark.parametrize(
    ("overrides", "complaint"),
    [
        ({"expiration": datetime(2030, 1, 1)}, "timezone"),
        ({"client_state": "x" * 129}, "clientState"),
        ({"encryption_certificate": None}, "rich notifications"),
        ({"encryption_certificate_id": None}, "rich notifications"),
        ({"encryption_certificate_id": "i" * 129}, "encryptionCertificateId"),
    ],
)
def test_invalid_requests_are_refused_before_any_call(overrides: dict[str, Any], complaint: str) -> None:
    with pytest.raises(ValueError, match=complaint):
        _request(**overrides)


def test_basic_notifications_need_no_certificate() -> None:
    request = _request(
        include_resource_data=False, encryption_certificate=None, encryption_certificate_id=None
    )
    assert request.include_resource_data is False
