"""The Webex contract's pure rules in the simulator: destination URLs, subscription fields, the
activities query, the auxiliary-code filter, the error bodies and the supervisor rule."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from devstack.contact_center_simulator.webex.errors import API, OAUTH, RESULT, WebexError
from devstack.contact_center_simulator.webex.model import IDLE_CODE, WRAP_UP_CODE, AuxCode, WebexUser
from devstack.contact_center_simulator.webex.rules import (
    activities_query,
    aux_code_filter,
    check_destination_url,
    subscription_fields,
)
from devstack.contact_center_simulator.webex.store import DEFAULT_ORG_ID, WebexStore


@pytest.mark.parametrize(
    "url",
    [
        "https://connector.contoso.com/",
        "https://a.b.contoso.io/api/webex/events",
        "https://connector.contoso.fr:443/x",
    ],
)
def test_webex_takes_https_urls_on_listed_tlds_with_a_path(url: str) -> None:
    assert check_destination_url(url, allow_loopback=False) == url


@pytest.mark.parametrize(
    "url",
    [
        "ftp://connector.contoso.com/x",
        "https://connector.contoso.com",
        "https://connector.contoso.com/x?a=1",
        "https://connector.contoso.com/x?",
        "https://connector.contoso.com/x#f",
        "https://u@connector.contoso.com/x",
        "https://connector.contoso.com:444/x",
        "https://connector.contoso.com:99999/x",
        "https://192.168.1.1/x",
        "https://connector.corp/x",
        "https://-bad-.contoso.com/x",
        "https://localhost/x",
        42,
    ],
)
def test_webex_refuses_other_destination_urls(url: Any) -> None:
    with pytest.raises(WebexError) as raised:
        check_destination_url(url, allow_loopback=False)
    assert raised.value.status == 400
    assert raised.value.style == RESULT


def test_loopback_is_allowed_on_any_port_when_asked_but_the_other_rules_stay() -> None:
    assert check_destination_url("http://127.0.0.1:7071/api/x", allow_loopback=True)
    assert check_destination_url("http://localhost:7071/api/x", allow_loopback=True)
    for url in ("http://127.0.0.1:7071/api/x?t=1", "http://127.0.0.1:7071", "http://10.0.0.1:7071/x"):
        with pytest.raises(WebexError):
            check_destination_url(url, allow_loopback=True)


def test_subscription_fields_dedupe_event_types_and_ignore_unknown_properties() -> None:
    fields = subscription_fields(
        {
            "name": "abcd",
            "eventTypes": ["agent:login", "agent:login"],
            "destinationUrl": "https://x.contoso.com/",
            "colour": "red",
        },
        create=True,
        allow_loopback=False,
    )
    assert fields.event_types == ["agent:login"]
    assert fields.secret is None


def test_a_patch_may_be_empty_and_names_only_what_changes() -> None:
    fields = subscription_fields({"status": "inactive"}, create=False, allow_loopback=False)
    assert (fields.status, fields.name, fields.event_types, fields.destination_url) == (
        "inactive",
        None,
        None,
        None,
    )


def test_activities_default_to_now_and_100_a_page() -> None:
    query = activities_query({"from": "1000"}, now_ms=5000)
    assert (query.start_ms, query.end_ms, query.page, query.page_size) == (1000, 5000, 0, 100)
    assert query.agent_ids == []


def test_the_activity_window_is_strictly_under_a_day() -> None:
    assert activities_query({"from": "0", "to": "86399999"}, now_ms=0).end_ms == 86_399_999
    with pytest.raises(WebexError) as raised:
        activities_query({"from": "0", "to": "86400000"}, now_ms=0)
    assert raised.value.style == API


def _code(name: str, work_type: str = IDLE_CODE, *, active: bool = True) -> AuxCode:
    return AuxCode(name, DEFAULT_ORG_ID, name, work_type, active)


def test_the_filter_takes_the_published_rsql_forms() -> None:
    codes = [_code("a"), _code("b", active=False), _code("w", WRAP_UP_CODE)]
    keep = aux_code_filter('workTypeCode=="IDLE_CODE";active==true')
    assert [c.name for c in codes if keep(c)] == ["a"]
    keep = aux_code_filter("workTypeCode!=IDLE_CODE and active==true")
    assert [c.name for c in codes if keep(c)] == ["w"]
    assert all(aux_code_filter(None)(c) for c in codes)
    for bad in ("workTypeCode>IDLE_CODE", "colour==red"):
        with pytest.raises(WebexError):
            aux_code_filter(bad)


@pytest.mark.parametrize(("style", "key"), [(RESULT, 403), (API, "403")])
def test_error_bodies_follow_the_published_schemas(style: str, key: Any) -> None:
    response = WebexError(403, "Forbidden", style=style).response("T-1")
    body = json.loads(response.body)
    assert body == {"trackingId": "T-1", "error": {"key": key, "message": [{"description": "Forbidden"}]}}
    assert response.headers["TrackingId"] == "T-1"


def test_oauth_errors_carry_the_oauth_code_and_webexs_general_fields() -> None:
    body = json.loads(WebexError(400, "nope", style=OAUTH, oauth_error="invalid_grant").response().body)
    assert (body["error"], body["error_description"], body["message"]) == ("invalid_grant", "nope", "nope")
    assert body["errors"] == [{"description": "nope"}]


def test_supervisors_act_on_their_teams_only() -> None:
    everyone = WebexUser("u", DEFAULT_ORG_ID, "u@x", "U", frozenset({"supervisor"}))
    some = WebexUser("v", DEFAULT_ORG_ID, "v@x", "V", frozenset({"supervisor"}), frozenset({"t1"}))
    admin = WebexUser("w", DEFAULT_ORG_ID, "w@x", "W", frozenset({"admin"}))
    assert everyone.supervises("t9")
    assert some.supervises("t1")
    assert not some.supervises("t2")
    assert not admin.supervises("t1")


def test_an_agent_may_change_his_own_state_without_being_a_supervisor() -> None:
    store = WebexStore(lambda: datetime(2026, 11, 2, tzinfo=UTC))
    store.add_agent("me", DEFAULT_ORG_ID, None, "Me", "me@x", ("telephony",))
    store.login("me", "available", None, "")
    me = store.user("me")
    assert me is not None
    emission = store.supervisor_change(me, None, "available", "0", "back")
    assert emission.event["data"]["lastStateChangeReason"] == "back"


def test_an_org_without_an_active_idle_code_refuses_an_idle_login() -> None:
    store = WebexStore(lambda: datetime(2026, 11, 2, tzinfo=UTC))
    for code in store.aux_codes(DEFAULT_ORG_ID):
        retired = AuxCode(code.code_id, DEFAULT_ORG_ID, code.name, code.work_type_code, active=False)
        store.add_aux_code(retired)
    store.add_agent("a", DEFAULT_ORG_ID, None, "A", "a@x", ("telephony",))
    with pytest.raises(WebexError) as raised:
        store.login("a", "idle", None, "")
    assert raised.value.status == 400
    view = store.agent_view("a")
    assert view is not None
    assert view["loggedIn"] is False
