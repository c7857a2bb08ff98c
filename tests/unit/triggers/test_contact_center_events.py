"""The contact-center events blueprint called directly, with the intake wired to fakes: the route as
the host resolves it (anonymous: the HMAC is the authentication), status codes and JSON envelopes."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from types import SimpleNamespace
from typing import Any, cast

import azure.functions as func
import pytest

from devstack.function_index import HttpFunction, index_functions
from devstack.routing import RouteMatch, RouteTable
from shared.bootstrap import Services, use_services
from shared.connectors import state_machine
from shared.connectors.cache import CachedConnectors
from shared.connectors.exceptions import ConnectorNotActive, ConnectorNotFound
from shared.connectors.model import Connector, ConnectorSettings, ConnectorStatus, WebhookContactCenter
from shared.contact_center import exceptions as cc_errors
from shared.contact_center.intake import ContactCenterEventIntake
from shared.contact_center.messages import AgentStateChange
from shared.contact_center.signatures import signature_for
from shared.errors import AppError
from shared.http import errors as http_errors
from shared.presence.exceptions import PresenceQueueUnavailable
from shared.triggers import contact_center_events
from tests.fakes import FakeClock, FakeConnectorRepository
from tests.unit.contact_center.support import SECRET, TENANT, FakeAgents, FakeQueue, batch, event

USER = "6e7b768e-07e2-4810-8459-485f84f8f204"

# The statuses this route relies on (the integrator registers them in shared/http/errors.py).
EVENT_STATUSES: dict[type[AppError], int] = {
    cc_errors.InvalidEventSignature: 401,
    cc_errors.InvalidAgentEvents: 400,
    cc_errors.AgentEventsTooLarge: 413,
    ConnectorNotActive: 409,
    cc_errors.ContactCenterNotConfigured: 409,
    ConnectorNotFound: 404,
    PresenceQueueUnavailable: 503,
}


class Wired:
    def __init__(self) -> None:
        self.clock = FakeClock()
        self.connectors = FakeConnectorRepository()
        self.queue = FakeQueue()
        self.set_status(ConnectorStatus.ACTIVE)
        intake = ContactCenterEventIntake(
            CachedConnectors(self.connectors, self.clock),
            FakeAgents({"agent-1": USER}),
            self.queue,
            self.clock,
        )
        # Until bootstrap's Services has its `contact_center_events` field, a stand-in carries the intake.
        use_services(cast(Services, SimpleNamespace(contact_center_events=intake)))

    def set_status(self, status: ConnectorStatus) -> None:
        now = self.clock()
        hook = WebhookContactCenter("https://cc.example.com/hook", SECRET)
        self.connectors.rows[TENANT] = Connector(TENANT, status, ConnectorSettings(), hook, now, now)


@pytest.fixture
def wired(monkeypatch: pytest.MonkeyPatch) -> Iterator[Wired]:
    for error, status in EVENT_STATUSES.items():
        if error not in http_errors.STATUS_BY_ERROR:
            monkeypatch.setitem(http_errors.STATUS_BY_ERROR, error, status)
    yield Wired()
    use_services(None)


def post(raw: bytes, signature: str | None, tenant: str = TENANT) -> func.HttpResponse:
    headers = {"content-type": "application/json"}
    if signature is not None:
        headers["x-connector-signature"] = signature
    req = func.HttpRequest(
        "POST",
        f"http://127.0.0.1:7071/api/tenants/{tenant}/contact-center/events",
        headers=headers,
        params={},
        route_params={"tenantId": tenant},
        body=raw,
    )
    response: func.HttpResponse = contact_center_events.contact_center_events(req)
    return response


def signed(raw: bytes, tenant: str = TENANT) -> func.HttpResponse:
    return post(raw, signature_for(raw, SECRET), tenant)


def payload(response: func.HttpResponse) -> Any:
    return json.loads(response.get_body())


def test_the_route_is_anonymous_because_the_signature_authenticates() -> None:
    # GIVEN the blueprint indexed like the host indexes it, in a function-key app
    app = func.FunctionApp(http_auth_level=func.AuthLevel.FUNCTION)
    app.register_functions(contact_center_events.bp)
    table: RouteTable[HttpFunction] = RouteTable()
    for http_function in index_functions(app).http:
        table.add(http_function.route, http_function.methods, http_function)
    # WHEN the contact center posts to the events route
    match = table.resolve("POST", f"/api/tenants/{TENANT}/contact-center/events")
    # THEN it reaches the function without a function key
    assert isinstance(match, RouteMatch)
    assert match.target.name == "contact_center_events"
    assert match.target.auth_level.lower() == "anonymous"
    assert match.route_params["tenantId"] == TENANT


def test_signed_events_are_accepted_with_a_report(wired: Wired) -> None:
    # GIVEN one event of a known agent and one of a stranger
    raw = batch(event(wired.clock()), event(wired.clock(), eventId="evt-2", agentId="stranger"))
    # WHEN they are posted with a valid signature
    response = signed(raw)
    # THEN 202 says what was accepted and what was dropped, and the known one is queued
    assert response.status_code == 202
    assert payload(response) == {
        "accepted": 1,
        "dropped": 1,
        "droppedEvents": [{"eventId": "evt-2", "agentId": "stranger", "reason": "unknownAgent"}],
    }
    (sent,) = wired.queue.published
    assert isinstance(sent[0], AgentStateChange)
    assert sent[0].user_id == USER


@pytest.mark.parametrize("signature", [None, "sha256=" + "0" * 64, "nonsense"])
def test_a_missing_or_wrong_signature_is_401_and_changes_nothing(wired: Wired, signature: str | None) -> None:
    response = post(batch(event(wired.clock())), signature)
    assert response.status_code == 401
    assert payload(response)["error"]["code"] == "invalidSignature"
    assert wired.queue.published == []


def test_a_body_signed_with_another_secret_is_401(wired: Wired) -> None:
    raw = batch(event(wired.clock()))
    assert post(raw, signature_for(raw, "someone-elses-secret")).status_code == 401


@pytest.mark.parametrize(
    ("raw", "status", "code"),
    [
        (b"{not json", 400, "invalidAgentEvents"),
        (b'{"events": [{"eventId": "e"}]}', 400, "invalidAgentEvents"),
        (b"{" + b" " * 70_000 + b"}", 413, "payloadTooLarge"),
    ],
)
def test_bad_bodies_get_a_4xx_envelope(wired: Wired, raw: bytes, status: int, code: str) -> None:
    response = signed(raw)
    assert response.status_code == status
    assert payload(response)["error"]["code"] == code
    assert payload(response)["error"]["message"]
    assert wired.queue.published == []


def test_a_tenant_id_that_is_not_a_guid_is_400(wired: Wired) -> None:
    response = signed(batch(event(wired.clock())), tenant="contoso.com")
    assert response.status_code == 400
    assert payload(response)["error"]["code"] == "invalidRequest"


def test_an_unknown_tenant_is_404(wired: Wired) -> None:
    response = signed(batch(event(wired.clock())), tenant="0b3c3b5e-6f7a-4d8e-9f00-112233445566")
    assert response.status_code == 404
    assert payload(response)["error"]["code"] == "connectorNotFound"


def test_an_inactive_connector_is_409(wired: Wired) -> None:
    wired.set_status(ConnectorStatus.INACTIVE)
    response = signed(batch(event(wired.clock())))
    assert response.status_code == 409
    assert payload(response)["error"]["code"] == "connectorNotActive"


def test_old_events_are_dropped_not_refused(wired: Wired) -> None:
    response = signed(batch(event(wired.clock() - timedelta(minutes=30))))
    assert response.status_code == 202
    assert payload(response)["droppedEvents"][0]["reason"] == "tooOld"


def test_a_queue_outage_is_503_with_retry_after(wired: Wired) -> None:
    wired.queue.fail = True
    response = signed(batch(event(wired.clock())))
    assert response.status_code == 503
    assert response.headers["Retry-After"]
    assert payload(response)["error"]["code"] == "presenceQueueUnavailable"


def test_the_previous_secret_is_taken_for_ten_minutes_after_a_rotation_then_401(wired: Wired) -> None:
    # GIVEN the admin replaced the secret: the one before is kept as the previous secret
    connector = wired.connectors.rows[TENANT]
    wired.connectors.rows[TENANT] = state_machine.update(
        connector,
        connector.settings,
        WebhookContactCenter("https://cc.example.com/hook", "rotated-secret-0123456789"),
        wired.clock(),
    )
    # WHEN the contact center still signs with the old one, 9 minutes later and then past 10
    wired.clock.advance(minutes=9)
    within = signed(batch(event(wired.clock())))
    wired.clock.advance(minutes=1, seconds=1)
    after = signed(batch(event(wired.clock(), eventId="evt-late")))
    # THEN the first is accepted, the second refused like any bad signature
    assert within.status_code == 202
    assert after.status_code == 401
    assert payload(after)["error"]["code"] == "invalidSignature"
