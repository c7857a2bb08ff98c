"""The adapter factory: the connector's contactCenter setting picks the adapter; clients are cached per
tenant while the setting stays the same."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from shared.connectors.model import WebexContactCenter, WebhookContactCenter
from shared.contact_center.clients import HttpContactCenterClients, events_url
from shared.contact_center.exceptions import ContactCenterRejected
from shared.contact_center.webex_client import WebexContactCenterClient
from shared.contact_center.webhook_client import WebhookContactCenterClient
from tests.unit.contact_center.fake_http import ScriptedServer
from tests.unit.contact_center.support import SECRET, TENANT

OTHER_TENANT = "0b3c3b5e-6f7a-4d8e-9f00-112233445566"
HOOK = WebhookContactCenter("https://cc.example.com/hook", SECRET)
WEBEX = WebexContactCenter("https://api.wxcc-eu1.cisco.com", "2f9eecc5-0472-4549-9a83-2afdae0d4ba1")


@pytest.fixture
def clients() -> Iterator[HttpContactCenterClients]:
    factory = HttpContactCenterClients(
        "https://connector.example.com", transport=ScriptedServer().transport()
    )
    try:
        yield factory
    finally:
        factory.close()


def test_the_configuration_type_picks_the_adapter(clients: HttpContactCenterClients) -> None:
    assert isinstance(clients.client_for(TENANT, HOOK), WebhookContactCenterClient)
    assert isinstance(clients.client_for(OTHER_TENANT, WEBEX), WebexContactCenterClient)


def test_clients_are_cached_per_tenant_and_configuration(clients: HttpContactCenterClients) -> None:
    first = clients.client_for(TENANT, HOOK)
    assert clients.client_for(TENANT, WebhookContactCenter("https://cc.example.com/hook", SECRET)) is first
    assert clients.client_for(OTHER_TENANT, HOOK) is not first
    moved = clients.client_for(TENANT, WebhookContactCenter("https://cc2.example.com/hook", SECRET))
    assert moved is not first
    assert clients.client_for(TENANT, WEBEX) is not moved


def test_the_events_url_is_the_connectors_events_route() -> None:
    assert events_url("https://connector.example.com/", TENANT) == (
        f"https://connector.example.com/api/tenants/{TENANT}/contact-center/events"
    )


@pytest.mark.parametrize("url", ["ftp://127.0.0.1/hook", "http://[::1/hook", "http:///hook"])
def test_a_url_that_cannot_work_is_a_final_rejection(url: str) -> None:
    # GIVEN the real transport (the URL is refused before any connection)
    factory = HttpContactCenterClients("https://connector.example.com")
    try:
        client = factory.client_for(TENANT, WebhookContactCenter(url, SECRET))
        # THEN redelivering would not help: the tenant's configuration must change
        with pytest.raises(ContactCenterRejected, match="URL cannot be used"):
            client.set_available("agent-1", "r")
    finally:
        factory.close()
