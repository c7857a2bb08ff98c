"""Webex's signed deliveries: signature first, then the CloudEvents envelope read into agent events."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from shared.connectors.cache import CachedConnectors
from shared.connectors.exceptions import ConnectorNotActive
from shared.connectors.model import (
    Connector,
    ConnectorSettings,
    ConnectorStatus,
    WebexContactCenter,
    WebhookContactCenter,
)
from shared.contact_center.exceptions import AgentEventsTooLarge, InvalidAgentEvents, InvalidEventSignature
from shared.contact_center.intake import ContactCenterEventIntake
from shared.contact_center.messages import AgentStateChange
from shared.contact_center.model import AgentState
from shared.contact_center.webex.envelope import parse_delivery
from shared.contact_center.webex.model import (
    WebexAuthorization,
    WebexAuthorizationStatus,
    WebexSubscription,
)
from shared.contact_center.webex.receiver import (
    WebexEventReceiver,
    verify_webex_signature,
    webex_signature,
)
from tests.fakes import FakeClock, FakeConnectorRepository
from tests.unit.contact_center.support import TENANT, FakeAgents, FakeQueue
from tests.unit.contact_center.webex.fakes import ORG, FakeWebexAuthorizations, fixture

SECRET = "s" * 64
AGENT = "c8d4f6a2-1b3e-4d5f-8a7c-9e0b1c2d3e4f"
USER = "a0f4b6a1-0d6f-4a8a-9d3c-2b1f6f1e9c11"
# The fixtures' createdTime values, with the clock just after them.
STATE_CHANGE_AT = datetime.fromtimestamp(1764666000, UTC)


class Wired:
    def __init__(self) -> None:
        self.clock = FakeClock(STATE_CHANGE_AT + timedelta(seconds=2))
        self.connectors = FakeConnectorRepository()
        self.authorizations = FakeWebexAuthorizations()
        self.queue = FakeQueue()
        connectors = CachedConnectors(self.connectors, self.clock)
        intake = ContactCenterEventIntake(connectors, FakeAgents({AGENT: USER}), self.queue, self.clock)
        self.receiver = WebexEventReceiver(connectors, self.authorizations, intake)
        self.connectors.add(
            Connector(
                tenant_id=TENANT,
                status=ConnectorStatus.ACTIVE,
                settings=ConnectorSettings(),
                contact_center=WebexContactCenter("https://api.wxcc-us1.cisco.com", ORG),
                created_at=self.clock(),
                updated_at=self.clock(),
            )
        )
        self.authorizations.save(
            WebexAuthorization(
                tenant_id=TENANT,
                status=WebexAuthorizationStatus.AUTHORIZED,
                org_id=ORG,
                person_id="person-1",
                authorized_at=self.clock(),
                authorized_by="admin",
                refresh_token="r",
                subscription=WebexSubscription("sub-1", SECRET, self.clock()),
            )
        )

    def post(self, document: dict[str, Any], secret: str = SECRET) -> Any:
        raw = json.dumps(document).encode()
        return self.receiver.accept(TENANT, raw, webex_signature(raw, secret))

    def published(self) -> list[AgentStateChange]:
        return [m for sent in self.queue.published for m in sent if isinstance(m, AgentStateChange)]


@pytest.fixture
def wired() -> Wired:
    return Wired()


def test_a_signed_state_change_is_queued_as_the_canonical_idle_event(wired: Wired) -> None:
    report = wired.post(fixture("agent-state-change.json"))
    assert (report.received, report.accepted) == (1, 1)
    (change,) = wired.published()
    assert change == AgentStateChange(
        tenant_id=TENANT,
        user_id=USER,
        agent_id=AGENT,
        state=AgentState.IDLE,
        idle_code_id="a4b0c6e2-5d1f-4c3b-9a7e-2f1d0c9b8a76",
        idle_code_name=None,
        occurred_at=STATE_CHANGE_AT,
        event_id="7b0f6a2e-3c8d-4e1f-9a5b-6c7d8e9f0a1b",
        sequence_number=None,
        # The fixture's lastStateChangeReason carries the connector's marker: our own change coming back.
        by_connector=True,
    )
    assert AgentStateChange.from_json(change.to_json()) == change


@pytest.mark.parametrize(
    "header",
    [None, "", "0" * 64, "sha256=" + "0" * 64, "not hex at all", "f" * 65],
)
def test_a_missing_or_wrong_signature_is_refused_and_changes_nothing(
    wired: Wired, header: str | None
) -> None:
    raw = json.dumps(fixture("agent-state-change.json")).encode()
    with pytest.raises(InvalidEventSignature):
        wired.receiver.accept(TENANT, raw, header)
    assert wired.queue.published == []


def test_a_body_signed_with_another_secret_or_altered_after_signing_is_refused(wired: Wired) -> None:
    with pytest.raises(InvalidEventSignature):
        wired.post(fixture("agent-state-change.json"), secret="t" * 64)
    raw = json.dumps(fixture("agent-state-change.json")).encode()
    signature = webex_signature(raw, SECRET)
    with pytest.raises(InvalidEventSignature):
        wired.receiver.accept(TENANT, raw + b" ", signature)
    assert wired.queue.published == []


def test_the_signature_is_hex_hmac_sha256_and_a_sha256_prefix_is_tolerated() -> None:
    raw = b'{"id":"1"}'
    digest = webex_signature(raw, SECRET)
    assert len(digest) == 64
    assert int(digest, 16) >= 0
    assert verify_webex_signature(raw, digest, SECRET)
    assert verify_webex_signature(raw, digest.upper(), SECRET)
    assert verify_webex_signature(raw, "sha256=" + digest, SECRET)
    assert not verify_webex_signature(raw, digest, "")


def test_without_a_subscription_nothing_verifies(wired: Wired) -> None:
    authorization = wired.authorizations.get(TENANT)
    assert authorization is not None
    wired.authorizations.save(
        WebexAuthorization(**{**authorization.__dict__, "subscription": None, "etag": None})
    )
    with pytest.raises(InvalidEventSignature):
        wired.post(fixture("agent-state-change.json"))


def test_a_webhook_tenant_has_no_webex_receiver(wired: Wired) -> None:
    wired.connectors.rows[TENANT] = Connector(
        **{
            **wired.connectors.rows[TENANT].__dict__,
            "contact_center": WebhookContactCenter("https://cc.example.com/hook", SECRET),
        }
    )
    with pytest.raises(InvalidEventSignature):
        wired.post(fixture("agent-state-change.json"))


def test_an_event_of_another_organization_is_dropped(wired: Wired) -> None:
    document = fixture("agent-state-change.json")
    document["comciscoorgid"] = "0c1a3e5f-7b9d-4f21-8a63-5e7c9b1d2f40"
    report = wired.post(document)
    assert report.accepted == 0
    assert [d.reason for d in report.dropped] == ["otherOrganization"]
    assert wired.queue.published == []


def test_a_repeated_delivery_is_queued_with_the_same_message_id(wired: Wired) -> None:
    # Service Bus duplicate detection drops the second send of one message id.
    wired.post(fixture("agent-state-change.json"))
    wired.post(fixture("agent-state-change.json"))
    first, second = wired.published()
    assert first.message_id == second.message_id
    other = fixture("agent-state-change.json")
    other["id"] = "another-envelope-id"
    wired.post(other)
    assert wired.published()[-1].message_id != first.message_id


def test_deliveries_are_taken_only_while_the_connector_is_active(wired: Wired) -> None:
    wired.connectors.rows[TENANT] = Connector(
        **{**wired.connectors.rows[TENANT].__dict__, "status": ConnectorStatus.INACTIVE}
    )
    with pytest.raises(ConnectorNotActive):
        wired.post(fixture("agent-state-change.json"))


def test_event_types_the_connector_does_not_handle_are_acknowledged_and_skipped(wired: Wired) -> None:
    document = copy.deepcopy(fixture("agent-state-change.json"))
    document["type"] = "task:new"
    report = wired.post(document)
    assert (report.received, report.accepted, report.dropped) == (1, 0, ())


def test_an_oversized_delivery_is_refused_before_anything_else(wired: Wired) -> None:
    with pytest.raises(AgentEventsTooLarge):
        wired.receiver.accept(TENANT, b"x" * (64 * 1024 + 1), None)


# -- the envelope --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("webex_state", "ours"),
    [
        ("Available", AgentState.AVAILABLE),
        ("Idle", AgentState.IDLE),
        ("RONA", AgentState.IDLE),
        ("ringing", AgentState.RINGING),
        ("reserved", AgentState.RINGING),
        ("connected", AgentState.ON_CALL),
        ("engaged", AgentState.ON_CALL),
        ("hold", AgentState.ON_CALL),
        ("wrapup", AgentState.WRAP_UP),
        ("WrapUp", AgentState.WRAP_UP),
        ("LoggedOut", AgentState.LOGGED_OUT),
    ],
)
def test_webex_states_map_to_the_canonical_ones(webex_state: str, ours: AgentState) -> None:
    document = fixture("agent-state-change.json")
    document["data"]["currentState"] = webex_state
    delivery = parse_delivery(json.dumps(document).encode())
    assert delivery.event is not None
    assert delivery.event.state is ours
    # The idle code belongs to the idle state only.
    assert (delivery.event.idle_code_id is not None) == (ours is AgentState.IDLE)


def test_login_and_logout_fixtures() -> None:
    login = parse_delivery(json.dumps(fixture("agent-login.json")).encode())
    logout = parse_delivery(json.dumps(fixture("agent-logout.json")).encode())
    assert login.event is not None and login.event.state is AgentState.AVAILABLE  # noqa: PT018
    assert logout.event is not None and logout.event.state is AgentState.LOGGED_OUT  # noqa: PT018
    assert logout.event.occurred_at == datetime.fromtimestamp(1764667000, UTC)


def test_the_connector_marker_in_the_reason_says_the_change_was_ours() -> None:
    ours = parse_delivery(json.dumps(fixture("agent-state-change.json")).encode())
    assert ours.by_connector
    document = fixture("agent-state-change.json")
    document["data"]["lastStateChangeReason"] = "Lunch"
    assert not parse_delivery(json.dumps(document).encode()).by_connector


def test_an_unknown_state_is_skipped_not_refused() -> None:
    document = fixture("agent-state-change.json")
    document["data"]["currentState"] = "Teleporting"
    delivery = parse_delivery(json.dumps(document).encode())
    assert delivery.event is None
    assert delivery.skipped == "unknownState"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: d.pop("id"), "id"),
        (lambda d: d.update(id="x" * 200), "id"),
        (lambda d: d.update(data=[]), "data object"),
        (lambda d: d["data"].pop("agentId"), "agentId"),
        (lambda d: d["data"].update(agentId="a/b"), "agentId"),
        (lambda d: d["data"].update(agentId="a\nb"), "control"),
        (lambda d: d["data"].pop("createdTime"), "createdTime"),
        (lambda d: d["data"].update(createdTime="yesterday"), "createdTime"),
    ],
)
def test_malformed_envelopes_are_refused(change: Any, message: str) -> None:
    document = fixture("agent-state-change.json")
    change(document)
    with pytest.raises(InvalidAgentEvents, match=message):
        parse_delivery(json.dumps(document).encode())


@pytest.mark.parametrize("raw", [b"", b"[]", b"not json", b"[" * 10000])
def test_bodies_that_are_no_envelope_are_refused(raw: bytes) -> None:
    with pytest.raises(InvalidAgentEvents):
        parse_delivery(raw)
