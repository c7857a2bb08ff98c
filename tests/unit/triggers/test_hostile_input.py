"""Hostile input at the edges, without a host: every batch has a cap answered 413 (the client must
split, not fix), and headers that reach storage are length-checked."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import azure.functions as func
import pytest

from shared.contact_center.events import MAX_EVENTS, parse_agent_events
from shared.contact_center.exceptions import AgentEventsTooLarge
from shared.errors import AppError
from shared.http.errors import status_for
from shared.http.exceptions import HttpInputError
from shared.http.requests import MAX_IF_MATCH_LENGTH, if_match
from shared.notifications.exceptions import NotificationBatchTooLarge
from shared.notifications.model import (
    MAX_NOTIFICATIONS_PER_COLLECTION,
    MAX_VALIDATION_TOKENS,
    parse_notification_collection,
)
from tests.unit.contact_center.support import event

NOW = datetime(2026, 11, 21, 9, 0, tzinfo=UTC)


def _status(error: AppError) -> int:
    return status_for(error)


def test_an_agent_event_batch_over_its_cap_is_a_413() -> None:
    events = [event(NOW, eventId=f"e{i}") for i in range(MAX_EVENTS + 1)]
    with pytest.raises(AgentEventsTooLarge, match="at most 100 per batch") as raised:
        parse_agent_events(json.dumps({"events": events}, separators=(",", ":")).encode())
    assert _status(raised.value) == 413


def test_an_agent_event_batch_at_its_cap_is_taken() -> None:
    events = [event(NOW, eventId=f"e{i}") for i in range(MAX_EVENTS)]
    assert len(parse_agent_events(json.dumps({"events": events}, separators=(",", ":")).encode())) == 100


@pytest.mark.parametrize(
    "body",
    [
        {"value": [{}] * (MAX_NOTIFICATIONS_PER_COLLECTION + 1)},
        {"value": [], "validationTokens": ["t"] * (MAX_VALIDATION_TOKENS + 1)},
    ],
    ids=["notifications", "validation-tokens"],
)
def test_a_notification_batch_over_its_cap_is_a_413(body: dict[str, object]) -> None:
    with pytest.raises(NotificationBatchTooLarge) as raised:
        parse_notification_collection(json.dumps(body).encode())
    assert _status(raised.value) == 413
    assert raised.value.code == "payloadTooLarge"


def _with_if_match(value: str) -> func.HttpRequest:
    return func.HttpRequest("PATCH", "http://h/api/x", headers={"If-Match": value}, body=b"")


def test_an_if_match_longer_than_any_etag_is_refused_before_storage() -> None:
    with pytest.raises(HttpInputError, match="If-Match") as raised:
        if_match(_with_if_match("W/" + "x" * MAX_IF_MATCH_LENGTH))
    assert _status(raised.value) == 400
    assert if_match(_with_if_match(" W/\"datetime'2026-11-21T09%3A00%3A00Z'\" ")) is not None
