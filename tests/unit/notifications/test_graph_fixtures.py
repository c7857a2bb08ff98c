"""The Graph payload fixtures other tiers rely on stay internally consistent."""

from __future__ import annotations

import urllib.parse

from shared.notifications.model import parse_notification_collection
from tests.unit.notifications.support import load_fixture


def test_the_validation_request_fixture_decodes_to_its_expected_answer() -> None:
    # GIVEN Graph's validation handshake request (form-encoded token, '+' for spaces)
    request = load_fixture("validation_request.json")

    # WHEN its query string is URL-decoded as the endpoint must do
    token = urllib.parse.parse_qs(request["query"])["validationToken"][0]

    # THEN it is exactly the plain-text body the endpoint must answer with
    assert token == request["expectedResponse"]["body"]
    assert request["expectedResponse"]["status"] == 200
    assert request["body"] == ""


def test_every_notification_fixture_parses_without_rejections() -> None:
    for name in ("presence_rich_notification_collection.json", "lifecycle_reauthorization_required.json"):
        collection = parse_notification_collection(load_fixture(name))
        assert collection.rejected == (), name
        assert collection.notifications, name
