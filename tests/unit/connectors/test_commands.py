"""Client input validation: anything unknown, mistyped or unsafe is refused before the domain sees it."""

from __future__ import annotations

from typing import Any

import pytest

from shared.connectors.commands import (
    REDACTED,
    UNSET,
    ContactCenterInput,
    parse_create,
    parse_tenant_id,
    parse_update,
)
from shared.connectors.exceptions import InvalidConnectorInput
from shared.connectors.model import ConnectorSettings, WebexContactCenter, WebhookContactCenter

WEBEX = {
    "type": "webexcc",
    "baseUrl": "https://api.wxcc-us1.cisco.com",
    "orgId": "org-1",
    "clientId": "client-1",
    "clientSecret": "s3cr3t",
}


def test_tenant_ids_are_canonical_lowercase_guids() -> None:
    assert parse_tenant_id("72F988BF-86F1-41AF-91AB-2D7CD011DB47") == "72f988bf-86f1-41af-91ab-2d7cd011db47"


@pytest.mark.parametrize(
    "raw",
    [
        None,
        "",
        "contoso.com",
        "72f988bf/86f1",
        "a#b",
        "x?y",
        "back\\slash",
        "tab\there",
        "72f988bf86f141af91ab2d7cd011db47",
        "72f988bf-86f1-41af-91ab-2d7cd011db47\n",
        "\n72f988bf-86f1-41af-91ab-2d7cd011db47",
    ],
)
def test_anything_but_a_guid_is_refused_as_tenant_id(raw: str | None) -> None:
    with pytest.raises(InvalidConnectorInput, match="GUID"):
        parse_tenant_id(raw)


def test_create_with_no_body_uses_the_defaults() -> None:
    command = parse_create(None)
    assert command.settings == ConnectorSettings(show_user_details=False, presence_sync=True)
    assert command.contact_center is None


def test_create_with_settings_and_a_webex_contact_center() -> None:
    command = parse_create({"settings": {"showUserDetails": False}, "contactCenter": WEBEX})
    assert command.settings == ConnectorSettings(show_user_details=False, presence_sync=True)
    assert command.contact_center is not None
    config = command.contact_center.resolve(None)
    assert config == WebexContactCenter("https://api.wxcc-us1.cisco.com", "org-1", "client-1", "s3cr3t")


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"setting": {}}, "unknown field"),
        ({"settings": {"presenceSync": "yes"}}, "true or false"),
        ({"settings": {"showUserDetails": 1}}, "true or false"),
        ({"settings": {"colour": True}}, "settings.colour"),
        ({"settings": []}, "settings must be an object"),
        ({"contactCenter": "webex"}, "object or null"),
        ({"contactCenter": {"type": "genesys"}}, "webexcc"),
        ({"contactCenter": {"type": []}}, "webexcc"),
        ({"contactCenter": {"type": {}}}, "webexcc"),
        ({"contactCenter": {**WEBEX, "baseUrl": "https://a.example/\ud800"}}, "invalid characters"),
        (
            {"contactCenter": {**WEBEX, "baseUrl": "https://a.example/\x00x\r\nHost: evil"}},
            "invalid characters",
        ),
        ({"contactCenter": {**WEBEX, "orgId": "org\u0007"}}, "invalid characters"),
        ({"contactCenter": {**WEBEX, "clientSecret": "\ud800\udc00x"}}, "invalid characters"),
        ({"contactCenter": {**WEBEX, "baseUrl": "http://example.com"}}, "https"),
        ({"contactCenter": {**WEBEX, "baseUrl": "https://user:pw@example.com"}}, "credentials"),
        ({"contactCenter": {**WEBEX, "baseUrl": "not a url"}}, "absolute URL"),
        ({"contactCenter": {**WEBEX, "orgId": ""}}, "orgId is required"),
        ({"contactCenter": {**WEBEX, "orgId": "x" * 300}}, "at most"),
        ({"contactCenter": {**WEBEX, "clientSecret": 42}}, "must be a string"),
        ({"contactCenter": {**WEBEX, "extra": 1}}, "contactCenter.extra"),
        (
            {"contactCenter": {"type": "webhook", "url": "https://cc.example.com/hook", "secret": "short"}},
            "16",
        ),
    ],
)
def test_bad_create_bodies_are_refused_with_a_clear_message(body: dict[str, Any], message: str) -> None:
    with pytest.raises(InvalidConnectorInput, match=message):
        parse_create(body)


def test_plain_http_is_accepted_on_loopback_only() -> None:
    hook = {"type": "webhook", "url": "http://127.0.0.1:7073/webhook", "secret": "0123456789abcdef"}
    assert parse_create({"contactCenter": hook}).contact_center is not None
    assert parse_create({"contactCenter": {**hook, "url": "http://localhost:7073/w"}}).contact_center
    with pytest.raises(InvalidConnectorInput):
        parse_create({"contactCenter": {**hook, "url": "http://10.0.0.5/webhook"}})


def test_a_new_contact_center_needs_its_secret() -> None:
    command = parse_create({"contactCenter": {k: v for k, v in WEBEX.items() if k != "clientSecret"}})
    assert command.contact_center is not None
    with pytest.raises(InvalidConnectorInput, match="clientSecret is required"):
        command.contact_center.resolve(None)


def test_the_redacted_placeholder_keeps_the_stored_secret_of_the_same_type() -> None:
    # GIVEN a stored webex configuration and a PATCH that sends back what GET showed
    stored = WebexContactCenter("https://api.wxcc-us1.cisco.com", "org-1", "client-1", "kept-secret")
    command = parse_update({"contactCenter": {**WEBEX, "orgId": "org-2", "clientSecret": REDACTED}})
    # WHEN it is resolved
    assert isinstance(command.contact_center, ContactCenterInput)
    resolved = command.contact_center.resolve(stored)
    # THEN the new fields apply and the stored secret is kept
    assert resolved == WebexContactCenter(
        "https://api.wxcc-us1.cisco.com", "org-2", "client-1", "kept-secret"
    )


@pytest.mark.parametrize(
    "changed",
    [{"baseUrl": "https://evil.example.com"}, {"clientId": "client-9"}],
)
def test_a_new_destination_needs_the_secret_again(changed: dict[str, str]) -> None:
    # GIVEN a stored webex configuration
    stored = WebexContactCenter("https://api.wxcc-us1.cisco.com", "org-1", "client-1", "kept-secret")
    # WHEN a PATCH points it elsewhere but keeps the secret redacted
    command = parse_update({"contactCenter": {**WEBEX, **changed, "clientSecret": REDACTED}})
    assert isinstance(command.contact_center, ContactCenterInput)
    # THEN the stored secret is not handed to the new destination
    with pytest.raises(InvalidConnectorInput, match="sent again"):
        command.contact_center.resolve(stored)


def test_switching_contact_center_type_needs_the_new_secret() -> None:
    stored = WebhookContactCenter("https://a.example.com/h", "0123456789abcdef")
    command = parse_update({"contactCenter": {**WEBEX, "clientSecret": REDACTED}})
    assert isinstance(command.contact_center, ContactCenterInput)
    with pytest.raises(InvalidConnectorInput, match="clientSecret is required"):
        command.contact_center.resolve(stored)


def test_update_distinguishes_absent_null_and_given_contact_center() -> None:
    assert parse_update({"settings": {"presenceSync": False}}).contact_center is UNSET
    assert parse_update({"contactCenter": None}).contact_center is None


def test_an_empty_update_is_refused() -> None:
    with pytest.raises(InvalidConnectorInput, match="nothing to change"):
        parse_update({})
