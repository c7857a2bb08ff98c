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

ORG = "2f9eecc5-0472-4549-9a83-2afdae0d4ba1"
WEBEX = {"type": "webexcc", "baseUrl": "https://api.wxcc-us1.cisco.com", "orgId": ORG}


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
    assert config == WebexContactCenter("https://api.wxcc-us1.cisco.com", ORG)


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
        # Only Webex's regional hosts (the tenant's token must not go to an arbitrary host).
        ({"contactCenter": {**WEBEX, "baseUrl": "https://evil.example.com"}}, "regional API host"),
        ({"contactCenter": {**WEBEX, "baseUrl": "https://api.wxcc-us1.cisco.com.evil.io"}}, "regional"),
        ({"contactCenter": {**WEBEX, "baseUrl": "https://api.wxcc-us1.cisco.com:8443"}}, "regional"),
        ({"contactCenter": {**WEBEX, "baseUrl": "https://api.wxcc-us1.cisco.com/v1"}}, "API host only"),
        ({"contactCenter": {**WEBEX, "baseUrl": "http://api.wxcc-us1.cisco.com"}}, "https"),
        ({"contactCenter": {**WEBEX, "orgId": "org-1"}}, "UUID"),
        # The client-credentials fields are gone: Webex has no such grant; an admin signs in instead.
        ({"contactCenter": {**WEBEX, "clientId": "c"}}, "contactCenter.clientId"),
        ({"contactCenter": {**WEBEX, "clientSecret": "s"}}, "contactCenter.clientSecret"),
        (
            {"contactCenter": {**WEBEX, "baseUrl": "https://a.example/\x00x\r\nHost: evil"}},
            "invalid characters",
        ),
        ({"contactCenter": {**WEBEX, "orgId": "org\u0007"}}, "invalid characters"),
        ({"contactCenter": {**WEBEX, "baseUrl": "http://example.com"}}, "https"),
        ({"contactCenter": {**WEBEX, "baseUrl": "https://user:pw@example.com"}}, "credentials"),
        ({"contactCenter": {**WEBEX, "baseUrl": "not a url"}}, "absolute URL"),
        ({"contactCenter": {**WEBEX, "orgId": ""}}, "orgId is required"),
        ({"contactCenter": {**WEBEX, "orgId": "x" * 300}}, "UUID"),
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


def test_a_new_webhook_contact_center_needs_its_secret() -> None:
    command = parse_create({"contactCenter": {"type": "webhook", "url": "https://cc.example.com/hook"}})
    assert command.contact_center is not None
    with pytest.raises(InvalidConnectorInput, match="secret is required"):
        command.contact_center.resolve(None)


def test_a_webex_contact_center_needs_no_credential_and_normalises_its_fields() -> None:
    command = parse_create(
        {"contactCenter": {**WEBEX, "baseUrl": "https://API.wxcc-eu2.cisco.com/", "orgId": ORG.upper()}}
    )
    assert command.contact_center is not None
    assert command.contact_center.resolve(None) == WebexContactCenter("https://api.wxcc-eu2.cisco.com", ORG)


def test_loopback_webex_hosts_are_accepted_for_the_local_simulator() -> None:
    command = parse_create({"contactCenter": {**WEBEX, "baseUrl": "http://127.0.0.1:7073"}})
    assert command.contact_center is not None
    assert command.contact_center.resolve(None) == WebexContactCenter("http://127.0.0.1:7073", ORG)


def test_the_redacted_placeholder_keeps_the_stored_webhook_secret() -> None:
    stored = WebhookContactCenter("https://cc.example.com/hook", "kept-secret-0123456")
    command = parse_update(
        {"contactCenter": {"type": "webhook", "url": "https://cc.example.com/hook", "secret": REDACTED}}
    )
    assert isinstance(command.contact_center, ContactCenterInput)
    assert command.contact_center.resolve(stored) == stored


def test_a_new_destination_needs_the_secret_again() -> None:
    stored = WebhookContactCenter("https://cc.example.com/hook", "kept-secret-0123456")
    command = parse_update(
        {"contactCenter": {"type": "webhook", "url": "https://evil.example.com/hook", "secret": REDACTED}}
    )
    assert isinstance(command.contact_center, ContactCenterInput)
    # THEN the stored secret is not handed to the new destination
    with pytest.raises(InvalidConnectorInput, match="sent again"):
        command.contact_center.resolve(stored)


def test_switching_contact_center_type_needs_the_new_secret() -> None:
    stored = WebexContactCenter("https://api.wxcc-us1.cisco.com", ORG)
    command = parse_update(
        {"contactCenter": {"type": "webhook", "url": "https://a.example.com/h", "secret": REDACTED}}
    )
    assert isinstance(command.contact_center, ContactCenterInput)
    with pytest.raises(InvalidConnectorInput, match="secret is required"):
        command.contact_center.resolve(stored)


def test_update_distinguishes_absent_null_and_given_contact_center() -> None:
    assert parse_update({"settings": {"presenceSync": False}}).contact_center is UNSET
    assert parse_update({"contactCenter": None}).contact_center is None


def test_an_empty_update_is_refused() -> None:
    with pytest.raises(InvalidConnectorInput, match="nothing to change"):
        parse_update({})
